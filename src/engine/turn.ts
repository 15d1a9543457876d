import { Clock, Duration, Effect, Either, Option, Ref } from "effect"
import { make as runEvent } from "../domain/RunEvent.js"
import type { TurnRecord } from "../domain/RunFiles.js"
import type { WorkerSpec } from "../config/OompaConfig.js"
import { randomUuid } from "../domain/ids.js"
import { parseSignals, signalNames } from "../domain/Signal.js"
import { emptyUsage } from "../domain/Usage.js"
import { turnMarker } from "../domain/turnMarker.js"
import type { WorkerEvent } from "../domain/WorkerState.js"
import { Harnesses, turnFailed, type HarnessError, type TurnResult } from "../harness/Harness.js"
import type { Provider } from "./governor.js"
import { cycleName } from "../domain/naming.js"
import type { SwarmContext } from "./context.js"
import { addCost, type CycleProgress } from "./progress.js"
import { isLimit, type TurnFailure } from "../domain/TurnFailure.js"
import { providerOf } from "./provider.js"
import { costOfTurn } from "./cost.js"
import { formatModel } from "../domain/Model.js"

export { signalNames } from "../domain/Signal.js"

export interface TurnOptions {
  readonly cycle: number
  readonly turn: number
  readonly kind: string
  readonly prompt: string
  readonly session: string | undefined
  readonly cwd: string
  /** worktree.env (docs/worktree-setup.md), on top of the user's environment. */
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly progress: Ref.Ref<CycleProgress>
}

/**
 * Runs one agent turn in the cycle's worktree and turns its result into the
 * event `decide` reads. A CLI that cannot start, exits non-zero or times out is
 * a failed turn; one that went silent for `stall_timeout` is a stalled turn
 * (resumed with a nudge, not an error); signals are read from the final message only.
 */
export const runWorkerTurn: (
  ctx: SwarmContext,
  spec: WorkerSpec,
  options: TurnOptions
) => Effect.Effect<WorkerEvent, never, Harnesses> = Effect.fn("engine.runWorkerTurn")(function* (
  ctx: SwarmContext,
  spec: WorkerSpec,
  options: TurnOptions
) {
  const harnesses = yield* Harnesses
  const harness = harnesses.get(spec.model.harness)
  const logPath = ctx.runLog.turnLogPath(spec.id, options.cycle, options.turn)
  const requested = options.session ?? (yield* randomUuid)
  yield* ctx.runLog.writePrompt(logPath, options.prompt)
  // Paused by a steering request (docs/steering.md): the turn waits here, before it starts, until resumed.
  yield* ctx.steering.awaitUnpaused
  // A budget of its scope reached (docs/budgets.md): no new turn; the worker ends the cycle, which ends this wait.
  if (!(yield* ctx.budgets.mayStartTurn(spec.id))) return yield* Effect.never
  // The provider's rate limit and the harness's max_concurrent (the governor): the turn waits here.
  const provider = providerOf(spec.model.harness, process.env)
  return yield* Effect.scoped(
    Effect.gen(function* () {
      const admission = yield* ctx.governor.admit(provider)
      if (admission._tag === "Refused") {
        const reason = `not started: ${provider.label} refused its credentials earlier in this run (${admission.reason})`
        yield* recordTurn(ctx, spec, options, notRun(options, logPath, reason, { class: "auth" }))
        return { _tag: "TurnFailed", reason, session: undefined, failure: { class: "auth" } } satisfies WorkerEvent
      }
      const waited = admission.waitedMs > 0 ? { limitWaitMs: admission.waitedMs } : {}
      yield* ctx.runLog.emit(runEvent.turnStarted({ worker: spec.id, cycle: options.cycle }, { turn: options.turn, kind: options.kind, log: logPath }))
      const startedMs = yield* Clock.currentTimeMillis
      const outcome = yield* harness
        .runTurn({
          prompt: options.prompt,
          cwd: options.cwd,
          model: spec.model,
          session: options.session === undefined ? { _tag: "New", id: requested } : { _tag: "Resume", id: requested },
          mode: "work",
          timeout: spec.timeout,
          stallTimeout: spec.stallTimeout,
          ...(options.env !== undefined ? { env: options.env } : {}),
          logPath,
          marker: turnMarker(ctx.swarm, spec.id, options.cycle, options.turn)
        })
        .pipe(Effect.either)
      return yield* endTurn(ctx, spec, options, { outcome, logPath, requested, provider, startedMs, waited })
    })
  )
})

/** The record of a turn that never ran (refused by the governor, or its CLI could not be started): the reason is its error. */
const notRun = (options: TurnOptions, logPath: string, reason: string, failure: TurnFailure): TurnRecord => ({
  turn: options.turn,
  kind: options.kind,
  exitCode: null,
  timedOut: false,
  signals: [],
  durationMs: 0,
  usage: emptyUsage,
  log: logPath,
  error: reason,
  failure
})

