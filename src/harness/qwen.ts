/**
 * Qwen Code (`@qwen-code/qwen-code`, checked against 0.24.4).
 *
 *   new:    qwen --yolo --output-format stream-json --session-id <uuid> [-m model] <prompt>
 *   resume: qwen --yolo --output-format stream-json --resume <uuid> [-m model] <prompt>
 *   review: `--approval-mode plan --exclude-tools agent` instead of `--yolo` (qwen then offers
 *           only read-only tools: no run_shell_command, write_file, edit; its `tool_call`
 *           bridge refuses them too; no sub-agents, which may carry an approval mode of their own)
 *
 * A fork of gemini-cli whose headless output is Claude Code's stream-json
 * (`system` init, `assistant`/`user` messages, a last `result`): the event
 * shapes are claude.ts's Schemas. The prompt is positional (`-p` is
 * deprecated) and stdin is closed (qwen appends an open stdin to the prompt).
 * Its parser takes nothing after `--` as the prompt, so a prompt starting
 * with `-` gets a leading space instead (it would be read as an option).
 *
 * Auth is not forced: qwen takes `--auth-type`, else the user's settings
 * (`security.auth.selectedType` in ~/.qwen/settings.json, what its setup
 * writes), else infers it from the environment (OPENAI_API_KEY + OPENAI_MODEL +
 * OPENAI_BASE_URL → openai, ANTHROPIC_* → anthropic, …). Passing
 * `--auth-type` would override what a user configured (a Qwen OAuth, an
 * Anthropic or Gemini key), so oompa passes none. qwen has no reasoning flag
 * (effort is a settings/slash-command matter): a `:reasoning` suffix is
 * ignored, and the log says so. `--yolo` makes qwen warn on stderr on every
 * run (no sandbox): QWEN_CODE_SUPPRESS_YOLO_WARNING=1 keeps that line out of a
 * failed turn's stderr tail, unless the user set it.
 *
 * Session: `--session-id <uuid>` names a new one (oompa picks the id);
 * `--resume <uuid>` continues it. qwen stores sessions per working directory
 * (~/.qwen/projects/<cwd>/chats/<id>.jsonl): a session resumes in the worktree
 * it was made in.
 *
 * Usage: the `result` event's `usage` is cumulative over the whole session
 * (after a resume it includes the earlier turns), so the turn's usage is the
 * sum of this run's `assistant` messages' `usage` (one per model call; a text
 * part sent before a tool call comes as its own message with usage 0).
 * `input_tokens` is the OpenAI `prompt_tokens`, cache reads included (unlike
 * Anthropic's); `cache_read_input_tokens` is the cached part. No cost is reported.
 *
 * Errors: a failed API call prints an `assistant` message
 * `[API Error: 400 <message>]` and a `result` with `is_error: true`,
 * `subtype: "error_during_execution"`, `error: {message}`, and exits 1.
 */
import { Effect, Option, Schema } from "effect"
import { addEnvUnlessSet, type CliSpec, type Decoded, type EnvFacts, type Invocation } from "./cliAdapter.js"
import { activity as claudeActivity, ClaudeUsage, ContentBlock } from "./claude.js"
import { addUsage, emptyUsage, type Usage } from "../domain/Usage.js"
import type { TurnRequest } from "./Harness.js"
import { foldJsonLines, foldJsonText } from "../formats/jsonl.js"
import type { FailureSignal } from "./failureClass.js"

export const buildInvocation = (binary: string, request: TurnRequest, facts: EnvFacts): Invocation => {
  const env: Record<string, string> = {}
  const notes: Array<string> = []
  const args: Array<string> = []
  if (request.mode === "review") {
    // `agent` off: a sub-agent whose definition (~/.qwen/agents, or the reviewed repo's own
    // .qwen/agents) sets approvalMode yolo/auto-edit would run in that mode, not in plan mode.
    // An option follows: --exclude-tools is an array and would take the prompt as a tool name.
    args.push("--approval-mode", "plan", "--exclude-tools", "agent")
  } else {
    args.push("--yolo")
    addEnvUnlessSet(env, notes, facts, "QWEN_CODE_SUPPRESS_YOLO_WARNING", "1", "qwen warns on stderr on every --yolo run")
  }
  args.push("--output-format", "stream-json")
  if (request.session._tag === "Resume") args.push("--resume", request.session.id)
  else if (request.session.id !== undefined) args.push("--session-id", request.session.id)
  if (request.model.model !== undefined) args.push("-m", request.model.model)
  if (request.model.reasoning !== undefined) {
    notes.push(`qwen has no reasoning flag: reasoning "${request.model.reasoning}" ignored`)
  }
  // Positional; qwen's parser has no `--` for it: "-…" would be read as an option.
  args.push(request.prompt.startsWith("-") ? ` ${request.prompt}` : request.prompt)
  return { command: binary, args, env, notes }
}

