/**
 * Test helper: a plain HTTP client for the dashboard's routes (node:http, so
 * tests can set any header, Host included) and a reader of server-sent events.
 */
import * as http from "node:http"

export interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** One request to 127.0.0.1:`port`, the whole body read. */
export const request = (
  port: number,
  path: string,
  options: { readonly headers?: Record<string, string>; readonly method?: string; readonly host?: string; readonly body?: string } = {}
): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const req = http.request(
      { host: options.host ?? "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers ?? {} },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (body += chunk))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      }
    )
    req.on("error", reject)
    req.end(options.body)
  })

export interface SseMessage {
  readonly id: string | undefined
  readonly event: string
  readonly data: string
}

/**
 * Reads server-sent events (each message's id, event name and data) until the server sends `end` (and closes), or
 * until `stopAfter` messages, when the client drops the connection (as a page
 * that goes away does).
 */
export const readEvents = (
  port: number,
  path: string,
  options: { readonly headers?: Record<string, string>; readonly stopAfter?: number } = {}
): Promise<{
  readonly status: number
  /** The lines of events.jsonl (`message` events). */
  readonly messages: ReadonlyArray<SseMessage>
  /** Any other named events (`activity`). */
  readonly others: ReadonlyArray<SseMessage>
  readonly ended: boolean
}> =>
  new Promise((resolve, reject) => {
    const messages: Array<SseMessage> = []
    const others: Array<SseMessage> = []
    const req = http.get({ host: "127.0.0.1", port, path, headers: options.headers ?? {} }, (res) => {
      let buffer = ""
      let ended = false
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        buffer += chunk
        for (let blank = buffer.indexOf("\n\n"); blank >= 0; blank = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, blank)
          buffer = buffer.slice(blank + 2)
          let id: string | undefined
          let event = "message"
          const data: Array<string> = []
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) id = line.slice(4)
            else if (line.startsWith("event: ")) event = line.slice(7)
            else if (line.startsWith("data: ")) data.push(line.slice(6))
          }
          if (data.length === 0) continue // the retry: line
          if (event === "end") ended = true
          else if (event === "message") messages.push({ id, event, data: data.join("\n") })
          else others.push({ id, event, data: data.join("\n") })
          if (options.stopAfter !== undefined && messages.length >= options.stopAfter) {
            req.destroy()
            return resolve({ status: res.statusCode ?? 0, messages, others, ended })
          }
        }
      })
      res.on("end", () => resolve({ status: res.statusCode ?? 0, messages, others, ended }))
      res.on("error", () => resolve({ status: res.statusCode ?? 0, messages, others, ended }))
    })
    req.on("error", reject)
  })
