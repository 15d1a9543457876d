import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber } from "effect"
import type { WorkerSummary } from "../../src/domain/RunFiles.js"
import { runSwarm } from "../../src/engine/swarm.js"
import type { Harness, TurnResult } from "../../src/harness/Harness.js"
import { readRun, workerSummaries } from "../../src/runs/readRuns.js"
import { makeGitRepo } from "../support/gitRepo.js"
import { engineTestLayer, inProcessMock, makeTasks, setupProject, validateRunFiles } from "../support/swarmProject.js"

/**
 * SPEC §11: the run files are the truth. Every number of the summary (table,
 * stopped.json, `view`) is the sum of the cycle files, whatever ended the run;
 * every reviewer attempt and every quarantine is recorded.
 */

const quiet = () => Effect.void

const readEvents = (runDir: string): ReadonlyArray<{ type: string; worker?: string; message: string; data?: Record<string, unknown> }> =>
  fs
    .readFileSync(path.join(runDir, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line))

/** What the cycle files of one worker add up to. */
const fromCycleFiles = (cycles: ReadonlyArray<any>, worker: string) => {
  const own = cycles.filter((c) => c.worker === worker)
  return {
    cycles: own.length,
    merged: own.filter((c) => c.outcome === "merged").length,
    turns: own.reduce((n, c) => n + c.turns.length, 0),
    inputTokens: own.reduce((n, c) => n + c.usage.inputTokens, 0),
    outputTokens: own.reduce((n, c) => n + c.usage.outputTokens, 0),
    cost: own.reduce((n, c) => n + (c.costUsd ?? 0), 0).toFixed(4)
  }
}
const numbersOf = (s: WorkerSummary) => ({
  cycles: s.cycles,
  merged: s.merged,
  turns: s.turns,
  inputTokens: s.usage.inputTokens,
  outputTokens: s.usage.outputTokens,
  cost: s.costUsd.toFixed(4)
})
/** The row of `worker` in a printed summary table, as the same numbers. */
const numbersInTable = (table: string, worker: string) => {
  const cells = table
    .split("\n")
    .find((line) => line.startsWith(`${worker} `))
    ?.split(/\s{2,}/)
  if (cells === undefined) throw new Error(`no row for ${worker} in\n${table}`)
  const [input, output] = cells[10]!.split("/")
  return {
    cycles: Number(cells[2]),
    merged: Number(cells[3]),
    turns: Number(cells[9]),
    inputTokens: Number(input),
    outputTokens: Number(output),
    cost: cells[11]!.replace("$", "")
  }
}

