/**
 * The four wire formats the fake model server speaks: reading a request into a
 * `Conversation`, and writing a reply (text or a shell tool call) in each API's
 * streaming (SSE) and non-streaming shapes.
 */
import type { Conversation } from "./script.js"

export type Api = "anthropic" | "responses" | "chat" | "gemini"

type Json = Record<string, unknown>

const isObj = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)
const arr = (u: unknown): ReadonlyArray<unknown> => (Array.isArray(u) ? u : [])
const str = (u: unknown): string => (typeof u === "string" ? u : "")

/** A tool the CLI offered, with its JSON schema when it has one. */
export interface ToolSpec {
  readonly name: string
  readonly kind: "function" | "local_shell" | "custom"
  readonly schema: Json
}

export interface Parsed {
  readonly conv: Conversation
  readonly toolSpecs: ReadonlyArray<ToolSpec>
  readonly model: string
  readonly stream: boolean
}

/** Text of an Anthropic / OpenAI content field: a string or a list of text-ish parts. */
const contentText = (content: unknown): string => {
  if (typeof content === "string") return content
  return arr(content)
    .map((p) => (isObj(p) && typeof p.text === "string" ? p.text : ""))
    .filter((t) => t.length > 0)
    .join("\n")
}

const schemaOf = (u: unknown): Json => (isObj(u) ? u : {})

// ---------------------------------------------------------------- Anthropic

export const parseAnthropic = (body: Json): Parsed => {
  const userTexts: Array<string> = []
  const toolResults: Array<string> = []
  let assistantTurns = 0
  let lastIsToolResult = false
  for (const m of arr(body.messages)) {
    if (!isObj(m)) continue
    if (m.role === "assistant") {
      assistantTurns++
      continue
    }
    const parts = typeof m.content === "string" ? [{ type: "text", text: m.content }] : arr(m.content)
    const texts: Array<string> = []
    let sawToolResult = false
    for (const p of parts) {
      if (!isObj(p)) continue
      if (p.type === "tool_result") {
        sawToolResult = true
        toolResults.push(contentText(p.content))
      } else if (p.type === "text" && typeof p.text === "string") {
        texts.push(p.text)
      }
    }
    // Claude Code attaches <system-reminder> text beside tool results; a message
    // carrying a tool result is a tool-result message, not a new prompt.
    if (sawToolResult) lastIsToolResult = true
    else {
      lastIsToolResult = false
      userTexts.push(texts.join("\n"))
    }
  }
  const system = typeof body.system === "string" ? body.system : contentText(body.system)
  const toolSpecs: Array<ToolSpec> = arr(body.tools)
    .filter(isObj)
    .map((t) => ({ name: str(t.name), kind: "function" as const, schema: schemaOf(t.input_schema) }))
  return {
    conv: { system, userTexts, toolResults, assistantTurns, lastIsToolResult, tools: toolSpecs.map((t) => t.name) },
    toolSpecs,
    model: str(body.model),
    stream: body.stream === true
  }
}

// ---------------------------------------------------------------- OpenAI Responses

