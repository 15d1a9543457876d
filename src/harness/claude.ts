/**
 * Claude Code (`@anthropic-ai/claude-code`, checked against 2.1).
 *
 *   new:    claude -p --output-format stream-json --verbose --dangerously-skip-permissions --session-id <uuid> [--model m] [--effort e]
 *   resume: claude -p --output-format stream-json --verbose --dangerously-skip-permissions --resume <uuid> [--model m] [--effort e]
 *   review: `--permission-mode plan` instead of `--dangerously-skip-permissions` (read-only tools)
 *
 * The prompt goes on stdin. `--session-id` together with `--resume` is refused
 * by the CLI. As root it refuses to skip permissions unless IS_SANDBOX=1 is in
 * its environment: oompa adds it then (and only then), and says so in the log.
 * Reasoning maps to `--effort` (low, medium, high, xhigh, max; `minimal` → low).
 * Cost: `total_cost_usd` is cumulative over a resumed session; the turn's own
 * cost is the sum of `model_usage_since_last_result[*].costUSD` when present.
 * Failure class: a failed API call ends with a `result` (and a synthetic
 * `assistant` message) carrying `api_error_status` (429, 529, 401, 400, …) and
 * `api_error_type` (`rate_limit_error`, `overloaded_error`, …); its retries
 * are `system`/`api_retry` events with `error_status` (docs/cli-facts.md).
 */
import { Effect, Option, Schema } from "effect"
import type { Reasoning } from "../domain/Model.js"
import { addEnvUnlessSet, type CliSpec, type Decoded, type EnvFacts, type Invocation } from "./cliAdapter.js"
import { emptyUsage, type Usage } from "../domain/Usage.js"
import type { TurnRequest } from "./Harness.js"
import { activityReader, describeToolCall, textLine } from "./activity.js"
import { foldJsonLines, foldJsonText } from "../formats/jsonl.js"
import type { FailureClass } from "../domain/TurnFailure.js"
import type { FailureSignal } from "./failureClass.js"

const effortOf: Record<Reasoning, string> = {
  minimal: "low",
  low: "low",
  medium: "medium",
  high: "high",
  xhigh: "xhigh",
  max: "max"
}

export const buildInvocation = (binary: string, request: TurnRequest, facts: EnvFacts): Invocation => {
  const args: Array<string> = ["-p", "--output-format", "stream-json", "--verbose"]
  const env: Record<string, string> = {}
  const notes: Array<string> = []
  if (request.mode === "review") {
    args.push("--permission-mode", "plan")
  } else {
    args.push("--dangerously-skip-permissions")
    if (facts.isRoot) {
      addEnvUnlessSet(env, notes, facts, "IS_SANDBOX", "1", "running as root: claude refuses to skip permissions as root without it")
    }
  }
  if (request.session._tag === "Resume") args.push("--resume", request.session.id)
  else if (request.session.id !== undefined) args.push("--session-id", request.session.id)
  if (request.model.model !== undefined) args.push("--model", request.model.model)
  if (request.model.reasoning !== undefined) args.push("--effort", effortOf[request.model.reasoning])
  return { command: binary, args, env, stdin: request.prompt, notes }
}

const OptionalCount = Schema.optional(Schema.NullOr(Schema.Number))

/** A message's or result's `usage` in stream-json (qwen prints the same shape: qwen.ts). */
export const ClaudeUsage = Schema.Struct({
  input_tokens: OptionalCount,
  output_tokens: OptionalCount,
  cache_read_input_tokens: OptionalCount,
  cache_creation_input_tokens: OptionalCount
})

/** A content block of an `assistant` message: text is read, the rest (tool_use, thinking, …) skipped. */
export const ContentBlock = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
  Schema.Struct({ type: Schema.String })
)

