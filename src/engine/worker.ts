import { Clock, Deferred, Duration, Effect, Either, Option, Queue } from "effect"
import type { WorkerSpec } from "../config/OompaConfig.js"
import { formatModel } from "../domain/Model.js"
import type { WorkerSummary } from "../domain/RunFiles.js"
import { decide, initialWorkerState, nextCycle, type StopReason, type WorkerState } from "../domain/WorkerState.js"
import { summarizeWorker } from "../runs/summaries.js"
import { decideConfigOf, type SwarmContext } from "./context.js"
import { messageOf, runCycle, type CycleResult } from "./cycle.js"
import { make as runEvent } from "../domain/RunEvent.js"
import { workerWorktree } from "./worktreeSetup.js"

/**
 * What the swarm knows of a worker beyond its cycle records: when it started
 * and, once it has, why and when it stopped. Its numbers are never reported:
 * they are computed from the cycle records (src/runs/summaries.ts), so a cycle
 * whose ending only its release recorded (an interruption) counts like any other.
 */
export interface WorkerRun {
  readonly id: string
  readonly model: string
  readonly startedMs: number
  readonly stopped?: { readonly reason: StopReason; readonly atMs: number }
}

/**
 * One worker (SPEC §5): cycles until `max_cycle`, DONE, too many errors, no
 * tasks for an executor, or interruption. Executors wait on the queue watch
 * (no polling) before each cycle. Returns the worker's summary line.
 */
export const runWorker = Effect.fn("engine.runWorker")(function* (
  ctx: SwarmContext,
  spec: WorkerSpec,
  /** Told when the worker starts and when it stops. */
  report: (run: WorkerRun) => Effect.Effect<void>
) {
  const started = yield* Clock.currentTimeMillis
  const model = formatModel(spec.model)
  yield* report({ id: spec.id, model, startedMs: started })
  let state: WorkerState = initialWorkerState
  let stopReason: StopReason = "max-cycle"
  yield* ctx.runLog.emit(runEvent.workerStarted({ worker: spec.id }, { model, canPlan: spec.canPlan, maxCycle: spec.maxCycle }))
  // Its worktree settings, rendered once: its {{PORT}} is reserved for as long as the swarm runs.
  const worktree = yield* workerWorktree(ctx, spec)
  // Its max_runtime runs from here (docs/budgets.md).
  yield* ctx.budgets.workerStarted(spec.id, spec.budget)

  for (;;) {
    // Its own budget reached (between cycles, by its max_runtime): no new cycle.
    if (Option.isSome(yield* ctx.budgets.workerReached(spec.id))) {
      stopReason = "budget"
      break
    }
    // A steering stop-worker (docs/steering.md): the cycle that ran is finished, no new one starts.
    if (yield* ctx.steering.stopAfterCycle(spec.id)) {
      stopReason = "stopped-by-user"
      break
    }
    if (!spec.canPlan) {
      const waited = yield* waitForTask(ctx, spec)
      if (waited === "stop") {
        stopReason = "stopped-by-user"
        break
      }
      if (waited === "budget") {
        stopReason = "budget"
        break
      }
      if (waited !== "ready") {
        stopReason = "no-tasks"
        break
      }
    }
    // A budget of the worker or of a task the cycle holds ends the cycle as a Ctrl-C would: the cycle's
    // release keeps the work and puts the claims back (a task's stamped budget_reached, cycle.ts).
    const budgetStop = yield* ctx.budgets.cycleStarted(spec.id)
    const raced = yield* Effect.raceFirst(
      runCycle(ctx, spec, state, worktree).pipe(Effect.either, Effect.map((cycle) => ({ _tag: "Ran" as const, cycle }))),
      Effect.map(budgetStop, (record) => ({ _tag: "Budget" as const, record }))
    )
    if (raced._tag === "Budget") {
      if (raced.record.scope === "worker") {
        stopReason = "budget"
        break
      }
      // A task's budget: the worker goes on with another task.
      state = nextCycle(state, "interrupted", state.consecutiveErrors)
      if (state.finishedCycles >= spec.maxCycle) break
      continue
    }
    const cycle = raced.cycle
    const result: CycleResult = Either.isRight(cycle) ? cycle.right : failedCycle(ctx, spec, state, messageOf(cycle.left))
    if (Either.isLeft(cycle)) {
      yield* ctx.runLog.emit(runEvent.warning(`cycle ${state.cycle} failed: ${messageOf(cycle.left)}`, { worker: spec.id, cycle: state.cycle }))
    }
    state = result.next
    if (result.end.stop !== undefined) {
      stopReason = result.end.stop
      break
    }
    const pause = Duration.sum(result.end.backoff, spec.waitBetween)
    if (Duration.greaterThan(pause, Duration.zero)) {
      if (Duration.greaterThan(result.end.backoff, Duration.zero)) {
        yield* ctx.runLog.emit(
          runEvent.backingOff({ worker: spec.id }, { ms: Duration.toMillis(result.end.backoff), consecutiveErrors: state.consecutiveErrors })
        )
      }
      // Asked to stop (or its budget reached) while it waits: it stops now rather than after the wait.
      yield* Effect.raceFirst(Effect.sleep(pause), Effect.raceFirst(ctx.steering.awaitStopWorker(spec.id), Effect.asVoid(ctx.budgets.awaitWorker(spec.id))))
    }
  }
  yield* ctx.budgets.workerStopped(spec.id)
  const finished = yield* Clock.currentTimeMillis
  yield* report({ id: spec.id, model, startedMs: started, stopped: { reason: stopReason, atMs: finished } })
  const summary: WorkerSummary = summarizeWorker({ id: spec.id, model }, yield* ctx.runLog.cycles, {
    stopReason,
    durationMs: finished - started
  })
  const { id: _id, model: _model, durationMs: _durationMs, stopReason: _stopReason, ...numbers } = summary
  yield* ctx.runLog.emit(runEvent.workerStopped({ worker: spec.id }, { reason: stopReason, ...numbers }))
  return summary
})

