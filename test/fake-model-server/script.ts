/**
 * Conversation scripts for the fake model server.
 *
 * A script is picked per request by its `match` regex, tried against the text
 * of the request's user messages (and the system prompt). Inside a script the
 * step is chosen from the number of assistant messages already in the request
 * history (`turn`), so the server keeps no state and a resumed session simply
 * continues the script.
 *
 * Steps:
 *   {"text": "…"}                 a final text reply
 *   {"shell": "cmd", "text"?}     one call of the shell tool the CLI offered (text, if any, is sent before it)
 *   {"error": 400, "message"?}    an HTTP error in the API's own error shape (429, 529/503, 401/403, 400 …)
 *   {"error": 429, "headers": {"retry-after": "20"}}   extra response headers (with `error`)
 *   {"error": 429, "body": {…}}   the error body exactly as given, instead of the API's shape
 *   {"streamError": {"type": "overloaded_error", "message": "…"}}   a 200 stream that fails after it
 *                                 started (Anthropic `event: error`, Responses `response.failed`; `type` is
 *                                 the error type / code)
 *   {"delayMs": 500, …}           wait before answering (combines with any of the above)
 *   {"shell": …, "waitMs": 30000} ask the shell tool to wait that long for the command, where it takes such an argument
 *   {"call": {"name": "task", "args": {…}}}   one call of the named tool with these arguments, if the CLI
 *                                 offered it (else a text naming the tools it did offer)
 *
 * Rules (`rules`) are tried before `steps`: the first rule whose conditions all
 * hold gives the step. `steps[turn]` comes next, then `fallback`. A rule with
 * `times: n` answers only the first n requests it matches (the one piece of
 * state the server keeps: e.g. a 429 for the first request, the real reply
 * for the CLI's retry).
 *
 * Templating: `{{NAME}}` in text/shell is replaced by the first capture group of
 * `captures.NAME` (a regex), searched in the user messages newest first; also
 * `{{TURN}}` (the assistant-turn count) and `{{SCRIPT}}` (the script name).
 * Unresolved names are left as they are.
 */
import { Option, Schema } from "effect"

export const Step = Schema.Struct({
  text: Schema.optional(Schema.String),
  shell: Schema.optional(Schema.String),
  error: Schema.optional(Schema.Int),
  message: Schema.optional(Schema.String),
  /** With `error`: extra response headers, e.g. `{"retry-after": "20"}`. */
  headers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  /** A streamed reply that fails after it started (Anthropic and Responses APIs): the error's type/code and message. */
  streamError: Schema.optional(Schema.Struct({ type: Schema.String, message: Schema.String })),
  /** With `error`: the response body as given (JSON), instead of the API's own error shape. */
  body: Schema.optional(Schema.Unknown),
  delayMs: Schema.optional(Schema.NonNegativeInt),
  /**
   * With `shell`: how long the CLI's shell tool should wait for the command
   * before it returns, where the tool's schema takes such an argument
   * (`yield_time_ms` of codex's exec_command, `timeout_ms`, `timeout` in ms).
   */
  waitMs: Schema.optional(Schema.NonNegativeInt),
  /** A call of any tool the CLI offered, by name, with the arguments as given (text templating not applied). */
  call: Schema.optional(Schema.Struct({ name: Schema.String, args: Schema.Record({ key: Schema.String, value: Schema.Unknown }) }))
})
export type Step = typeof Step.Type

export const Rule = Schema.Struct({
  /** Assistant messages already in the history. */
  turn: Schema.optional(Schema.NonNegativeInt),
  /** Regex tested against the newest user message's text (tool results excluded). */
  lastUser: Schema.optional(Schema.String),
  /** Regex tested against all user text of the request. */
  anyUser: Schema.optional(Schema.String),
  /** Only when the newest user item is a tool result (true) or a prompt (false). */
  afterToolResult: Schema.optional(Schema.Boolean),
  /** Answer at most this many matching requests (counted by the server), then let the next rule have them. */
  times: Schema.optional(Schema.Int.pipe(Schema.positive())),
  step: Step
})
export type Rule = typeof Rule.Type

