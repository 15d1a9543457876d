import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, Deferred, Effect, Exit, Fiber, PubSub, Queue } from "effect"
import type { RunEvent } from "../../src/domain/RunEvent.js"
import { runSwarm } from "../../src/engine/swarm.js"
import type { Harness } from "../../src/harness/Harness.js"
import { awaitControlAnswer, steerRun } from "../../src/runs/control.js"
import { watchDirs } from "../../src/services/watchDirs.js"
import { makeGitRepo } from "../support/gitRepo.js"
import { engineTestLayer, inProcessMock, makeTasks, readTasks, setupProject } from "../support/swarmProject.js"

const quiet = () => Effect.void

/** The events seen so far, and a wait for the first one (from index `from`) that matches. */
const track = (received: Queue.Dequeue<RunEvent>) => {
  const seen: Array<RunEvent> = []
  const drain = Effect.map(Queue.takeAll(received), (all) => void seen.push(...Chunk.toReadonlyArray(all)))
  const until = (match: (event: RunEvent) => boolean, from = 0) =>
    Effect.gen(function* () {
      for (let i = from; ; i++) {
        while (i >= seen.length) seen.push(yield* Queue.take(received))
        if (match(seen[i]!)) return i
      }
    })
  return { seen, drain, until }
}

const isTurnStart = (worker: string, cycle: number) => (e: RunEvent) =>
  e.type === "turn-started" && e.worker === worker && e.cycle === cycle

/** A mock agent whose turns named in `gates` (by log name, "w0-c1-t1") wait for their Deferred first. */
const gatedMock = (baseDir: string, gates: Record<string, Deferred.Deferred<void>>): Harness => {
  const mock = inProcessMock(baseDir)
  return {
    name: "mock",
    runTurn: (request) => {
      const gate = gates[path.basename(request.logPath, ".log")]
      return gate === undefined ? mock.runTurn(request) : Deferred.await(gate).pipe(Effect.zipRight(mock.runTurn(request)))
    }
  }
}

const executors = (extra: Record<string, unknown>) => ({
  workers: [{ model: "mock:diligent", can_plan: false, max_wait_for_tasks: 0, ...extra }]
})

/** Waits (on a watch, no polling) until the names in `dir` pass `ready`. */
const awaitFiles = (dir: string, ready: (names: ReadonlyArray<string>) => boolean) =>
  Effect.scoped(
    Effect.gen(function* () {
      const wake = yield* watchDirs([dir])
      while (!ready(fs.readdirSync(dir))) yield* Queue.take(wake)
    })
  )

const folders = (repo: string) =>
  Object.fromEntries((["pending", "current", "complete", "invalid"] as const).map((s) => [s, Object.keys(readTasks(repo, s)).sort()]))

