/**
 * pi (`@mariozechner/pi-coding-agent`, checked against 0.73.1).
 *
 *   new:    pi --mode json -p [--model provider/id] [--thinking t] <prompt>
 *   resume: pi --mode json -p --session <id> [--model provider/id] [--thinking t] <prompt>
 *   review: `--tools read,grep,find,ls` besides (pi's read-only allowlist: no bash, edit or write)
 *
 * The model part of `pi:<provider>/<id>` goes to `--model` as is: pi reads
 * `provider/id` (the provider one of its own or of the user's
 * ~/.pi/agent/models.json) and also takes a bare id or a pattern. pi has no
 * approval system: in a work turn every tool runs, nothing to pass. stdin is
 * closed (pi appends piped stdin to the prompt). Its parser has no `--`: a
 * prompt starting with `-` (an option) or `@` (a file to attach) gets a
 * leading space. Reasoning maps to `--thinking` (minimal, low, medium, high,
 * xhigh; `max` → xhigh).
 *
 * Session: pi picks the id (a uuid v7) and prints it first,
 * `{"type":"session","id":…}`; `--session <id>` resumes it, looked up among the
 * sessions of the working directory (pi stores them per cwd under
 * ~/.pi/agent/sessions/), which is the worktree the session was made in.
 *
 * Output (`--mode json`, one event a line): `message_end` per message; the
 * final text is the text parts of the last assistant message (as pi's own
 * text mode prints it). Usage: summed over this run's assistant messages
 * (`input` + `cacheRead` + `cacheWrite` is the whole prompt). Cost: summed
 * `usage.cost.total`, which pi computes in USD from the model's prices in
 * models.json; 0 there means no price is known, reported as no cost.
 *
 * Errors: **a failed API call still exits 0** in json mode. The last assistant
 * message then has `stopReason: "error"` (or `"aborted"`) and `errorMessage`
 * (the provider SDK's message, HTTP status first: "429 Rate limit reached");
 * the turn is reported failed (`Decoded.reportedFailure`), its error and class
 * read from that message. A run with no assistant message at all failed too:
 * pi exits 0 without calling the model when `--session <id>` names a session
 * of another folder (it asks on stdin whether to fork it; its stderr has the
 * question). pi retries 429/5xx itself (settings `retry.*`).
 */
import { Effect, Option, Schema } from "effect"
import type { Reasoning } from "../domain/Model.js"
import type { CliSpec, Decoded, EnvFacts, Invocation } from "./cliAdapter.js"
import { addUsage, emptyUsage, type Usage } from "../domain/Usage.js"
import type { TurnRequest } from "./Harness.js"
import { activityReader, describeToolCall, textLine } from "./activity.js"
import { foldJsonLines, foldJsonText } from "../formats/jsonl.js"
import type { FailureSignal } from "./failureClass.js"

/** The tools of a read-only reviewer: pi's own read-only set (no bash, edit, write). */
export const reviewTools = "read,grep,find,ls"

const thinkingOf: Record<Reasoning, string> = {
  minimal: "minimal",
  low: "low",
  medium: "medium",
  high: "high",
  xhigh: "xhigh",
  max: "xhigh"
}

export const buildInvocation = (binary: string, request: TurnRequest, _facts: EnvFacts): Invocation => {
  const args: Array<string> = ["--mode", "json", "-p"]
  if (request.mode === "review") args.push("--tools", reviewTools)
  if (request.session._tag === "Resume") args.push("--session", request.session.id)
  if (request.model.model !== undefined) args.push("--model", request.model.model)
  if (request.model.reasoning !== undefined) args.push("--thinking", thinkingOf[request.model.reasoning])
  // The message is positional and pi's parser has no `--`: "-…" would be an option, "@…" a file to attach.
  args.push(/^[-@]/.test(request.prompt) ? ` ${request.prompt}` : request.prompt)
  return { command: binary, args, env: {}, notes: [] }
}

const Count = Schema.optional(Schema.NullOr(Schema.Number))

const PiUsage = Schema.Struct({
  input: Count,
  output: Count,
  cacheRead: Count,
  cacheWrite: Count,
  cost: Schema.optional(Schema.NullOr(Schema.Struct({ total: Count })))
})

const Content = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
  Schema.Struct({ type: Schema.String })
)

const Message = Schema.Struct({
  role: Schema.String,
  content: Schema.optional(Schema.Union(Schema.String, Schema.Array(Content))),
  usage: Schema.optional(Schema.NullOr(PiUsage)),
  stopReason: Schema.optional(Schema.NullOr(Schema.String)),
  errorMessage: Schema.optional(Schema.NullOr(Schema.String))
})