const endTurn = (
  ctx: SwarmContext,
  spec: WorkerSpec,
  options: TurnOptions,
  turn: {
    readonly outcome: Either.Either<TurnResult, HarnessError>
    readonly logPath: string
    readonly requested: string
    readonly provider: Provider
    readonly startedMs: number
    readonly waited: { readonly limitWaitMs?: number }
  }
): Effect.Effect<WorkerEvent> =>
  Effect.gen(function* () {
    const { outcome, logPath, requested, provider, waited } = turn
    if (Either.isLeft(outcome)) {
      const reason = `${outcome.left.harness}: ${outcome.left.message}`
      yield* recordTurn(ctx, spec, options, { ...notRun(options, logPath, reason, { class: "other", evidence: reason }), ...waited })
      return { _tag: "TurnFailed", reason, session: undefined } satisfies WorkerEvent
    }
    const result = outcome.right
    yield* ctx.runLog.writeFinalMessage(logPath, result.text)
    const session = Option.getOrElse(result.sessionId, () => requested)
    const cost = costOfTurn(ctx, spec.model, result)
    yield* addCost(options.progress, result.usage, cost.costUsd, cost.estimated)
    const stalled = result.stalled === true
    const failed = turnFailed(result)
    const signals = parseSignals(result.text)
    // Which signals count is decide's rule (a failed turn outranks them); the record lists
    // only the signals of a turn that ended normally, as it always has.
    const names = failed ? [] : signalNames(signals)
    yield* recordTurn(ctx, spec, options, {
      turn: options.turn,
      kind: options.kind,
      sessionId: session,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      ...(stalled ? { stalled: true, ...(spec.stallTimeout !== undefined ? { silenceMs: Duration.toMillis(spec.stallTimeout) } : {}) } : {}),
      signals: names,
      durationMs: result.durationMs,
      usage: result.usage,
      ...cost.record,
      log: logPath,
      // A failed turn's record says how its adapter classed it, with the CLI's line as evidence (`error` stays
      // the mark of a turn that could not run at all: the turn-ended wording reads it so).
      ...(failed && !stalled ? { failure: result.failure ?? { class: "other" } } : {}),
      ...waited
  })
  // After its record: a budget this turn reached is announced after the turn's end.
  yield* ctx.budgets.spend(spec.id, cost.spent)
  if (Option.isNone(cost.costUsd)) yield* ctx.budgets.unpriced(formatModel(spec.model), spec.id)
  if (stalled) {
    // Not a failure of the agent's work: decide resumes the session once with a nudge.
    return { _tag: "TurnStalled", silence: spec.stallTimeout ?? Duration.zero, session } satisfies WorkerEvent
  }
  if (failed && isLimit(result.failure)) {
    const limit = yield* ctx.governor.limited(provider, result.failure!, turn.startedMs)
    yield* ctx.runLog.emit(runEvent.rateLimited({ worker: spec.id, cycle: options.cycle }, limit))
    // Resumed where it was only when the turn got somewhere (the model answered before the limit);
    // a turn refused at its first request starts again as it was.
    const resumable = result.usage.outputTokens > 0 && Option.isSome(result.sessionId)
    return { _tag: "TurnLimited", failure: result.failure!, session: resumable ? session : undefined } satisfies WorkerEvent
  }
  if (failed) {
    const why = result.timedOut
      ? "agent timed out"
      : result.exitCode === 0
        ? "agent reported a failed run (exit 0)"
        : `agent exited with ${result.exitCode ?? "a signal"}`
    const reason = `${why}${result.error ? `: ${result.error}` : ""} (log: ${logPath})`
    if (result.failure?.class === "auth") {
      yield* ctx.governor.authFailed(provider, result.error ?? why)
      return {
        _tag: "TurnFailed",
        reason: `${provider.label} refused its credentials (authentication failed): ${result.error ?? why}. ` +
          `Fix the API key or login of ${spec.model.harness}, then start the swarm again; its workers stop (log: ${logPath})`,
        session,
        signals,
        failure: result.failure
      } satisfies WorkerEvent
    }
    yield* ctx.governor.cleared(provider)
    return { _tag: "TurnFailed", reason, session, signals, ...(result.failure !== undefined ? { failure: result.failure } : {}) } satisfies WorkerEvent
  }
  yield* ctx.governor.cleared(provider)
  return { _tag: "TurnEnded", signals, session } satisfies WorkerEvent
  })

const recordTurn = (
  ctx: SwarmContext,
  spec: WorkerSpec,
  options: { readonly cycle: number; readonly progress: Ref.Ref<CycleProgress> },
  record: CycleProgress["turns"][number]
) =>
  Ref.update(options.progress, (p) => ({ ...p, turns: [...p.turns, record], signals: [...p.signals, ...record.signals] })).pipe(
    Effect.zipRight(
      ctx.runLog.emit(runEvent.turnEnded({ worker: spec.id, cycle: options.cycle }, { ...record, cycleName: cycleName(spec.id, options.cycle) }))
    )
  )
