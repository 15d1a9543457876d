import * as NodeFs from "node:fs"
import { Cause, Effect, FiberRef, FiberRefs, HashMap, Inspectable, List, Logger, LogLevel, Option } from "effect"

/**
 * Where oompa's diagnostics (Effect.log*) go — never mixed into the event lines
 * on stdout (SPEC §11: the terminal shows oompa's events):
 * - to stderr only at or above the level `--log-level` asks for (none by default);
 * - into `oompa.log` of the run folder while a swarm runs, whatever the terminal
 *   shows, so that a user who wants them finds them afterwards.
 */

/** The diagnostics file of the running swarm, set once its run folder exists. */
export const diagnosticsFile: FiberRef.FiberRef<Option.Option<string>> = FiberRef.unsafeMake(Option.none<string>())

/** The diagnostics file of a run folder. */
export const diagnosticsFileOf = (runDir: string): string => `${runDir}/oompa.log`

const LEVELS: ReadonlyArray<LogLevel.LogLevel> = LogLevel.allLevels

/**
 * The level `--log-level` names in `argv` (as `--log-level x` or
 * `--log-level=x`, as @effect/cli reads it), if any.
 */
export const logLevelOfArgv = (argv: ReadonlyArray<string>): Option.Option<LogLevel.LogLevel> => {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = arg === "--log-level" ? argv[i + 1] : arg.startsWith("--log-level=") ? arg.slice("--log-level=".length) : undefined
    if (value === undefined) continue
    const level = LEVELS.find((l) => l._tag.toLowerCase() === value.toLowerCase())
    if (level !== undefined) return Option.some(level)
  }
  return Option.none()
}

const MAX_FIELD = 4_000

/** One logfmt-like line: time, level, message, spans and annotations; no fiber ids. */
export const formatDiagnostic = (options: Logger.Logger.Options<unknown>): string => {
  const messages = Array.isArray(options.message) ? options.message : [options.message]
  const text = messages
    .map((m) => (typeof m === "string" ? m : Inspectable.toStringUnknown(m)))
    .join(" ")
    .replace(/\s*\n\s*/g, " ")
    .slice(0, MAX_FIELD)
  const cause = Cause.isEmpty(options.cause) ? "" : ` cause=${JSON.stringify(Cause.pretty(options.cause).slice(0, MAX_FIELD))}`
  const annotations = HashMap.toEntries(options.annotations)
    .map(([k, v]) => ` ${k}=${JSON.stringify(Inspectable.toStringUnknown(v))}`)
    .join("")
  const spans = List.toArray(options.spans)
    .map((s) => ` ${s.label}`)
    .join("")
  return `${options.date.toISOString()} ${options.logLevel.label} ${text}${cause}${annotations}${spans ? ` spans=${JSON.stringify(spans.trim())}` : ""}`
}

/**
 * The logger of the binary. `terminal` is the level asked for on the command
 * line (none: nothing to stderr). The diagnostics file gets every message that
 * passes the minimum log level; a file that cannot be written is skipped (a
 * diagnostic must never break the run).
 */
export const oompaLogger = (terminal: Option.Option<LogLevel.LogLevel>): Logger.Logger<unknown, void> =>
  Logger.make((options) => {
    const file = FiberRefs.getOrDefault(options.context, diagnosticsFile)
    if (Option.isNone(file) && Option.isNone(terminal)) return
    const line = formatDiagnostic(options)
    if (Option.isSome(terminal) && LogLevel.greaterThanEqual(options.logLevel, terminal.value)) {
      process.stderr.write(line + "\n")
    }
    if (Option.isSome(file)) {
      try {
        NodeFs.appendFileSync(file.value, line + "\n")
      } catch {
        // the run folder went away (cleanup) or the disk is full: the events still tell the story
      }
    }
  })

/**
 * How the running swarm tells its user something a diagnostic found that
 * matters to them (a process that survived SIGTERM): a `warning` run event,
 * set by the run log once its folder exists. Without one (no swarm), a log line.
 */
export const runWarning: FiberRef.FiberRef<Option.Option<(message: string) => Effect.Effect<void>>> = FiberRef.unsafeMake(
  Option.none<(message: string) => Effect.Effect<void>>()
)

/** A warning for the user: a run event while a swarm runs, and a diagnostic line either way. */
export const warnUser = (message: string): Effect.Effect<void> =>
  Effect.gen(function* () {
    const emit = yield* FiberRef.get(runWarning)
    yield* Effect.logWarning(message)
    if (Option.isSome(emit)) yield* emit.value(message)
  })