export const parseResponses = (body: Json): Parsed => {
  const userTexts: Array<string> = []
  const toolResults: Array<string> = []
  let assistantTurns = 0
  let lastIsToolResult = false
  // One model response may hold several output items (text + call); count a
  // run of consecutive assistant-side items as one turn.
  let inAssistantRun = false
  const input = typeof body.input === "string" ? [{ type: "message", role: "user", content: body.input }] : arr(body.input)
  for (const item of input) {
    if (!isObj(item)) continue
    const type = item.type ?? "message"
    const assistantSide =
      (type === "message" && item.role === "assistant") ||
      type === "function_call" ||
      type === "local_shell_call" ||
      type === "custom_tool_call" ||
      type === "reasoning"
    if (assistantSide) {
      if (!inAssistantRun) assistantTurns++
      inAssistantRun = true
      continue
    }
    inAssistantRun = false
    if (type === "function_call_output" || type === "local_shell_call_output" || type === "custom_tool_call_output") {
      lastIsToolResult = true
      toolResults.push(typeof item.output === "string" ? item.output : JSON.stringify(item.output))
    } else if (type === "message" && item.role === "user") {
      lastIsToolResult = false
      userTexts.push(contentText(item.content))
    }
  }
  const system = str(body.instructions)
  const toolSpecs: Array<ToolSpec> = arr(body.tools)
    .filter(isObj)
    .map((t) =>
      t.type === "local_shell"
        ? { name: "local_shell", kind: "local_shell" as const, schema: {} }
        : t.type === "custom"
          ? { name: str(t.name), kind: "custom" as const, schema: {} }
          : { name: str(t.name), kind: "function" as const, schema: schemaOf(t.parameters) }
    )
  return {
    conv: { system, userTexts, toolResults, assistantTurns, lastIsToolResult, tools: toolSpecs.map((t) => t.name) },
    toolSpecs,
    model: str(body.model),
    stream: body.stream === true
  }
}

// ---------------------------------------------------------------- OpenAI chat completions

export const parseChat = (body: Json): Parsed => {
  const userTexts: Array<string> = []
  const toolResults: Array<string> = []
  const systems: Array<string> = []
  let assistantTurns = 0
  let lastIsToolResult = false
  for (const m of arr(body.messages)) {
    if (!isObj(m)) continue
    if (m.role === "assistant") assistantTurns++
    else if (m.role === "tool") {
      lastIsToolResult = true
      toolResults.push(contentText(m.content))
    } else if (m.role === "user") {
      lastIsToolResult = false
      userTexts.push(contentText(m.content))
    } else if (m.role === "system" || m.role === "developer") systems.push(contentText(m.content))
  }
  const toolSpecs: Array<ToolSpec> = arr(body.tools)
    .filter(isObj)
    .map((t) => {
      const f = isObj(t.function) ? t.function : {}
      return { name: str(f.name), kind: "function" as const, schema: schemaOf(f.parameters) }
    })
  return {
    conv: {
      system: systems.join("\n"),
      userTexts,
      toolResults,
      assistantTurns,
      lastIsToolResult,
      tools: toolSpecs.map((t) => t.name)
    },
    toolSpecs,
    model: str(body.model),
    stream: body.stream === true
  }
}

// ---------------------------------------------------------------- Gemini

export const parseGemini = (body: Json, model: string, stream: boolean): Parsed => {
  const userTexts: Array<string> = []
  const toolResults: Array<string> = []
  let assistantTurns = 0
  let lastIsToolResult = false
  for (const c of arr(body.contents)) {
    if (!isObj(c)) continue
    if (c.role === "model") {
      assistantTurns++
      continue
    }
    const parts = arr(c.parts).filter(isObj)
    const responses = parts.filter((p) => isObj(p.functionResponse))
    if (responses.length > 0) {
      lastIsToolResult = true
      for (const p of responses) toolResults.push(JSON.stringify(p.functionResponse))
    } else {
      lastIsToolResult = false
      userTexts.push(
        parts
          .map((p) => str(p.text))
          .filter((t) => t.length > 0)
          .join("\n")
      )
    }
  }
  const sys = isObj(body.systemInstruction) ? body.systemInstruction : isObj(body.system_instruction) ? body.system_instruction : {}
  const system = arr(sys.parts)
    .map((p) => (isObj(p) ? str(p.text) : ""))
    .join("\n")
  const toolSpecs: Array<ToolSpec> = arr(body.tools)
    .filter(isObj)
    .flatMap((t) => arr(t.functionDeclarations ?? t.function_declarations))
    .filter(isObj)
    .map((d) => ({
      name: str(d.name),
      kind: "function" as const,
      schema: schemaOf(d.parametersJsonSchema ?? d.parameters)
    }))
  return {
    conv: { system, userTexts, toolResults, assistantTurns, lastIsToolResult, tools: toolSpecs.map((t) => t.name) },
    toolSpecs,
    model,
    stream
  }
}