/** The `--mode json` events we read; everything else is skipped. */
export const PiEvent = Schema.Union(
  Schema.Struct({ type: Schema.Literal("session"), id: Schema.String }),
  Schema.Struct({ type: Schema.Literal("message_end"), message: Message }),
  Schema.Struct({ type: Schema.String })
)
export type PiEvent = typeof PiEvent.Type

interface State {
  readonly sessionId: Option.Option<string>
  /** An assistant message was printed at all (pi called the model). */
  readonly answered: boolean
  /** The last assistant message so far: its text parts, and its error when it stopped with one. */
  readonly lastText: string
  readonly lastError: Option.Option<string>
  readonly usage: Usage
  readonly costUsd: number
  /** Assistant messages' errors, newest first (pi's retries leave the earlier ones in the stream). */
  readonly failureSignals: ReadonlyArray<FailureSignal>
}

const initial: State = {
  sessionId: Option.none(),
  answered: false,
  lastText: "",
  lastError: Option.none(),
  usage: emptyUsage,
  costUsd: 0,
  failureSignals: []
}

const count = (value: number | null | undefined): number => value ?? 0

/** The HTTP status the provider SDK puts first in its message ("429 Rate limit reached", "401 {…}"). */
export const statusOfMessage = (message: string): number | undefined => {
  const match = /^\s*([1-5]\d\d)\b/.exec(message)
  return match === null ? undefined : Number(match[1])
}

const textOf = (content: typeof Message.Type["content"]): string =>
  typeof content === "string"
    ? content
    : (content ?? []).flatMap((part) => ("text" in part ? [part.text] : [])).join("\n")

const step = (state: State, event: PiEvent): State => {
  if (event.type === "session" && "id" in event) return { ...state, sessionId: Option.some(event.id) }
  if (event.type !== "message_end" || !("message" in event)) return state
  const message = event.message
  if (message.role !== "assistant") return state
  const usage = message.usage
  const failed = message.stopReason === "error" || message.stopReason === "aborted"
  const error = failed ? (message.errorMessage ?? `request ${message.stopReason}`) : undefined
  return {
    ...state,
    answered: true,
    lastText: textOf(message.content),
    lastError: Option.fromNullable(error),
    // pi's `input` excludes cache reads and writes; our inputTokens is the whole prompt.
    usage:
      usage === undefined || usage === null
        ? state.usage
        : addUsage(state.usage, {
            inputTokens: count(usage.input) + count(usage.cacheRead) + count(usage.cacheWrite),
            outputTokens: count(usage.output),
            cachedInputTokens: count(usage.cacheRead)
          }),
    costUsd: state.costUsd + count(usage?.cost?.total),
    failureSignals: error === undefined ? state.failureSignals : [{ status: statusOfMessage(error), text: error }, ...state.failureSignals]
  }
}

const finish = (state: State): Decoded => ({
  text: state.lastText,
  sessionId: state.sessionId,
  usage: state.usage,
  costUsd: state.costUsd > 0 ? Option.some(state.costUsd) : Option.none(),
  error: state.lastError,
  failureSignals: state.failureSignals,
  // pi exits 0 after a failed API call: the run failed when its last assistant message did. It also exits 0
  // without calling the model when it will not resume a session of another folder (it asks on stdin whether
  // to fork it, and stdin is closed): a run with no assistant message failed too (its stderr says why).
  reportedFailure: Option.isSome(state.lastError) || !state.answered
})

export const decodeText = (text: string): Decoded => finish(foldJsonText(text, PiEvent, initial, step))

export const decodeLog = (logPath: string) => Effect.map(foldJsonLines(logPath, PiEvent, initial, step), finish)

// What pi is doing: a tool starting, or an assistant message's text.
const PiActivityLine = Schema.Union(
  Schema.Struct({ type: Schema.Literal("tool_execution_start"), toolName: Schema.String, args: Schema.optional(Schema.Unknown) }),
  Schema.Struct({
    type: Schema.Literal("message_end"),
    message: Schema.Struct({
      role: Schema.Literal("assistant"),
      content: Schema.Array(Schema.Union(Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }), Schema.Struct({ type: Schema.String })))
    })
  })
)

/** What a line of its output shows the live views (activity.ts). */
export const activity = activityReader(PiActivityLine, (event) =>
  event.type === "tool_execution_start"
    ? describeToolCall(event.toolName, event.args)
    : textLine(event.message.content.flatMap((part) => ("text" in part ? [part.text] : [])).join("\n"))
)

export const piSpec: CliSpec = {
  activity,
  name: "pi",
  binary: "pi",
  binEnv: "OOMPA_PI_BIN",
  npmPackage: "@mariozechner/pi-coding-agent",
  choosesSessionId: false,
  buildInvocation,
  decodeLog
}
