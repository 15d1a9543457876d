/**
 * Test helper: a loopback HTTP receiver for notify.webhook (node:http on
 * 127.0.0.1, port 0). It records every request and answers with `status`,
 * or never answers (`"hang"`); `closed` gives a URL nothing listens on.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

export interface Received {
  readonly method: string
  readonly path: string
  readonly contentType: string | undefined
  readonly body: unknown
}

export interface Receiver {
  readonly url: string
  readonly received: ReadonlyArray<Received>
  /** Requests that arrived whole (a hanging receiver records them too, then never answers). */
  readonly kinds: () => ReadonlyArray<string>
}

export const startReceiver = (answer: number | "hang" = 200) =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; receiver: Receiver }>((resume) => {
      const received: Array<Received> = []
      const server = http.createServer((req, res) => {
        let text = ""
        req.setEncoding("utf8")
        req.on("data", (chunk: string) => (text += chunk))
        req.on("end", () => {
          received.push({ method: req.method ?? "", path: req.url ?? "", contentType: req.headers["content-type"], body: JSON.parse(text) })
          if (answer === "hang") return
          res.writeHead(answer, { "content-type": "text/plain" })
          res.end(answer >= 200 && answer < 300 ? "ok" : "no")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(
          Effect.succeed({
            server,
            receiver: {
              url: `http://127.0.0.1:${port}/hook?token=secret`,
              received,
              kinds: () => received.map((r) => (r.body as { kind: string }).kind)
            }
          })
        )
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ receiver }) => receiver))

/** A loopback URL nothing listens on: a port that was free a moment ago. */
export const refusedUrl = Effect.async<string>((resume) => {
  const server = http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(`http://127.0.0.1:${port}/hook`)))
  })
})
