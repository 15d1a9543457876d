/**
 * stall_timeout end to end (real git, the in-process mock agent): a turn that
 * goes silent is ended as stalled, the session is resumed once with the stall
 * nudge, and a second stall in the same cycle ends it stuck with the work kept.
 * The in-process mock prints nothing until its turn is over, so a `hang` step
 * (which does its writes first, then never ends) is a silent agent.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import { runSwarm } from "../../src/engine/swarm.js"
import { MERGE_SIGNAL } from "../../src/domain/Signal.js"
import { makeGitRepo, type GitRepo } from "../support/gitRepo.js"
import { engineTestLayer, expectMergedNothing, makeTasks, readTasks, setupProject, validateRunFiles } from "../support/swarmProject.js"

const quiet = () => Effect.void

/** The queue leaves files younger than 2 s alone: date the tasks in the past. */
const backdateTasks = (repo: GitRepo) => {
  const dir = path.join(repo.path, "tasks", "pending")
  const past = new Date(Date.now() - 60_000)
  for (const name of fs.readdirSync(dir)) fs.utimesSync(path.join(dir, name), past, past)
}

const events = (runDir: string): ReadonlyArray<{ type: string; message: string; worker?: string }> =>
  fs
    .readFileSync(path.join(runDir, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line))

const project = (repo: GitRepo, turns: ReadonlyArray<Record<string, unknown>>) =>
  setupProject(repo, {
    // A 1 s stall rule under a 60 s hard timeout: only the stall rule can end the silent turns in time.
    config: { workers: [{ model: "mock:scenario.json", max_cycle: 1, timeout: 60 }], stall_timeout: 1 },
    tasks: makeTasks(1),
    scenario: { turns: { w0: turns } }
  })

describe("stall_timeout (real git, in-process mock agent)", () => {
  it.live("a silent turn ends stalled, the session is resumed once with the stall nudge, the agent signals, the work merges", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* project(repo, [
        { auto: true },
        { write: { "work/{{TASK}}.md": "half of {{TASK}}\n" }, say: "(never said: the turn hangs)", hang: true },
        { append: { "work/{{TASK}}.md": "the other half" }, say: `Back at it; done.\n${MERGE_SIGNAL}` }
      ])
      backdateTasks(repo)
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))

      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome, cycle.detail).toBe("merged")
      expect(cycle.turns.map((t: { kind: string }) => t.kind)).toEqual(["start", "claimresults", "stall-nudge"])
      expect(cycle.turns[1]).toMatchObject({ stalled: true, silenceMs: 1000, timedOut: false, exitCode: null })
      expect(cycle.turns[2].stalled).toBeUndefined()
      // The nudge went to the same session and said what happened.
      expect(cycle.turns[2].sessionId).toBe(cycle.turns[1].sessionId)
      const nudge = fs.readFileSync(path.join(result.runDir, "logs", "w0-c1-t3.prompt.txt"), "utf8")
      expect(nudge).toContain("## Nudge: you went silent")
      expect(nudge).toContain("printed nothing for 1s")
      expect(events(result.runDir).map((e) => e.message)).toContain("turn 2 stalled after 1s of silence")
      // Both halves landed: the stalled turn's writes were kept in the worktree for the resumed one.
      expect(yield* repo.git("show", "HEAD:work/task-01.md")).toBe("half of task-01\nthe other half")
      expect(Object.keys(readTasks(repo.path, "complete"))).toEqual(["task-01"])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("two stalls in one cycle: the cycle ends stuck (not error), the work kept under refs/oompa/kept/…, the claim back in pending", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* project(repo, [
        { auto: true },
        { write: { "work/{{TASK}}.md": "half of {{TASK}}\n" }, say: "(never said: the turn hangs)", hang: true },
        { say: "(never said either)", hang: true }
      ])
      backdateTasks(repo)
      const result = yield* expectMergedNothing(
        runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))
      )

      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome).toBe("stuck")
      expect(cycle.detail).toContain("stalled again after a nudge: no output for 1s (turn 3, 2 stalls)")
      expect(cycle.turns.map((t: { stalled?: boolean }) => t.stalled)).toEqual([undefined, true, true])
      expect(cycle.keptRef).toBe(`refs/oompa/kept/${result.swarm}/w0-c1`)
      expect(yield* repo.git("show", `${cycle.keptRef}:work/task-01.md`)).toBe("half of task-01")
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
      expect(Object.keys(readTasks(repo.path, "current"))).toEqual([])
      const stopped = JSON.parse(fs.readFileSync(path.join(result.runDir, "stopped.json"), "utf8"))
      // Stuck is not an error: the worker stopped on max_cycle, not on too many errors.
      expect(stopped.workers[0].stopReason).toBe("max-cycle")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})