// ---------------------------------------------------------------- shell tool

/** Names each CLI gives its shell tool, most specific first. */
export const SHELL_TOOL_NAMES = [
  "Bash", // claude
  "bash", // opencode
  "run_shell_command", // gemini
  "shell_command", // codex
  "exec_command", // codex (unified exec)
  "shell", // codex (classic)
  "local_shell", // codex (built-in local shell)
  "container.exec"
] as const

export interface ToolCall {
  readonly name: string
  readonly kind: ToolSpec["kind"]
  /** Function arguments (for local_shell: the `action`). */
  readonly args: Json
}

/** The call of the offered shell tool that runs `command`, shaped by the tool's schema. */
export const shellCall = (specs: ReadonlyArray<ToolSpec>, command: string, waitMs?: number): ToolCall | undefined => {
  const spec = SHELL_TOOL_NAMES.map((n) => specs.find((s) => s.name === n)).find((s) => s !== undefined)
  if (spec === undefined) return undefined
  if (spec.kind === "local_shell") {
    return { name: spec.name, kind: spec.kind, args: { type: "exec", command: ["bash", "-lc", command] } }
  }
  const props = isObj(spec.schema.properties) ? spec.schema.properties : {}
  const required = arr(spec.schema.required).map(str)
  const args: Json = {}
  if ("cmd" in props && !("command" in props)) args.cmd = command
  else {
    const commandProp = isObj(props.command) ? props.command : {}
    args.command = commandProp.type === "array" ? ["bash", "-lc", command] : command
  }
  if ("description" in props || required.includes("description")) args.description = "run a shell command"
  if (waitMs !== undefined) {
    const waitProp = ["yield_time_ms", "timeout_ms", "timeout"].find((name) => name in props)
    if (waitProp !== undefined) args[waitProp] = waitMs
  }
  return { name: spec.name, kind: spec.kind, args }
}

// ---------------------------------------------------------------- replies

export type Reply =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "Tool"; readonly preface: string; readonly call: ToolCall }

export interface ReplyContext {
  readonly id: number
  readonly model: string
  readonly inputTokens: number
  readonly outputTokens: number
  readonly created: number
}

export interface Sse {
  readonly event?: string
  readonly data: unknown
}

/** SSE frame text. `data` strings are sent raw (for `[DONE]`). */
export const sseFrame = (e: Sse): string =>
  (e.event !== undefined ? `event: ${e.event}\n` : "") +
  `data: ${typeof e.data === "string" ? e.data : JSON.stringify(e.data)}\n\n`

export const anthropicStream = (r: Reply, c: ReplyContext): ReadonlyArray<Sse> => {
  const msgId = `msg_fake_${c.id}`
  const out: Array<Sse> = [
    {
      event: "message_start",
      data: {
        type: "message_start",
        message: {
          id: msgId,
          type: "message",
          role: "assistant",
          model: c.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: c.inputTokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            output_tokens: 1
          }
        }
      }
    }
  ]
  let index = 0
  const text = r._tag === "Text" ? r.text : r.preface
  if (text.length > 0) {
    out.push(
      { event: "content_block_start", data: { type: "content_block_start", index, content_block: { type: "text", text: "" } } },
      { event: "ping", data: { type: "ping" } },
      ...chunks(text).map((t) => ({
        event: "content_block_delta",
        data: { type: "content_block_delta", index, delta: { type: "text_delta", text: t } }
      })),
      { event: "content_block_stop", data: { type: "content_block_stop", index } }
    )
    index++
  }
  if (r._tag === "Tool") {
    const json = JSON.stringify(r.call.args)
    out.push(
      {
        event: "content_block_start",
        data: {
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id: `toolu_fake_${c.id}`, name: r.call.name, input: {} }
        }
      },
      ...chunks(json).map((p) => ({
        event: "content_block_delta",
        data: { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: p } }
      })),
      { event: "content_block_stop", data: { type: "content_block_stop", index } }
    )
  }
  out.push(
    {
      event: "message_delta",
      data: {
        type: "message_delta",
        delta: { stop_reason: r._tag === "Tool" ? "tool_use" : "end_turn", stop_sequence: null },
        usage: { output_tokens: c.outputTokens }
      }
    },
    { event: "message_stop", data: { type: "message_stop" } }
  )
  return out
}

