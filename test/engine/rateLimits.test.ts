import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { Cause, Deferred, Effect, Exit, Fiber, Option, TestClock } from "effect"
import type { RunEventOf } from "../../src/domain/RunEvent.js"
import type { CycleFile } from "../../src/domain/RunFiles.js"
import type { TurnFailure } from "../../src/domain/TurnFailure.js"
import { emptyUsage } from "../../src/domain/Usage.js"
import type { Harness, TurnResult } from "../../src/harness/Harness.js"
import { inProcessMock, makeTasks, readTasks } from "../support/swarmProject.js"
import { awaitSleepUntil, drain, nextEvent, startSwarm } from "../support/clockedSwarm.js"

/**
 * What the swarm does with a provider's limit (issue 11), on the TestClock:
 * the limited turn runs again in the same cycle once the governor lets it,
 * no error is counted, the other workers of the provider wait too, and an
 * authentication failure stops that provider's workers at once.
 */

const failed = (logPath: string, failure: TurnFailure, text = ""): TurnResult => ({
  text,
  sessionId: Option.none(),
  exitCode: 1,
  timedOut: false,
  usage: emptyUsage,
  costUsd: Option.none(),
  logPath,
  durationMs: 0,
  error: `API Error: ${failure.class}`,
  failure
})

const cycleFile = (repoPath: string, name: string): CycleFile => {
  const runs = path.join(repoPath, ".oompa", "runs")
  const [run] = fs.readdirSync(runs).filter((d) => !d.startsWith("."))
  return JSON.parse(fs.readFileSync(path.join(runs, run!, "cycles", `${name}.json`), "utf8")) as CycleFile
}

