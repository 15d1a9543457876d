import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { runSwarm } from "../../src/engine/swarm.js"
import type { Harness } from "../../src/harness/Harness.js"
import { makeGitRepo, type GitRepo } from "../support/gitRepo.js"
import { engineTestLayer, expectMergedNothing, inProcessMock, makeTasks, readTasks, setupProject, validateRunFiles } from "../support/swarmProject.js"
import { NodeContext } from "@effect/platform-node"

const quiet = () => Effect.void

/** What every finished swarm must leave: no worktree, no oompa/ branch, no claim in current/. */
const expectCleanRepo = (repo: { git: (...args: ReadonlyArray<string>) => Effect.Effect<string>; path: string }) =>
  Effect.gen(function* () {
    const worktrees = (yield* repo.git("worktree", "list", "--porcelain")).split("\n").filter((l) => l.startsWith("worktree "))
    expect(worktrees).toHaveLength(1)
    expect(yield* repo.git("branch", "--list", "oompa/*")).toBe("")
    const leftover = path.join(repo.path, ".oompa", "worktrees")
    expect(fs.existsSync(leftover) ? fs.readdirSync(leftover) : []).toEqual([])
    expect(Object.keys(readTasks(repo.path, "current"))).toEqual([])
  })

/** The mock agent, while the user commits a conflicting line to shared.txt on main after the claim. */
const userCommitsWhileAgentWorks = (repo: GitRepo): Harness => {
  const mock = inProcessMock(repo.path)
  return {
    name: "mock",
    runTurn: (request) =>
      mock.runTurn(request).pipe(
        Effect.tap(() =>
          request.prompt.includes("## Claim results")
            ? repo.write("shared.txt", "base\nfrom the user\n").pipe(Effect.zipRight(repo.commit("user edit")))
            : Effect.void
        )
      )
  }
}

