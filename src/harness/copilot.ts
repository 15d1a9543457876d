/**
 * GitHub Copilot CLI (`@github/copilot`, checked against 1.0.102).
 *
 *   new:    copilot --prompt=<prompt> --output-format json --allow-all-tools --session-id <uuid> [--model m] [--reasoning-effort r]
 *   resume: copilot --prompt=<prompt> --output-format json --allow-all-tools --resume <uuid> [--model m] [--reasoning-effort r]
 *   review: `--mode plan --available-tools=view,grep,glob` before `--allow-all-tools`: the model is offered
 *           only those three read-only tools (no shell, no create/edit, no sub-agents)
 *
 * The prompt is given as `--prompt=<text>` (with `-p <text>` a prompt starting
 * with "-" is read as options and refused); stdin is closed. `--allow-all-tools`
 * is required headless (else every tool call needing approval is denied).
 * `--session-id <uuid>` names a new session (choosesSessionId). Plan mode alone
 * still offers `bash` and refuses writes by judging each command ("would modify
 * files outside the session folder"): a judgement, not a boundary, hence the
 * allowlist. Reasoning maps to `--reasoning-effort` (none … max: ours 1:1).
 *
 * Output (`--output-format json`, one event per line): final text = `content`
 * of the last `assistant.message`; session id = `sessionId` of the closing
 * `result` event. Token usage is not on stdout and `--usage-output-file` writes
 * the session's running total, so the turn's own usage is read from copilot's
 * session log `$COPILOT_HOME/session-state/<id>/events.jsonl` (COPILOT_HOME
 * from the run's env, the user's, else `~/.copilot`): the
 * `session.usage_record` events (one per model call) whose `apiCallId` is one
 * of this run's `assistant.message`s. Its `inputTokens` is the provider's
 * prompt count (OpenAI's `prompt_tokens`, cache reads included), its
 * `cacheReadTokens` the cache reads. Cost: none in USD (`cost` there is 0 with
 * a provider of one's own, premium requests otherwise). Failure: a
 * `session.error` `{errorType, message, statusCode}` then `result` with
 * `exitCode: 1` (process exit 1); each failed model call is also a
 * `model.call_failure` `{statusCode, errorMessage, retryAttempt}` (docs/cli-facts.md).
 */
import { FileSystem } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import * as os from "node:os"
import * as path from "node:path"
import type { Reasoning } from "../domain/Model.js"
import { addUsage, emptyUsage, type Usage } from "../domain/Usage.js"
import { foldJsonLines, foldJsonText } from "../formats/jsonl.js"
import type { CliSpec, DecodeContext, Decoded, EnvFacts, Invocation } from "./cliAdapter.js"
import type { FailureSignal } from "./failureClass.js"
import type { TurnRequest } from "./Harness.js"
import { activityReader, describeToolCall, textLine } from "./activity.js"

/** The tools a reviewer is offered: it reads, it does not write or run anything. */
export const reviewTools = ["view", "grep", "glob"] as const

const effortOf: Record<Reasoning, string> = {
  minimal: "minimal",
  low: "low",
  medium: "medium",
  high: "high",
  xhigh: "xhigh",
  max: "max"
}

export const buildInvocation = (binary: string, request: TurnRequest, _facts: EnvFacts): Invocation => {
  const args: Array<string> = [`--prompt=${request.prompt}`, "--output-format", "json"]
  if (request.mode === "review") args.push("--mode", "plan", `--available-tools=${reviewTools.join(",")}`)
  args.push("--allow-all-tools")
  if (request.session._tag === "Resume") args.push("--resume", request.session.id)
  else if (request.session.id !== undefined) args.push("--session-id", request.session.id)
  if (request.model.model !== undefined) args.push("--model", request.model.model)
  if (request.model.reasoning !== undefined) args.push("--reasoning-effort", effortOf[request.model.reasoning])
  return { command: binary, args, env: {}, notes: [] }
}

const OptionalString = Schema.optional(Schema.NullOr(Schema.String))
const OptionalNumber = Schema.optional(Schema.NullOr(Schema.Number))

