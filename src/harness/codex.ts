/**
 * Codex CLI (`@openai/codex`, checked against codex-cli 0.169).
 *
 *   new:    codex exec --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check -C <dir> [-m m] [-c model_reasoning_effort="r"] --json -- <prompt>
 *   resume: codex exec resume --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check [-m m] [-c …] --json -- <id> <prompt>
 *           (run with cwd = the worktree: `resume` has no `-C`)
 *   review: `--sandbox read-only` (new) / `-c sandbox_mode="read-only"` (resume, which has no --sandbox)
 *           instead of the bypass flag; `codex exec` never asks for approval.
 *
 * stdin is closed: codex waits on an open stdin and appends piped stdin to the prompt.
 * Reasoning: `model_reasoning_effort` takes minimal|low|medium|high|xhigh; `max` → xhigh.
 * Failure class: from the `turn.failed` / `error` message alone (codex gives no
 * status field): "exceeded retry limit, last status: 429 Too Many Requests",
 * "unexpected status 503 Service Unavailable: …", "You've hit your usage limit …
 * try again at <date>", "Codex ran out of room in the model's context window" (docs/cli-facts.md).
 */
import { Effect, Option, Schema } from "effect"
import type { Reasoning } from "../domain/Model.js"
import type { CliSpec, Decoded, EnvFacts, Invocation } from "./cliAdapter.js"
import { addUsage, emptyUsage, type Usage } from "../domain/Usage.js"
import type { TurnRequest } from "./Harness.js"
import { activityReader, textLine } from "./activity.js"
import { foldJsonLines, foldJsonText } from "../formats/jsonl.js"
import type { FailureSignal } from "./failureClass.js"

const effortOf: Record<Reasoning, string> = {
  minimal: "minimal",
  low: "low",
  medium: "medium",
  high: "high",
  xhigh: "xhigh",
  max: "xhigh"
}

export const buildInvocation = (binary: string, request: TurnRequest, _facts: EnvFacts): Invocation => {
  const resume = request.session._tag === "Resume"
  const args: Array<string> = resume ? ["exec", "resume"] : ["exec"]
  if (request.mode === "review") {
    if (resume) args.push("-c", `sandbox_mode="read-only"`)
    else args.push("--sandbox", "read-only")
  } else {
    args.push("--dangerously-bypass-approvals-and-sandbox")
  }
  args.push("--skip-git-repo-check")
  if (!resume) args.push("-C", request.cwd)
  if (request.model.model !== undefined) args.push("-m", request.model.model)
  if (request.model.reasoning !== undefined) {
    args.push("-c", `model_reasoning_effort="${effortOf[request.model.reasoning]}"`)
  }
  args.push("--json", "--")
  if (request.session._tag === "Resume") args.push(request.session.id)
  args.push(request.prompt)
  return { command: binary, args, env: {}, notes: [] }
}

const Count = Schema.optional(Schema.NullOr(Schema.Number))

/** The `--json` events we read; everything else is skipped. */
export const CodexEvent = Schema.Union(
  Schema.Struct({ type: Schema.Literal("thread.started"), thread_id: Schema.String }),
  Schema.Struct({ type: Schema.Literal("turn.started") }),
  Schema.Struct({
    type: Schema.Literal("item.completed"),
    item: Schema.Struct({ type: Schema.String, text: Schema.optional(Schema.String) })
  }),
  Schema.Struct({
    type: Schema.Literal("turn.completed"),
    usage: Schema.optional(
      Schema.Struct({ input_tokens: Count, cached_input_tokens: Count, output_tokens: Count })
    )
  }),
  Schema.Struct({
    type: Schema.Literal("turn.failed"),
    error: Schema.optional(Schema.Struct({ message: Schema.String }))
  }),
  Schema.Struct({ type: Schema.Literal("error"), message: Schema.String })
)
export type CodexEvent = typeof CodexEvent.Type

interface State {
  readonly text: string
  readonly sessionId: Option.Option<string>
  readonly usage: Usage
  readonly turnError: Option.Option<string>
  readonly lastError: Option.Option<string>
  /** turn.failed's message (most telling), then the error events', newest first. */
  readonly turnSignals: ReadonlyArray<FailureSignal>
  readonly errorSignals: ReadonlyArray<FailureSignal>
}

