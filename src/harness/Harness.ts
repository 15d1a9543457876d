import { Context, Duration, Effect, Option, Schema } from "effect"
import type { HarnessName, ModelSpec } from "../domain/Model.js"
import type { Usage } from "../domain/Usage.js"
import type { TurnFailure } from "../domain/TurnFailure.js"

/** New session (optionally with an id we chose up front) or resume of an existing one. */
export type SessionRequest =
  | { readonly _tag: "New"; readonly id?: string }
  | { readonly _tag: "Resume"; readonly id: string }

/**
 * One agent process run (a "turn", SPEC §1).
 * `mode: "review"` asks the adapter to run the CLI read-only where it can.
 */
export interface TurnRequest {
  readonly prompt: string
  readonly cwd: string
  readonly model: ModelSpec
  readonly session: SessionRequest
  readonly mode: "work" | "review"
  readonly timeout: Duration.Duration
  /**
   * `stall_timeout`: end the turn as stalled once the agent has written nothing
   * (stdout or stderr) for this long. Undefined: no stall rule (reviews, by design).
   */
  readonly stallTimeout?: Duration.Duration | undefined
  /** Raw agent output (stdout) streams here; stderr goes to `<logPath minus .log>.stderr.log`. */
  readonly logPath: string
  /** Extra environment on top of the user's (never secrets: those come from the user's env). */
  readonly env?: Readonly<Record<string, string>>
  /**
   * The turn marker (src/domain/turnMarker.ts): the adapter hands it to
   * ProcessRunner, which sets `OOMPA_TURN` for the CLI and everything it starts
   * and ends every process carrying it when the turn ends.
   */
  readonly marker?: string
}

export { addUsage, emptyUsage, Usage } from "../domain/Usage.js"

export interface TurnResult {
  /** The agent's final message of the turn: signals are read from here only. */
  readonly text: string
  /** The session id to resume next turn with, when the CLI reported one. */
  readonly sessionId: Option.Option<string>
  /** Process exit code; null when killed by a signal. */
  readonly exitCode: number | null
  readonly timedOut: boolean
  /**
   * Ended for silence (`stallTimeout`), its process tree ended; `timedOut` is then
   * false. Optional so an embedder's harness that has no stall rule need not say so (absent: false).
   */
  readonly stalled?: boolean
  /**
   * The CLI exited 0 but its own output says the run failed (pi after a failed
   * API call): a failed turn all the same, with its `error` and `failure`.
   * Absent: false.
   */
  readonly reportedFailure?: boolean
  readonly usage: Usage
  /** USD, when the CLI reports it. */
  readonly costUsd: Option.Option<number>
  readonly logPath: string
  readonly durationMs: number
  /** For a failed turn: the CLI's own error (its error event, else the tail of its stderr). */
  readonly error?: string
  /** For a failed turn: its class as the adapter read it from the CLI's output (absent: "other"). */
  readonly failure?: TurnFailure
}

export const turnFailed = (result: TurnResult): boolean =>
  result.timedOut || result.stalled === true || result.exitCode !== 0 || result.reportedFailure === true

/** The CLI could not be started or its output could not be read at all. */
export class HarnessError extends Schema.TaggedError<HarnessError>()("HarnessError", {
  harness: Schema.String,
  message: Schema.String
}) {}

/**
 * One harness: what runs an agent turn. The four agent CLIs and the mock are
 * built in (src/harness/registry.ts); an embedder may add its own, an Effect
 * that need not start a process at all.
 */
export interface Harness {
  readonly name: HarnessName
  readonly runTurn: (request: TurnRequest) => Effect.Effect<TurnResult, HarnessError>
}

/**
 * Every harness of the run, looked up by the harness part of a model string,
 * and their names (what model strings in oompa.json may use). Engine code
 * depends on this tag only; tests provide scripted harnesses.
 */
export class Harnesses extends Context.Tag("oompa/Harnesses")<
  Harnesses,
  {
    readonly names: ReadonlyArray<HarnessName>
    readonly get: (name: HarnessName) => Harness
  }
>() {}

/**
 * The registry service over built harnesses. A name it does not hold (a
 * config decoded elsewhere than loadConfig) fails that turn with a HarnessError
 * rather than crashing the swarm.
 */
export const harnessesOf = (all: Readonly<Record<HarnessName, Harness>>): Harnesses["Type"] => {
  const names = Object.keys(all)
  return Harnesses.of({
    names,
    get: (name) =>
      Object.hasOwn(all, name)
        ? all[name]!
        : {
            name,
            runTurn: () => Effect.fail(new HarnessError({ harness: name, message: `no harness named ${name} (registered: ${names.join(", ")})` }))
          }
  })
}