/** The stdout events we read; everything else is skipped. */
export const CopilotEvent = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("assistant.message"),
    data: Schema.Struct({
      content: OptionalString,
      apiCallId: OptionalString,
      // Set on a sub-agent's messages (not the run's answer).
      parentToolCallId: OptionalString
    })
  }),
  Schema.Struct({
    type: Schema.Literal("session.error"),
    data: Schema.Struct({ errorType: OptionalString, message: OptionalString, statusCode: OptionalNumber })
  }),
  Schema.Struct({
    type: Schema.Literal("model.call_failure"),
    data: Schema.Struct({ statusCode: OptionalNumber, errorMessage: OptionalString, errorType: OptionalString })
  }),
  Schema.Struct({ type: Schema.Literal("result"), sessionId: OptionalString, exitCode: OptionalNumber }),
  Schema.Struct({ type: Schema.String })
)
export type CopilotEvent = typeof CopilotEvent.Type

/** The session log's events we read (`$COPILOT_HOME/session-state/<id>/events.jsonl`). */
export const SessionStateEvent = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("session.usage_record"),
    data: Schema.Struct({
      usage: Schema.Struct({
        apiCallId: OptionalString,
        inputTokens: OptionalNumber,
        outputTokens: OptionalNumber,
        cacheReadTokens: OptionalNumber
      })
    })
  }),
  Schema.Struct({ type: Schema.String })
)
export type SessionStateEvent = typeof SessionStateEvent.Type

interface State {
  readonly text: string
  readonly sessionId: Option.Option<string>
  /** The model calls this run made (`assistant.message` apiCallId): whose usage records are this turn's. */
  readonly apiCallIds: ReadonlySet<string>
  readonly error: Option.Option<string>
  /** Error events, newest first. */
  readonly failureSignals: ReadonlyArray<FailureSignal>
}

const initial: State = {
  text: "",
  sessionId: Option.none(),
  apiCallIds: new Set(),
  error: Option.none(),
  failureSignals: []
}

const nonEmpty = (s: string | null | undefined): s is string => s !== undefined && s !== null && s.length > 0

const step = (state: State, event: CopilotEvent): State => {
  // The catch-all member has neither `data` nor `sessionId`: an event of a known type but another shape.
  switch (event.type) {
    case "assistant.message": {
      if (!("data" in event)) return state
      const data = event.data as { content?: string | null; apiCallId?: string | null; parentToolCallId?: string | null }
      const apiCallIds = nonEmpty(data.apiCallId) ? new Set([...state.apiCallIds, data.apiCallId]) : state.apiCallIds
      // A message that only asks for tools has empty content: the answer so far stands.
      const text = !nonEmpty(data.parentToolCallId) && nonEmpty(data.content) ? data.content : state.text
      return { ...state, apiCallIds, text }
    }
    case "session.error": {
      if (!("data" in event)) return state
      const data = event.data as { errorType?: string | null; message?: string | null; statusCode?: number | null }
      const message = nonEmpty(data.message) ? data.message : nonEmpty(data.errorType) ? data.errorType : "error"
      return {
        ...state,
        error: Option.some(message),
        failureSignals: [{ status: data.statusCode ?? undefined, text: message }, ...state.failureSignals]
      }
    }
    case "model.call_failure": {
      if (!("data" in event)) return state
      const data = event.data as { statusCode?: number | null; errorMessage?: string | null; errorType?: string | null }
      const text = [data.errorType, data.errorMessage].filter(nonEmpty).join(": ")
      return { ...state, failureSignals: [{ status: data.statusCode ?? undefined, text }, ...state.failureSignals] }
    }
    case "result": {
      if (!("sessionId" in event) || !nonEmpty(event.sessionId)) return state
      return { ...state, sessionId: Option.some(event.sessionId) }
    }
    default:
      return state
  }
}

const finish = (state: State, usage: Usage): Decoded => ({
  text: state.text,
  sessionId: state.sessionId,
  usage,
  costUsd: Option.none(),
  error: state.error,
  failureSignals: state.failureSignals
})

const count = (n: number | null | undefined): number => n ?? 0

