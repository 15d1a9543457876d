import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { runSwarm } from "../../src/engine/swarm.js"
import type { Harness, TurnRequest } from "../../src/harness/Harness.js"
import { makeGitRepo, type GitRepo } from "../support/gitRepo.js"
import { engineTestLayer, expectMergedNothing, inProcessMock, makeTasks, readTasks, setupProject, validateRunFiles } from "../support/swarmProject.js"

const quiet = () => Effect.void

interface SeenTurn {
  readonly mode: "work" | "review"
  readonly cwd: string
  readonly prompt: string
  /** `git status --porcelain` and whether a merge is in progress, when the turn started. */
  readonly status: string
  readonly merging: boolean
  readonly files: ReadonlyArray<string>
}

/** The in-process mock, recording every prompt and the state of its worktree when the turn starts. */
const recordingMock = (repo: GitRepo, seen: Array<SeenTurn>, before?: (request: TurnRequest) => Effect.Effect<void>): Harness => {
  const mock = inProcessMock(repo.path)
  return {
    name: "mock",
    runTurn: (request) =>
      Effect.gen(function* () {
        if (before) yield* before(request)
        const status = yield* repo.gitIn(request.cwd, "status", "--porcelain")
        const merging = (yield* repo.gitRaw(request.cwd, "rev-parse", "-q", "--verify", "MERGE_HEAD")).exitCode === 0
        const files = (yield* repo.gitIn(request.cwd, "ls-files")).split("\n")
        seen.push({ mode: request.mode, cwd: request.cwd, prompt: request.prompt, status, merging, files })
        return yield* mock.runTurn(request)
      })
  }
}

const eventsOf = (runDir: string): ReadonlyArray<{ type: string; message: string; data?: Record<string, unknown> }> =>
  fs
    .readFileSync(path.join(runDir, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line))

const claimTurn = (seen: ReadonlyArray<SeenTurn>) => seen.find((t) => t.mode === "work" && t.prompt.includes("## Claim results"))

