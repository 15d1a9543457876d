import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, PubSub, Queue } from "effect"
import type { RunEvent } from "../../../src/domain/RunEvent.js"
import { loadConfig } from "../../../src/config/loadConfig.js"
import { runSwarm } from "../../../src/engine/swarm.js"
import { builtinHarnessNames } from "../../../src/harness/registry.js"
import { startDashboard } from "../../../src/ui/web/server.js"
import { git, makeProject } from "../../support/cliProject.js"
import { readEvents, request } from "../../support/dashboardClient.js"
import { engineTestLayer } from "../../support/swarmProject.js"

/**
 * The dashboard's server (issue 10) over real HTTP on 127.0.0.1, against the
 * run files of a real mock swarm: the token, the JSON routes, the resumable
 * event stream, the address it listens on.
 */

const quiet = () => Effect.void

/** A finished swarm: w0's first cycle is sent back once (NEEDS_CHANGES), then approved; 2 tasks merged. */
const finishedRun = async () => {
  const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 3, can_plan: false }], reviewer: "mock:scenario.json" }, 2, {
    reviews: { "w0-c1": ["NEEDS_CHANGES", "APPROVED"] }
  })
  await Effect.runPromise(
    Effect.gen(function* () {
      const config = yield* loadConfig({ cwd: dir, harnesses: builtinHarnessNames })
      yield* runSwarm(config, { print: quiet })
    }).pipe(Effect.provide(engineTestLayer({ baseDir: dir })))
  )
  const runsDir = path.join(dir, ".oompa", "runs")
  const id = fs.readdirSync(runsDir)[0]!
  return { dir, runsDir, id, runDir: path.join(runsDir, id) }
}

const serve = (run: { readonly dir: string; readonly runsDir: string }, port = 0) =>
  startDashboard({ root: run.dir, runsDir: run.runsDir, port })

const layer = (dir: string) => engineTestLayer({ baseDir: dir })

