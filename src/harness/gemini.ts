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
 */
import { Effect, Option, Schema } from "effect"
import type { CliSpec, Decoded, EnvFacts, Invocation } from "./cliAdapter.js"
import { emptyUsage, type Usage } from "../domain/Usage.js"
import type { TurnRequest } from "./Harness.js"
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
}

const initial: State = { text: "", sessionId: Option.none(), usage: emptyUsage, error: Option.none() }

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
      return event.severity === "warning" ? state : { ...state, error: Option.some(event.message) }
    case "result": {
      const stats = event.stats
      return {
        ...state,
        usage:
          stats === undefined
            ? state.usage
            : {
                inputTokens: stats.input_tokens ?? 0,
                outputTokens: stats.output_tokens ?? 0,
                cachedInputTokens: stats.cached ?? 0
              },
        error:
          event.status !== undefined && event.status !== "success"
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
  error: state.error
})

export const decodeText = (text: string): Decoded => finish(foldJsonText(text, GeminiEvent, initial, step))

export const decodeLog = (logPath: string) => Effect.map(foldJsonLines(logPath, GeminiEvent, initial, step), finish)

export const geminiSpec: CliSpec = {
  name: "gemini",
  binary: "gemini",
  binEnv: "OOMPA_GEMINI_BIN",
  npmPackage: "@google/gemini-cli",
  choosesSessionId: true,
  buildInvocation,
  decodeLog
}
