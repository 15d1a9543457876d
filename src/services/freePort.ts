/**
 * TCP ports for `{{PORT}}` (docs/worktree-setup.md): one per worker, free on
 * 127.0.0.1 when the worker starts and distinct from every port this process
 * has handed out and not yet taken back.
 *
 * The OS picks the port (listen on port 0, read it, close): a port it hands out
 * is free at that moment, and it avoids the ports in use without oompa having
 * to guess a range. Closing the probe before the worker's programs bind the
 * port leaves a window in which another program could take it; ephemeral ports
 * are handed out in rotation, so that is rare, and the port set here is the
 * one thing that guarantees two workers never share one. The set is
 * process-wide on purpose: ports are a machine-wide resource, and two swarms
 * in one process (an embedder's) must not share them either.
 */
import * as net from "node:net"
import { Effect, Schema, type Scope } from "effect"

export class PortError extends Schema.TaggedError<PortError>()("PortError", { message: Schema.String }) {}

const reserved = new Set<number>()

/** Attempts before giving up when the OS keeps handing out ports already reserved here. */
const MAX_ATTEMPTS = 20

const probe = Effect.async<number, PortError>((resume) => {
  const server = net.createServer()
  server.unref()
  server.once("error", (error) => resume(Effect.fail(new PortError({ message: `no free port on 127.0.0.1: ${error.message}` }))))
  server.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(port > 0 ? Effect.succeed(port) : Effect.fail(new PortError({ message: "the OS gave no port" }))))
  })
})

/** A free port on 127.0.0.1, reserved until the scope closes. */
export const reservePort: Effect.Effect<number, PortError, Scope.Scope> = Effect.acquireRelease(
  Effect.gen(function* () {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const port = yield* probe
      if (!reserved.has(port)) {
        reserved.add(port)
        return port
      }
    }
    return yield* new PortError({ message: `the OS kept handing out ports already given to other workers (${MAX_ATTEMPTS} tries)` })
  }),
  (port) => Effect.sync(() => reserved.delete(port))
)
