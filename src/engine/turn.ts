import { Effect, Either, Option, Ref } from "effect"
import { make as runEvent } from "../domain/RunEvent.js"
import type { WorkerSpec } from "../config/OompaConfig.js"
import { randomUuid } from "../domain/ids.js"
import { parseSignals, signalNames } from "../domain/Signal.js"
import { emptyUsage } from "../domain/Usage.js"
import { turnMarker } from "../domain/turnMarker.js"
import type { WorkerEvent } from "../domain/WorkerState.js"
import { Harnesses, turnFailed } from "../harness/Harness.js"
import { cycleName } from "../domain/naming.js"
import type { SwarmContext } from "./context.js"
import { addCost, type CycleProgress } from "./progress.js"

export { signalNames } from "../domain/Signal.js"

/**
 * Runs one agent turn in the cycle's worktree and turns its result into the
 * event `decide` reads. A CLI that cannot start, exits non-zero or times out is
 * a failed turn; signals are read from the final message only.
 */
export const runWorkerTurn = Effect.fn("engine.runWorkerTurn")(function* (
  ctx: SwarmContext,
  spec: WorkerSpec,
  options: {
    readonly cycle: number
    readonly turn: number
    readonly kind: string
    readonly prompt: string
    readonly session: string | undefined
    readonly cwd: string
    readonly progress: Ref.Ref<CycleProgress>
  }
) {
  const harnesses = yield* Harnesses
  const harness = harnesses.get(spec.model.harness)
  const logPath = ctx.runLog.turnLogPath(spec.id, options.cycle, options.turn)
  const requested = options.session ?? (yield* randomUuid)
  yield* ctx.runLog.writePrompt(logPath, options.prompt)
  // Paused by a steering request (docs/steering.md): the turn waits here, before it starts, until resumed.
  yield* ctx.steering.awaitUnpaused
  yield* ctx.runLog.emit(runEvent.turnStarted({ worker: spec.id, cycle: options.cycle }, { turn: options.turn, kind: options.kind, log: logPath }))
  const outcome = yield* harness
    .runTurn({
      prompt: options.prompt,
      cwd: options.cwd,
      model: spec.model,
      session: options.session === undefined ? { _tag: "New", id: requested } : { _tag: "Resume", id: requested },
      mode: "work",
      timeout: spec.timeout,
      logPath,
      marker: turnMarker(ctx.swarm, spec.id, options.cycle, options.turn)
    })
    .pipe(Effect.either)

  if (Either.isLeft(outcome)) {
    const reason = `${outcome.left.harness}: ${outcome.left.message}`
    yield* recordTurn(ctx, spec, options, {
      turn: options.turn,
      kind: options.kind,
      exitCode: null,
      timedOut: false,
      signals: [],
      durationMs: 0,
      usage: emptyUsage,
      log: logPath,
      error: reason,
      failure: { class: "other", evidence: reason }
    })
    return { _tag: "TurnFailed", reason, session: undefined } satisfies WorkerEvent
  }
  const result = outcome.right
  yield* ctx.runLog.writeFinalMessage(logPath, result.text)
  const session = Option.getOrElse(result.sessionId, () => requested)
  yield* addCost(options.progress, result.usage, result.costUsd)
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
    signals: names,
    durationMs: result.durationMs,
    usage: result.usage,
    ...(Option.isSome(result.costUsd) ? { costUsd: result.costUsd.value } : {}),
    log: logPath,
    // A failed turn's record says how its adapter classed it, with the CLI's line as evidence (`error` stays
    // the mark of a turn that could not run at all: the turn-ended wording reads it so).
    ...(failed ? { failure: result.failure ?? { class: "other" } } : {})
  })
  if (failed) {
    const why = result.timedOut ? "agent timed out" : `agent exited with ${result.exitCode ?? "a signal"}`
    const reason = `${why}${result.error ? `: ${result.error}` : ""} (log: ${logPath})`
    return { _tag: "TurnFailed", reason, session, signals } satisfies WorkerEvent
  }
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
