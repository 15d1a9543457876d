import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { runSwarm } from "../../src/engine/swarm.js"
import type { Harness } from "../../src/harness/Harness.js"
import { makeGitRepo } from "../support/gitRepo.js"
import { engineTestLayer, expectMergedNothing, inProcessMock, makeTasks, readTasks, setupProject, validateRunFiles } from "../support/swarmProject.js"

const quiet = () => Effect.void

describe("swarm: planner, executors, blocked merges, defects", () => {
  it.live("the planner runs first when the queue is short, and its tasks are then done by executors", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: {
          planner: { model: "mock:scenario.json", max_pending: 5 },
          workers: [{ model: "mock:diligent", count: 2, can_plan: false, max_cycle: 3, max_wait_for_tasks: 30 }]
        },
        scenario: {
          turns: {
            planner: [
              {
                run: [
                  `printf '{"id":"p1","summary":"planned one"}' > "${repo.path}/tasks/pending/p1.json"`,
                  `printf '{"id":"p2","summary":"planned two","depends_on":["p1"]}' > "${repo.path}/tasks/pending/p2.json"`
                ],
                write: { "PLAN.md": "# plan\n" },
                say: "Planned two tasks.\nCOMPLETE_AND_READY_FOR_MERGE\n__DONE__"
              }
            ]
          }
        }
      })
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))
      expect(yield* repo.git("show", "main:PLAN.md")).toBe("# plan")
      expect(Object.keys(readTasks(repo.path, "complete")).sort()).toEqual(["p1", "p2"])
      expect(result.workers.map((w) => w.id)).toEqual(["planner", "w0", "w1"])
      expect(result.workers[0]?.merged).toBe(1)
      const cycles = validateRunFiles(result.runDir).cycles
      expect(cycles.find((c) => c.worker === "planner")?.outcome).toBe("merged")
      // Executors stop on their own once the queue is drained (no worker may plan).
      expect(result.workers.slice(1).every((w) => w.stopReason === "no-tasks")).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("an executor waits on the queue watch and starts as soon as a task appears", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:diligent", can_plan: false, max_cycle: 1, max_wait_for_tasks: 60 }, { model: "mock:scenario.json" }] },
        // w1 can plan, so w0 must wait instead of stopping; w1 says it is done once w0 has started its cycle
        // (when the last worker that may plan stops, a waiting executor stops too).
        scenario: { turns: { w1: [{ say: "__DONE__" }] } }
      })
      const waiting = yield* Deferred.make<void>()
      const w0Started = yield* Deferred.make<void>()
      const mock = inProcessMock(repo.path)
      const harness: Harness = {
        name: "mock",
        runTurn: (request) =>
          request.logPath.includes("/w1-") ? Deferred.await(w0Started).pipe(Effect.zipRight(mock.runTurn(request))) : mock.runTurn(request)
      }
      const print = (line: string) =>
        line.includes("[w0] waiting up to")
          ? Deferred.succeed(waiting, undefined)
          : line.startsWith("[w0] c1 cycle 1 started")
            ? Deferred.succeed(w0Started, undefined)
            : Effect.void
      const fiber = yield* runSwarm(config, { print }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path, harness })), Effect.fork)
      yield* Deferred.await(waiting)
      yield* repo.write("tasks/pending/late.json", JSON.stringify({ id: "late", summary: "arrived late" }))
      const result = yield* Fiber.join(fiber)
      expect(Object.keys(readTasks(repo.path, "complete"))).toEqual(["late"])
      expect(result.workers.find((w) => w.id === "w0")?.merged).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a dirty user checkout that blocks the fast-forward past merge_wait: attention, merge-failed, work kept, the user's files untouched", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "notes.txt": "original\n" } })
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 1 }], merge_wait: 1 },
        tasks: makeTasks(1),
        scenario: { turns: { w0: [{ auto: true }, { write: { "notes.txt": "agent version\n" }, auto: true }] } }
      })
      // The user edits the same file in their checkout without committing.
      yield* repo.write("notes.txt", "user's uncommitted edit\n")
      const result = yield* expectMergedNothing(runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path }))))
      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome).toBe("merge-failed")
      expect(cycle.detail).toContain("merge_wait")
      const events = fs.readFileSync(path.join(result.runDir, "events.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l))
      const attention = events.filter((e) => e.type === "attention")
      expect(attention.map((e) => e.data.files)).toEqual([["notes.txt"]])
      // Held and retried for the second of merge_wait, not given up at once.
      const started = Date.parse(attention[0].at)
      const ended = Date.parse(events.find((e) => e.type === "cycle-ended").at)
      expect(ended - started).toBeGreaterThanOrEqual(1000)
      expect(yield* repo.read("notes.txt")).toBe("user's uncommitted edit\n")
      expect(fs.existsSync(path.join(repo.path, ".git", "MERGE_HEAD"))).toBe(false)
      expect(yield* repo.git("show", `${cycle.keptRef}:notes.txt`)).toBe("agent version")
      expect(yield* repo.git("show", "main:notes.txt")).toBe("original")
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("test_command gates the merge: a failure goes back to the agent, the fixed work is reviewed again and merged", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: {
          workers: [{ model: "mock:diligent", max_cycle: 1 }],
          reviewer: "mock:diligent",
          // Passes only once the agent has addressed feedback (the mock then adds this line).
          test_command: "grep -q 'Checked by reading it twice' work/task-01.md || { echo 'work/task-01.md: not checked'; exit 1; }"
        },
        tasks: makeTasks(1)
      })
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))
      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome).toBe("merged")
      expect(cycle.turns.map((t: { kind: string }) => t.kind)).toEqual(["start", "claimresults", "tests-feedback"])
      expect(cycle.reviewRounds).toBe(2)
      expect(fs.readFileSync(path.join(result.runDir, "logs", "w0-c1-test1.log"), "utf8")).toContain("not checked")
      expect(yield* repo.git("show", "main:work/task-01.md")).toContain("Checked by reading it twice")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a claim the cycle never recorded (stamped with this worker) is still put back when the cycle ends", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, { config: { workers: [{ model: "mock:diligent", max_cycle: 1 }] }, tasks: makeTasks(1) })
      // Moves the task to current/ with this worker's stamp behind the engine's back, then fails the turn.
      const harness: Harness = {
        name: "mock",
        runTurn: (request) =>
          Effect.gen(function* () {
            const swarm = /^\[oompa:([0-9a-f]{8}):w0\]/.exec(request.prompt)![1]
            fs.rmSync(path.join(repo.path, "tasks", "pending", "task-01.json"))
            fs.writeFileSync(
              path.join(repo.path, "tasks", "current", "task-01.json"),
              JSON.stringify({ id: "task-01", claimed_by: `w0@${swarm}` })
            )
            return yield* inProcessMock(repo.path).runTurn({ ...request, prompt: "[oompa:x:w0]" }).pipe(
              Effect.map((result) => ({ ...result, exitCode: 1 }))
            )
          })
      }
      yield* expectMergedNothing(runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path, harness }))))
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
      expect(readTasks(repo.path, "current")).toEqual({})
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a defect inside a turn still removes the worktree, keeps the work and puts the claim back", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:diligent", max_cycle: 1 }] },
        tasks: makeTasks(1)
      })
      const mock = inProcessMock(repo.path)
      const harness: Harness = {
        name: "mock",
        runTurn: (request) =>
          request.prompt.includes("## Claim results")
            ? Effect.sync(() => fs.writeFileSync(path.join(request.cwd, "partial.txt"), "partial\n")).pipe(
                Effect.zipRight(Effect.dieMessage("bug in a harness"))
              )
            : mock.runTurn(request)
      }
      const exit = yield* runSwarm(config, { print: quiet }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness })),
        Effect.exit
      )
      expect(exit._tag).toBe("Failure")
      const runDir = path.join(repo.path, ".oompa", "runs", fs.readdirSync(path.join(repo.path, ".oompa", "runs"))[0]!)
      const files = validateRunFiles(runDir)
      expect(files.cycles[0].outcome).toBe("error")
      expect(JSON.parse(fs.readFileSync(path.join(runDir, "stopped.json"), "utf8")).reason).toBe("error")
      expect(yield* repo.git("show", `${files.cycles[0].keptRef}:partial.txt`)).toBe("partial")
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
      expect(fs.readdirSync(path.join(repo.path, ".oompa", "worktrees"))).toEqual([])
      expect(yield* repo.git("branch", "--list", "oompa/*")).toBe("")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a crashed run's leftovers are recovered by the next run: work kept, claims back, stopped.json written", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, { config: { workers: [{ model: "mock:diligent", max_cycle: 1 }] }, tasks: makeTasks(1) })
      // Leftovers of a run whose process died: started.json with a dead pid, a worktree with work, a claim.
      const dead = "deadbeef"
      const runDir = path.join(repo.path, ".oompa", "runs", dead)
      fs.mkdirSync(runDir, { recursive: true })
      fs.writeFileSync(
        path.join(runDir, "started.json"),
        JSON.stringify({
          swarm: dead, pid: 2 ** 22 + 7, host: "x", startedAt: "2026-01-01T00:00:00Z", projectRoot: repo.path,
          configPath: "oompa.json", targetBranch: "main", tasksDir: "tasks",
          versions: { oompa: "0", node: "v20" }, workers: [], config: null
        })
      )
      const wt = path.join(repo.path, ".oompa", "worktrees", `${dead}-w0-c1`)
      yield* repo.git("worktree", "add", "-b", `oompa/${dead}/w0-c1`, wt, "main")
      fs.writeFileSync(path.join(wt, "orphan.txt"), "unsaved work\n")
      fs.renameSync(path.join(repo.path, "tasks", "pending", "task-01.json"), path.join(repo.path, "tasks", "current", "task-01.json"))
      fs.writeFileSync(
        path.join(repo.path, "tasks", "current", "task-01.json"),
        JSON.stringify({ id: "task-01", claimed_by: `w0@${dead}` })
      )
      yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))
      expect(yield* repo.git("show", `refs/oompa/kept/${dead}/w0-c1:orphan.txt`)).toBe("unsaved work")
      expect(JSON.parse(fs.readFileSync(path.join(runDir, "stopped.json"), "utf8")).reason).toBe("error")
      expect(fs.existsSync(wt)).toBe(false)
      // The recovered claim went back to pending and this run completed it.
      expect(Object.keys(readTasks(repo.path, "complete"))).toEqual(["task-01"])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})