/** The stream-json events we read; everything else is skipped. */
export const ClaudeEvent = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("system"),
    subtype: Schema.optional(Schema.String),
    session_id: Schema.optional(Schema.String),
    // subtype "api_retry": the API call failed and will be retried.
    error: Schema.optional(Schema.NullOr(Schema.String)),
    error_status: Schema.optional(Schema.NullOr(Schema.Number)),
    attempt: Schema.optional(Schema.Number),
    max_retries: Schema.optional(Schema.Number)
  }),
  Schema.Struct({
    type: Schema.Literal("assistant"),
    session_id: Schema.optional(Schema.String),
    parent_tool_use_id: Schema.optional(Schema.NullOr(Schema.String)),
    message: Schema.Struct({ content: Schema.Array(ContentBlock) }),
    // A synthetic message standing for a failed API call: "rate_limit", "authentication_failed", …
    error: Schema.optional(Schema.NullOr(Schema.String)),
    api_error_status: Schema.optional(Schema.NullOr(Schema.Number)),
    api_error_type: Schema.optional(Schema.NullOr(Schema.String))
  }),
  Schema.Struct({
    type: Schema.Literal("result"),
    subtype: Schema.optional(Schema.String),
    is_error: Schema.optional(Schema.Boolean),
    result: Schema.optional(Schema.String),
    session_id: Schema.optional(Schema.String),
    total_cost_usd: Schema.optional(Schema.NullOr(Schema.Number)),
    usage: Schema.optional(ClaudeUsage),
    errors: Schema.optional(Schema.Array(Schema.String)),
    api_error_status: Schema.optional(Schema.NullOr(Schema.Number)),
    api_error_type: Schema.optional(Schema.NullOr(Schema.String)),
    // Per model, for this run only (total_cost_usd is cumulative over a resumed session).
    model_usage_since_last_result: Schema.optional(
      Schema.NullOr(
        Schema.Record({ key: Schema.String, value: Schema.Struct({ costUSD: Schema.optional(Schema.NullOr(Schema.Number)) }) })
      )
    )
  })
)
export type ClaudeEvent = typeof ClaudeEvent.Type

interface State {
  readonly lastAssistantText: string
  readonly resultText: Option.Option<string>
  readonly sessionId: Option.Option<string>
  readonly usage: Usage
  readonly costUsd: Option.Option<number>
  readonly error: Option.Option<string>
  readonly retryError: Option.Option<string>
  /** From the result event (most telling), the synthetic API-error message, and the retries (newest last). */
  readonly resultSignals: ReadonlyArray<FailureSignal>
  readonly messageSignals: ReadonlyArray<FailureSignal>
  readonly retrySignals: ReadonlyArray<FailureSignal>
}

const initial: State = {
  lastAssistantText: "",
  resultText: Option.none(),
  sessionId: Option.none(),
  usage: emptyUsage,
  costUsd: Option.none(),
  error: Option.none(),
  retryError: Option.none(),
  resultSignals: [],
  messageSignals: [],
  retrySignals: []
}

/** The class claude's `api_error_type` (the Anthropic API's error type) or its message's `error` names. */
export const classOfClaudeError = (type: string | null | undefined): FailureClass | undefined => {
  switch (type) {
    case "rate_limit_error":
    case "rate_limit":
      return "rate-limited"
    case "overloaded_error":
      return "overloaded"
    case "authentication_error":
    case "authentication_failed":
    case "permission_error":
      return "auth"
    case "request_too_large":
      return "context-too-long"
    default:
      return undefined
  }
}

const orUndefined = <A>(value: A | null | undefined): A | undefined => value ?? undefined

const count = (value: number | null | undefined): number => value ?? 0

/** Input tokens as the total prompt (fresh + cache reads + cache writes), cached as cache reads. */
const toUsage = (usage: typeof ClaudeUsage.Type): Usage => ({
  inputTokens:
    count(usage.input_tokens) + count(usage.cache_read_input_tokens) + count(usage.cache_creation_input_tokens),
  outputTokens: count(usage.output_tokens),
  cachedInputTokens: count(usage.cache_read_input_tokens)
})