export const anthropicJson = (r: Reply, c: ReplyContext): Json => {
  const content: Array<Json> = []
  const text = r._tag === "Text" ? r.text : r.preface
  if (text.length > 0) content.push({ type: "text", text })
  if (r._tag === "Tool") content.push({ type: "tool_use", id: `toolu_fake_${c.id}`, name: r.call.name, input: r.call.args })
  return {
    id: `msg_fake_${c.id}`,
    type: "message",
    role: "assistant",
    model: c.model,
    content,
    stop_reason: r._tag === "Tool" ? "tool_use" : "end_turn",
    stop_sequence: null,
    usage: {
      input_tokens: c.inputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: c.outputTokens
    }
  }
}

const responsesOutputItems = (r: Reply, c: ReplyContext): Array<Json> => {
  const items: Array<Json> = []
  const text = r._tag === "Text" ? r.text : r.preface
  if (text.length > 0) {
    items.push({
      id: `msg_fake_${c.id}`,
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text, annotations: [] }]
    })
  }
  if (r._tag === "Tool") {
    if (r.call.kind === "local_shell") {
      items.push({
        id: `lsh_fake_${c.id}`,
        type: "local_shell_call",
        call_id: `call_fake_${c.id}`,
        status: "completed",
        action: r.call.args
      })
    } else {
      items.push({
        id: `fc_fake_${c.id}`,
        type: "function_call",
        status: "completed",
        call_id: `call_fake_${c.id}`,
        name: r.call.name,
        arguments: JSON.stringify(r.call.args)
      })
    }
  }
  return items
}

const responsesUsage = (c: ReplyContext): Json => ({
  input_tokens: c.inputTokens,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: c.outputTokens,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: c.inputTokens + c.outputTokens
})

export const responsesJson = (r: Reply, c: ReplyContext): Json => ({
  id: `resp_fake_${c.id}`,
  object: "response",
  created_at: c.created,
  status: "completed",
  model: c.model,
  output: responsesOutputItems(r, c),
  usage: responsesUsage(c)
})

export const responsesStream = (r: Reply, c: ReplyContext): ReadonlyArray<Sse> => {
  let seq = 0
  const ev = (type: string, data: Json): Sse => ({ event: type, data: { type, sequence_number: seq++, ...data } })
  const base = { id: `resp_fake_${c.id}`, object: "response", created_at: c.created, model: c.model }
  const out: Array<Sse> = [
    ev("response.created", { response: { ...base, status: "in_progress", output: [] } }),
    ev("response.in_progress", { response: { ...base, status: "in_progress", output: [] } })
  ]
  const items = responsesOutputItems(r, c)
  items.forEach((item, output_index) => {
    if (item.type === "message") {
      const text = r._tag === "Text" ? r.text : r.preface
      out.push(
        ev("response.output_item.added", { output_index, item: { ...item, status: "in_progress", content: [] } }),
        ev("response.content_part.added", {
          item_id: item.id,
          output_index,
          content_index: 0,
          part: { type: "output_text", text: "", annotations: [] }
        }),
        ...chunks(text).map((delta) =>
          ev("response.output_text.delta", { item_id: item.id, output_index, content_index: 0, delta })
        ),
        ev("response.output_text.done", { item_id: item.id, output_index, content_index: 0, text }),
        ev("response.content_part.done", {
          item_id: item.id,
          output_index,
          content_index: 0,
          part: { type: "output_text", text, annotations: [] }
        }),
        ev("response.output_item.done", { output_index, item })
      )
    } else if (item.type === "function_call") {
      const args = str(item.arguments)
      out.push(
        ev("response.output_item.added", { output_index, item: { ...item, status: "in_progress", arguments: "" } }),
        ...chunks(args).map((delta) => ev("response.function_call_arguments.delta", { item_id: item.id, output_index, delta })),
        ev("response.function_call_arguments.done", { item_id: item.id, output_index, arguments: args }),
        ev("response.output_item.done", { output_index, item })
      )
    } else {
      out.push(
        ev("response.output_item.added", { output_index, item: { ...item, status: "in_progress" } }),
        ev("response.output_item.done", { output_index, item })
      )
    }
  })
  out.push(
    ev("response.completed", {
      response: { ...base, status: "completed", output: items, usage: responsesUsage(c) }
    })
  )
  return out
}

