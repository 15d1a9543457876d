/**
 * A fake model server for tests, on 127.0.0.1 only. It speaks
 *   - Anthropic Messages        POST /v1/messages            (SSE or JSON), /v1/messages/count_tokens
 *   - OpenAI Responses          POST /v1/responses           (SSE or JSON)
 *   - OpenAI chat completions   POST /v1/chat/completions    (SSE or JSON)
 *   - Gemini                    POST /v1beta/models/<m>:streamGenerateContent | :generateContent | :countTokens
 * and answers model listings, driven by conversation scripts (see script.ts).
 * It keeps no conversation state: the step comes from the history in the request.
 * Every request is recorded in memory (and optionally appended to a JSONL file).
 *
 * Use it as a scoped resource: `yield* FakeModelServer.make({ scripts })` inside
 * `it.scoped`, or run `npx vite-node test/fake-model-server/main.ts` standalone.
 */
import { Chunk, Clock, Effect, FiberSet, Option, Ref, Schema, type Scope } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import {
  anthropicJson,
  anthropicStream,
  type Api,
  chatJson,
  chatStream,
  errorBody,
  failedStream,
  geminiJson,
  geminiStream,
  type Parsed,
  parseAnthropic,
  parseChat,
  parseGemini,
  parseResponses,
  type Reply,
  type ReplyContext,
  responsesJson,
  responsesStream,
  type Sse,
  sseFrame,
  shellCall
} from "./apis.js"
import { chooseStep, type Conversation, decodeScripts, pickScript, render, ruleKey, type Script } from "./script.js"

export { type Script, type Step } from "./script.js"

export interface RecordedRequest {
  readonly seq: number
  readonly method: string
  /** Path with query string. */
  readonly path: string
  readonly api: Api | "other"
  readonly headers: Readonly<Record<string, string>>
  /** Parsed JSON body, or the raw text when it is not JSON (undefined when empty). */
  readonly body: unknown
  /** What the server read from a model request. */
  readonly conversation?: Conversation
  readonly model?: string
  readonly stream?: boolean
  /** The script and step that answered, when one did. */
  readonly script?: string
  readonly step?: string
  /** What was sent back: text, the tool call, or the error status. */
  readonly reply?: { readonly text?: string; readonly tool?: string; readonly args?: unknown; readonly error?: number }
}

export interface FakeModelServer {
  /** `http://127.0.0.1:<port>` — the Anthropic / Gemini base URL. */
  readonly url: string
  readonly port: number
  /** OpenAI-style base URL (`<url>/v1`). */
  readonly openaiUrl: string
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly setScripts: (scripts: ReadonlyArray<Script>) => Effect.Effect<void>
  readonly clearRequests: Effect.Effect<void>
}

export interface Options {
  readonly scripts?: ReadonlyArray<Script>
  /** Append every recorded request as one JSON line to this file. */
  readonly logFile?: string
  /** Port to listen on; 0 (default) picks a free one. */
  readonly port?: number
  /** Reply when no script matches (default: a short text). */
  readonly defaultText?: string
}

export class FakeServerStartError extends Schema.TaggedError<FakeServerStartError>()("FakeServerStartError", {
  message: Schema.String
}) {}

const DEFAULT_TEXT = "OK (fake model server: no script matched this request)"

interface Incoming {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly raw: string
}

type Outgoing =
  | { readonly _tag: "Json"; readonly status: number; readonly body: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly _tag: "Sse"; readonly events: ReadonlyArray<Sse> }

const readBody = (req: http.IncomingMessage): Effect.Effect<string> =>
  Effect.async<string>((resume) => {
    const parts: Array<Buffer> = []
    req.on("data", (b: Buffer) => parts.push(b))
    req.on("end", () => resume(Effect.succeed(Buffer.concat(parts).toString("utf8"))))
    req.on("error", () => resume(Effect.succeed(Buffer.concat(parts).toString("utf8"))))
  })

const parseJson = (raw: string): unknown => {
  if (raw.length === 0) return undefined
  try {
    return JSON.parse(raw) as unknown
  } catch {
    return raw
  }
}

const isObj = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const MODELS = ["fake-model", "claude-sonnet-4-5", "gpt-5", "gemini-2.5-pro"]

