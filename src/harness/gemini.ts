/**
 * Gemini CLI (`@google/gemini-cli`, checked against 0.61).
 *
 *   new:    gemini --yolo --skip-trust [-m model] --output-format stream-json --session-id <uuid> -p <prompt>
 *   resume: gemini --yolo --skip-trust [-m model] --output-format stream-json --resume <uuid> -p <prompt>
 *   review: `--approval-mode plan` (its read-only mode) instead of `--yolo`
 *
 * stdin is closed (`-p` appends any stdin to the prompt, and it waits on an
 * open one). `--skip-trust` trusts the worktree for this run: a headless run in
 * an untrusted folder is refused. Gemini CLI has no reasoning flag: a
 * `:reasoning` suffix is ignored, and the log says so.
 * Failure class: a failed API call ends with `result` `status: "error"` whose
 * message often drops the HTTP status ("[API Error: Resource exhausted]"), but
 * gemini exits with the status modulo 256 (429 → 173, 503 → 247, 401 → 145,
 * 400 → 144), and its stderr names it (`status: 429`) (docs/cli-facts.md).
 */
import { Effect, Option, Schema } from "effect"
import type { CliSpec, Decoded, EnvFacts, FinishedRun, Invocation } from "./cliAdapter.js"
import type { FailureSignal } from "./failureClass.js"
import { emptyUsage, type Usage } from "../domain/Usage.js"
import type { TurnRequest } from "./Harness.js"
import { activityReader, describeToolCall, textLine } from "./activity.js"
import { foldJsonLines, foldJsonText } from "../formats/jsonl.js"

export const buildInvocation = (binary: string, request: TurnRequest, _facts: EnvFacts): Invocation => {
  const args: Array<string> = request.mode === "review" ? ["--approval-mode", "plan"] : ["--yolo"]
  const notes: Array<string> = []
  args.push("--skip-trust")
  if (request.model.model !== undefined) args.push("-m", request.model.model)
  if (request.model.reasoning !== undefined) {
    notes.push(`gemini has no reasoning flag: reasoning "${request.model.reasoning}" ignored`)
  }
  args.push("--output-format", "stream-json")
  if (request.session._tag === "Resume") args.push("--resume", request.session.id)
  else if (request.session.id !== undefined) args.push("--session-id", request.session.id)
  args.push("-p", request.prompt)
  return { command: binary, args, env: {}, notes }
}

const Count = Schema.optional(Schema.NullOr(Schema.Number))

/** The stream-json events we read; everything else is skipped. */
export const GeminiEvent = Schema.Union(
  Schema.Struct({ type: Schema.Literal("init"), session_id: Schema.optional(Schema.String) }),
  Schema.Struct({
    type: Schema.Literal("message"),
    role: Schema.String,
    content: Schema.String,
    delta: Schema.optional(Schema.Boolean)
  }),
  Schema.Struct({ type: Schema.Literal("tool_use", "tool_result") }),
  Schema.Struct({
    type: Schema.Literal("error"),
    severity: Schema.optional(Schema.String),
    message: Schema.String
  }),
  Schema.Struct({
    type: Schema.Literal("result"),
    status: Schema.optional(Schema.String),
    error: Schema.optional(Schema.Struct({ type: Schema.optional(Schema.String), message: Schema.String })),
    stats: Schema.optional(
      Schema.Struct({ input_tokens: Count, output_tokens: Count, cached: Count, input: Count })
    )
  })
)
export type GeminiEvent = typeof GeminiEvent.Type

interface State {
  /** Assistant text since the last tool call: the final model turn's words. */
  readonly text: string
  readonly sessionId: Option.Option<string>
  readonly usage: Usage
  readonly error: Option.Option<string>
  /** The result's error (most telling), then error events, newest first. */
  readonly resultSignals: ReadonlyArray<FailureSignal>
  readonly errorSignals: ReadonlyArray<FailureSignal>
}

const initial: State = { text: "", sessionId: Option.none(), usage: emptyUsage, error: Option.none(), resultSignals: [], errorSignals: [] }

const step = (state: State, event: GeminiEvent): State => {
  switch (event.type) {
    case "init":
      return event.session_id !== undefined ? { ...state, sessionId: Option.some(event.session_id) } : state
    case "message":
      if (event.role !== "assistant") return { ...state, text: "" }
      return { ...state, text: event.delta === true ? state.text + event.content : event.content }
    case "tool_use":
    case "tool_result":
      return { ...state, text: "" }
    case "error":
      return event.severity === "warning"
        ? state
        : { ...state, error: Option.some(event.message), errorSignals: [{ text: event.message }, ...state.errorSignals] }
    case "result": {
      const stats = event.stats
      const failed = event.status !== undefined && event.status !== "success"
      return {
        ...state,
        resultSignals: failed ? [{ text: event.error?.message ?? "" }, ...state.resultSignals] : state.resultSignals,
        usage:
          stats === undefined
            ? state.usage
            : {
                inputTokens: stats.input_tokens ?? 0,
                outputTokens: stats.output_tokens ?? 0,
                cachedInputTokens: stats.cached ?? 0
              },
        error:
          failed
            ? Option.some(event.error?.message ?? `status ${event.status}`)
            : state.error
      }
    }
  }
}

const finish = (state: State): Decoded => ({
  text: state.text,
  sessionId: state.sessionId,
  usage: state.usage,
  // gemini does not report cost.
  costUsd: Option.none(),
  error: state.error,
  failureSignals: [...state.resultSignals, ...state.errorSignals]
})

/** The HTTP statuses gemini's exit code stands for (it exits with the status modulo 256 after a failed API call). */
const statusOfExit: Readonly<Record<number, number>> = { 144: 400, 145: 401, 147: 403, 173: 429, 247: 503, 17: 529 }

/** After an API error result, the exit code names the status the message may have dropped. */
export const extraFailureSignals = (decoded: Decoded, run: FinishedRun): ReadonlyArray<FailureSignal> => {
  const status = run.exitCode !== null ? statusOfExit[run.exitCode] : undefined
  if (status === undefined || Option.isNone(decoded.error)) return []
  return [{ status, text: decoded.error.value }]
}

export const decodeText = (text: string): Decoded => finish(foldJsonText(text, GeminiEvent, initial, step))

export const decodeLog = (logPath: string) => Effect.map(foldJsonLines(logPath, GeminiEvent, initial, step), finish)

// Gemini CLI, stream-json: tool calls, and the reply streamed in pieces.
const GeminiLine = Schema.Union(
  Schema.Struct({ type: Schema.Literal("tool_use"), tool_name: Schema.String, parameters: Schema.optional(Schema.Unknown) }),
  Schema.Struct({ type: Schema.Literal("message"), role: Schema.Literal("assistant"), content: Schema.String, delta: Schema.optional(Schema.Boolean) })
)
const describeGemini = (event: typeof GeminiLine.Type): string | undefined =>
  event.type === "tool_use" ? describeToolCall(event.tool_name, event.parameters) : event.delta === true ? "writing its reply" : textLine(event.content)

/** What a line of its output shows the live views (activity.ts). */
export const activity = activityReader(GeminiLine, describeGemini)

export const geminiSpec: CliSpec = {
  activity,
  name: "gemini",
  binary: "gemini",
  binEnv: "OOMPA_GEMINI_BIN",
  npmPackage: "@google/gemini-cli",
  baseUrlEnv: ["GOOGLE_GEMINI_BASE_URL", "GEMINI_BASE_URL"],
  choosesSessionId: true,
  buildInvocation,
  decodeLog,
  extraFailureSignals
}