export const chatJson = (r: Reply, c: ReplyContext): Json => ({
  id: `chatcmpl-fake-${c.id}`,
  object: "chat.completion",
  created: c.created,
  model: c.model,
  choices: [
    {
      index: 0,
      message:
        r._tag === "Text"
          ? { role: "assistant", content: r.text }
          : {
              role: "assistant",
              content: r.preface.length > 0 ? r.preface : null,
              tool_calls: [
                {
                  id: `call_fake_${c.id}`,
                  type: "function",
                  function: { name: r.call.name, arguments: JSON.stringify(r.call.args) }
                }
              ]
            },
      finish_reason: r._tag === "Text" ? "stop" : "tool_calls"
    }
  ],
  usage: { prompt_tokens: c.inputTokens, completion_tokens: c.outputTokens, total_tokens: c.inputTokens + c.outputTokens }
})

export const chatStream = (r: Reply, c: ReplyContext): ReadonlyArray<Sse> => {
  const chunk = (choices: Array<Json>, extra: Json = {}): Sse => ({
    data: { id: `chatcmpl-fake-${c.id}`, object: "chat.completion.chunk", created: c.created, model: c.model, choices, ...extra }
  })
  const out: Array<Sse> = [chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }])]
  const text = r._tag === "Text" ? r.text : r.preface
  for (const t of chunks(text)) out.push(chunk([{ index: 0, delta: { content: t }, finish_reason: null }]))
  if (r._tag === "Tool") {
    const args = JSON.stringify(r.call.args)
    out.push(
      chunk([
        {
          index: 0,
          delta: {
            tool_calls: [{ index: 0, id: `call_fake_${c.id}`, type: "function", function: { name: r.call.name, arguments: "" } }]
          },
          finish_reason: null
        }
      ]),
      ...chunks(args).map((a) =>
        chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: a } }] }, finish_reason: null }])
      )
    )
  }
  out.push(
    chunk([{ index: 0, delta: {}, finish_reason: r._tag === "Tool" ? "tool_calls" : "stop" }]),
    chunk([], {
      usage: { prompt_tokens: c.inputTokens, completion_tokens: c.outputTokens, total_tokens: c.inputTokens + c.outputTokens }
    }),
    { data: "[DONE]" }
  )
  return out
}

export const geminiJson = (r: Reply, c: ReplyContext): Json => {
  const parts: Array<Json> = []
  const text = r._tag === "Text" ? r.text : r.preface
  if (text.length > 0) parts.push({ text })
  if (r._tag === "Tool") parts.push({ functionCall: { name: r.call.name, args: r.call.args } })
  return {
    candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }],
    usageMetadata: {
      promptTokenCount: c.inputTokens,
      candidatesTokenCount: c.outputTokens,
      totalTokenCount: c.inputTokens + c.outputTokens
    },
    modelVersion: c.model,
    responseId: `resp_fake_${c.id}`
  }
}

