import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type { FileSystem, Path } from "@effect/platform"
import { Effect, Fiber, FiberSet } from "effect"
import { UsageError } from "../../domain/errors.js"
import type { Git } from "../../services/Git.js"
import { checkAccess, newToken, tokenCookie } from "./access.js"
import { sendText } from "./respond.js"
import { route } from "./routes.js"

/**
 * The local web dashboard's server (issue 10): node:http on 127.0.0.1 only,
 * every request refused without the access token, the page static and live
 * through server-sent events. A scoped resource: it listens while its scope
 * lasts (`oompa ui` until Ctrl-C, `oompa swarm --ui` the swarm) and then
 * closes every connection, the event streams too.
 */

/** Only this address: other machines must never reach a run. */
export const DASHBOARD_HOST = "127.0.0.1"

export interface DashboardOptions {
  /** The repository's root (git toplevel). */
  readonly root: string
  /** Its runs folder (`<root>/.oompa/runs`). */
  readonly runsDir: string
  /** 0: any free port. */
  readonly port: number
  /**
   * The run whose end ends this server (`oompa swarm --ui`): the end of its event stream tells
   * the page so (`closing`), and the page then asks nothing more of a server about to go.
   */
  readonly closesWith?: string
  /** The token to require (a fresh random one by default). */
  readonly token?: string
}

export interface Dashboard {
  readonly port: number
  readonly token: string
  /** What to open: `http://127.0.0.1:<port>/?token=<token>`. */
  readonly url: string
}

const listen = (server: http.Server, port: number) =>
  Effect.async<number, UsageError>((resume) => {
    const onError = (error: NodeJS.ErrnoException) =>
      resume(
        Effect.fail(
          new UsageError({
            message:
              error.code === "EADDRINUSE"
                ? `--port ${port}: that port of ${DASHBOARD_HOST} is in use; choose another, or leave --port out for a free one`
                : error.code === "EACCES"
                  ? `--port ${port}: not allowed to listen on it (ports below 1024 need privileges); choose another`
                  : `cannot listen on ${DASHBOARD_HOST}:${port}: ${error.message}`
          })
        )
      )
    server.once("error", onError)
    server.listen(port, DASHBOARD_HOST, () => {
      server.off("error", onError)
      resume(Effect.succeed((server.address() as AddressInfo).port))
    })
  })

const close = (server: http.Server) =>
  Effect.async<void>((resume) => {
    server.close(() => resume(Effect.void))
    // Event streams and log streams never end by themselves.
    server.closeAllConnections()
  })

export const startDashboard = (options: DashboardOptions) =>
  Effect.gen(function* () {
    const token = options.token ?? newToken()
    // Every request runs as a fiber of this set: the scope's end interrupts them all.
    const requests = yield* FiberSet.make()
    const run = yield* FiberSet.runtime(requests)<FileSystem.FileSystem | Path.Path | Git>()
    let port = 0
    const server = http.createServer((request, response) => {
      const url = new URL(request.url ?? "/", `http://${DASHBOARD_HOST}`)
      const access = checkAccess(request, url, port, token)
      const answer =
        access._tag === "Refused"
          ? sendText(response, access.status, `${access.status}: ${access.why}\n`)
          : Effect.suspend(() => {
              if (access._tag === "ByQuery") response.setHeader("Set-Cookie", tokenCookie(port, token))
              return route({ request, response, url, root: options.root, runsDir: options.runsDir, port, closesWith: options.closesWith })
            })
      const fiber = run(answer)
      // A page that goes away ends its streams.
      response.on("close", () => void Effect.runFork(Fiber.interrupt(fiber)))
    })
    port = yield* Effect.acquireRelease(listen(server, options.port), () => close(server))
    // Closing: the requests are interrupted first, while their connections are still open, so an
    // event stream of a run that has just stopped can send its last lines and its end.
    yield* Effect.addFinalizer(() => FiberSet.clear(requests))
    return { port, token, url: `http://${DASHBOARD_HOST}:${port}/?token=${token}` } satisfies Dashboard
  })
