/**
 * What the four real agent CLI adapters share: finding the executable, running
 * it through ProcessRunner, decoding its log, and shaping the TurnResult.
 * Each adapter (claude.ts, codex.ts, …) contributes only a `CliSpec`: a pure
 * `buildInvocation` and a log decoder.
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import * as fs from "node:fs"
import * as path from "node:path"
import { Clock, Config, Duration, Effect, Option } from "effect"
import { randomUuid } from "../domain/ids.js"
import type { HarnessName } from "../domain/Model.js"
import { fileTail } from "../services/fileTail.js"
import { ProcessRunner } from "../services/ProcessRunner.js"
import { type Harness, HarnessError, type TurnRequest, type TurnResult } from "./Harness.js"
import type { Usage } from "../domain/Usage.js"
import { humanDuration } from "../domain/humanDuration.js"
import type { TurnFailure } from "../domain/TurnFailure.js"
import { classifyFailure, type FailureSignal } from "./failureClass.js"
import type { ActivityReader } from "./activity.js"

/** Facts about the environment a pure `buildInvocation` needs. */
export interface EnvFacts {
  /** oompa runs as uid 0 (claude then needs IS_SANDBOX=1 to skip permissions). */
  readonly isRoot: boolean
  /** The user's own environment, read only to avoid overriding what they set. */
  readonly userEnv: Readonly<Record<string, string | undefined>>
}

/** Exactly what will be run: argv as an array (never a shell line). */
export interface Invocation {
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** Added on top of the user's environment. */
  readonly env: Readonly<Record<string, string>>
  /** Written to stdin, then closed; undefined: stdin is closed from the start. */
  readonly stdin?: string | undefined
  /** oompa's notes about this run (written at the top of the stderr log). */
  readonly notes: ReadonlyArray<string>
}

/** What an adapter reads out of the CLI's structured output. */
export interface Decoded {
  readonly text: string
  readonly sessionId: Option.Option<string>
  readonly usage: Usage
  readonly costUsd: Option.Option<number>
  /** The error the CLI reported in its events, if any. */
  readonly error: Option.Option<string>
  /**
   * Where its events say why the turn failed (an error event's status and
   * message, …), most telling first: what `classifyFailure` reads.
   */
  readonly failureSignals: ReadonlyArray<FailureSignal>
  /**
   * The CLI's output says the run failed although the process exited 0 (pi
   * exits 0 after a failed API call, its last message stopped with an error):
   * the turn then fails as a non-zero exit would. Absent: false.
   */
  readonly reportedFailure?: boolean
}

/**
 * What a decoder may read besides the log: the turn as it was run. copilot
 * keeps its token usage only in its own session files, found through the
 * environment (COPILOT_HOME) and the session id.
 */
export interface DecodeContext {
  /** The request as run (`session` resolved: a New session carries the id chosen for it). */
  readonly request: TurnRequest
  /** What the run added on top of the user's environment (the invocation's env, then the request's). */
  readonly env: Readonly<Record<string, string>>
  readonly facts: EnvFacts
}

/** What a spec's `failureSignals` may read besides the decoded events. */
export interface FinishedRun {
  readonly exitCode: number | null
  readonly timedOut: boolean
  /** The tail of its stderr (oompa's header lines and stack frames left out). */
  readonly stderrTail: string
}

export interface CliSpec {
  readonly name: HarnessName
  /** The executable's name on PATH. */
  readonly binary: string
  /** The env var that overrides the executable (a path, or a name looked up on PATH). */
  readonly binEnv: string
  /** The npm package that provides it, for the "not found" message. */
  readonly npmPackage: string
  /** When a new session needs an id chosen by us up front (claude, gemini). */
  readonly choosesSessionId: boolean
  /**
   * The environment variables that point the CLI at another model API, first
   * set wins: workers whose base URLs differ are different providers to the
   * rate-limit governor (engine/provider.ts). Absent: the CLI's base URL is in
   * its own config files, which oompa does not read.
   */
  readonly baseUrlEnv?: ReadonlyArray<string>
  /** What one line of its output shows in the live views: its latest tool call or reply (activity.ts). */
  readonly activity: ActivityReader
  /**
   * argv, env and stdin for one turn. `request.session` is already resolved:
   * a New session carries the id to use when `choosesSessionId`.
   */
  readonly buildInvocation: (binary: string, request: TurnRequest, facts: EnvFacts) => Invocation
  readonly decodeLog: (logPath: string, context: DecodeContext) => Effect.Effect<Decoded, PlatformError, FileSystem.FileSystem>
  /**
   * The CLI's own failure shapes beyond its events (gemini's exit code carries
   * the HTTP status, …), added before the decoded signals. Absent: the decoded
   * signals, then the stderr tail.
   */
  readonly extraFailureSignals?: (decoded: Decoded, run: FinishedRun) => ReadonlyArray<FailureSignal>
}

