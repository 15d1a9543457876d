import type { ServerResponse } from "node:http"
import { Effect } from "effect"

/**
 * Writing responses of the dashboard's server. Every response says not to
 * cache it and to send no referrer (the page's URL carries the access token).
 */

export const baseHeaders: Readonly<Record<string, string>> = {
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
  "X-Content-Type-Options": "nosniff"
}

export const sendText = (res: ServerResponse, status: number, text: string, contentType = "text/plain; charset=utf-8") =>
  Effect.sync(() => {
    if (res.headersSent) return void res.end()
    res.writeHead(status, { ...baseHeaders, "Content-Type": contentType, "Content-Length": Buffer.byteLength(text) })
    res.end(text)
  })

export const sendJson = (res: ServerResponse, status: number, value: unknown) =>
  sendText(res, status, JSON.stringify(value), "application/json; charset=utf-8")

export const sendError = (res: ServerResponse, status: number, message: string) => sendJson(res, status, { error: message })

/** Writes a chunk, waiting while the client's buffer is full (a slow reader holds the writer, not memory). */
export const writeChunk = (res: ServerResponse, chunk: string | Uint8Array) =>
  Effect.async<void>((resume) => {
    if (res.destroyed || res.writableEnded) return resume(Effect.void)
    if (res.write(chunk)) return resume(Effect.void)
    const done = () => {
      res.off("drain", done)
      res.off("close", done)
      resume(Effect.void)
    }
    res.on("drain", done)
    res.on("close", done)
  })
