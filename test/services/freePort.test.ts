/**
 * `{{PORT}}`'s ports (src/services/freePort.ts): free on 127.0.0.1 when handed
 * out, and never the same one twice while reserved, however many workers.
 */
import * as net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { reservePort } from "../../src/services/freePort.js"

const bindable = (port: number) =>
  Effect.async<boolean>((resume) => {
    const server = net.createServer()
    server.once("error", () => resume(Effect.succeed(false)))
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resume(Effect.succeed(true))))
  })

describe("reservePort", () => {
  it.scoped("64 reservations (the most workers a swarm has) are 64 distinct ports, each free on 127.0.0.1", () =>
    Effect.gen(function* () {
      const ports = yield* Effect.forEach(Array.from({ length: 64 }), () => reservePort, { concurrency: 8 })
      expect(new Set(ports).size).toBe(64)
      for (const port of ports) {
        expect(port).toBeGreaterThan(0)
        expect(yield* bindable(port)).toBe(true)
      }
    })
  )
})