/**
 * The class of a failed turn: the spec's own signals, then the decoded
 * events', then the stderr tail (shared matching in failureClass.ts). A turn
 * that timed out with nothing telling is "other".
 */
export const failureOf = (spec: Pick<CliSpec, "extraFailureSignals">, decoded: Decoded, run: FinishedRun, nowMs: number): TurnFailure => {
  const failure = classifyFailure(
    [...(spec.extraFailureSignals?.(decoded, run) ?? []), ...decoded.failureSignals, { text: run.stderrTail }],
    nowMs
  )
  if (failure.class !== "other" || !run.timedOut) return failure
  return { class: "other", evidence: "timed out" }
}

/** `<log minus .log>.stderr.log`, as TurnRequest documents. */
export const stderrPathOf = (logPath: string): string =>
  (logPath.endsWith(".log") ? logPath.slice(0, -".log".length) : logPath) + ".stderr.log"

const isExecutableFile = (file: string): boolean => {
  try {
    if (!fs.statSync(file).isFile()) return false
    fs.accessSync(file, fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Looks a command up the way execvp would, without a shell: a name with a
 * slash is taken as a path (relative to `cwd`), anything else is searched on `pathEnv`.
 */
export const findExecutable = (name: string, pathEnv: string, cwd: string = process.cwd()): Option.Option<string> => {
  if (name.includes("/")) {
    const file = path.resolve(cwd, name)
    return isExecutableFile(file) ? Option.some(file) : Option.none()
  }
  for (const dir of pathEnv.split(path.delimiter)) {
    if (dir.length === 0) continue
    const file = path.join(dir, name)
    if (isExecutableFile(file)) return Option.some(path.resolve(file))
  }
  return Option.none()
}

export interface ResolvedBinary {
  readonly path: string
  /** "OOMPA_CLAUDE_BIN" when the override chose it, else "PATH". */
  readonly source: string
}

/** The CLI's executable: `$OOMPA_<CLI>_BIN` if set, else `<binary>` on PATH. */
export const resolveBinary = (spec: Pick<CliSpec, "name" | "binary" | "binEnv" | "npmPackage">) =>
  Effect.gen(function* () {
    const override = yield* Config.option(Config.nonEmptyString(spec.binEnv)).pipe(Effect.orElseSucceed(() => Option.none<string>()))
    const pathEnv = yield* Config.string("PATH").pipe(Config.withDefault(""), Effect.orElseSucceed(() => ""))
    if (Option.isSome(override)) {
      const found = findExecutable(override.value, pathEnv)
      if (Option.isNone(found)) {
        return yield* new HarnessError({
          harness: spec.name,
          message: `${spec.binEnv}=${override.value}: no such executable`
        })
      }
      return { path: found.value, source: spec.binEnv } satisfies ResolvedBinary
    }
    const found = findExecutable(spec.binary, pathEnv)
    if (Option.isNone(found)) {
      return yield* new HarnessError({
        harness: spec.name,
        message: `${spec.name} CLI not found on PATH; install ${spec.npmPackage} (or set ${spec.binEnv})`
      })
    }
    return { path: found.value, source: "PATH" } satisfies ResolvedBinary
  })


/** The stderr log without oompa's own `# oompa:` header lines. */
const stderrTail = (file: string): string => {
  const lines = fileTail(file, 4096)
    .split("\n")
    .filter((line) => !line.startsWith("# oompa:"))
    // A JavaScript CLI's stack frames say nothing to the user; its error line does.
    .filter((line) => !/^\s+at .+/.test(line))
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0)
  return lines.slice(-8).join("\n").slice(-1000)
}

/** An error text as a person reads it: at most 2000 characters (an agent may put megabytes in its error event). */
const boundedError = (text: string): string => (text.length > 2000 ? `${text.slice(0, 2000)}… (${text.length} characters)` : text)

/** For the stderr log header: argv with long arguments (the prompt) elided. */
const describeArgv = (command: string, args: ReadonlyArray<string>): string =>
  [command, ...args]
    .map((arg) => (arg.length > 200 ? `<${arg.length} chars>` : /[\s"'$`\\]/.test(arg) ? JSON.stringify(arg) : arg))
    .join(" ")

export const currentEnvFacts = (): EnvFacts => ({
  isRoot: typeof process.getuid === "function" && process.getuid() === 0,
  userEnv: process.env
})

/** A Harness for one CLI spec, running through ProcessRunner. */
export const makeCliHarness = (spec: CliSpec) =>
  Effect.gen(function* () {
    const runner = yield* ProcessRunner
    const fileSystem = yield* FileSystem.FileSystem
    // A note (e.g. "added IS_SANDBOX=1") is the same on every turn: said once per
    // harness, that is once per swarm; every turn's stderr log still carries it.
    const noted = new Set<string>()

    const runTurn = (request: TurnRequest): Effect.Effect<TurnResult, HarnessError> =>
      Effect.gen(function* () {
        const binary = yield* resolveBinary(spec)
        const session =
          request.session._tag === "New" && request.session.id === undefined && spec.choosesSessionId
            ? { _tag: "New" as const, id: yield* randomUuid }
            : request.session
        const resolved: TurnRequest = { ...request, session }
        const facts = currentEnvFacts()
        const invocation = spec.buildInvocation(binary.path, resolved, facts)
        const runEnv = { ...invocation.env, ...request.env }
        for (const note of invocation.notes) {
          if (noted.has(note)) continue
          noted.add(note)
          yield* Effect.logInfo(`${spec.name}: ${note}`)
        }
        const stderrPath = stderrPathOf(request.logPath)
        const header = [
          `# oompa: ${describeArgv(invocation.command, invocation.args)}`,
          `# oompa: cwd ${request.cwd}; binary from ${binary.source}; timeout ${humanDuration(request.timeout)}${
            request.stallTimeout !== undefined ? `; stall_timeout ${humanDuration(request.stallTimeout)}` : ""
          }`,
          ...invocation.notes.map((note) => `# oompa: ${note}`)
        ].join("\n")
        const run = yield* runner
          .run({
            command: invocation.command,
            args: invocation.args,
            cwd: request.cwd,
            env: runEnv,
            stdin: invocation.stdin,
            stdoutPath: request.logPath,
            stderrPath,
            stderrHeader: header,
            timeout: request.timeout,
            stallTimeout: request.stallTimeout,
            marker: request.marker
          })
          .pipe(Effect.mapError((error) => new HarnessError({ harness: spec.name, message: error.message })))
        const decoded = yield* spec.decodeLog(request.logPath, { request: resolved, env: runEnv, facts }).pipe(
          Effect.mapError(
            (error) => new HarnessError({ harness: spec.name, message: `cannot read ${request.logPath}: ${error.message}` })
          ),
          Effect.provideService(FileSystem.FileSystem, fileSystem)
        )
        const reportedFailure = decoded.reportedFailure === true
        const failed = run.timedOut || run.stalled || run.exitCode !== 0 || reportedFailure
        // A succeeding turn may carry transient error events (retries): they count only when it said nothing.
        const eventError = failed || decoded.text.length === 0 ? decoded.error : Option.none<string>()
        const tail = failed ? stderrTail(stderrPath) : ""
        const failure = failed
          ? failureOf(spec, decoded, { exitCode: run.exitCode, timedOut: run.timedOut, stderrTail: tail }, yield* Clock.currentTimeMillis)
          : undefined
        const error = Option.orElse(eventError, () => {
          if (!failed) return Option.none()
          if (run.timedOut) return Option.some(`timed out after ${humanDuration(request.timeout)}`)
          if (run.stalled && request.stallTimeout !== undefined) {
            return Option.some(`stalled: no output for ${humanDuration(request.stallTimeout)}`)
          }
          const status =
            run.exitCode === null
              ? `killed by ${run.signal ?? "a signal"}`
              : run.exitCode === 0
                ? "the CLI reported a failed run (exit code 0)"
                : `exit code ${run.exitCode}`
          return Option.some(tail.length > 0 ? `${status}: ${tail}` : status)
        })
        // The id we asked for (new) or resumed, when the output did not name one.
        const fallbackId = session._tag === "Resume" ? Option.some(session.id) : Option.fromNullable(session.id)
        const result: TurnResult = {
          text: decoded.text,
          sessionId: Option.orElse(decoded.sessionId, () => fallbackId),
          exitCode: run.exitCode,
          timedOut: run.timedOut,
          stalled: run.stalled,
          ...(reportedFailure ? { reportedFailure } : {}),
          usage: decoded.usage,
          costUsd: decoded.costUsd,
          logPath: request.logPath,
          durationMs: run.durationMs,
          ...(Option.isSome(error) ? { error: boundedError(error.value) } : {}),
          ...(failure !== undefined ? { failure } : {})
        }
        return result
      }).pipe(Effect.withSpan(`Harness.${spec.name}.runTurn`))

    return { name: spec.name, runTurn } satisfies Harness
  })

/** Adds `key=value` to `env` unless the user already set `key`; says so in `notes`. */
export const addEnvUnlessSet = (
  env: Record<string, string>,
  notes: Array<string>,
  facts: EnvFacts,
  key: string,
  value: string,
  why: string
): void => {
  if (facts.userEnv[key] !== undefined) return
  env[key] = value
  notes.push(`added ${key}=${value} to its environment (${why})`)
}