/**
 * An executor's wait before a cycle (SPEC §5): until a task it may claim
 * exists, woken by the queue watch (no polling). It gives up at
 * `max_wait_for_tasks`, or at once when nothing is pending or in progress and
 * no worker of the swarm may create tasks.
 */
const waitForTask = (ctx: SwarmContext, spec: WorkerSpec) =>
  Effect.scoped(
    Effect.gen(function* () {
      const changes = yield* ctx.queue.watch
      const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(spec.maxWaitForTasks)
      let announced = false
      for (;;) {
        if (yield* ctx.steering.stopAfterCycle(spec.id)) return "stop" as const
        if (Option.isSome(yield* ctx.budgets.workerReached(spec.id))) return "budget" as const
        // Quarantine before every look (SPEC §3): a file an agent wrote invalid is moved and recorded.
        yield* ctx.queue.quarantineInvalid
        if ((yield* ctx.queue.available).length > 0) return "ready" as const
        const canPlan = yield* swarmCanPlan(ctx)
        if (!canPlan && (yield* queueDrained(ctx))) return "drained" as const
        const remaining = deadline - (yield* Clock.currentTimeMillis)
        if (remaining <= 0) return "timeout" as const
        if (!announced) {
          announced = true
          yield* ctx.runLog.emit(runEvent.waitingForTasks({ worker: spec.id }, { waitMs: remaining }))
        }
        // Woken by a change in the queue, or (while one runs) by the last worker that may plan stopping,
        // or by a steering stop-worker for this worker.
        const change = Effect.raceFirst(
          Queue.take(changes),
          Effect.raceFirst(ctx.steering.awaitStopWorker(spec.id), Effect.asVoid(ctx.budgets.awaitWorker(spec.id)))
        )
        const woke = yield* (canPlan ? Effect.raceFirst(change, Deferred.await(ctx.plannersStopped)) : change).pipe(
          Effect.timeoutOption(Duration.millis(remaining))
        )
        if (Option.isNone(woke)) return "timeout" as const
      }
    })
  )

/**
 * Whether a worker of this swarm that may create tasks is still running (the
 * planner has finished before workers start): the live workers, not the
 * config — once the last can_plan worker stopped, nobody will add a task.
 */
const swarmCanPlan = (ctx: SwarmContext) => Effect.map(Deferred.isDone(ctx.plannersStopped), (stopped) => !stopped)

/**
 * No task is pending or in progress (a task in progress may still come back to pending).
 * A pending task whose budget was reached waits for a person, not for a worker: it does not count.
 */
const queueDrained = (ctx: SwarmContext) =>
  ctx.queue.list.pipe(
    Effect.map((listing) => listing.current.length === 0 && listing.pending.every((entry) => entry.task.budget_reached !== undefined))
  )

/**
 * A cycle that failed outside the agent (git, the queue) counts as an error
 * cycle, exactly like a failed turn; its release already kept the work and
 * recorded the ending.
 */
const failedCycle = (ctx: SwarmContext, spec: WorkerSpec, state: WorkerState, reason: string): CycleResult => {
  const { next, action } = decide(decideConfigOf(ctx, spec), state, { _tag: "TurnFailed", reason, session: undefined })
  const end =
    action._tag === "EndCycle"
      ? action
      : ({ _tag: "EndCycle", outcome: "error", detail: reason, backoff: Duration.zero, stop: undefined } as const)
  return { next, end }
}

