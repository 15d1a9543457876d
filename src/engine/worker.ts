import { Clock, Duration, Effect, Either, Option, Queue } from "effect"
import type { WorkerSpec } from "../config/OompaConfig.js"
import { formatModel } from "../domain/Model.js"
import { countOutcome, failedOutcomes, noOutcomes } from "../domain/outcomeCounts.js"
import type { WorkerSummary } from "../domain/RunFiles.js"
import { decide, initialWorkerState, type StopReason, type WorkerState } from "../domain/WorkerState.js"
import { addUsage, emptyUsage } from "../harness/Harness.js"
import { decideConfigOf, type SwarmContext } from "./context.js"
import { messageOf, runCycle, type CycleResult } from "./cycle.js"
import { humanDuration } from "../domain/humanDuration.js"

/**
 * One worker (SPEC §5): cycles until `max_cycle`, DONE, too many errors, no
 * tasks for an executor, or interruption. Executors wait on the queue watch
 * (no polling) before each cycle. Returns the worker's summary line.
 */
export const runWorker = Effect.fn("engine.runWorker")(function* (
  ctx: SwarmContext,
  spec: WorkerSpec,
  /** Updated after every cycle, so an interrupted swarm still reports what happened. */
  report: (summary: WorkerSummary) => Effect.Effect<void>
) {
  const started = yield* Clock.currentTimeMillis
  let state: WorkerState = initialWorkerState
  let tally: Omit<WorkerSummary, "id" | "model" | "durationMs" | "stopReason"> = {
    ...noOutcomes,
    turns: 0,
    usage: emptyUsage,
    costUsd: 0
  }
  let stopReason: StopReason = "max-cycle"
  yield* ctx.runLog.emit("worker-started", `${formatModel(spec.model)}${spec.canPlan ? "" : " (executor)"}, up to ${spec.maxCycle} cycles`, {
    worker: spec.id
  })

  for (;;) {
    if (!spec.canPlan) {
      const waited = yield* waitForTask(ctx, spec)
      if (waited !== "ready") {
        stopReason = "no-tasks"
        break
      }
    }
    const cycleNumber = state.cycle
    const cycle = yield* runCycle(ctx, spec, state).pipe(Effect.either)
    const result: CycleResult = Either.isRight(cycle) ? cycle.right : failedCycle(ctx, spec, state, messageOf(cycle.left))
    if (Either.isLeft(cycle)) {
      yield* ctx.runLog.emit("warning", `cycle ${state.cycle} failed: ${messageOf(cycle.left)}`, { worker: spec.id, cycle: state.cycle })
    }
    state = result.next
    tally = {
      ...countOutcome(tally, result.end.outcome),
      turns: tally.turns + result.turns,
      usage: addUsage(tally.usage, result.usage),
      costUsd: tally.costUsd + result.costUsd,
      ...(failedOutcomes.has(result.end.outcome) ? { lastFailure: `c${cycleNumber} ${result.end.outcome}: ${result.end.detail}` } : {})
    }
    const now = yield* Clock.currentTimeMillis
    yield* report({ id: spec.id, model: formatModel(spec.model), ...tally, durationMs: now - started, stopReason: "running" })
    if (result.end.stop !== undefined) {
      stopReason = result.end.stop
      break
    }
    const pause = Duration.sum(result.end.backoff, spec.waitBetween)
    if (Duration.greaterThan(pause, Duration.zero)) {
      if (Duration.greaterThan(result.end.backoff, Duration.zero)) {
        yield* ctx.runLog.emit("warning", `backing off ${humanDuration(result.end.backoff)} after ${state.consecutiveErrors} consecutive error(s)`, {
          worker: spec.id
        })
      }
      yield* Effect.sleep(pause)
    }
  }
  const finished = yield* Clock.currentTimeMillis
  yield* ctx.runLog.emit("worker-stopped", `stopped (${stopReason}) after ${tally.cycles} cycle(s), ${tally.merged} merged`, {
    worker: spec.id,
    data: { reason: stopReason, ...tally }
  })
  const summary: WorkerSummary = { id: spec.id, model: formatModel(spec.model), ...tally, durationMs: finished - started, stopReason }
  yield* report(summary)
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
        if ((yield* ctx.queue.available).length > 0) return "ready" as const
        if (!swarmCanPlan(ctx) && (yield* queueDrained(ctx))) return "drained" as const
        const remaining = deadline - (yield* Clock.currentTimeMillis)
        if (remaining <= 0) return "timeout" as const
        if (!announced) {
          announced = true
          yield* ctx.runLog.emit("waiting-for-tasks", `waiting up to ${humanDuration(Duration.millis(remaining))} for a task`, {
            worker: spec.id
          })
        }
        const woke = yield* Queue.take(changes).pipe(Effect.timeoutOption(Duration.millis(remaining)))
        if (Option.isNone(woke)) return "timeout" as const
      }
    })
  )

/** Whether any worker of this swarm may create new tasks (the planner has finished before workers start). */
const swarmCanPlan = (ctx: SwarmContext): boolean => ctx.config.workers.some((worker) => worker.canPlan)

/** No task is pending or in progress (a task in progress may still come back to pending). */
const queueDrained = (ctx: SwarmContext) =>
  ctx.queue.counts.pipe(Effect.map((counts) => counts.pending === 0 && counts.current === 0))

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
  return { next, end, turns: 0, usage: emptyUsage, costUsd: 0 }
}