describe("steering a running swarm (docs/steering.md)", () => {
  it.live("pause: once answered, no turn starts until resume; running turns go on; then the swarm finishes", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, { config: executors({ max_cycle: 3 }), tasks: makeTasks(2) })
      const release = yield* Deferred.make<void>()
      const events = yield* PubSub.unbounded<RunEvent>()
      const log = track(yield* PubSub.subscribe(events))
      const swarm = "5e1e0001"
      const runDir = path.join(repo.path, ".oompa", "runs", swarm)
      const fiber = yield* runSwarm(config, { print: quiet, events, swarmId: swarm }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness: gatedMock(repo.path, { "w0-c1-t1": release }) })),
        Effect.fork
      )
      yield* log.until(isTurnStart("w0", 1))
      const paused = yield* steerRun(runDir, { action: "pause", by: "cli" })
      expect(paused).toMatchObject({ ok: true, message: "paused: no new turn starts (running turns go on) until resume" })
      // The running turn goes on; the next turn gets as far as its prompt (written just before it would start).
      yield* Deferred.succeed(release, undefined)
      const logs = path.join(runDir, "logs")
      yield* awaitFiles(logs, (names) => names.filter((n) => n.endsWith(".prompt.txt")).length >= 2)
      // A round trip through the swarm's control watcher: time enough for a turn to start if it could.
      expect(yield* steerRun(runDir, { action: "pause", by: "cli" })).toMatchObject({ ok: true, message: "already paused" })
      yield* log.drain
      expect(log.seen.filter((e) => e.type === "turn-started")).toHaveLength(1)
      expect(log.seen.some((e) => e.type === "turn-ended" && e.worker === "w0" && e.cycle === 1)).toBe(true)
      expect(yield* steerRun(runDir, { action: "resume", by: "terminal" })).toMatchObject({ ok: true, message: "resumed: turns start again" })
      const result = yield* Fiber.join(fiber)
      expect(Object.keys(readTasks(repo.path, "complete")).sort()).toEqual(["task-01", "task-02"])
      expect(result.workers[0]?.merged).toBe(2)
      // The record: the pause and resume are events, and the second cycle's turn started after the resume.
      const lines = fs.readFileSync(path.join(runDir, "events.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l))
      const steered = lines.flatMap((l, i) => (l.type === "steered" ? [{ i, ...l.data }] : []))
      expect(steered.map((s) => [s.action, s.by, s.ok])).toEqual([
        ["pause", "cli", true],
        ["pause", "cli", true],
        ["resume", "terminal", true]
      ])
      const turns = lines.flatMap((l, i) => (l.type === "turn-started" ? [i] : []))
      expect(turns.length).toBeGreaterThan(1)
      expect(turns[0]).toBeLessThan(steered[0]!.i)
      expect(turns[1]).toBeGreaterThan(steered[2]!.i)
      // Each request answered once and removed.
      expect(fs.readdirSync(path.join(runDir, "control")).filter((n) => n !== "done")).toEqual([])
      expect(fs.readdirSync(path.join(runDir, "control", "done"))).toHaveLength(3)
      expect(fs.statSync(path.join(runDir, "control")).mode & 0o777).toBe(0o700)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("stop-worker w1: w1 ends after its current cycle, w0 goes on and merges the rest; an unknown worker is refused", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, { config: executors({ count: 2, max_cycle: 5 }), tasks: makeTasks(4) })
      const release = yield* Deferred.make<void>()
      const events = yield* PubSub.unbounded<RunEvent>()
      const log = track(yield* PubSub.subscribe(events))
      const swarm = "5e1e0002"
      const runDir = path.join(repo.path, ".oompa", "runs", swarm)
      const fiber = yield* runSwarm(config, { print: quiet, events, swarmId: swarm }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness: gatedMock(repo.path, { "w1-c1-t1": release }) })),
        Effect.fork
      )
      yield* log.until(isTurnStart("w1", 1))
      const unknown = yield* steerRun(runDir, { action: "stop-worker", worker: "w9", by: "web" })
      expect(unknown).toMatchObject({ ok: false, message: 'no worker "w9" in this swarm (workers: w0, w1)' })
      const stop = yield* steerRun(runDir, { action: "stop-worker", worker: "w1", by: "cli" })
      expect(stop).toMatchObject({ ok: true, message: "worker w1 stops after its current cycle (it claims nothing more)" })
      yield* Deferred.succeed(release, undefined)
      const result = yield* Fiber.join(fiber)
      const w0 = result.workers.find((w) => w.id === "w0")!
      const w1 = result.workers.find((w) => w.id === "w1")!
      // w1 finished the cycle it was in, and started no other.
      expect(w1.cycles).toBe(1)
      expect(w1.stopReason).toBe("stopped-by-user")
      expect(w0.stopReason).toBe("no-tasks")
      expect(folders(repo.path)).toEqual({ pending: [], current: [], complete: ["task-01", "task-02", "task-03", "task-04"], invalid: [] })
      expect(w0.merged + w1.merged).toBe(4)
      expect(w0.merged).toBeGreaterThanOrEqual(3)
      yield* log.drain
      expect(log.seen.some((e) => e.type === "cycle-started" && e.worker === "w1" && e.cycle === 2)).toBe(false)
      expect(log.seen.find((e) => e.type === "worker-stopped" && e.worker === "w1")?.message).toMatch(/^stopped \(stopped-by-user\) after 1 cycle/)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("stop: the swarm stops as on a first Ctrl-C, stopped.json says stopped-by-user (exit 130), every task in one folder", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, { config: executors({ count: 2, max_cycle: 5 }), tasks: makeTasks(3) })
      const never = yield* Deferred.make<void>()
      const events = yield* PubSub.unbounded<RunEvent>()
      const log = track(yield* PubSub.subscribe(events))
      const swarm = "5e1e0003"
      const runDir = path.join(repo.path, ".oompa", "runs", swarm)
      // w1's first turn never ends by itself: the stop must end it; w0 works on meanwhile.
      const fiber = yield* runSwarm(config, { print: quiet, events, swarmId: swarm }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness: gatedMock(repo.path, { "w1-c1-t1": never }) })),
        Effect.fork
      )
      yield* log.until(isTurnStart("w1", 1))
      const answer = yield* steerRun(runDir, { action: "stop", by: "cli" })
      expect(answer.ok).toBe(true)
      expect(answer.message).toContain("stopping the swarm")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(true)
      const stopped = JSON.parse(fs.readFileSync(path.join(runDir, "stopped.json"), "utf8"))
      expect(stopped).toMatchObject({ reason: "stopped-by-user", exitCode: 130 })
      const where = folders(repo.path)
      expect(where.current).toEqual([])
      const all = [...where.pending!, ...where.complete!]
      expect(all.sort()).toEqual(["task-01", "task-02", "task-03"])
      expect(new Set(all).size).toBe(3)
      yield* log.drain
      expect(log.seen.at(-1)).toMatchObject({ type: "swarm-stopped", data: { reason: "stopped-by-user", exitCode: 130 } })
      expect(fs.readdirSync(path.join(repo.path, ".oompa", "worktrees"))).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("requeue: a complete task goes back to pending and runs again; a pending or unknown one is refused; a file that does not decode is answered ok:false", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, { config: executors({ max_cycle: 4 }), tasks: makeTasks(1) })
      yield* repo.write(
        "tasks/complete/old.json",
        JSON.stringify({ id: "old", summary: "Write the old note again", completed_by: "x:w0", completed_at: "2026-01-01T00:00:00Z" })
      )
      const release = yield* Deferred.make<void>()
      const events = yield* PubSub.unbounded<RunEvent>()
      const log = track(yield* PubSub.subscribe(events))
      const swarm = "5e1e0004"
      const runDir = path.join(repo.path, ".oompa", "runs", swarm)
      const fiber = yield* runSwarm(config, { print: quiet, events, swarmId: swarm }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path, harness: gatedMock(repo.path, { "w0-c1-t1": release }) })),
        Effect.fork
      )
      yield* log.until(isTurnStart("w0", 1))
      expect(yield* steerRun(runDir, { action: "requeue", task: "old", by: "web" })).toMatchObject({
        ok: true,
        message: "task old requeued: moved from complete/ to pending/"
      })
      expect(readTasks(repo.path, "pending")["old"]).toEqual({ id: "old", summary: "Write the old note again" })
      expect(yield* steerRun(runDir, { action: "requeue", task: "old", by: "web" })).toMatchObject({
        ok: false,
        message: "cannot requeue: task old is already pending"
      })
      expect(yield* steerRun(runDir, { action: "requeue", task: "nope", by: "cli" })).toMatchObject({
        ok: false,
        message: "cannot requeue: no task nope in complete/ or invalid/"
      })
      // A request file that does not decode (written by hand) is answered, not ignored in silence.
      fs.writeFileSync(path.join(runDir, "control", "by-hand.json"), '{"action":"explode"}')
      const bad = yield* awaitControlAnswer(runDir, "by-hand")
      expect(bad.ok).toBe(false)
      expect(bad.message).toMatch(/^control\/by-hand\.json is no steering request \(docs\/steering\.md\), ignored: /)
      expect(fs.existsSync(path.join(runDir, "control", "by-hand.json"))).toBe(false)
      yield* Deferred.succeed(release, undefined)
      const result = yield* Fiber.join(fiber)
      expect(Object.keys(readTasks(repo.path, "complete")).sort()).toEqual(["old", "task-01"])
      expect(result.workers[0]?.merged).toBe(2)
      yield* log.drain
      expect(log.seen.some((e) => e.type === "claim" && e.data.results.some((r) => r.id === "old" && r.result === "Claimed"))).toBe(true)
      expect(log.seen.some((e) => e.type === "warning" && e.message.startsWith("control/by-hand.json is no steering request"))).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})
