/**
 * opencode (`opencode-ai`, checked against 1.18), and the CLIs forked from it
 * (kilo, kilo.ts): `opencodeFamilySpec` builds the spec of either from what
 * differs between them (name, executable, package, permission env var).
 *
 *   new:    opencode run --format json --dir <worktree> --auto [-m provider/model] [--variant r] <prompt>
 *   resume: opencode run --format json --dir <worktree> --auto -s <ses_…> [-m provider/model] [--variant r] <prompt>
 *   review: `--agent plan` instead of `--auto`, and OPENCODE_PERMISSION denying edit, bash and webfetch
 *
 * stdin is closed (it waits on an open stdin). The session id (`ses_…`) comes
 * from its JSON events. `--auto` approves the permission requests a headless
 * run could not answer (a work turn must not stall on one). Reasoning is passed
 * as `--variant` (provider-specific reasoning effort: minimal … max).
 * Failure class: its `error` event is `{name: "APIError", data: {statusCode,
 * message, responseHeaders, responseBody}}` (the retry-after header is in
 * responseHeaders) or `{name: "ContextOverflowError"}` (docs/cli-facts.md).
 */
import { Clock, Effect, Option, Schema } from "effect"
import type { CliSpec, Decoded, EnvFacts, Invocation } from "./cliAdapter.js"
import { addUsage, emptyUsage, type Usage } from "../domain/Usage.js"
import type { TurnRequest } from "./Harness.js"
import { activityReader, describeToolCall, textLine } from "./activity.js"
import type { HarnessName } from "../domain/Model.js"
import { foldJsonLines, foldJsonText } from "../formats/jsonl.js"
import { type FailureSignal, retryAfterMsOfHeader } from "./failureClass.js"
import type { FailureClass } from "../domain/TurnFailure.js"

/**
 * Review mode's permissions, given as OPENCODE_PERMISSION (merged over the
 * user's config): the `plan` agent alone still lets bash write files (checked
 * against 1.18.33), so the reviewer gets no shell and no edits; it reads with
 * read/grep/glob and has the diff in its prompt.
 */
export const reviewPermission = JSON.stringify({ edit: "deny", bash: "deny", webfetch: "deny" })

/** What an opencode fork changes: the rest (argv, events, config shape) is opencode's. */
export interface OpencodeVariant {
  readonly name: HarnessName
  readonly binary: string
  readonly binEnv: string
  readonly npmPackage: string
  /** The env var whose JSON permission rules are merged over the user's config. */
  readonly permissionEnv: string
}

export const invocationBuilder =
  (permissionEnv: string) =>
  (binary: string, request: TurnRequest, _facts: EnvFacts): Invocation => {
    // opencode works in $PWD, not in its process's cwd: --dir names the worktree explicitly.
    const args: Array<string> = ["run", "--format", "json", "--dir", request.cwd]
    const env: Record<string, string> = {}
    const notes: Array<string> = []
    if (request.mode === "review") {
      args.push("--agent", "plan")
      env[permissionEnv] = reviewPermission
      notes.push(`review mode: ${permissionEnv}=${reviewPermission}`)
    } else {
      args.push("--auto")
    }
    if (request.session._tag === "Resume") args.push("-s", request.session.id)
    if (request.model.model !== undefined) args.push("-m", request.model.model)
    if (request.model.reasoning !== undefined) args.push("--variant", request.model.reasoning)
    // The message is positional; a leading "-" would be read as an option.
    args.push(request.prompt.startsWith("-") ? ` ${request.prompt}` : request.prompt)
    return { command: binary, args, env, notes }
  }

export const buildInvocation = invocationBuilder("OPENCODE_PERMISSION")

const Count = Schema.optional(Schema.NullOr(Schema.Number))
const SessionID = Schema.optional(Schema.String)

/** The `--format json` events we read; everything else is skipped. */
export const OpencodeEvent = Schema.Union(
  Schema.Struct({ type: Schema.Literal("step_start"), sessionID: SessionID }),
  Schema.Struct({
    type: Schema.Literal("text"),
    sessionID: SessionID,
    part: Schema.Struct({ text: Schema.String, synthetic: Schema.optional(Schema.Boolean) })
  }),
  Schema.Struct({
    type: Schema.Literal("step_finish"),
    sessionID: SessionID,
    part: Schema.Struct({
      reason: Schema.optional(Schema.String),
      cost: Count,
      tokens: Schema.optional(
        Schema.Struct({
          input: Count,
          output: Count,
          reasoning: Count,
          cache: Schema.optional(Schema.Struct({ read: Count, write: Count }))
        })
      )
    })
  }),
  Schema.Struct({
    type: Schema.Literal("error"),
    sessionID: SessionID,
    error: Schema.optional(
      Schema.Struct({
        name: Schema.optional(Schema.String),
        message: Schema.optional(Schema.String),
        data: Schema.optional(
          Schema.Struct({
            message: Schema.optional(Schema.String),
            statusCode: Schema.optional(Schema.NullOr(Schema.Number)),
            responseHeaders: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.String }))),
            responseBody: Schema.optional(Schema.NullOr(Schema.String))
          })
        )
      })
    )
  }),
  Schema.Struct({ type: Schema.String, sessionID: SessionID })
)
export type OpencodeEvent = typeof OpencodeEvent.Type