/** Routes a request to an API; `undefined` for everything that is not a model call. */
const route = (
  method: string,
  pathname: string
): { api: Api; kind: "generate" | "count"; model?: string; stream?: boolean } | undefined => {
  if (method !== "POST") return undefined
  if (/^(\/v1)?\/messages\/count_tokens$/.test(pathname)) return { api: "anthropic", kind: "count" }
  if (/^(\/v1)?\/messages$/.test(pathname)) return { api: "anthropic", kind: "generate" }
  if (/^(\/v1)?\/responses$/.test(pathname)) return { api: "responses", kind: "generate" }
  if (/^(\/v1)?\/chat\/completions$/.test(pathname)) return { api: "chat", kind: "generate" }
  const g = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(streamGenerateContent|generateContent|countTokens)$/.exec(pathname)
  if (g !== null) {
    const model = decodeURIComponent(g[1] ?? "")
    if (g[2] === "countTokens") return { api: "gemini", kind: "count", model }
    return { api: "gemini", kind: "generate", model, stream: g[2] === "streamGenerateContent" }
  }
  return undefined
}

/** Answers to the non-model calls CLIs make at start-up. */
const other = (method: string, pathname: string): Outgoing => {
  if (method === "GET" && /^(\/v1)?\/models\/?$/.test(pathname)) {
    return {
      _tag: "Json",
      status: 200,
      body: {
        object: "list",
        data: MODELS.map((id) => ({ id, object: "model", type: "model", created: 0, owned_by: "fake", display_name: id })),
        has_more: false,
        first_id: MODELS[0],
        last_id: MODELS[MODELS.length - 1]
      }
    }
  }
  if (method === "GET" && /^\/v1(beta|alpha)?\/models\/?$/.test(pathname)) {
    return {
      _tag: "Json",
      status: 200,
      body: {
        models: MODELS.map((id) => ({
          name: `models/${id}`,
          displayName: id,
          supportedGenerationMethods: ["generateContent", "streamGenerateContent", "countTokens"]
        }))
      }
    }
  }
  return { _tag: "Json", status: 404, body: errorBody("other", 404, `fake model server: no route for ${method} ${pathname}`) }
}

const parseFor = (api: Api, body: Record<string, unknown>, model: string | undefined, stream: boolean | undefined): Parsed => {
  switch (api) {
    case "anthropic":
      return parseAnthropic(body)
    case "responses":
      return parseResponses(body)
    case "chat":
      return parseChat(body)
    case "gemini":
      return parseGemini(body, model ?? "", stream ?? false)
  }
}

const encode = (api: Api, stream: boolean, reply: Reply, ctx: ReplyContext): Outgoing => {
  switch (api) {
    case "anthropic":
      return stream ? { _tag: "Sse", events: anthropicStream(reply, ctx) } : { _tag: "Json", status: 200, body: anthropicJson(reply, ctx) }
    case "responses":
      return stream ? { _tag: "Sse", events: responsesStream(reply, ctx) } : { _tag: "Json", status: 200, body: responsesJson(reply, ctx) }
    case "chat":
      return stream ? { _tag: "Sse", events: chatStream(reply, ctx) } : { _tag: "Json", status: 200, body: chatJson(reply, ctx) }
    case "gemini":
      return stream ? { _tag: "Sse", events: geminiStream(reply, ctx) } : { _tag: "Json", status: 200, body: geminiJson(reply, ctx) }
  }
}

const tokens = (s: string): number => Math.max(1, Math.ceil(s.length / 4))

