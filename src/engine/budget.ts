import { Deferred, Duration, Effect, Fiber, Option, Ref, type Scope } from "effect"
import { addSpent, hasLimits, mergeBudgets, nothingSpent, reachedLimit, type BudgetLimits, type Spent } from "../domain/Budget.js"
import { make as runEvent } from "../domain/RunEvent.js"
import type { BudgetReachedRecord } from "../domain/RunFiles.js"
import type { BudgetReachedStamp, Task } from "../domain/Task.js"
import type { RunLog } from "../services/RunLog.js"
import { nowIso } from "../services/RunLog.js"
import type { TaskQueue } from "../services/TaskQueue.js"

/**
 * The budgets of one run (docs/budgets.md): what the swarm, each worker and
 * each task has spent, checked at every turn's end (cost and tokens are known
 * then) and by timers for max_runtime (Effect's Clock, so TestClock drives
 * them). A reached budget is announced once (`budget-reached`) and then acts
 * on its scope: the swarm's ends the run as a first Ctrl-C does (swarm.ts),
 * a worker's ends its cycle and stops it (worker.ts), a task's ends the cycle
 * that holds it and stamps it `budget_reached` in pending (cycle.ts), or at once
 * when no cycle holds it.
 */
export interface Budgets {
  /** Done once the swarm's budget is reached. */
  readonly swarmReached: Deferred.Deferred<BudgetReachedRecord>
  /** The worker begins: its max_runtime runs from now. */
  readonly workerStarted: (worker: string, budget: BudgetLimits | undefined) => Effect.Effect<void>
  /** The worker stopped: its timer ends. */
  readonly workerStopped: (worker: string) => Effect.Effect<void>
  readonly workerReached: (worker: string) => Effect.Effect<Option.Option<BudgetReachedRecord>>
  /** Returns once the worker's own budget is reached (never without one). */
  readonly awaitWorker: (worker: string) => Effect.Effect<BudgetReachedRecord>
  /**
   * A new cycle of the worker: returns what completes once the cycle must end
   * for a budget (the worker's, or a task's it holds).
   */
  readonly cycleStarted: (worker: string) => Effect.Effect<Effect.Effect<BudgetReachedRecord>>
  /** The cycle ended: its tasks are held no more; merged ones are done with (their timers end). */
  readonly cycleEnded: (worker: string, merged: ReadonlyArray<string>) => Effect.Effect<void>
  /** The cycle claimed these tasks: each is charged what the cycle has spent so far, its max_runtime starts at its first claim. */
  readonly claimed: (worker: string, tasks: ReadonlyArray<{ readonly id: string; readonly task: Task }>) => Effect.Effect<void>
  /** A turn of the worker (a review included) ended having spent this. */
  readonly spend: (worker: string, spent: Spent) => Effect.Effect<void>
  readonly taskReached: (id: string) => Effect.Effect<Option.Option<BudgetReachedRecord>>
  /** Why a cycle of `worker` holding `claims` must stop for a budget, if it must. */
  readonly stopOf: (worker: string, claims: ReadonlyArray<string>) => Effect.Effect<Option.Option<BudgetReachedRecord>>
  /** Whether a new turn of the worker may start (no budget of its scope reached). */
  readonly mayStartTurn: (worker: string) => Effect.Effect<boolean>
  /** Every budget reached so far, in order. */
  readonly reached: Effect.Effect<ReadonlyArray<BudgetReachedRecord>>
  /**
   * A turn of `model` had no cost (its CLI reported none, the price table has no row):
   * warns once per model while a max_cost_usd budget is set, since it counts as $0 there.
   */
  readonly unpriced: (model: string, worker: string) => Effect.Effect<void>
}

interface TaskAccount {
  readonly spent: Spent
  readonly budget: BudgetLimits | undefined
  readonly holder: string | undefined
}

interface State {
  readonly swarm: Spent
  readonly workers: ReadonlyMap<string, Spent>
  readonly workerBudgets: ReadonlyMap<string, BudgetLimits | undefined>
  readonly tasks: ReadonlyMap<string, TaskAccount>
  /** What each worker's running cycle has spent: charged to a task it claims. */
  readonly cycles: ReadonlyMap<string, Spent>
  readonly reached: ReadonlyArray<BudgetReachedRecord>
}

const keyOf = (record: { readonly scope: string; readonly id?: string | undefined }) => `${record.scope}:${record.id ?? ""}`

/** The stamp a task whose budget was reached carries in pending. */
export const budgetStamp = (record: BudgetReachedRecord, swarm: string, at: string): BudgetReachedStamp => ({
  limit: record.limit,
  value: record.value,
  spent: record.spent,
  estimated: record.estimated,
  swarm,
  at
})

/** The one line that says why a budget stopped something: the event's own wording. */
export const describeBudget = (record: BudgetReachedRecord): string => runEvent.budgetReached({}, record).message