describe("swarm end to end (real git, in-process mock agents)", () => {
  it.live("4 workers and 12 tasks: every task complete, its commit on main, nothing left behind", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        // Slack in max_cycle: four agents racing for the same first task may lose claims until a
        // cycle ends stuck (legitimate), but no cycle may end in error or merge-failed.
        config: { workers: [{ model: "mock:diligent", count: 4, max_cycle: 10 }], reviewer: "mock:diligent" },
        tasks: makeTasks(12)
      })
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))

      const complete = readTasks(repo.path, "complete")
      // On failure, say which cycles did not merge and why.
      const notMerged = validateRunFiles(result.runDir)
        .cycles.filter((c) => c.outcome !== "merged")
        .map((c) => `${c.worker}-c${c.cycle} ${c.outcome}: ${c.detail}`)
      expect(Object.keys(complete).sort(), notMerged.join("\n")).toEqual(makeTasks(12).map((t) => t["id"]))
      expect(notMerged.filter((line) => / (error|merge-failed|rejected|interrupted):/.test(line))).toEqual([])
      expect(readTasks(repo.path, "pending")).toEqual({})
      for (const [id, task] of Object.entries(complete)) {
        expect(task["completed_by"]).toMatch(/^w[0-3]@[0-9a-f]{8}$/)
        // The merge commit recorded on the task is reachable from main, and the work file is there.
        const raw = yield* repo.gitRaw(repo.path, "merge-base", "--is-ancestor", String(task["merged_commit"]), "main")
        expect(raw.exitCode).toBe(0)
        expect(yield* repo.git("show", `main:work/${id}.md`)).toContain(`# ${id}`)
      }
      yield* expectCleanRepo(repo)
      const files = validateRunFiles(result.runDir)
      expect(files.cycles.filter((c) => c.outcome === "merged")).toHaveLength(12)
      expect(result.workers.reduce((n, w) => n + w.merged, 0)).toBe(12)
      const stopped = JSON.parse(fs.readFileSync(path.join(result.runDir, "stopped.json"), "utf8"))
      expect(stopped.reason).toBe("completed")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("review: NEEDS_CHANGES resumes the same session with feedback, then APPROVED merges", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:diligent", max_cycle: 1 }], reviewer: "mock:scenario.json" },
        tasks: makeTasks(1),
        scenario: { reviews: { "*": ["NEEDS_CHANGES", "APPROVED"] } }
      })
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))
      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome).toBe("merged")
      expect(cycle.reviewRounds).toBe(2)
      // The feedback turn resumed the first turn's session.
      const sessions = new Set(cycle.turns.map((t: { sessionId: string }) => t.sessionId))
      expect(sessions.size).toBe(1)
      expect(cycle.turns.map((t: { kind: string }) => t.kind)).toContain("review-feedback")
      expect(yield* repo.git("show", "main:work/task-01.md")).toContain("Checked by reading it twice")
      expect(readTasks(repo.path, "complete")["task-01"]?.["review_rounds"]).toBe(2)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("sessions: turns of a cycle resume one session with short prompts; each cycle starts a new session", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:diligent", max_cycle: 2, can_plan: false }] },
        tasks: makeTasks(2)
      })
      const mock = inProcessMock(repo.path)
      const seen: Array<{ readonly session: string; readonly resume: boolean; readonly prompt: string }> = []
      const harness: Harness = {
        name: "mock",
        runTurn: (request) =>
          Effect.sync(() =>
            seen.push({ session: request.session.id ?? "", resume: request.session._tag === "Resume", prompt: request.prompt })
          ).pipe(Effect.zipRight(mock.runTurn(request)))
      }
      yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path, harness })))
      expect(seen.map((t) => t.resume)).toEqual([false, true, false, true])
      expect(seen[0]!.session).toBe(seen[1]!.session)
      expect(seen[2]!.session).toBe(seen[3]!.session)
      expect(seen[2]!.session).not.toBe(seen[0]!.session)
      const [first, resumed] = seen
      expect(first!.prompt).toMatch(/^\[oompa:[0-9a-f]{8}:w0\]/)
      expect(first!.prompt).toContain(path.join(repo.path, "tasks")) // the task header, rendered
      expect(first!.prompt).toContain("- task-01: Write note number 1")
      expect(resumed!.prompt).toMatch(/^\[oompa:[0-9a-f]{8}:w0\]/)
      expect(resumed!.prompt).toContain("## Claim results")
      expect(resumed!.prompt).not.toContain(path.join(repo.path, "tasks"))
      expect(resumed!.prompt.length).toBeLessThan(first!.prompt.length / 2)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("rejection: the work is kept under refs/oompa/kept and the task goes back to pending", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:diligent", max_cycle: 1 }], reviewer: "mock:scenario.json" },
        tasks: makeTasks(1),
        scenario: { reviews: { "*": ["REJECTED"] } }
      })
      const result = yield* expectMergedNothing(runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path }))))
      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome).toBe("rejected")
      expect(cycle.keptRef).toBe(`refs/oompa/kept/${result.swarm}/w0-c1`)
      expect(yield* repo.git("show", `${cycle.keptRef}:work/task-01.md`)).toContain("task-01")
      expect(yield* repo.gitRaw(repo.path, "show", "main:work/task-01.md").pipe(Effect.map((r) => r.exitCode))).not.toBe(0)
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
      expect(readTasks(repo.path, "pending")["task-01"]?.["claimed_by"]).toBeUndefined()
      yield* expectCleanRepo(repo)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("NOT APPROVED and a crashing reviewer never approve: the chain falls through to the next reviewer", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      yield* repo.write("no-verdict.json", JSON.stringify({ reviews: { "*": ["NONE"] } }))
      yield* repo.write("crash.json", JSON.stringify({ reviews: { "*": ["FAIL"] } }))
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:diligent", max_cycle: 1 }], reviewers: ["mock:no-verdict.json", "mock:crash.json"] },
        tasks: makeTasks(1)
      })
      const result = yield* expectMergedNothing(runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path }))))
      const files = validateRunFiles(result.runDir)
      expect(files.cycles[0].outcome).toBe("rejected")
      expect(files.cycles[0].detail).toContain("no reviewer gave a verdict")
      // Both attempts are recorded, each in its own file.
      expect(files.reviews).toBe(2)
      expect(readTasks(repo.path, "complete")).toEqual({})
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("merge conflict: the agent resolves it in its session and the merged result keeps both sides", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "shared.txt": "base\n" } })
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 1 }] },
        tasks: makeTasks(1),
        scenario: { turns: { w0: [{ auto: true }, { write: { "shared.txt": "base\nfrom the agent\n" }, auto: true }] } }
      })
      const harness = userCommitsWhileAgentWorks(repo)
      const result = yield* runSwarm(config, { print: quiet }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness }))
      )
      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome).toBe("merged")
      expect(cycle.turns.map((t: { kind: string }) => t.kind)).toContain("conflict-feedback")
      const merged = yield* repo.git("show", "main:shared.txt")
      expect(merged).toContain("from the user")
      expect(merged).toContain("from the agent")
      expect(merged).not.toMatch(/^(<<<<<<<|>>>>>>>)/m)
      // The user's checkout follows main and is not mid-merge.
      expect(fs.existsSync(path.join(repo.path, ".git", "MERGE_HEAD"))).toBe(false)
      expect(fs.readFileSync(path.join(repo.path, "shared.txt"), "utf8")).toContain("from the agent")
      yield* expectCleanRepo(repo)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("merge conflict the agent does not resolve: merge-failed after 3 tries, work kept, main untouched", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "shared.txt": "base\n" } })
      const stubborn = { say: "I could not resolve it.\nCOMPLETE_AND_READY_FOR_MERGE" }
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 1, max_resumes: 10 }] },
        tasks: makeTasks(1),
        scenario: {
          turns: { w0: [{ auto: true }, { write: { "shared.txt": "base\nfrom the agent\n" }, auto: true }, stubborn, stubborn, stubborn, stubborn] }
        }
      })
      const harness = userCommitsWhileAgentWorks(repo)
      const result = yield* expectMergedNothing(runSwarm(config, { print: quiet }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness }))
      ))
      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome).toBe("merge-failed")
      expect(cycle.keptRef).toBe(`refs/oompa/kept/${result.swarm}/w0-c1`)
      expect(yield* repo.git("show", `${cycle.keptRef}:shared.txt`)).toContain("from the agent")
      expect(yield* repo.git("show", "main:shared.txt")).toBe("base\nfrom the user")
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
      yield* expectCleanRepo(repo)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("agent crash: error cycles back off, the worker stops at max_consecutive_errors and the swarm fails with exit 1", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 5 }], max_consecutive_errors: 1 },
        tasks: makeTasks(1),
        scenario: { turns: { w0: [{ auto: true }, { write: { "half.txt": "half done\n" }, exit: 3 }] } }
      })
      const exit = yield* runSwarm(config, { print: quiet }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path })),
        Effect.exit
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("SwarmWorkerFailed")
      const runDir = fs.readdirSync(path.join(repo.path, ".oompa", "runs")).map((d) => path.join(repo.path, ".oompa", "runs", d))[0]!
      const files = validateRunFiles(runDir)
      expect(files.cycles[0].outcome).toBe("error")
      expect(files.cycles[0].detail).toContain("exited with 3")
      expect(yield* repo.git("show", `${files.cycles[0].keptRef}:half.txt`)).toBe("half done")
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
      yield* expectCleanRepo(repo)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("agent hang past its timeout: the turn fails as a timeout and the cycle ends as error", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 1, timeout: 1 }] },
        tasks: makeTasks(1),
        scenario: { turns: { w0: [{ auto: true }, { hang: true }] } }
      })
      const result = yield* expectMergedNothing(runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path }))))
      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome).toBe("error")
      expect(cycle.detail).toContain("timed out")
      expect(cycle.turns[1].timedOut).toBe(true)
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
      yield* expectCleanRepo(repo)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("interrupted mid-turn: no worktree left, claim back in pending, work kept, stopped.json says interrupted", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:diligent", max_cycle: 1 }] },
        tasks: makeTasks(1),
      })
      // The second turn writes some work, tells the test it is mid-turn, and never ends.
      const hanging = yield* Deferred.make<void>()
      const mock = inProcessMock(repo.path)
      const harness: Harness = {
        name: "mock",
        runTurn: (request) =>
          request.prompt.includes("## Claim results")
            ? Effect.sync(() => fs.writeFileSync(path.join(request.cwd, "wip.txt"), "work in progress\n")).pipe(
                Effect.zipRight(Deferred.succeed(hanging, undefined)),
                Effect.zipRight(Effect.never)
              )
            : mock.runTurn(request)
      }
      const fiber = yield* runSwarm(config, { print: quiet }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness })),
        Effect.fork
      )
      yield* Effect.raceFirst(
        Deferred.await(hanging),
        Fiber.await(fiber).pipe(Effect.zipRight(Effect.dieMessage("the swarm ended before the turn hung")))
      )
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      const runDir = fs.readdirSync(path.join(repo.path, ".oompa", "runs")).map((d) => path.join(repo.path, ".oompa", "runs", d))[0]!
      const files = validateRunFiles(runDir)
      const stopped = JSON.parse(fs.readFileSync(path.join(runDir, "stopped.json"), "utf8"))
      expect(stopped.reason).toBe("interrupted")
      expect(files.cycles[0].outcome).toBe("interrupted")
      expect(yield* repo.git("show", `${files.cycles[0].keptRef}:wip.txt`)).toBe("work in progress")
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
      yield* expectCleanRepo(repo)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})