describe("the dashboard's server (real HTTP, a real mock swarm's run files)", () => {
  let run: Awaited<ReturnType<typeof finishedRun>>
  beforeAll(async () => {
    run = await finishedRun()
  }, 120_000)

  it.live("refuses every request without the token (401), takes it once in the URL, then from its HttpOnly cookie", () =>
    Effect.gen(function* () {
      const dashboard = yield* serve(run)
      expect(dashboard.url).toBe(`http://127.0.0.1:${dashboard.port}/?token=${dashboard.token}`)
      for (const route of ["/", "/app.js", "/swarmView.js", "/api/runs", `/api/runs/${run.id}`, `/api/runs/${run.id}/events`, `/api/runs/${run.id}/cycles/w0-c1`, `/api/runs/${run.id}/logs/w0-c1-t1.log`]) {
        const refused = yield* Effect.promise(() => request(dashboard.port, route))
        expect({ route, status: refused.status }).toEqual({ route, status: 401 })
        expect(refused.body).toContain("needs its access token")
        expect(refused.body).not.toContain(run.id)
        const wrong = yield* Effect.promise(() => request(dashboard.port, `${route}${route.includes("?") ? "&" : "?"}token=${dashboard.token.slice(0, -1)}x`))
        expect(wrong.status).toBe(401)
      }
      const opened = yield* Effect.promise(() => request(dashboard.port, `/api/runs?token=${dashboard.token}`))
      expect(opened.status).toBe(200)
      const cookie = String(opened.headers["set-cookie"])
      expect(cookie).toMatch(new RegExp(`^oompa-ui-${dashboard.port}=${dashboard.token}; HttpOnly; SameSite=Strict; Path=/`))
      const byCookie = yield* Effect.promise(() => request(dashboard.port, "/api/runs", { headers: { cookie: cookie.split(";")[0]! } }))
      expect(byCookie.status).toBe(200)
      expect(byCookie.headers["referrer-policy"]).toBe("no-referrer")
      // Another dashboard's cookie (another port) is not this one's.
      const otherPort = yield* Effect.promise(() => request(dashboard.port, "/api/runs", { headers: { cookie: `oompa-ui-1=${dashboard.token}` } }))
      expect(otherPort.status).toBe(401)
    }).pipe(Effect.scoped, Effect.provide(layer(run.dir)))
  )

  it.live("answers only under its own loopback name: another Host (DNS rebinding) is refused even with the token", () =>
    Effect.gen(function* () {
      const dashboard = yield* serve(run)
      const rebound = yield* Effect.promise(() =>
        request(dashboard.port, `/api/runs?token=${dashboard.token}`, { headers: { host: `attacker.example:${dashboard.port}` } })
      )
      expect(rebound.status).toBe(403)
      expect(rebound.body).not.toContain(run.id)
      const local = yield* Effect.promise(() => request(dashboard.port, `/api/runs?token=${dashboard.token}`, { headers: { host: `localhost:${dashboard.port}` } }))
      expect(local.status).toBe(200)
    }).pipe(Effect.scoped, Effect.provide(layer(run.dir)))
  )

  it.live("the JSON routes: every run, one run's cycles, queue board and merged commits, one cycle's turns, diffs, verdicts and landing", () =>
    Effect.gen(function* () {
      const dashboard = yield* serve(run)
      const get = (route: string) =>
        Effect.promise(() => request(dashboard.port, `${route}${route.includes("?") ? "&" : "?"}token=${dashboard.token}`))
      const json = (route: string) => Effect.map(get(route), (reply) => ({ status: reply.status, body: JSON.parse(reply.body) }))

      const runs = yield* json("/api/runs")
      expect(runs.status).toBe(200)
      expect(runs.body).toEqual([expect.objectContaining({ id: run.id, status: "completed", merged: 2, targetBranch: "main", workers: 1 })])

      const detail = (yield* json(`/api/runs/${run.id}`)).body
      const cycleFiles = fs.readdirSync(path.join(run.runDir, "cycles")).map((f) => JSON.parse(fs.readFileSync(path.join(run.runDir, "cycles", f), "utf8")))
      expect(detail.cycles).toEqual(cycleFiles)
      expect(detail.queue.complete.map((t: { id: string }) => t.id)).toEqual(["t1", "t2"])
      expect(detail.queue.pending).toEqual([])
      // Merged commits with the subject git has for them.
      expect(detail.merged).toHaveLength(2)
      for (const merged of detail.merged) expect(merged.subject).toBe(git(run.dir, "log", "-1", "--format=%s", merged.commit))
      expect(detail.reviews.map((r: { verdict: string }) => r.verdict)).toEqual(["NEEDS_CHANGES", "APPROVED", "APPROVED"])

      const cycle = (yield* json(`/api/runs/${run.id}/cycles/w0-c1`)).body
      expect(cycle.file.outcome).toBe("merged")
      expect(cycle.turns.map((t: { kind: string }) => t.kind)).toEqual(["start", "claimresults", "review-feedback"])
      for (const turn of cycle.turns) {
        // What turn.ts wrote beside each turn's log: the prompt sent and the final message.
        expect(turn.prompt).toMatch(new RegExp(`^\\[oompa:${run.id}:w0\\]`))
        expect(turn.prompt).toBe(fs.readFileSync(path.join(run.runDir, "logs", turn.log.replace(/\.log$/, ".prompt.txt")), "utf8"))
        expect(turn.finalMessage).toBe(fs.readFileSync(path.join(run.runDir, "logs", turn.log.replace(/\.log$/, ".final.txt")), "utf8"))
      }
      expect(cycle.turns[0].finalMessage).toContain("CLAIM(t1)")
      expect(cycle.turns[2].prompt).toContain(cycle.reviews[0].text.split("\n")[0])
      // Every verdict with its feedback, and the diff each round read (git's, recomputed from the run's events).
      expect(cycle.reviews.map((r: { round: number; verdict: string }) => [r.round, r.verdict])).toEqual([[1, "NEEDS_CHANGES"], [2, "APPROVED"]])
      expect(cycle.reviews[0].text).toContain("VERDICT: NEEDS_CHANGES")
      expect(cycle.reviews[0].prompt).toContain(cycle.diffs[0].text.trim())
      expect(cycle.diffs.map((d: { round: number; files: Array<string> }) => [d.round, d.files])).toEqual([[1, ["work/t1.md"]], [2, ["work/t1.md"]]])
      expect(cycle.diffs[1].text).toContain("+task 1")
      expect(cycle.landed.kind).toBe("merged")
      expect(cycle.landed.rev).toBe(cycle.file.mergedCommit)
      expect(cycle.landed.show).toContain(`commit ${cycle.file.mergedCommit}`)
      expect(cycle.logs).toContain("w0-c1-t1.log")

      const log = yield* get(`/api/runs/${run.id}/logs/w0-c1-t1.log`)
      expect(log.status).toBe(200)
      expect(log.body).toBe(fs.readFileSync(path.join(run.runDir, "logs", "w0-c1-t1.log"), "utf8"))

      expect((yield* get(`/api/runs/nope`)).status).toBe(404)
      expect((yield* get(`/api/runs/${run.id}/cycles/w9-c1`)).status).toBe(404)
      expect((yield* get(`/api/runs/${run.id}/logs/..%2Fstarted.json`)).status).toBe(404)
      expect((yield* get(`/api/runs/${run.id}/logs/w0-c1-t1.prompt.txt`)).status).toBe(404)
    }).pipe(Effect.scoped, Effect.provide(layer(run.dir)))
  )

  it.live("server-sent events: every line of events.jsonl once, its id the byte offset past it; Last-Event-ID resumes just after", () =>
    Effect.gen(function* () {
      const dashboard = yield* serve(run)
      const route = `/api/runs/${run.id}/events?token=${dashboard.token}`
      const text = fs.readFileSync(path.join(run.runDir, "events.jsonl"), "utf8")
      const lines = text.trimEnd().split("\n")
      const offsets = lines.map((_, i) => Buffer.byteLength(lines.slice(0, i + 1).join("\n") + "\n"))

      const all = yield* Effect.promise(() => readEvents(dashboard.port, route))
      expect(all.status).toBe(200)
      expect(all.ended).toBe(true)
      expect(all.messages.map((m) => m.data)).toEqual(lines)
      expect(all.messages.map((m) => Number(m.id))).toEqual(offsets)

      const middle = Math.floor(lines.length / 2)
      const resumed = yield* Effect.promise(() => readEvents(dashboard.port, route, { headers: { "last-event-id": String(offsets[middle - 1]) } }))
      expect(resumed.messages.map((m) => m.data)).toEqual(lines.slice(middle))

      const atEnd = yield* Effect.promise(() => readEvents(dashboard.port, route, { headers: { "last-event-id": String(offsets.at(-1)) } }))
      expect(atEnd).toMatchObject({ status: 200, messages: [], ended: true })
      // An offset inside a line would send half a line: refused.
      const inside = yield* Effect.promise(() => request(dashboard.port, route, { headers: { "last-event-id": String(offsets[0]! + 3) } }))
      expect(inside.status).toBe(400)
      const notNumber = yield* Effect.promise(() => request(dashboard.port, route, { headers: { "last-event-id": "x" } }))
      expect(notNumber.status).toBe(400)
    }).pipe(Effect.scoped, Effect.provide(layer(run.dir)))
  )

  it.live("listens on 127.0.0.1 only; a port in use is a clear error (exit 2)", () =>
    Effect.gen(function* () {
      const dashboard = yield* serve(run)
      // Every other address of this machine (and IPv6 loopback) is refused.
      const others = [
        "::1",
        ...Object.values(os.networkInterfaces())
          .flat()
          .filter((a) => a !== undefined && !a.internal && a.family === "IPv4")
          .map((a) => a!.address)
      ]
      for (const address of others) {
        const outcome = yield* Effect.promise(
          () =>
            new Promise<string>((resolve) => {
              const socket = net.connect({ host: address, port: dashboard.port })
              socket.once("connect", () => {
                socket.destroy()
                resolve("connected")
              })
              socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"))
            })
        )
        expect({ address, outcome }).not.toEqual({ address, outcome: "connected" })
      }
      const busy = yield* serve(run, dashboard.port).pipe(Effect.exit)
      expect(Exit.isFailure(busy)).toBe(true)
      if (Exit.isFailure(busy)) {
        const error = busy.cause._tag === "Fail" ? busy.cause.error : undefined
        expect(error?._tag).toBe("UsageError")
        expect(error?.exitCode).toBe(2)
        expect(error?.message).toContain(`--port ${dashboard.port}: that port of 127.0.0.1 is in use`)
      }
    }).pipe(Effect.scoped, Effect.provide(layer(run.dir)))
  )
})