export const makeBudgets = (options: {
  readonly swarm: string
  readonly budget: BudgetLimits | undefined
  readonly taskBudget: BudgetLimits | undefined
  readonly runLog: RunLog
  readonly queue: TaskQueue
}): Effect.Effect<Budgets, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const state = yield* Ref.make<State>({
      swarm: nothingSpent,
      workers: new Map(),
      workerBudgets: new Map(),
      tasks: new Map(),
      cycles: new Map(),
      reached: []
    })
    const swarmReached = yield* Deferred.make<BudgetReachedRecord>()
    const workerSignals = new Map<string, Deferred.Deferred<BudgetReachedRecord>>()
    const cycleSignals = new Map<string, Deferred.Deferred<BudgetReachedRecord>>()
    const timers = new Map<string, Fiber.RuntimeFiber<void>>()
    const unpricedWarned = new Set<string>()
    const costCapped = options.budget?.max_cost_usd !== undefined || options.taskBudget?.max_cost_usd !== undefined

    const workerSignal = (worker: string) =>
      Effect.gen(function* () {
        const known = workerSignals.get(worker)
        if (known !== undefined) return known
        const made = yield* Deferred.make<BudgetReachedRecord>()
        workerSignals.set(worker, made)
        return made
      })

    const reachedOf = (key: string) => Effect.map(Ref.get(state), (s) => Option.fromNullable(s.reached.find((r) => keyOf(r) === key)))

    /** Records, announces and acts on a reached budget, once per scope. */
    const reach = (record: BudgetReachedRecord) =>
      Effect.gen(function* () {
        const first = yield* Ref.modify(state, (s): [boolean, State] =>
          s.reached.some((r) => keyOf(r) === keyOf(record)) ? [false, s] : [true, { ...s, reached: [...s.reached, record] }]
        )
        if (!first) return
        const holder = record.scope === "task" ? (yield* Ref.get(state)).tasks.get(record.id ?? "")?.holder : undefined
        const worker = record.scope === "worker" ? record.id : holder
        yield* options.runLog.emit(runEvent.budgetReached(worker !== undefined ? { worker } : {}, record))
        switch (record.scope) {
          case "swarm":
            yield* Deferred.succeed(swarmReached, record)
            return
          case "worker": {
            const id = record.id ?? ""
            yield* Deferred.succeed(yield* workerSignal(id), record)
            const cycle = cycleSignals.get(id)
            if (cycle !== undefined) yield* Deferred.succeed(cycle, record)
            return
          }
          case "task": {
            const cycle = holder !== undefined ? cycleSignals.get(holder) : undefined
            if (cycle !== undefined) {
              yield* Deferred.succeed(cycle, record)
              return
            }
            // No cycle holds it (its max_runtime ran out while it waited in pending): stamp it there now.
            const id = record.id ?? ""
            yield* options.queue.annotate(id, "pending", { budget_reached: budgetStamp(record, options.swarm, yield* nowIso) }).pipe(
              Effect.catchAll((error) => options.runLog.emit(runEvent.warning(`could not stamp task ${id} budget_reached: ${error.message}`)))
            )
            return
          }
        }
      })

    /** A max_runtime timer for one scope, in the run's scope; `stop` ends it early. */
    const arm = (scopeOf: { readonly scope: BudgetReachedRecord["scope"]; readonly id?: string }, seconds: number | undefined) =>
      Effect.gen(function* () {
        if (seconds === undefined) return
        const key = keyOf(scopeOf)
        if (timers.has(key)) return
        const fiber = yield* Effect.sleep(Duration.seconds(seconds)).pipe(
          Effect.zipRight(reach({ ...scopeOf, limit: "max_runtime", value: seconds, spent: seconds, estimated: false })),
          Effect.forkIn(scope)
        )
        timers.set(key, fiber)
      })
    const disarm = (key: string) =>
      Effect.gen(function* () {
        const fiber = timers.get(key)
        timers.delete(key)
        if (fiber !== undefined) yield* Fiber.interrupt(fiber)
      })

    const check = (scopeOf: { readonly scope: BudgetReachedRecord["scope"]; readonly id?: string }, budget: BudgetLimits | undefined, spent: Spent) => {
      const hit = reachedLimit(budget, spent)
      return hit === undefined ? Effect.void : reach({ ...scopeOf, ...hit, estimated: spent.estimated })
    }

    yield* arm({ scope: "swarm" }, options.budget?.max_runtime)

    const budgets: Budgets = {
      swarmReached,
      workerStarted: (worker, budget) =>
        Ref.update(state, (s) => ({ ...s, workerBudgets: new Map(s.workerBudgets).set(worker, budget) })).pipe(
          Effect.zipRight(workerSignal(worker)),
          Effect.zipRight(arm({ scope: "worker", id: worker }, budget?.max_runtime))
        ),
      workerStopped: (worker) => disarm(keyOf({ scope: "worker", id: worker })),
      workerReached: (worker) => reachedOf(keyOf({ scope: "worker", id: worker })),
      awaitWorker: (worker) => Effect.flatMap(workerSignal(worker), Deferred.await),
      cycleStarted: (worker) =>
        Effect.gen(function* () {
          const signal = yield* Deferred.make<BudgetReachedRecord>()
          cycleSignals.set(worker, signal)
          yield* Ref.update(state, (s) => ({ ...s, cycles: new Map(s.cycles).set(worker, nothingSpent) }))
          // Reached before the cycle began (a timer between cycles): the cycle ends at once.
          const already = yield* reachedOf(keyOf({ scope: "worker", id: worker }))
          if (Option.isSome(already)) yield* Deferred.succeed(signal, already.value)
          return Deferred.await(signal)
        }),
      cycleEnded: (worker, merged) =>
        Effect.gen(function* () {
          cycleSignals.delete(worker)
          yield* Ref.update(state, (s) => {
            const tasks = new Map(s.tasks)
            for (const [id, account] of tasks) if (account.holder === worker) tasks.set(id, { ...account, holder: undefined })
            const cycles = new Map(s.cycles)
            cycles.delete(worker)
            return { ...s, tasks, cycles }
          })
          for (const id of merged) yield* disarm(keyOf({ scope: "task", id }))
        }),
      claimed: (worker, claimed) =>
        Effect.gen(function* () {
          const charged = yield* Ref.modify(state, (s): [ReadonlyArray<{ id: string; account: TaskAccount }>, State] => {
            const tasks = new Map(s.tasks)
            const cycle = s.cycles.get(worker) ?? nothingSpent
            const out: Array<{ id: string; account: TaskAccount }> = []
            for (const { id, task } of claimed) {
              const before = tasks.get(id)
              const account: TaskAccount = {
                spent: addSpent(before?.spent ?? nothingSpent, cycle),
                budget: before?.budget ?? mergeBudgets(options.taskBudget, task.budget),
                holder: worker
              }
              tasks.set(id, account)
              out.push({ id, account })
            }
            return [out, { ...s, tasks }]
          })
          for (const { id, account } of charged) {
            if (!hasLimits(account.budget)) continue
            yield* arm({ scope: "task", id }, account.budget.max_runtime)
            yield* check({ scope: "task", id }, account.budget, account.spent)
          }
        }),
      spend: (worker, spent) =>
        Effect.gen(function* () {
          const s = yield* Ref.updateAndGet(state, (s) => {
            const tasks = new Map(s.tasks)
            for (const [id, account] of tasks) if (account.holder === worker) tasks.set(id, { ...account, spent: addSpent(account.spent, spent) })
            return {
              ...s,
              swarm: addSpent(s.swarm, spent),
              workers: new Map(s.workers).set(worker, addSpent(s.workers.get(worker) ?? nothingSpent, spent)),
              cycles: s.cycles.has(worker) ? new Map(s.cycles).set(worker, addSpent(s.cycles.get(worker)!, spent)) : s.cycles,
              tasks
            }
          })
          yield* check({ scope: "swarm" }, options.budget, s.swarm)
          yield* check({ scope: "worker", id: worker }, s.workerBudgets.get(worker), s.workers.get(worker) ?? nothingSpent)
          for (const [id, account] of s.tasks) if (account.holder === worker) yield* check({ scope: "task", id }, account.budget, account.spent)
        }),
      taskReached: (id) => reachedOf(keyOf({ scope: "task", id })),
      stopOf: (worker, claims) =>
        Effect.map(Ref.get(state), (s) =>
          Option.fromNullable(
            s.reached.find(
              (r) => r.scope === "swarm" || (r.scope === "worker" && r.id === worker) || (r.scope === "task" && claims.includes(r.id ?? ""))
            )
          )
        ),
      mayStartTurn: (worker) =>
        Effect.map(Ref.get(state), (s) => {
          const held = new Set([...s.tasks].filter(([, account]) => account.holder === worker).map(([id]) => id))
          return !s.reached.some(
            (r) => r.scope === "swarm" || (r.scope === "worker" && r.id === worker) || (r.scope === "task" && held.has(r.id ?? ""))
          )
        }),
      reached: Effect.map(Ref.get(state), (s) => s.reached),
      unpriced: (model, worker) =>
        Effect.gen(function* () {
          const capped = costCapped || (yield* Ref.get(state)).workerBudgets.get(worker)?.max_cost_usd !== undefined
          if (!capped || unpricedWarned.has(model)) return
          unpricedWarned.add(model)
          yield* options.runLog.emit(
            runEvent.warning(
              `${model} reported no cost and the price table has no row for it: its turns count as $0 towards max_cost_usd; add it to "prices" in oompa.json (docs/budgets.md)`,
              { worker }
            )
          )
        })
    }
    return budgets
  })