const initial: State = {
  text: "",
  sessionId: Option.none(),
  usage: emptyUsage,
  turnError: Option.none(),
  lastError: Option.none(),
  turnSignals: [],
  errorSignals: []
}

/** The message as a person reads it, then the raw body when it says more (a JSON body's resets_at, code). */
const signalsOf = (raw: string): ReadonlyArray<FailureSignal> => {
  const shown = unwrapApiError(raw)
  return shown === raw ? [{ text: raw }] : [{ text: shown }, { text: raw }]
}

/** codex passes the API's error body through as a JSON string: show its message. */
export const unwrapApiError = (message: string): string => {
  if (!message.trimStart().startsWith("{")) return message
  try {
    const body: unknown = JSON.parse(message)
    const inner = typeof body === "object" && body !== null && "error" in body ? body.error : body
    if (typeof inner === "object" && inner !== null && "message" in inner && typeof inner.message === "string") {
      const type = "type" in inner && typeof inner.type === "string" ? `${inner.type}: ` : ""
      return type + inner.message
    }
  } catch {
    // not JSON after all
  }
  return message
}

const step = (state: State, event: CodexEvent): State => {
  switch (event.type) {
    case "thread.started":
      return { ...state, sessionId: Option.some(event.thread_id) }
    case "turn.started":
      return state
    case "item.completed":
      // The final message is the last agent message (older builds called it assistant_message).
      return (event.item.type === "agent_message" || event.item.type === "assistant_message") &&
        event.item.text !== undefined
        ? { ...state, text: event.item.text }
        : state
    case "turn.completed":
      return event.usage === undefined
        ? state
        : {
            ...state,
            // OpenAI counts cached tokens inside input_tokens, as our Usage does.
            usage: addUsage(state.usage, {
              inputTokens: event.usage.input_tokens ?? 0,
              outputTokens: event.usage.output_tokens ?? 0,
              cachedInputTokens: event.usage.cached_input_tokens ?? 0
            })
          }
    case "turn.failed":
      return {
        ...state,
        turnError: Option.some(unwrapApiError(event.error?.message ?? "turn failed")),
        turnSignals: [...signalsOf(event.error?.message ?? ""), ...state.turnSignals]
      }
    case "error":
      return {
        ...state,
        lastError: Option.some(unwrapApiError(event.message)),
        errorSignals: [...signalsOf(event.message), ...state.errorSignals]
      }
  }
}

const finish = (state: State): Decoded => ({
  text: state.text,
  sessionId: state.sessionId,
  usage: state.usage,
  // codex does not report cost.
  costUsd: Option.none(),
  error: Option.orElse(state.turnError, () => state.lastError),
  failureSignals: [...state.turnSignals, ...state.errorSignals]
})

export const decodeText = (text: string): Decoded => finish(foldJsonText(text, CodexEvent, initial, step))

export const decodeLog = (logPath: string) => Effect.map(foldJsonLines(logPath, CodexEvent, initial, step), finish)

// Codex, `exec --json`: items as they start and complete.
const CodexLine = Schema.Struct({
  type: Schema.Literal("item.started", "item.completed"),
  item: Schema.Struct({
    type: Schema.String,
    command: Schema.optional(Schema.String),
    text: Schema.optional(Schema.String),
    tool: Schema.optional(Schema.String),
    changes: Schema.optional(Schema.Array(Schema.Struct({ path: Schema.String })))
  })
})
const describeCodex = ({ type, item }: typeof CodexLine.Type): string | undefined => {
  if (item.type === "command_execution" && item.command !== undefined) return type === "item.started" ? `shell: ${item.command}` : undefined
  if (item.type === "file_change" && item.changes !== undefined) return `edit ${item.changes.map((c) => c.path).join(", ")}`
  if (item.type === "mcp_tool_call" && item.tool !== undefined) return item.tool
  if (item.type === "agent_message" && item.text !== undefined) return textLine(item.text)
  if (item.type === "reasoning") return "thinking"
  return undefined
}

/** What a line of its output shows the live views (activity.ts). */
export const activity = activityReader(CodexLine, describeCodex)

export const codexSpec: CliSpec = {
  activity,
  name: "codex",
  binary: "codex",
  binEnv: "OOMPA_CODEX_BIN",
  npmPackage: "@openai/codex",
  baseUrlEnv: ["OPENAI_BASE_URL"],
  choosesSessionId: false,
  buildInvocation,
  decodeLog
}
