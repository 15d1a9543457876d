import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { Duration, Effect, Exit, Fiber, Option, TestClock } from "effect"
import type { RunEvent, RunEventOf } from "../../src/domain/RunEvent.js"
import type { CycleFile, StoppedFile } from "../../src/domain/RunFiles.js"
import { SwarmBudgetReached } from "../../src/engine/swarm.js"
import type { Harness, TurnRequest } from "../../src/harness/Harness.js"
import { inProcessMock, makeTasks, readTasks, validateRunFiles } from "../support/swarmProject.js"
import { awaitSleepUntil, nextEvent, startSwarm } from "../support/clockedSwarm.js"

/**
 * Budgets (issue 11, docs/budgets.md) in a whole swarm with the in-process
 * mock: each scope (swarm, worker, task) and each limit (max_cost_usd,
 * max_tokens, max_runtime on the TestClock). What the user sees: the
 * budget-reached event, no turn after it in its scope, the work kept, the
 * claims back, stopped.json's reason and budgets, the exit code (3).
 */

/** What a scripted turn does instead of (or on top of) the mock's own: hang, or report this spend. */
type Spend = "hang" | { readonly usage?: { inputTokens: number; outputTokens: number; cachedInputTokens: number }; readonly costUsd?: number | null }

/** The mock, with each turn's usage and cost (or a hang) chosen by worker and turn number (1-based, reviews counted apart). */
const scripted = (baseDir: string, plan: (worker: string, n: number, request: TurnRequest) => Spend | undefined): Harness => {
  const mock = inProcessMock(baseDir)
  const counts = new Map<string, number>()
  return {
    name: "mock",
    runTurn: (request) => {
      const worker = /\[oompa:[^:\]]+:([^:\]]+)/.exec(request.prompt)?.[1] ?? "?"
      const key = `${worker}:${request.mode}`
      const n = (counts.get(key) ?? 0) + 1
      counts.set(key, n)
      const spend = plan(worker, n, request)
      if (spend === "hang") return Effect.never
      return mock.runTurn(request).pipe(
        Effect.map((result) =>
          spend === undefined
            ? result
            : {
                ...result,
                ...(spend.usage !== undefined ? { usage: spend.usage } : {}),
                ...(spend.costUsd !== undefined ? { costUsd: Option.fromNullable(spend.costUsd) } : {})
              }
        )
      )
    }
  }
}