describe("the dashboard's event stream on a running swarm", () => {
  it.live("a page that drops its connection and comes back with Last-Event-ID misses no line and sees none twice", () => {
    // Every turn takes a moment, so the run is still going when the page drops.
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", count: 2, max_cycle: 2, can_plan: false }], reviewer: "mock:scenario.json" }, 3, {
      turns: { "*": [{ auto: true, delayMs: 150 }, { auto: true, delayMs: 150 }, { auto: true, delayMs: 150 }] }
    })
    return Effect.gen(function* () {
      const config = yield* loadConfig({ cwd: dir, harnesses: builtinHarnessNames })
      const events = yield* PubSub.unbounded<RunEvent>()
      const started = yield* PubSub.subscribe(events)
      const swarm = yield* runSwarm(config, { print: quiet, swarmId: "0d5e7a11", events }).pipe(Effect.fork)
      const runsDir = path.join(dir, ".oompa", "runs")
      const dashboard = yield* startDashboard({ root: dir, runsDir, port: 0 })
      const route = `/api/runs/0d5e7a11/events?token=${dashboard.token}`
      // Published after it was written: the run folder and its first line are there.
      expect((yield* Queue.take(started)).type).toBe("swarm-started")
      const before = yield* Effect.promise(() => readEvents(dashboard.port, route, { stopAfter: 6 }))
      expect(before.ended).toBe(false)
      const after = yield* Effect.promise(() => readEvents(dashboard.port, route, { headers: { "last-event-id": before.messages.at(-1)!.id! } }))
      expect(after.ended).toBe(true)
      yield* Fiber.join(swarm)
      const lines = fs.readFileSync(path.join(runsDir, "0d5e7a11", "events.jsonl"), "utf8").trimEnd().split("\n")
      expect([...before.messages, ...after.messages].map((m) => m.data)).toEqual(lines)
      expect(after.messages.length).toBeGreaterThan(0)
      // Activity read from the workers' logs comes beside the lines, never as one (no id).
      for (const activity of after.others) {
        expect(activity.event).toBe("activity")
        expect(activity.id).toBeUndefined()
        expect(JSON.parse(activity.data)).toEqual(expect.objectContaining({ worker: expect.stringMatching(/^w[01]$/), text: expect.any(String) }))
      }
    }).pipe(Effect.scoped, Effect.provide(layer(dir)))
  })
})