const step = (state: State, event: ClaudeEvent): State => {
  const sessionId = event.session_id !== undefined ? Option.some(event.session_id) : state.sessionId
  switch (event.type) {
    case "system": {
      if (event.subtype !== "api_retry") return { ...state, sessionId }
      // A run that times out while retrying (a bad key is retried too) has no result event: say why.
      const status = event.error_status !== undefined && event.error_status !== null ? ` (HTTP ${event.error_status})` : ""
      const attempt = event.attempt !== undefined ? `, retry ${event.attempt}${event.max_retries !== undefined ? `/${event.max_retries}` : ""}` : ""
      const signal: FailureSignal = {
        status: orUndefined(event.error_status),
        text: event.error ?? "",
        class: classOfClaudeError(event.error)
      }
      return {
        ...state,
        sessionId,
        retryError: Option.some(`API error: ${event.error ?? "unknown"}${status}${attempt}`),
        retrySignals: [...state.retrySignals, signal]
      }
    }
    case "assistant": {
      // Sub-agent messages are not the agent's final word.
      if (event.parent_tool_use_id) return { ...state, sessionId }
      const text = event.message.content
        .flatMap((block) => ("text" in block ? [block.text] : []))
        .join("")
      if (event.api_error_status !== undefined || (event.error !== undefined && event.error !== null)) {
        const signal: FailureSignal = {
          status: orUndefined(event.api_error_status),
          text,
          class: classOfClaudeError(event.api_error_type) ?? classOfClaudeError(event.error)
        }
        return { ...state, sessionId, lastAssistantText: text, messageSignals: [...state.messageSignals, signal] }
      }
      return text.length > 0 ? { ...state, sessionId, lastAssistantText: text } : { ...state, sessionId }
    }
    case "result": {
      const isError = event.is_error === true || (event.subtype !== undefined && event.subtype !== "success")
      const errorText = [event.subtype === "success" ? undefined : event.subtype, ...(event.errors ?? []), event.result]
        .filter((part): part is string => part !== undefined && part.length > 0)
        .join(": ")
      const sinceLast = event.model_usage_since_last_result
      const turnCost =
        sinceLast !== undefined && sinceLast !== null && Object.keys(sinceLast).length > 0
          ? Object.values(sinceLast).reduce((sum, model) => sum + (model.costUSD ?? 0), 0)
          : event.total_cost_usd
      return {
        ...state,
        sessionId,
        // A failed result's text is its error, not the agent's last word.
        resultText: event.result !== undefined && !isError ? Option.some(event.result) : state.resultText,
        usage: event.usage !== undefined ? toUsage(event.usage) : state.usage,
        costUsd: turnCost !== undefined && turnCost !== null ? Option.some(turnCost) : state.costUsd,
        error: isError ? Option.some(errorText.length > 0 ? errorText : "error") : state.error,
        resultSignals: isError
          ? [
              ...state.resultSignals,
              { status: orUndefined(event.api_error_status), text: errorText, class: classOfClaudeError(event.api_error_type) }
            ]
          : state.resultSignals
      }
    }
  }
}

const finish = (state: State): Decoded => ({
  // The result event's text; the last assistant message when the run ended before it.
  text: Option.getOrElse(state.resultText, () => state.lastAssistantText),
  sessionId: state.sessionId,
  usage: state.usage,
  costUsd: state.costUsd,
  error: Option.orElse(state.error, () => state.retryError),
  failureSignals: [...[...state.resultSignals].reverse(), ...[...state.messageSignals].reverse(), ...[...state.retrySignals].reverse()]
})

export const decodeText = (text: string): Decoded => finish(foldJsonText(text, ClaudeEvent, initial, step))

export const decodeLog = (logPath: string) => Effect.map(foldJsonLines(logPath, ClaudeEvent, initial, step), finish)

// Claude Code, stream-json: an assistant message's content blocks.
const ClaudeLine = Schema.Struct({
  type: Schema.Literal("assistant"),
  message: Schema.Struct({
    content: Schema.Array(
      Schema.Union(
        Schema.Struct({ type: Schema.Literal("tool_use"), name: Schema.String, input: Schema.optional(Schema.Unknown) }),
        Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
        Schema.Struct({ type: Schema.String })
      )
    )
  })
})
const describeClaude = (event: typeof ClaudeLine.Type): string | undefined => {
  for (const block of [...event.message.content].reverse()) {
    if ("name" in block) return describeToolCall(block.name, block.input)
    if ("text" in block) return textLine(block.text)
  }
  return undefined
}

/** What a line of its output shows the live views (activity.ts). */
export const activity = activityReader(ClaudeLine, describeClaude)

export const claudeSpec: CliSpec = {
  activity,
  name: "claude",
  binary: "claude",
  binEnv: "OOMPA_CLAUDE_BIN",
  npmPackage: "@anthropic-ai/claude-code",
  baseUrlEnv: ["ANTHROPIC_BASE_URL"],
  choosesSessionId: true,
  buildInvocation,
  decodeLog
}