export const geminiStream = (r: Reply, c: ReplyContext): ReadonlyArray<Sse> => {
  const usage = {
    promptTokenCount: c.inputTokens,
    candidatesTokenCount: c.outputTokens,
    totalTokenCount: c.inputTokens + c.outputTokens
  }
  const frame = (parts: Array<Json>, finish: boolean): Sse => ({
    data: {
      candidates: [{ content: { role: "model", parts }, index: 0, ...(finish ? { finishReason: "STOP" } : {}) }],
      usageMetadata: usage,
      modelVersion: c.model,
      responseId: `resp_fake_${c.id}`
    }
  })
  const text = r._tag === "Text" ? r.text : r.preface
  const textChunks = chunks(text)
  const out: Array<Sse> = textChunks.map((t, i) => frame([{ text: t }], r._tag === "Text" && i === textChunks.length - 1))
  if (r._tag === "Tool") out.push(frame([{ functionCall: { name: r.call.name, args: r.call.args } }], true))
  return out
}

/** The error `type` Anthropic's API gives each status. */
const anthropicErrorType = (status: number): string => {
  switch (status) {
    case 401:
      return "authentication_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 413:
      return "request_too_large"
    case 429:
      return "rate_limit_error"
    case 529:
      return "overloaded_error"
    default:
      return status >= 500 ? "api_error" : "invalid_request_error"
  }
}

/** The `status` Google's API gives each HTTP status. */
const googleStatus = (status: number): string => {
  switch (status) {
    case 401:
      return "UNAUTHENTICATED"
    case 403:
      return "PERMISSION_DENIED"
    case 404:
      return "NOT_FOUND"
    case 429:
      return "RESOURCE_EXHAUSTED"
    case 503:
      return "UNAVAILABLE"
    default:
      return status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT"
  }
}

/** OpenAI's error `type` / `code` per status. */
const openaiError = (status: number): { type: string; code: string | null } => {
  switch (status) {
    case 401:
      return { type: "invalid_request_error", code: "invalid_api_key" }
    case 403:
      return { type: "invalid_request_error", code: "unsupported_country_region_territory" }
    case 429:
      return { type: "rate_limit_exceeded", code: "rate_limit_exceeded" }
    default:
      return { type: status >= 500 ? "server_error" : "invalid_request_error", code: null }
  }
}

/** Error bodies in each API's own shape. */
export const errorBody = (api: Api | "other", status: number, message: string): Json => {
  switch (api) {
    case "anthropic":
      return { type: "error", error: { type: anthropicErrorType(status), message } }
    case "gemini":
      return { error: { code: status, message, status: googleStatus(status) } }
    default: {
      const { type, code } = openaiError(status)
      return { error: { message, type, code, param: null } }
    }
  }
}

/**
 * A stream that starts, then fails: Anthropic's `event: error` after
 * `message_start` (how an overload often arrives), the Responses API's
 * `response.failed` (how codex gets a rate limit with "try again in …").
 * undefined for an API that has no such event here.
 */
export const failedStream = (api: Api, type: string, message: string, c: ReplyContext): ReadonlyArray<Sse> | undefined => {
  switch (api) {
    case "anthropic": {
      const start = anthropicStream({ _tag: "Text", text: "" }, c)[0]!
      return [start, { event: "error", data: { type: "error", error: { type, message } } }]
    }
    case "responses": {
      const base = { id: `resp_fake_${c.id}`, object: "response", created_at: c.created, model: c.model }
      return [
        { event: "response.created", data: { type: "response.created", sequence_number: 0, response: { ...base, status: "in_progress", output: [] } } },
        {
          event: "response.failed",
          data: {
            type: "response.failed",
            sequence_number: 1,
            response: { ...base, status: "failed", output: [], error: { code: type, message } }
          }
        }
      ]
    }
    default:
      return undefined
  }
}

/** Split text into a few deltas so clients really assemble a stream. */
export const chunks = (text: string): ReadonlyArray<string> => {
  if (text.length === 0) return []
  const size = Math.max(1, Math.ceil(text.length / 3))
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}