/** The stream-json events we read (claude's shapes, qwen's error object); everything else is skipped. */
export const QwenEvent = Schema.Union(
  Schema.Struct({ type: Schema.Literal("system"), session_id: Schema.optional(Schema.String) }),
  Schema.Struct({
    type: Schema.Literal("assistant"),
    session_id: Schema.optional(Schema.String),
    parent_tool_use_id: Schema.optional(Schema.NullOr(Schema.String)),
    message: Schema.Struct({ content: Schema.Array(ContentBlock), usage: Schema.optional(Schema.NullOr(ClaudeUsage)) })
  }),
  Schema.Struct({
    type: Schema.Literal("result"),
    subtype: Schema.optional(Schema.String),
    is_error: Schema.optional(Schema.Boolean),
    result: Schema.optional(Schema.String),
    session_id: Schema.optional(Schema.String),
    error: Schema.optional(Schema.NullOr(Schema.Struct({ message: Schema.optional(Schema.String) })))
  })
)
export type QwenEvent = typeof QwenEvent.Type

interface State {
  readonly sessionId: Option.Option<string>
  readonly lastAssistantText: string
  readonly resultText: Option.Option<string>
  readonly usage: Usage
  readonly error: Option.Option<string>
}

const initial: State = {
  sessionId: Option.none(),
  lastAssistantText: "",
  resultText: Option.none(),
  usage: emptyUsage,
  error: Option.none()
}

const count = (value: number | null | undefined): number => value ?? 0

/** The HTTP status qwen writes into its error text: "[API Error: 429 Rate limit reached …]". */
export const statusOfApiError = (message: string): number | undefined => {
  const match = /API Error:\s*([1-5]\d\d)\b/.exec(message)
  return match === null ? undefined : Number(match[1])
}

const step = (state: State, event: QwenEvent): State => {
  const sessionId = event.session_id !== undefined ? Option.some(event.session_id) : state.sessionId
  switch (event.type) {
    case "system":
      return { ...state, sessionId }
    case "assistant": {
      const usage = event.message.usage
      // Every model call costs, a sub-agent's too (parent_tool_use_id set): summed.
      const summed =
        usage === undefined || usage === null
          ? state.usage
          : addUsage(state.usage, {
              inputTokens: count(usage.input_tokens),
              outputTokens: count(usage.output_tokens),
              cachedInputTokens: count(usage.cache_read_input_tokens)
            })
      // A sub-agent's words are not the agent's final word.
      const text = event.parent_tool_use_id
        ? ""
        : event.message.content.flatMap((block) => ("text" in block ? [block.text] : [])).join("")
      return { ...state, sessionId, usage: summed, lastAssistantText: text.length > 0 ? text : state.lastAssistantText }
    }
    case "result": {
      const isError = event.is_error === true || (event.subtype !== undefined && event.subtype !== "success")
      const message = event.error?.message ?? event.result
      return {
        ...state,
        sessionId,
        resultText: event.result !== undefined && !isError ? Option.some(event.result) : state.resultText,
        error: isError ? Option.some(message !== undefined && message.length > 0 ? message : (event.subtype ?? "error")) : state.error
      }
    }
  }
}

const finish = (state: State): Decoded => {
  // A failed call's text is its error message again ("[API Error: …]"), not the agent's last word.
  const lastText = Option.isSome(state.error) && state.error.value === state.lastAssistantText ? "" : state.lastAssistantText
  const signals: ReadonlyArray<FailureSignal> = Option.isSome(state.error)
    ? [{ status: statusOfApiError(state.error.value), text: state.error.value }]
    : []
  return {
    // The result's text; the last assistant message when the run ended before it.
    text: Option.getOrElse(state.resultText, () => lastText),
    sessionId: state.sessionId,
    usage: state.usage,
    costUsd: Option.none(),
    error: state.error,
    failureSignals: signals
  }
}

export const decodeText = (text: string): Decoded => finish(foldJsonText(text, QwenEvent, initial, step))

export const decodeLog = (logPath: string) => Effect.map(foldJsonLines(logPath, QwenEvent, initial, step), finish)

export const qwenSpec: CliSpec = {
  name: "qwen",
  binary: "qwen",
  binEnv: "OOMPA_QWEN_BIN",
  npmPackage: "@qwen-code/qwen-code",
  choosesSessionId: true,
  // Its OpenAI auth's base URL (settings' security.auth / modelProviders may name another: not read).
  baseUrlEnv: ["OPENAI_BASE_URL"],
  // Its assistant events are Claude Code's: the same tool_use and text blocks.
  activity: claudeActivity,
  buildInvocation,
  decodeLog
}