const runDirOf = (repoPath: string) => {
  const runs = path.join(repoPath, ".oompa", "runs")
  const [run] = fs.readdirSync(runs).filter((d) => !d.startsWith("."))
  return path.join(runs, run!)
}
const readJson = <A>(file: string): A => JSON.parse(fs.readFileSync(file, "utf8")) as A
const stoppedOf = (repoPath: string) => readJson<StoppedFile>(path.join(runDirOf(repoPath), "stopped.json"))
const cycleOf = (repoPath: string, name: string) => readJson<CycleFile>(path.join(runDirOf(repoPath), "cycles", `${name}.json`))
const eventsOf = (repoPath: string): ReadonlyArray<RunEvent> =>
  fs
    .readFileSync(path.join(runDirOf(repoPath), "events.jsonl"), "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as RunEvent)
const keptRefs = (repoPath: string) =>
  fs.existsSync(path.join(repoPath, ".git", "refs", "oompa", "kept"))
    ? fs.readdirSync(path.join(repoPath, ".git", "refs", "oompa", "kept"), { recursive: true }).map(String)
    : []

/** Events after the first budget-reached one, of the given worker (any when undefined). */
const turnsAfterBudget = (events: ReadonlyArray<RunEvent>, worker?: string) => {
  const at = events.findIndex((e) => e.type === "budget-reached")
  return events.slice(at + 1).filter((e) => (e.type === "turn-started" || e.type === "review-started") && (worker === undefined || e.worker === worker))
}

const budgetFailure = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error instanceof SwarmBudgetReached ? exit.cause.error : undefined

const tenCents = { costUsd: 0.1 }

describe("budgets in a swarm", () => {
  it.scopedLive("the swarm's max_cost_usd: reached at a turn's end, no new turn, work kept, claim back, stopped.json says budget, exit 3", () =>
    Effect.gen(function* () {
      const { repo, swarm } = yield* startSwarm(
        {
          config: { workers: [{ model: "mock:diligent", max_cycle: 5 }], reviewer: "mock:diligent", budget: { max_cost_usd: 0.15 } },
          tasks: makeTasks(3)
        },
        (baseDir) => scripted(baseDir, () => tenCents)
      )
      const exit = yield* Fiber.join(swarm)
      const error = budgetFailure(exit)
      expect(error?.exitCode).toBe(3)
      const events = eventsOf(repo.path)
      const reached = events.filter((e): e is RunEventOf<"budget-reached"> => e.type === "budget-reached")
      expect(reached.map((e) => e.data)).toEqual([{ scope: "swarm", limit: "max_cost_usd", value: 0.15, spent: expect.closeTo(0.2, 6), estimated: false }])
      expect(reached[0]!.message).toBe("the swarm's budget max_cost_usd $0.15 reached: $0.20 spent; no new turns")
      expect(turnsAfterBudget(events)).toEqual([])
      const stopped = stoppedOf(repo.path)
      expect({ reason: stopped.reason, exitCode: stopped.exitCode, budgets: stopped.budgets?.map((b) => `${b.scope}:${b.limit}`) }).toEqual({
        reason: "budget",
        exitCode: 3,
        budgets: ["swarm:max_cost_usd"]
      })
      expect(stopped.detail).toContain("the swarm's budget max_cost_usd")
      // The cycle ended as on a Ctrl-C: the agent's work under a kept ref, its claim back in pending.
      const cycle = cycleOf(repo.path, "w0-c1")
      expect(cycle.outcome).toBe("interrupted")
      expect(cycle.detail).toContain("budget max_cost_usd")
      expect(cycle.keptRef).toBeDefined()
      expect(Object.keys(readTasks(repo.path, "current"))).toEqual([])
      expect(Object.keys(readTasks(repo.path, "pending")).sort()).toEqual(["task-01", "task-02", "task-03"])
      expect(readTasks(repo.path, "pending")["task-01"]!["attempts"]).toMatchObject([{ outcome: "interrupted", kept_ref: cycle.keptRef }])
      validateRunFiles(runDirOf(repo.path))
    })
  )

  it.scopedLive("a worker's max_cost_usd, estimated from the price table where the CLI reports no cost: that worker stops (budget), the other goes on", () =>
    Effect.gen(function* () {
      const usage = { inputTokens: 1000, outputTokens: 100, cachedInputTokens: 0 }
      const { repo, swarm } = yield* startSwarm(
        {
          config: {
            workers: [
              { model: "mock:diligent", max_cycle: 3, budget: { max_cost_usd: 0.3 } },
              { model: "mock:diligent", max_cycle: 4 }
            ],
            reviewer: "mock:diligent",
            // $0.10 for the input and $0.10 for the output of each turn.
            prices: { "mock:diligent": { input_per_mtok: 100, output_per_mtok: 1000 } }
          },
          tasks: makeTasks(2)
        },
        (baseDir) => scripted(baseDir, () => ({ usage, costUsd: null }))
      )
      const exit = yield* Fiber.join(swarm)
      expect(budgetFailure(exit)?.budgets).toEqual([expect.stringContaining("worker w0's budget max_cost_usd $0.30 reached")])
      const events = eventsOf(repo.path)
      const reached = events.filter((e): e is RunEventOf<"budget-reached"> => e.type === "budget-reached")
      expect(reached.map((e) => ({ worker: e.worker, ...e.data }))).toEqual([
        { worker: "w0", scope: "worker", id: "w0", limit: "max_cost_usd", value: 0.3, spent: expect.closeTo(0.4, 6), estimated: true }
      ])
      expect(reached[0]!.message).toContain("(estimated)")
      expect(turnsAfterBudget(events, "w0")).toEqual([])
      const stopped = stoppedOf(repo.path)
      expect(stopped.reason).toBe("completed")
      expect(stopped.exitCode).toBe(3)
      expect(stopped.workers.map((w) => [w.id, w.stopReason, w.costEstimated])).toEqual([
        ["w0", "budget", true],
        ["w1", expect.not.stringMatching(/^budget$/), true]
      ])
      // Every record marks its figure as an estimate.
      const cycle = cycleOf(repo.path, "w0-c1")
      expect(cycle.costEstimated).toBe(true)
      expect(cycle.turns.every((t) => t.costEstimated === true && t.costUsd !== undefined)).toBe(true)
      // w1 lands both tasks, the one w0 held too.
      expect(Object.keys(readTasks(repo.path, "complete")).sort()).toEqual(["task-01", "task-02"])
      validateRunFiles(runDirOf(repo.path))
    })
  )

  it.scopedLive("a task's own max_tokens: its cycle ends, work kept, the task back in pending stamped budget_reached and not claimed again", () =>
    Effect.gen(function* () {
      const usage = { inputTokens: 1000, outputTokens: 100, cachedInputTokens: 0 }
      const { repo, swarm } = yield* startSwarm(
        {
          config: { workers: [{ model: "mock:diligent", max_cycle: 3 }], reviewer: "mock:diligent", task_budget: { max_cost_usd: 50 } },
          tasks: [{ id: "big", summary: "A big one", budget: { max_tokens: 2000 } }, { id: "small", summary: "A small one" }]
        },
        (baseDir) => scripted(baseDir, () => ({ usage, costUsd: 0.01 }))
      )
      const exit = yield* Fiber.join(swarm)
      // A task's budget does not fail the swarm: the task waits for a person.
      expect(Exit.isSuccess(exit)).toBe(true)
      const events = eventsOf(repo.path)
      const reached = events.filter((e): e is RunEventOf<"budget-reached"> => e.type === "budget-reached")
      // The claiming turn's 1100 tokens count toward the task it claimed; the next turn's take it to 2200.
      expect(reached.map((e) => ({ worker: e.worker, ...e.data }))).toEqual([
        { worker: "w0", scope: "task", id: "big", limit: "max_tokens", value: 2000, spent: 2200, estimated: false }
      ])
      const cycle = cycleOf(repo.path, "w0-c1")
      expect(cycle.outcome).toBe("interrupted")
      expect(cycle.detail).toBe("task big's budget max_tokens 2000 tokens reached: 2200 tokens spent; no new turns")
      expect(cycle.keptRef).toBeDefined()
      const big = readTasks(repo.path, "pending")["big"]!
      expect(big["budget_reached"]).toMatchObject({ limit: "max_tokens", value: 2000, spent: 2200, estimated: false })
      expect(big["attempts"]).toMatchObject([{ outcome: "interrupted", kept_ref: cycle.keptRef }])
      expect(big["claimed_by"]).toBeUndefined()
      // The next cycle took the other task; nobody claimed big again.
      expect(Object.keys(readTasks(repo.path, "complete"))).toEqual(["small"])
      const claims = events.filter((e): e is RunEventOf<"claim"> => e.type === "claim").flatMap((e) => e.data.results.filter((r) => r.result === "Claimed").map((r) => r.id))
      expect(claims).toEqual(["big", "small"])
      expect(stoppedOf(repo.path).budgets).toEqual([{ scope: "task", id: "big", limit: "max_tokens", value: 2000, spent: 2200, estimated: false }])
      validateRunFiles(runDirOf(repo.path))
    })
  )

  it.scopedLive("task_budget's max_cost_usd applies to every task without its own", () =>
    Effect.gen(function* () {
      const { repo, swarm } = yield* startSwarm(
        {
          config: { workers: [{ model: "mock:diligent", max_cycle: 1 }], reviewer: "mock:diligent", task_budget: { max_cost_usd: 0.15 } },
          tasks: makeTasks(1)
        },
        (baseDir) => scripted(baseDir, () => tenCents)
      )
      expect(Exit.isSuccess(yield* Fiber.join(swarm))).toBe(true)
      expect(readTasks(repo.path, "pending")["task-01"]!["budget_reached"]).toMatchObject({ limit: "max_cost_usd", value: 0.15 })
      expect(keptRefs(repo.path).length).toBeGreaterThan(0)
    })
  )

  it.scopedLive("a worker's max_tokens stops it after the turn that reached it", () =>
    Effect.gen(function* () {
      const usage = { inputTokens: 600, outputTokens: 0, cachedInputTokens: 0 }
      const { repo, swarm } = yield* startSwarm(
        { config: { workers: [{ model: "mock:diligent", max_cycle: 3, budget: { max_tokens: 1000 } }], reviewer: "mock:diligent" }, tasks: makeTasks(1) },
        (baseDir) => scripted(baseDir, () => ({ usage }))
      )
      expect(budgetFailure(yield* Fiber.join(swarm))?.exitCode).toBe(3)
      const stopped = stoppedOf(repo.path)
      expect(stopped.budgets).toEqual([{ scope: "worker", id: "w0", limit: "max_tokens", value: 1000, spent: 1200, estimated: false }])
      expect(stopped.workers[0]!.stopReason).toBe("budget")
      expect(cycleOf(repo.path, "w0-c1").turns).toHaveLength(2)
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
    })
  )
})

describe("a model without a price under a cost budget", () => {
  it.scopedLive("its turns count as $0, said once in a warning; no cost is invented", () =>
    Effect.gen(function* () {
      const { repo, swarm } = yield* startSwarm(
        { config: { workers: [{ model: "mock:diligent", max_cycle: 1 }], reviewer: "mock:diligent", budget: { max_cost_usd: 5 } }, tasks: makeTasks(1) },
        (baseDir) => scripted(baseDir, () => ({ costUsd: null }))
      )
      expect(Exit.isSuccess(yield* Fiber.join(swarm))).toBe(true)
      const warnings = eventsOf(repo.path).filter((e) => e.type === "warning" && e.message.includes("reported no cost"))
      expect(warnings.map((w) => w.message)).toEqual([
        'mock:diligent reported no cost and the price table has no row for it: its turns count as $0 towards max_cost_usd; add it to "prices" in oompa.json (docs/budgets.md)'
      ])
      const cycle = cycleOf(repo.path, "w0-c1")
      expect(cycle.turns.map((t) => [t.costUsd, t.costEstimated])).toEqual(cycle.turns.map(() => [undefined, undefined]))
      expect(cycle.outcome).toBe("merged")
    })
  )
})

describe("max_runtime budgets (TestClock)", () => {
  it.scoped("the swarm's max_runtime ends a turn that is still running: stopped.json says budget, exit 3, the claim back", () =>
    Effect.gen(function* () {
      const { repo, events, swarm } = yield* startSwarm(
        { config: { workers: [{ model: "mock:diligent", max_cycle: 2 }], reviewer: "mock:diligent", budget: { max_runtime: 60 } }, tasks: makeTasks(1) },
        // The claiming turn ends; the next one runs until the budget ends it.
        (baseDir) => scripted(baseDir, (_, n) => (n >= 2 ? "hang" : undefined))
      )
      yield* nextEvent(events, "claim")
      yield* nextEvent(events, "turn-started")
      yield* awaitSleepUntil(60_000)
      yield* TestClock.adjust(Duration.seconds(59))
      yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(swarm))).toBe(true)
      yield* TestClock.adjust(Duration.seconds(1))
      const reached = yield* nextEvent(events, "budget-reached")
      expect(reached.data).toEqual({ scope: "swarm", limit: "max_runtime", value: 60, spent: 60, estimated: false })
      expect(reached.message).toBe("the swarm's budget max_runtime 1m reached: 1m spent; no new turns")
      expect(budgetFailure(yield* Fiber.join(swarm))?.exitCode).toBe(3)
      const stopped = stoppedOf(repo.path)
      expect({ reason: stopped.reason, exitCode: stopped.exitCode }).toEqual({ reason: "budget", exitCode: 3 })
      expect(cycleOf(repo.path, "w0-c1").outcome).toBe("interrupted")
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
      expect(Object.keys(readTasks(repo.path, "current"))).toEqual([])
    })
  )

  it.scoped("a worker's max_runtime ends its running turn and stops it (budget)", () =>
    Effect.gen(function* () {
      const { repo, events, swarm } = yield* startSwarm(
        { config: { workers: [{ model: "mock:diligent", max_cycle: 2, budget: { max_runtime: 30 } }], reviewer: "mock:diligent" }, tasks: makeTasks(1) },
        (baseDir) => scripted(baseDir, () => "hang")
      )
      yield* nextEvent(events, "turn-started")
      yield* awaitSleepUntil(30_000)
      yield* TestClock.adjust(Duration.seconds(30))
      const reached = yield* nextEvent(events, "budget-reached")
      expect({ worker: reached.worker, ...reached.data }).toEqual({ worker: "w0", scope: "worker", id: "w0", limit: "max_runtime", value: 30, spent: 30, estimated: false })
      expect(budgetFailure(yield* Fiber.join(swarm))?.exitCode).toBe(3)
      const stopped = stoppedOf(repo.path)
      expect({ reason: stopped.reason, w0: stopped.workers[0]!.stopReason }).toEqual({ reason: "completed", w0: "budget" })
      expect(cycleOf(repo.path, "w0-c1").detail).toContain("worker w0's budget max_runtime 30s reached")
    })
  )

  it.scoped("a task's max_runtime runs from its claim: the cycle holding it ends, the task is stamped, the worker goes on", () =>
    Effect.gen(function* () {
      const { repo, events, swarm } = yield* startSwarm(
        {
          config: { workers: [{ model: "mock:diligent", max_cycle: 2 }], reviewer: "mock:diligent" },
          tasks: [{ id: "slow", summary: "Slow", budget: { max_runtime: 45 } }]
        },
        (baseDir) => scripted(baseDir, (_, n) => (n === 2 ? "hang" : undefined))
      )
      yield* nextEvent(events, "claim")
      yield* nextEvent(events, "turn-started")
      const claimedAt = yield* TestClock.currentTimeMillis
      yield* awaitSleepUntil(claimedAt + 45_000)
      yield* TestClock.adjust(Duration.seconds(45))
      const reached = yield* nextEvent(events, "budget-reached")
      expect(reached.data).toEqual({ scope: "task", id: "slow", limit: "max_runtime", value: 45, spent: 45, estimated: false })
      const exit = yield* Fiber.join(swarm)
      expect(Exit.isSuccess(exit)).toBe(true)
      const slow = readTasks(repo.path, "pending")["slow"]!
      expect(slow["budget_reached"]).toMatchObject({ limit: "max_runtime", value: 45 })
      expect(cycleOf(repo.path, "w0-c1").outcome).toBe("interrupted")
      // Its second cycle was offered nothing (the stamped task is not available): no claim of it again.
      const claims = eventsOf(repo.path).filter((e): e is RunEventOf<"claim"> => e.type === "claim")
      expect(claims).toHaveLength(1)
    })
  )
})