describe("steering from the dashboard: POST /api/runs/<id>/control (docs/steering.md)", () => {
  it.live("needs the token (401) and the dashboard's own Origin and JSON (403, 415: CSRF); a finished run is 409; a running swarm answers", () => {
    // w0's turn hangs until the swarm is stopped: the run is live while the page steers it.
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 1, can_plan: false }] }, 1, { turns: { w0: [{ hang: true }] } })
    return Effect.gen(function* () {
      const config = yield* loadConfig({ cwd: dir, harnesses: builtinHarnessNames })
      const events = yield* PubSub.unbounded<RunEvent>()
      const seen = yield* PubSub.subscribe(events)
      const swarm = yield* runSwarm(config, { print: quiet, swarmId: "c0a7d011", events }).pipe(Effect.fork)
      const runsDir = path.join(dir, ".oompa", "runs")
      const dashboard = yield* startDashboard({ root: dir, runsDir, port: 0 })
      while ((yield* Queue.take(seen)).type !== "turn-started") {
        // until w0's turn runs
      }
      const route = "/api/runs/c0a7d011/control"
      const origin = `http://127.0.0.1:${dashboard.port}`
      const cookie = `oompa-ui-${dashboard.port}=${dashboard.token}`
      const post = (headers: Record<string, string>, body: unknown, at = route) =>
        Effect.promise(() => request(dashboard.port, at, { method: "POST", headers, body: JSON.stringify(body) }))
      const json = { "content-type": "application/json" }

      const noToken = yield* post({ ...json, origin }, { action: "pause" })
      expect(noToken.status).toBe(401)
      const crossSite = yield* post({ ...json, origin: "http://evil.example", cookie }, { action: "pause" })
      expect(crossSite.status).toBe(403)
      expect(JSON.parse(crossSite.body).error).toContain("must come from this dashboard's page")
      expect((yield* post({ ...json, cookie }, { action: "pause" })).status).toBe(403)
      expect((yield* post({ "content-type": "text/plain", origin, cookie }, { action: "pause" })).status).toBe(415)
      expect((yield* post({ ...json, origin, cookie }, { action: "explode" })).status).toBe(400)
      expect((yield* Effect.promise(() => request(dashboard.port, `${route}?token=${dashboard.token}`))).status).toBe(405)
      // Nothing reached the swarm so far.
      expect(fs.readdirSync(path.join(runsDir, "c0a7d011", "control", "done"))).toEqual([])

      const paused = yield* post({ ...json, origin, cookie }, { action: "pause" })
      expect(paused.status).toBe(200)
      expect(JSON.parse(paused.body)).toMatchObject({ ok: true, message: "paused: no new turn starts (running turns go on) until resume" })
      const refused = yield* post({ ...json, origin, cookie }, { action: "requeue", task: "t9" })
      expect(JSON.parse(refused.body)).toMatchObject({ ok: false, message: "cannot requeue: no task t9 in complete/ or invalid/" })
      const stop = yield* post({ ...json, origin, cookie }, { action: "stop" })
      expect(JSON.parse(stop.body)).toMatchObject({ ok: true })
      const exit = yield* Fiber.await(swarm)
      expect(Exit.isInterrupted(exit)).toBe(true)
      const steered = fs
        .readFileSync(path.join(runsDir, "c0a7d011", "events.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line))
        .filter((e) => e.type === "steered")
      expect(steered.map((e) => [e.data.action, e.data.by, e.data.ok])).toEqual([
        ["pause", "web", true],
        ["requeue", "web", false],
        ["stop", "web", true]
      ])
      // The run has stopped: a request now is refused with why.
      const late = yield* post({ ...json, origin, cookie }, { action: "resume" })
      expect(late.status).toBe(409)
      expect(JSON.parse(late.body).error).toBe("swarm c0a7d011 is not running: stopped: stopped-by-user")
    }).pipe(Effect.scoped, Effect.provide(layer(dir)))
  })
})