describe("attempts: a task put back after a failed cycle is continued, not redone (SPEC §8)", () => {
  it.live("rejected, then picked up by the next run: it starts from the kept work, is told why, and lands with its history", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 1 }], reviewer: "mock:scenario.json" },
        tasks: makeTasks(1),
        scenario: {
          turns: { w0: [{ auto: true }, { write: { "first.txt": "first try\n" }, auto: true }] },
          reviews: { "*": ["REJECTED"] }
        }
      })
      const first = yield* expectMergedNothing(runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path }))))
      const [rejected] = validateRunFiles(first.runDir).cycles
      expect(rejected.outcome).toBe("rejected")
      // (1) The task is back in pending with one attempt: who, how it ended, why, where the work is.
      const pending = readTasks(repo.path, "pending")["task-01"]!
      expect(pending["claimed_by"]).toBeUndefined()
      const keptRef = `refs/oompa/kept/${first.swarm}/w0-c1`
      const keptCommit = yield* repo.revParse(keptRef)
      expect(pending["attempts"]).toEqual([
        {
          worker: "w0",
          swarm: first.swarm,
          cycle: "w0-c1",
          outcome: "rejected",
          reason: rejected.detail,
          kept_ref: keptRef,
          kept_commit: keptCommit,
          ended_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/)
        }
      ])
      // The reviewer's words are part of the reason.
      expect(rejected.detail).toContain("Reviewed the change for w0")

      // (2) The next run: the claim carries the kept work into the new worktree before the agent's next turn.
      yield* repo.write(
        "scenario.json",
        JSON.stringify({ turns: { w0: [{ auto: true }, { run: ["grep -q 'first try' first.txt"], write: { "second.txt": "second try\n" }, auto: true }] } })
      )
      const seen: Array<SeenTurn> = []
      const second = yield* runSwarm(config, { print: quiet }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness: recordingMock(repo, seen) }))
      )
      const [merged] = validateRunFiles(second.runDir).cycles
      expect(merged.outcome, merged.detail).toBe("merged")
      const claim = claimTurn(seen)!
      expect(claim.files).toContain("first.txt")
      expect(claim.status).toBe("")
      expect(claim.prompt).toContain("- task-01: claimed (Write note number 1)")
      expect(claim.prompt).toContain(`  - rejected in w0-c1 (run ${first.swarm}, `)
      expect(claim.prompt).toContain("rejected by mock:scenario.json in review round 1")
      expect(claim.prompt).toContain(`Its work (${keptRef}, commit ${keptCommit.slice(0, 12)}) has been merged into your worktree`)
      const carried = eventsOf(second.runDir).filter((e) => e.type === "work-carried")
      expect(carried).toHaveLength(1)
      expect(carried[0]!.data).toMatchObject({ task: "task-01", ref: keptRef, commit: keptCommit, merged: true })
      // The carried work is reviewed like any other change: it is in the reviewer's diff.
      const review = seen.find((t) => t.mode === "review")!
      expect(review.prompt).toContain("diff --git a/first.txt b/first.txt")
      expect(review.prompt).toContain("+first try")

      // (4) Landed: the earlier work is in main's history and the completed task keeps its attempts.
      expect((yield* repo.gitRaw(repo.path, "merge-base", "--is-ancestor", keptCommit, "main")).exitCode).toBe(0)
      expect(yield* repo.git("show", "main:first.txt")).toBe("first try")
      expect(yield* repo.git("show", "main:second.txt")).toBe("second try")
      const complete = readTasks(repo.path, "complete")["task-01"]!
      expect(complete["attempts"]).toEqual(pending["attempts"])
      expect(complete["merged_commit"]).toBe(yield* repo.revParse("main"))
      expect(readTasks(repo.path, "pending")).toEqual({})
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("kept work that conflicts with the moved target: not merged, the worktree left clean, the agent told where it is", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "shared.txt": "base\n" } })
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 2, can_plan: false }], reviewer: "mock:scenario.json" },
        tasks: makeTasks(1),
        scenario: {
          turns: { "w0-c1": [{ auto: true }, { write: { "shared.txt": "base\nfrom the agent\n" }, auto: true }] },
          reviews: { "w0-c1": ["REJECTED"] }
        }
      })
      // While cycle 1 is being reviewed, the user commits a conflicting line to main.
      const seen: Array<SeenTurn> = []
      const userCommits = (request: TurnRequest) =>
        request.mode === "review" && request.cwd.endsWith("-w0-c1")
          ? repo.write("shared.txt", "base\nfrom the user\n").pipe(Effect.zipRight(repo.commit("user edit")), Effect.asVoid)
          : Effect.void
      const result = yield* runSwarm(config, { print: quiet }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness: recordingMock(repo, seen, userCommits) }))
      )
      const cycles = validateRunFiles(result.runDir).cycles.sort((a, b) => a.cycle - b.cycle)
      expect(cycles.map((c) => c.outcome)).toEqual(["rejected", "merged"])
      const keptRef = `refs/oompa/kept/${result.swarm}/w0-c1`
      // (3) The claim turn of cycle 2 found a clean worktree on the new main, without the kept work.
      const claim = claimTurn(seen.filter((t) => t.cwd.endsWith("-w0-c2")))!
      expect(claim.status).toBe("")
      expect(claim.merging).toBe(false)
      expect(fs.readFileSync(path.join(repo.path, "shared.txt"), "utf8")).toBe("base\nfrom the user\n")
      expect(claim.prompt).toContain("  - rejected in w0-c1 (run ")
      expect(claim.prompt).toContain(
        `Its work is kept at ${keptRef}; it did not merge cleanly with the current main (conflicts in shared.txt): look at it with \`git show ${keptRef}\`.`
      )
      const carried = eventsOf(result.runDir).filter((e) => e.type === "work-carried")
      expect(carried.map((e) => e.data?.["merged"])).toEqual([false])
      // The kept work is still there, and main has the user's version.
      expect(yield* repo.git("show", `${keptRef}:shared.txt`)).toBe("base\nfrom the agent")
      expect(yield* repo.git("show", "main:shared.txt")).toBe("base\nfrom the user")
      expect(readTasks(repo.path, "complete")["task-01"]?.["attempts"]).toHaveLength(1)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a stuck cycle in the same run: the worker's next cycle picks the task up with the half-done file", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 2, can_plan: false }] },
        tasks: makeTasks(1),
        scenario: {
          turns: {
            // A second NEEDS_FOLLOWUP in one cycle ends it stuck.
            "w0-c1": [{ auto: true }, { write: { "half.txt": "half done\n" }, say: "NEEDS_FOLLOWUP" }, { say: "NEEDS_FOLLOWUP" }],
            "w0-c2": [{ auto: true }, { run: ["grep -q 'half done' half.txt"], append: { "half.txt": "and finished" }, auto: true }]
          }
        }
      })
      const seen: Array<SeenTurn> = []
      const result = yield* runSwarm(config, { print: quiet }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness: recordingMock(repo, seen) }))
      )
      const cycles = validateRunFiles(result.runDir).cycles.sort((a, b) => a.cycle - b.cycle)
      expect(cycles.map((c) => `${c.outcome}: ${c.detail}`)[1]).toMatch(/^merged/)
      expect(cycles[0].outcome).toBe("stuck")
      const claim = claimTurn(seen.filter((t) => t.cwd.endsWith("-w0-c2")))!
      expect(claim.files).toContain("half.txt")
      expect(claim.prompt).toContain(`  - stuck in w0-c1 (run ${result.swarm}, `)
      expect(claim.prompt).toContain(cycles[0].detail)
      expect(yield* repo.git("show", "main:half.txt")).toBe("half done\nand finished")
      const [attempt] = readTasks(repo.path, "complete")["task-01"]!["attempts"] as ReadonlyArray<Record<string, unknown>>
      expect(attempt).toMatchObject({ outcome: "stuck", cycle: "w0-c1", reason: cycles[0].detail, kept_ref: cycles[0].keptRef })
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
  it.live("an agent that edited files before claiming: the kept work is not merged over them, and the agent is told where it is", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 2, can_plan: false }] },
        tasks: makeTasks(1),
        scenario: {
          turns: {
            "w0-c1": [{ auto: true }, { write: { "half.txt": "half done\n" }, say: "NEEDS_FOLLOWUP" }, { say: "NEEDS_FOLLOWUP" }],
            "w0-c2": [{ write: { "scratch.txt": "mine\n" }, auto: true }, { run: ["test ! -e half.txt", "grep -q mine scratch.txt"], auto: true }]
          }
        }
      })
      const seen: Array<SeenTurn> = []
      const result = yield* runSwarm(config, { print: quiet }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness: recordingMock(repo, seen) }))
      )
      const cycles = validateRunFiles(result.runDir).cycles.sort((a, b) => a.cycle - b.cycle)
      expect(cycles.map((c) => c.outcome)).toEqual(["stuck", "merged"])
      const keptRef = `refs/oompa/kept/${result.swarm}/w0-c1`
      const claim = claimTurn(seen.filter((t) => t.cwd.endsWith("-w0-c2")))!
      expect(claim.status).toBe("?? scratch.txt")
      expect(claim.prompt).toContain(
        `Its work is kept at ${keptRef}; your worktree had uncommitted changes, so it was not merged: look at it with \`git show ${keptRef}\`.`
      )
      expect(yield* repo.git("show", "main:scratch.txt")).toBe("mine")
      expect((yield* repo.gitRaw(repo.path, "show", "main:half.txt")).exitCode).not.toBe(0)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})