describe("run records (SPEC §11)", () => {
  it.live("an interrupted swarm: stopped.json, the summary table and view count the interrupted cycle like the cycle files", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:diligent", max_cycle: 3 }], reviewer: "mock:diligent" },
        tasks: makeTasks(2)
      })
      // Cycle 1 runs to its merge; cycle 2 claims, writes some work and hangs until interrupted.
      const hanging = yield* Deferred.make<void>()
      const mock = inProcessMock(repo.path)
      const harness: Harness = {
        name: "mock",
        runTurn: (request) =>
          request.mode === "work" && request.prompt.includes("## Claim results") && request.logPath.includes("-c2-")
            ? Effect.sync(() => fs.writeFileSync(path.join(request.cwd, "wip.txt"), "work in progress\n")).pipe(
                Effect.zipRight(Deferred.succeed(hanging, undefined)),
                Effect.zipRight(Effect.never)
              )
            : mock.runTurn(request)
      }
      const printed: Array<string> = []
      const fiber = yield* runSwarm(config, { print: (line) => Effect.sync(() => printed.push(line)) }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness })),
        Effect.fork
      )
      yield* Effect.raceFirst(
        Deferred.await(hanging),
        Fiber.await(fiber).pipe(Effect.zipRight(Effect.dieMessage("the swarm ended before cycle 2 hung")))
      )
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)

      const runDir = path.join(repo.path, ".oompa", "runs", fs.readdirSync(path.join(repo.path, ".oompa", "runs"))[0]!)
      const files = validateRunFiles(runDir)
      expect(files.cycles.map((c) => c.outcome).sort()).toEqual(["interrupted", "merged"])
      const truth = fromCycleFiles(files.cycles, "w0")
      expect(truth.cycles).toBe(2)
      expect(truth.turns).toBeGreaterThan(2)

      const stopped = JSON.parse(fs.readFileSync(path.join(runDir, "stopped.json"), "utf8"))
      expect(stopped.reason).toBe("interrupted")
      const [w0] = stopped.workers as Array<WorkerSummary>
      expect(numbersOf(w0!)).toEqual(truth)
      expect(w0!.other).toBe(1)
      expect(w0!.stopReason).toBe("interrupted")
      // The table printed at the end, and view's (from the files), say the same.
      const table = printed.find((line) => line.includes("tokens in/out"))!
      expect(numbersInTable(table, "w0")).toEqual(truth)
      const run = yield* readRun(runDir)
      expect(workerSummaries(run).map(numbersOf)).toEqual([truth])
      // The swarm's last event is written before stopped.json (`logs --follow` ends on it).
      expect(readEvents(runDir).at(-1)?.type).toBe("swarm-stopped")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a reviewer chain: every attempt has its file, a failed reviewer's error in the CLI's words; reviewers have their own timeout", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      yield* repo.write("crash.json", JSON.stringify({}))
      yield* repo.write("no-verdict.json", JSON.stringify({ reviews: { "*": ["NONE"] } }))
      const config = yield* setupProject(repo, {
        config: {
          workers: [{ model: "mock:diligent", max_cycle: 1, timeout: 300 }],
          reviewers: [{ model: "mock:crash.json", timeout: 42 }, "mock:no-verdict.json", "mock:diligent"]
        },
        tasks: makeTasks(1)
      })
      const mock = inProcessMock(repo.path)
      const reviewTimeouts: Array<[string | undefined, number]> = []
      const harness: Harness = {
        name: "mock",
        runTurn: (request) => {
          if (request.mode !== "review") return mock.runTurn(request)
          reviewTimeouts.push([request.model.model, Duration.toSeconds(request.timeout)])
          return request.model.model === "crash.json"
            ? mock.runTurn(request).pipe(
                Effect.map((result) => ({
                  ...result,
                  text: "",
                  exitCode: 1,
                  error: "API Error: 529 overloaded_error",
                  failure: { class: "overloaded" as const, evidence: "API Error: 529 overloaded_error" }
                }))
              )
            : mock.runTurn(request)
        }
      }
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path, harness })))
      expect(reviewTimeouts).toEqual([
        ["crash.json", 42],
        ["no-verdict.json", 300],
        ["diligent", 300]
      ])
      expect(result.workers[0]?.merged).toBe(1)
      const reviewsDir = path.join(result.runDir, "reviews")
      expect(fs.readdirSync(reviewsDir).sort()).toEqual(["w0-c1-r1-1.json", "w0-c1-r1-2.json", "w0-c1-r1-3.json"])
      validateRunFiles(result.runDir)
      const [first, second, third] = ["1", "2", "3"].map((a) => JSON.parse(fs.readFileSync(path.join(reviewsDir, `w0-c1-r1-${a}.json`), "utf8")))
      expect(first).toMatchObject({ attempt: 1, reviewer: "mock:crash.json", verdict: null, error: "reviewer exited with 1: API Error: 529 overloaded_error" })
      // The adapter's class of the failure is recorded beside the error.
      expect(first.failure).toEqual({ class: "overloaded", evidence: "API Error: 529 overloaded_error" })
      expect(second.failure).toBeUndefined()
      expect(second).toMatchObject({ attempt: 2, reviewer: "mock:no-verdict.json", verdict: null, error: "no VERDICT line in the final message" })
      expect(third).toMatchObject({ attempt: 3, reviewer: "mock:diligent", verdict: "APPROVED" })
      expect(third.error).toBeUndefined()
      // The terminal line (and so `logs`) says why the first reviewer gave no verdict.
      const lines = readEvents(result.runDir).filter((e) => e.type === "review").map((e) => e.message)
      expect(lines[0]).toBe(
        "review round 1: mock:crash.json gave no verdict (reviewer exited with 1: API Error: 529 overloaded_error), trying the next reviewer"
      )
      expect(lines.at(-1)).toBe("review round 1: mock:diligent says APPROVED")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a turn whose CLI exits 0 but reports a failed run (pi after an API error) is a failed turn: record, cycle, terminal line, reviewer file", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      yield* repo.write("erring.json", JSON.stringify({}))
      const config = yield* setupProject(repo, {
        config: {
          workers: [{ model: "mock:diligent", max_cycle: 2 }],
          reviewers: ["mock:erring.json", "mock:diligent"]
        },
        tasks: makeTasks(1)
      })
      const mock = inProcessMock(repo.path)
      // What the pi adapter returns for a run whose last assistant message stopped with an error.
      const reported = (result: TurnResult, message: string): TurnResult => ({
        ...result,
        text: "",
        exitCode: 0,
        reportedFailure: true,
        error: message,
        failure: { class: "other", evidence: message }
      })
      let workTurns = 0
      const harness: Harness = {
        name: "mock",
        runTurn: (request) =>
          request.mode === "review"
            ? request.model.model === "erring.json"
              ? mock.runTurn(request).pipe(Effect.map((result) => reported(result, "400 reviewer request refused")))
              : mock.runTurn(request)
            : ++workTurns === 1
              ? mock.runTurn(request).pipe(Effect.map((result) => reported(result, "400 bad request from the provider")))
              : mock.runTurn(request)
      }
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path, harness })))
      const files = validateRunFiles(result.runDir)
      const [first, second] = [...files.cycles].sort((a, b) => a.cycle - b.cycle)
      // Cycle 1: its first turn failed although the process exited 0; no signal read from it.
      expect(first!.outcome).toBe("error")
      expect(first!.detail).toContain("agent reported a failed run (exit 0): 400 bad request from the provider")
      expect(first!.turns[0]).toMatchObject({ exitCode: 0, signals: [], failure: { class: "other", evidence: "400 bad request from the provider" } })
      // Cycle 2 merges; its first reviewer's exit-0 failure is recorded as such, the next reviewer approves.
      expect(second!.outcome).toBe("merged")
      const review = JSON.parse(fs.readFileSync(path.join(result.runDir, "reviews", "w0-c2-r1-1.json"), "utf8"))
      expect(review).toMatchObject({
        reviewer: "mock:erring.json",
        verdict: null,
        error: "reviewer reported a failed run (exit 0): 400 reviewer request refused",
        failure: { class: "other", evidence: "400 reviewer request refused" }
      })
      const lines = readEvents(result.runDir).filter((e) => e.type === "turn-ended" && e.data?.["cycleName"] === "w0-c1").map((e) => e.message)
      expect(lines[0]).toMatch(/turn 1 failed: exit 0, error in its output$/)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a task file an agent writes invalid during the run is quarantined and recorded as a task-invalid event", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const pending = path.join(repo.path, "tasks", "pending")
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 1 }] },
        scenario: {
          turns: {
            w0: [
              {
                // Written well before now, so the queue's grace for a file still being written is over.
                run: [`printf '{"id": "../evil"}' > "${pending}/evil.json"`, `touch -d '2020-01-01' "${pending}/evil.json"`],
                say: "Wrote a task."
              },
              { say: "__DONE__" }
            ]
          }
        }
      })
      const printed: Array<string> = []
      const result = yield* runSwarm(config, { print: (line) => Effect.sync(() => printed.push(line)) }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path }))
      )
      expect(fs.existsSync(path.join(repo.path, "tasks", "invalid", "evil.json"))).toBe(true)
      const events = readEvents(result.runDir).filter((e) => e.type === "task-invalid")
      expect(events).toHaveLength(1)
      expect(events[0]!.message).toMatch(/^task file pending\/evil\.json is invalid, moved to invalid\/evil\.json: /)
      expect(events[0]!.data).toMatchObject({ file: "evil.json", movedTo: "evil.json" })
      // The terminal shows the event line (what `logs` prints from the file).
      expect(printed.some((line) => line.startsWith("[oompa] task file pending/evil.json is invalid"))).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("the only worker that may plan says __DONE__: an executor waiting up to 600 s stops at once", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: {
          workers: [
            { model: "mock:scenario.json", max_cycle: 5 },
            { model: "mock:diligent", can_plan: false, max_wait_for_tasks: 600 }
          ]
        },
        scenario: { turns: { w0: [{ say: "Nothing left to plan.\n__DONE__" }] } }
      })
      // w0 says __DONE__ only once w1 is waiting, so w1 must be woken, not just find it stopped.
      const waiting = yield* Deferred.make<void>()
      const mock = inProcessMock(repo.path)
      const harness: Harness = {
        name: "mock",
        runTurn: (request) => Deferred.await(waiting).pipe(Effect.zipRight(mock.runTurn(request)))
      }
      const print = (line: string) => (line.startsWith("[w1] waiting up to") ? Deferred.succeed(waiting, undefined) : Effect.void)
      const started = Date.now()
      const result = yield* runSwarm(config, { print }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness })),
        Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error("the executor kept waiting after the planner stopped") })
      )
      expect(Date.now() - started).toBeLessThan(30_000)
      expect(result.workers.map((w) => [w.id, w.stopReason])).toEqual([
        ["w0", "done"],
        ["w1", "no-tasks"]
      ])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)),
    90_000
  )
})