interface State {
  /** Text parts of the step in progress. */
  readonly stepText: ReadonlyArray<string>
  /** The text of the last step that produced any. */
  readonly finalText: string
  readonly sessionId: Option.Option<string>
  readonly usage: Usage
  readonly costUsd: Option.Option<number>
  readonly error: Option.Option<string>
  /** Error events, newest first. */
  readonly failureSignals: ReadonlyArray<FailureSignal>
  /** When the log was read (retry-after given as an HTTP date is relative to it). */
  readonly nowMs: number
}

const initial: State = {
  stepText: [],
  finalText: "",
  sessionId: Option.none(),
  usage: emptyUsage,
  costUsd: Option.none(),
  error: Option.none(),
  failureSignals: [],
  nowMs: 0
}

/** The classes opencode's own error names stand for. */
const classOfName: Readonly<Record<string, FailureClass>> = {
  ContextOverflowError: "context-too-long",
  ProviderAuthError: "auth"
}

/** The wait its response headers ask for: `retry-after-ms`, else `retry-after` (seconds or an HTTP date). */
const retryAfterOf = (headers: Readonly<Record<string, string>> | null | undefined, nowMs: number): number | undefined => {
  if (headers === undefined || headers === null) return undefined
  const ms = headers["retry-after-ms"]
  if (ms !== undefined && Number.isFinite(Number(ms))) return Math.round(Number(ms))
  const after = headers["retry-after"]
  return after !== undefined ? retryAfterMsOfHeader(after, nowMs) : undefined
}

const count = (value: number | null | undefined): number => value ?? 0

const step = (state: State, event: OpencodeEvent): State => {
  const base: State = event.sessionID !== undefined ? { ...state, sessionId: Option.some(event.sessionID) } : state
  if ("part" in event && "text" in event.part) {
    return event.part.synthetic === true ? base : { ...base, stepText: [...base.stepText, event.part.text] }
  }
  switch (event.type) {
    case "step_start":
      return { ...base, stepText: [] }
    case "step_finish": {
      if (!("part" in event) || "text" in event.part) return base
      const tokens = event.part.tokens
      const cost = event.part.cost
      return {
        ...base,
        stepText: [],
        finalText: base.stepText.length > 0 ? base.stepText.join("\n") : base.finalText,
        // opencode's `input` excludes cache reads and writes; our inputTokens is the whole prompt.
        usage:
          tokens === undefined
            ? base.usage
            : addUsage(base.usage, {
                inputTokens: count(tokens.input) + count(tokens.cache?.read) + count(tokens.cache?.write),
                outputTokens: count(tokens.output) + count(tokens.reasoning),
                cachedInputTokens: count(tokens.cache?.read)
              }),
        costUsd:
          cost === undefined || cost === null ? base.costUsd : Option.some(Option.getOrElse(base.costUsd, () => 0) + cost)
      }
    }
    case "error": {
      if (!("error" in event)) return base
      const error = event.error
      const message = error?.data?.message ?? error?.message ?? error?.name ?? "error"
      const signal: FailureSignal = {
        status: error?.data?.statusCode ?? undefined,
        text: [message, error?.data?.responseBody ?? ""].filter((part) => part.length > 0).join(" "),
        retryAfterMs: retryAfterOf(error?.data?.responseHeaders, base.nowMs),
        class: error?.name !== undefined ? classOfName[error.name] : undefined
      }
      return {
        ...base,
        error: Option.some(error?.name !== undefined && message !== error.name ? `${error.name}: ${message}` : message),
        failureSignals: [signal, ...base.failureSignals]
      }
    }
    default:
      return base
  }
}

const finish = (state: State): Decoded => ({
  // A step cut short (timeout, crash) may still hold the last words.
  text: state.stepText.length > 0 ? state.stepText.join("\n") : state.finalText,
  sessionId: state.sessionId,
  usage: state.usage,
  costUsd: state.costUsd,
  error: state.error,
  failureSignals: state.failureSignals
})

export const decodeText = (text: string, nowMs: number = Date.now()): Decoded =>
  finish(foldJsonText(text, OpencodeEvent, { ...initial, nowMs }, step))

export const decodeLog = (logPath: string) =>
  Effect.flatMap(Clock.currentTimeMillis, (nowMs) =>
    Effect.map(foldJsonLines(logPath, OpencodeEvent, { ...initial, nowMs }, step), finish)
  )

// opencode, `run --format json`: tool parts and text parts.
const OpencodeLine = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("tool_use"),
    part: Schema.Struct({ tool: Schema.String, state: Schema.optional(Schema.Struct({ input: Schema.optional(Schema.Unknown) })) })
  }),
  Schema.Struct({ type: Schema.Literal("text"), part: Schema.Struct({ text: Schema.String }) })
)
const describeOpencode = (event: typeof OpencodeLine.Type): string | undefined =>
  event.type === "tool_use" ? describeToolCall(event.part.tool, event.part.state?.input) : textLine(event.part.text)

/** What a line of its output shows the live views (activity.ts). */
export const activity = activityReader(OpencodeLine, describeOpencode)

/** The spec of opencode or one of its forks: opencode's argv and decoder, the variant's names. */
export const opencodeFamilySpec = (variant: OpencodeVariant): CliSpec => ({
  name: variant.name,
  binary: variant.binary,
  binEnv: variant.binEnv,
  npmPackage: variant.npmPackage,
  choosesSessionId: false,
  activity,
  buildInvocation: invocationBuilder(variant.permissionEnv),
  decodeLog
})

export const opencodeSpec: CliSpec = opencodeFamilySpec({
  name: "opencode",
  binary: "opencode",
  binEnv: "OOMPA_OPENCODE_BIN",
  npmPackage: "opencode-ai",
  permissionEnv: "OPENCODE_PERMISSION"
})