/** The usage of the model calls `apiCallIds` names, summed over a session log's usage records. */
const usageStep =
  (apiCallIds: ReadonlySet<string>) =>
  (usage: Usage, event: SessionStateEvent): Usage => {
    if (event.type !== "session.usage_record" || !("data" in event)) return usage
    const record = event.data.usage
    if (!nonEmpty(record.apiCallId) || !apiCallIds.has(record.apiCallId)) return usage
    return addUsage(usage, {
      inputTokens: count(record.inputTokens),
      outputTokens: count(record.outputTokens),
      cachedInputTokens: count(record.cacheReadTokens)
    })
  }

/** Decodes stdout text alone, and the session log's text for the usage when given (tests). */
export const decodeText = (text: string, sessionStateText?: string): Decoded => {
  const state = foldJsonText(text, CopilotEvent, initial, step)
  const usage =
    sessionStateText === undefined ? emptyUsage : foldJsonText(sessionStateText, SessionStateEvent, emptyUsage, usageStep(state.apiCallIds))
  return finish(state, usage)
}

const setting = (value: string | undefined): string | undefined => (value !== undefined && value.length > 0 ? value : undefined)

/** Where copilot keeps its state for this run: COPILOT_HOME (the run's env, then the user's), else `$HOME/.copilot`. */
export const copilotHomeOf = (context: Pick<DecodeContext, "env" | "facts">): string => {
  const home = setting(context.env.COPILOT_HOME) ?? setting(context.facts.userEnv.COPILOT_HOME)
  if (home !== undefined) return home
  return path.join(setting(context.env.HOME) ?? setting(context.facts.userEnv.HOME) ?? os.homedir(), ".copilot")
}

/** A session id that is safe to put in a path (copilot's are UUIDs). */
const isPlainId = (id: string): boolean => /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(id)

/** The session log of this run's session, if there is one to read. */
export const sessionStatePathOf = (context: Pick<DecodeContext, "env" | "facts" | "request">, sessionId: Option.Option<string>): Option.Option<string> => {
  const session = context.request.session
  const id = Option.orElse(sessionId, () => Option.fromNullable(session._tag === "Resume" ? session.id : session.id))
  return Option.map(Option.filter(id, isPlainId), (id) => path.join(copilotHomeOf(context), "session-state", id, "events.jsonl"))
}

/**
 * Decodes the stdout log; with the run's context, also reads the turn's usage
 * from copilot's session log (missing or unreadable: no usage, not an error).
 */
export const decodeLog = (logPath: string, context?: DecodeContext) =>
  Effect.gen(function* () {
    const state = yield* foldJsonLines(logPath, CopilotEvent, initial, step)
    if (context === undefined || state.apiCallIds.size === 0) return finish(state, emptyUsage)
    const statePath = sessionStatePathOf(context, state.sessionId)
    if (Option.isNone(statePath)) return finish(state, emptyUsage)
    const fs = yield* FileSystem.FileSystem
    const usage = yield* fs.exists(statePath.value).pipe(
      Effect.flatMap((exists) =>
        exists ? foldJsonLines(statePath.value, SessionStateEvent, emptyUsage, usageStep(state.apiCallIds)) : Effect.succeed(emptyUsage)
      ),
      Effect.orElseSucceed(() => emptyUsage)
    )
    return finish(state, usage)
  })

// What copilot is doing: a tool starting, or an assistant message's text (empty when it only calls tools).
const CopilotActivityLine = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("tool.execution_start"),
    data: Schema.Struct({ toolName: Schema.String, arguments: Schema.optional(Schema.Unknown) })
  }),
  Schema.Struct({ type: Schema.Literal("assistant.message"), data: Schema.Struct({ content: Schema.String }) })
)

/** What a line of its output shows the live views (activity.ts). */
export const activity = activityReader(CopilotActivityLine, (event) =>
  event.type === "tool.execution_start" ? describeToolCall(event.data.toolName, event.data.arguments) : textLine(event.data.content)
)

export const copilotSpec: CliSpec = {
  activity,
  name: "copilot",
  binary: "copilot",
  binEnv: "OOMPA_COPILOT_BIN",
  npmPackage: "@github/copilot",
  // With a provider of one's own (BYOK); GitHub's models otherwise.
  baseUrlEnv: ["COPILOT_PROVIDER_BASE_URL"],
  choosesSessionId: true,
  buildInvocation,
  decodeLog
}