/** Starts the server; it stops (connections closed, in-flight replies interrupted) when the scope closes. */
export const make = (options: Options = {}): Effect.Effect<FakeModelServer, FakeServerStartError, Scope.Scope> =>
  Effect.gen(function* () {
    const scriptsRef = yield* Ref.make<ReadonlyArray<Script>>(options.scripts ?? [])
    const log = yield* Ref.make(Chunk.empty<RecordedRequest>())
    const seqRef = yield* Ref.make(0)
    /** Requests each `times` rule has answered (script.ts: ruleKey). */
    const answered = new Map<string, number>()
    const run = yield* FiberSet.makeRuntime<never>()
    const defaultText = options.defaultText ?? DEFAULT_TEXT

    const record = (r: RecordedRequest) =>
      Effect.gen(function* () {
        yield* Ref.update(log, Chunk.append(r))
        const file = options.logFile
        if (file !== undefined) yield* Effect.sync(() => fs.appendFileSync(file, JSON.stringify(r) + "\n"))
      })

    const answer = (seq: number, inc: Incoming) =>
      Effect.gen(function* () {
        const url = new URL(inc.path, "http://127.0.0.1")
        const body = parseJson(inc.raw)
        const base = { seq, method: inc.method, path: inc.path, headers: inc.headers, body }
        const r = route(inc.method, url.pathname)
        if (r === undefined) {
          yield* record({ ...base, api: "other" })
          return { out: other(inc.method, url.pathname), delayMs: 0 }
        }
        const parsed = parseFor(r.api, isObj(body) ? body : {}, r.model, r.stream)
        const withConv = { ...base, api: r.api, conversation: parsed.conv, model: parsed.model }
        if (r.kind === "count") {
          yield* record(withConv)
          const n = tokens(inc.raw)
          return {
            out: { _tag: "Json", status: 200, body: r.api === "gemini" ? { totalTokens: n } : { input_tokens: n } } as Outgoing,
            delayMs: 0
          }
        }
        const scripts = yield* Ref.get(scriptsRef)
        const chosen = pickScript(scripts, parsed.conv).pipe(
          Option.flatMap((s) => chooseStep(s, parsed.conv, (key) => answered.get(key) ?? 0))
        )
        if (Option.isSome(chosen)) {
          const key = ruleKey(chosen.value.script, chosen.value.source)
          answered.set(key, (answered.get(key) ?? 0) + 1)
        }
        const created = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const ctx = (text: string): ReplyContext => ({
          id: seq,
          model: parsed.model.length > 0 ? parsed.model : "fake-model",
          inputTokens: tokens(inc.raw),
          outputTokens: tokens(text) + 1,
          created
        })
        const recorded = { ...withConv, stream: parsed.stream }
        if (Option.isNone(chosen)) {
          yield* record({ ...recorded, reply: { text: defaultText } })
          return { out: encode(r.api, parsed.stream, { _tag: "Text", text: defaultText }, ctx(defaultText)), delayMs: 0 }
        }
        const { script, step, source } = chosen.value
        const tag = { script: script.name, step: source }
        const delayMs = step.delayMs ?? 0
        if (step.streamError !== undefined) {
          const events = failedStream(r.api, step.streamError.type, step.streamError.message, ctx(""))
          if (events !== undefined && !parsed.stream) {
            // A non-streamed request (claude's non-streaming retry of a failed stream) gets the HTTP error the type stands for.
            const status = /overloaded/.test(step.streamError.type) ? 529 : /rate_limit/.test(step.streamError.type) ? 429 : 500
            yield* record({ ...recorded, ...tag, reply: { error: status } })
            return { out: { _tag: "Json", status, body: errorBody(r.api, status, step.streamError.message) } as Outgoing, delayMs }
          }
          if (events !== undefined) {
            yield* record({ ...recorded, ...tag, reply: { text: `stream error ${step.streamError.type}` } })
            return { out: { _tag: "Sse", events } as Outgoing, delayMs }
          }
        }
        if (step.error !== undefined) {
          const message = step.message ?? `fake model server: scripted error ${step.error}`
          yield* record({ ...recorded, ...tag, reply: { error: step.error } })
          const body = step.body !== undefined ? step.body : errorBody(r.api, step.error, message)
          return { out: { _tag: "Json", status: step.error, body, headers: step.headers ?? {} } as Outgoing, delayMs }
        }
        const text = render(step.text ?? "", script, parsed.conv)
        if (step.shell !== undefined) {
          const command = render(step.shell, script, parsed.conv)
          const call = shellCall(parsed.toolSpecs, command, step.waitMs)
          if (call !== undefined) {
            yield* record({ ...recorded, ...tag, reply: { text, tool: call.name, args: call.args } })
            return { out: encode(r.api, parsed.stream, { _tag: "Tool", preface: text, call }, ctx(text + command)), delayMs }
          }
          const noTool = `fake model server: no shell tool among [${parsed.conv.tools.join(", ")}]`
          yield* record({ ...recorded, ...tag, reply: { text: noTool } })
          return { out: encode(r.api, parsed.stream, { _tag: "Text", text: noTool }, ctx(noTool)), delayMs }
        }
        if (step.call !== undefined) {
          const spec = parsed.toolSpecs.find((t) => t.name === step.call!.name && t.kind === "function")
          if (spec !== undefined) {
            const call = { name: spec.name, kind: spec.kind, args: { ...step.call.args } }
            yield* record({ ...recorded, ...tag, reply: { text, tool: call.name, args: call.args } })
            return { out: encode(r.api, parsed.stream, { _tag: "Tool", preface: text, call }, ctx(text + spec.name)), delayMs }
          }
          const noTool = `fake model server: no ${step.call.name} tool among [${parsed.conv.tools.join(", ")}]`
          yield* record({ ...recorded, ...tag, reply: { text: noTool } })
          return { out: encode(r.api, parsed.stream, { _tag: "Text", text: noTool }, ctx(noTool)), delayMs }
        }
        yield* record({ ...recorded, ...tag, reply: { text } })
        return { out: encode(r.api, parsed.stream, { _tag: "Text", text }, ctx(text)), delayMs }
      })

    const send = (res: http.ServerResponse, out: Outgoing) =>
      Effect.async<void>((resume) => {
        res.on("error", () => resume(Effect.void))
        if (out._tag === "Json") {
          const text = JSON.stringify(out.body)
          res.writeHead(out.status, { ...out.headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) })
          res.end(text, () => resume(Effect.void))
        } else {
          res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" })
          for (const e of out.events) res.write(sseFrame(e))
          res.end(() => resume(Effect.void))
        }
      })

    const handle = (req: http.IncomingMessage, res: http.ServerResponse) =>
      Effect.gen(function* () {
        const raw = yield* readBody(req)
        const seq = yield* Ref.getAndUpdate(seqRef, (n) => n + 1)
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(req.headers)) {
          if (v === undefined) continue
          // Keys are fake, but never keep credentials-looking headers in logs and fixtures.
          headers[k] = /authorization|api-key|x-goog-api-key/i.test(k) ? "<redacted>" : Array.isArray(v) ? v.join(", ") : v
        }
        const { out, delayMs } = yield* answer(seq, { method: req.method ?? "GET", path: req.url ?? "/", headers, raw })
        if (delayMs > 0) yield* Effect.sleep(delayMs)
        yield* send(res, out)
      }).pipe(
        Effect.onInterrupt(() => Effect.sync(() => res.destroy())),
        Effect.catchAllDefect((defect) =>
          Effect.sync(() => {
            if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" })
            res.end(JSON.stringify(errorBody("other", 500, `fake model server defect: ${String(defect)}`)))
          })
        )
      )

    const server = yield* Effect.acquireRelease(
      Effect.async<http.Server, FakeServerStartError>((resume) => {
        const s = http.createServer((req, res) => {
          run(handle(req, res))
        })
        s.once("error", (e) => resume(Effect.fail(new FakeServerStartError({ message: String(e) }))))
        s.listen(options.port ?? 0, "127.0.0.1", () => resume(Effect.succeed(s)))
      }),
      (s) =>
        Effect.async<void>((resume) => {
          s.closeAllConnections()
          s.close(() => resume(Effect.void))
        })
    )
    const port = (server.address() as AddressInfo).port
    const url = `http://127.0.0.1:${port}`
    return {
      url,
      port,
      openaiUrl: `${url}/v1`,
      requests: Ref.get(log).pipe(Effect.map(Chunk.toReadonlyArray)),
      setScripts: (scripts) => Ref.set(scriptsRef, scripts).pipe(Effect.andThen(Effect.sync(() => answered.clear()))),
      clearRequests: Ref.set(log, Chunk.empty())
    } satisfies FakeModelServer
  })

/** Decodes scripts from JSON (for the standalone launcher and fixture files). */
export const loadScripts = (json: unknown) => decodeScripts(json)

/** The model requests of one script, in order (start-up calls and side requests left out). */
export const requestsOf = (requests: ReadonlyArray<RecordedRequest>, script: string): ReadonlyArray<RecordedRequest> =>
  requests.filter((r) => r.script === script)