export const Script = Schema.Struct({
  name: Schema.String,
  /** Regex tried against the request's user text and system prompt. */
  match: Schema.String,
  steps: Schema.optional(Schema.Array(Step)),
  rules: Schema.optional(Schema.Array(Rule)),
  fallback: Schema.optional(Step),
  /**
   * Also answer requests that offer no tools. Off by default: those are the
   * CLIs' side requests (opencode's title generation, …), which carry the
   * prompt too and would otherwise consume a scripted step's reply.
   */
  toolless: Schema.optional(Schema.Boolean),
  captures: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})
export type Script = typeof Script.Type

export const Scripts = Schema.Array(Script)
export const decodeScripts = Schema.decodeUnknown(Scripts)

/** What the server reads out of a request, whatever the API. */
export interface Conversation {
  readonly system: string
  /** User-side prompt texts, oldest first (tool results are not included). */
  readonly userTexts: ReadonlyArray<string>
  /** Tool results sent back to the model, oldest first. */
  readonly toolResults: ReadonlyArray<string>
  /** Assistant messages (model responses) already in the history. */
  readonly assistantTurns: number
  /** The newest item in the history is a tool result (not a user prompt). */
  readonly lastIsToolResult: boolean
  /** Names of the tools offered. */
  readonly tools: ReadonlyArray<string>
}

export interface Chosen {
  readonly script: Script
  readonly step: Step
  readonly source: string
}

const re = (source: string): RegExp => new RegExp(source, "m")

export const pickScript = (scripts: ReadonlyArray<Script>, conv: Conversation): Option.Option<Script> => {
  const eligible = conv.tools.length > 0 ? scripts : scripts.filter((s) => s.toolless === true)
  const haystack = [conv.system, ...conv.userTexts].join("\n")
  const byMarker = /SCRIPT:([A-Za-z0-9._-]+)/.exec(conv.userTexts.join("\n"))
  if (byMarker !== null) {
    const named = eligible.find((s) => s.name === byMarker[1])
    if (named !== undefined) return Option.some(named)
  }
  return Option.fromNullable(eligible.find((s) => re(s.match).test(haystack)))
}

/** The key under which the server counts a rule's answers (for `times`). */
export const ruleKey = (script: Script, source: string): string => `${script.name}#${source}`

/**
 * The step for this request. `answered` tells how many requests a rule (by
 * `ruleKey`) has already answered; the caller counts the chosen one.
 */
export const chooseStep = (
  script: Script,
  conv: Conversation,
  answered: (key: string) => number = () => 0
): Option.Option<Chosen> => {
  const lastUser = conv.userTexts[conv.userTexts.length - 1] ?? ""
  const allUser = conv.userTexts.join("\n")
  for (const [i, rule] of (script.rules ?? []).entries()) {
    if (rule.turn !== undefined && rule.turn !== conv.assistantTurns) continue
    if (rule.lastUser !== undefined && !re(rule.lastUser).test(lastUser)) continue
    if (rule.anyUser !== undefined && !re(rule.anyUser).test(allUser)) continue
    if (rule.afterToolResult !== undefined && rule.afterToolResult !== conv.lastIsToolResult) continue
    if (rule.times !== undefined && answered(ruleKey(script, `rules[${i}]`)) >= rule.times) continue
    return Option.some({ script, step: rule.step, source: `rules[${i}]` })
  }
  const step = script.steps?.[conv.assistantTurns]
  if (step !== undefined) return Option.some({ script, step, source: `steps[${conv.assistantTurns}]` })
  if (script.fallback !== undefined) return Option.some({ script, step: script.fallback, source: "fallback" })
  return Option.none()
}

/** Replace `{{NAME}}` tokens; plain string splicing (no regex replacement patterns). */
export const render = (template: string, script: Script, conv: Conversation): string => {
  const values = new Map<string, string>([
    ["TURN", String(conv.assistantTurns)],
    ["SCRIPT", script.name]
  ])
  const newestFirst = [...conv.userTexts].reverse()
  for (const [name, source] of Object.entries(script.captures ?? {})) {
    for (const text of newestFirst) {
      const m = re(source).exec(text)
      if (m !== null) {
        values.set(name, m[1] ?? m[0])
        break
      }
    }
  }
  return template.replace(/\{\{([A-Za-z0-9_]+)\}\}/g, (whole, name: string) => values.get(name) ?? whole)
}