describe("rate limits: the governor in a swarm (TestClock)", () => {
  it.scoped("a rate-limited turn runs again in the same cycle when the retry-after has passed; no error is counted", () =>
    Effect.gen(function* () {
      const limitedOnce = (baseDir: string): Harness => {
        const mock = inProcessMock(baseDir)
        let turns = 0
        return {
          name: "mock",
          runTurn: (request) =>
            turns++ === 0 ? Effect.succeed(failed(request.logPath, { class: "rate-limited", retryAfterMs: 60_000 })) : mock.runTurn(request)
        }
      }
      const { events, swarm, repo } = yield* startSwarm(
        { config: { workers: [{ model: "mock:diligent", max_cycle: 1 }], reviewer: "mock:diligent" }, tasks: makeTasks(1) },
        limitedOnce
      )
      const limited = yield* nextEvent(events, "rate-limited")
      expect({ worker: limited.worker, cycle: limited.cycle, provider: limited.data.provider, source: limited.data.source }).toEqual({
        worker: "w0",
        cycle: 1,
        provider: "mock",
        source: "retry-after"
      })
      const until = (yield* TestClock.currentTimeMillis) + limited.data.waitMs
      yield* awaitSleepUntil(until)
      yield* TestClock.adjust(limited.data.waitMs - 1)
      yield* Effect.yieldNow()
      expect((yield* drain(events)).filter((e) => e.type === "turn-started" || e.type === "cycle-ended")).toEqual([])
      yield* TestClock.adjust(1)
      const again = yield* nextEvent(events, "turn-started")
      expect({ cycle: again.cycle, turn: again.data.turn }).toEqual({ cycle: 1, turn: 2 })
      const ended = yield* nextEvent(events, "cycle-ended")
      expect(ended.data.outcome).toBe("merged")
      const stopped = yield* nextEvent(events, "worker-stopped")
      expect({ errors: stopped.data.errors, merged: stopped.data.merged }).toEqual({ errors: 0, merged: 1 })
      expect(Exit.isSuccess(yield* Fiber.join(swarm))).toBe(true)
      const cycle = cycleFile(repo.path, "w0-c1")
      expect(cycle.turns[0]!.failure).toEqual({ class: "rate-limited", retryAfterMs: 60_000 })
      expect(cycle.turns[1]!.limitWaitMs).toBe(limited.data.waitMs)
      expect(Object.keys(readTasks(repo.path, "complete"))).toHaveLength(1)
    })
  )

  it.scoped("the other workers of the provider start no new turn during the hold", () =>
    Effect.gen(function* () {
      const w1Busy = yield* Deferred.make<void>()
      const w1Started = yield* Deferred.make<void>()
      const harnessOf = (baseDir: string): Harness => {
        const mock = inProcessMock(baseDir)
        let w0Turns = 0
        let w1Turns = 0
        return {
          name: "mock",
          runTurn: (request) => {
            if (request.prompt.includes(":w0]")) {
              // Limited once w1's first turn is under way.
              return w0Turns++ === 0
                ? Deferred.await(w1Started).pipe(Effect.as(failed(request.logPath, { class: "overloaded" })))
                : mock.runTurn(request)
            }
            // w1's first turn is running when w0 is limited, and ends during the hold.
            return w1Turns++ === 0
              ? Deferred.succeed(w1Started, undefined).pipe(Effect.zipRight(Deferred.await(w1Busy)), Effect.zipRight(mock.runTurn(request)))
              : mock.runTurn(request)
          }
        }
      }
      const { events, swarm } = yield* startSwarm(
        {
          config: { workers: [{ model: "mock:diligent", max_cycle: 1, count: 2 }], reviewer: "mock:diligent" },
          tasks: makeTasks(2)
        },
        harnessOf
      )
      const limited = yield* nextEvent(events, "rate-limited")
      expect({ worker: limited.worker, class: limited.data.class, source: limited.data.source, strike: limited.data.strike }).toEqual({
        worker: "w0",
        class: "overloaded",
        source: "backoff",
        strike: 1
      })
      const until = (yield* TestClock.currentTimeMillis) + limited.data.waitMs
      yield* Deferred.succeed(w1Busy, undefined)
      yield* awaitSleepUntil(until)
      // w1's turn ended in the hold; its next one waits like w0's (the reviewer's too).
      yield* nextEvent(events, "turn-ended", (e) => e.worker === "w1")
      yield* awaitSleepUntil(until)
      yield* TestClock.adjust(limited.data.waitMs - 1)
      yield* Effect.yieldNow()
      expect((yield* drain(events)).filter((e) => e.type === "turn-started" || e.type === "review-started")).toEqual([])
      yield* TestClock.adjust(1)
      yield* nextEvent(events, "turn-started")
      // The first turn after the hold goes alone; the others follow after it (or its grace).
      for (let i = 0; i < 40; i++) yield* TestClock.adjust(5_000)
      const exit = yield* Fiber.join(swarm)
      expect(Exit.isSuccess(exit)).toBe(true)
    })
  )

  it.scoped("an authentication failure stops that provider's workers at once, with the reason; the swarm exits failed", () =>
    Effect.gen(function* () {
      // A turn of w1 already running ends only once w0 has stopped: then its next turn is refused, whatever the machine's speed.
      const w0Stopped = yield* Deferred.make<void>()
      const harnessOf = (): Harness => {
        return {
          name: "mock",
          runTurn: (request) => {
            if (request.prompt.includes(":w0]")) return Effect.succeed(failed(request.logPath, { class: "auth", evidence: "401 invalid x-api-key" }))
            const working: TurnResult = { ...failed(request.logPath, { class: "other" }, "still working"), exitCode: 0, error: undefined as never }
            const { error: _error, failure: _failure, ...ok } = working
            return Deferred.await(w0Stopped).pipe(Effect.as(ok))
          }
        }
      }
      const { events, swarm, repo } = yield* startSwarm(
        { config: { workers: [{ model: "mock:diligent", max_cycle: 5, count: 2 }], reviewer: "mock:diligent" }, tasks: makeTasks(2) },
        harnessOf
      )
      // Both stop, in either order: a w1 slow to reach its first turn is refused (and stops) before w0's cycle has ended.
      const stopped = new Map<string, RunEventOf<"worker-stopped">>()
      while (stopped.size < 2) {
        const event = yield* nextEvent(events, "worker-stopped")
        stopped.set(event.worker ?? "", event)
        if (event.worker === "w0") yield* Deferred.succeed(w0Stopped, undefined)
      }
      const w0 = stopped.get("w0")!
      expect(w0.data.reason).toBe("auth-failed")
      expect(w0.data.cycles).toBe(1)
      expect(w0.data.lastFailure).toMatch(/mock refused its credentials \(authentication failed\).*Fix the API key or login of mock/)
      const w1 = stopped.get("w1")!
      expect(w1.data.reason).toBe("auth-failed")
      expect(w1.data.lastFailure).toMatch(/not started: mock refused its credentials earlier in this run/)
      const exit = yield* Fiber.join(swarm)
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ _tag: "SwarmWorkerFailed", workers: ["w0", "w1"] })
      // No back-off, no second cycle: w1 stopped in its first cycle, at its first turn after w0's failure.
      expect(w1.data.cycles).toBe(1)
      expect(cycleFile(repo.path, "w1-c1").turns.at(-1)!.failure?.class).toBe("auth")
      expect(readTasks(repo.path, "current")).toEqual({})
    })
  )
})
