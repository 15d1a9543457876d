import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Option, Queue, TestClock } from "effect"
import type { RunEvent } from "../../src/domain/RunEvent.js"
import { emptyUsage } from "../../src/domain/Usage.js"
import type { Harness, TurnResult } from "../../src/harness/Harness.js"
import { inProcessMock, makeTasks } from "../support/swarmProject.js"
import { awaitSleepUntil, drain, nextEvent, startSwarm } from "../support/clockedSwarm.js"

/**
 * The timing rules of SPEC §5 on the TestClock (`it.scoped` runs on it): the
 * worker's waits are Effect sleeps, so the clock only moves when the test
 * moves it. Each test finds the worker asleep until exactly the wait's end,
 * moves the clock to 1 ms before it (the worker must still be waiting), then
 * to the end (the worker must go on at once). Git and the files are real, so
 * the test waits for the worker to reach its sleep by watching the TestClock's
 * pending sleeps (live time, bounded) — a condition, not a guess.
 */

/** The worker is asleep until `wakeAt`: 1 ms before it nothing moves, at it the next cycle starts. */
const expectNextCycleAt = (events: Queue.Dequeue<RunEvent>, wakeAt: number, nextCycle: number) =>
  Effect.gen(function* () {
    yield* awaitSleepUntil(wakeAt)
    yield* TestClock.adjust(wakeAt - 1 - (yield* TestClock.currentTimeMillis))
    yield* Effect.yieldNow()
    expect(Chunk.toReadonlyArray(yield* TestClock.sleeps())).toContain(wakeAt)
    expect((yield* drain(events)).filter((e) => e.type === "cycle-started")).toEqual([])
    yield* TestClock.adjust(1)
    const started = yield* nextEvent(events, "cycle-started")
    expect(started.cycle).toBe(nextCycle)
    expect(yield* TestClock.currentTimeMillis).toBe(wakeAt)
  })

const failedTurn = (logPath: string): TurnResult => ({
  text: "COMPLETE_AND_READY_FOR_MERGE",
  sessionId: Option.none(),
  exitCode: 1,
  timedOut: false,
  usage: emptyUsage,
  costUsd: Option.none(),
  logPath,
  durationMs: 0
})

/** The mock agent, except that the first turn of the swarm exits 1. */
const firstTurnFails = (baseDir: string): Harness => {
  const mock = inProcessMock(baseDir)
  let turns = 0
  return {
    name: "mock",
    runTurn: (request) => (turns++ === 0 ? Effect.succeed(failedTurn(request.logPath)) : mock.runTurn(request))
  }
}

describe("timing rules on the TestClock", () => {
  it.scoped("wait_between: the next cycle starts when wait_between has passed, not a millisecond before", () =>
    Effect.gen(function* () {
      const { events, swarm } = yield* startSwarm({
        config: { workers: [{ model: "mock:diligent", max_cycle: 2, wait_between: 60 }], reviewer: "mock:diligent" },
        tasks: makeTasks(2)
      })
      const ended = yield* nextEvent(events, "cycle-ended", (e) => e.cycle === 1)
      expect(ended.data.outcome).toBe("merged")
      yield* expectNextCycleAt(events, (yield* TestClock.currentTimeMillis) + 60_000, 2)
      const exit = yield* Fiber.join(swarm)
      expect(exit._tag).toBe("Success")
    })
  )

  it.scoped("back-off: after a failed cycle the next starts 10 s (plus wait_between) later, not before", () =>
    Effect.gen(function* () {
      const { events, swarm } = yield* startSwarm(
        {
          config: { workers: [{ model: "mock:diligent", max_cycle: 2, wait_between: 5 }], reviewer: "mock:diligent" },
          tasks: makeTasks(1)
        },
        firstTurnFails
      )
      const ended = yield* nextEvent(events, "cycle-ended", (e) => e.cycle === 1)
      expect(ended.data.outcome).toBe("error")
      // The back-off of the first consecutive error (10 s) comes on top of wait_between (5 s).
      yield* expectNextCycleAt(events, (yield* TestClock.currentTimeMillis) + 15_000, 2)
      const exit = yield* Fiber.join(swarm)
      expect(exit._tag).toBe("Success")
    })
  )

  it.scoped("max_wait_for_tasks: an executor with nothing to claim stops when the wait is over, not before", () =>
    Effect.gen(function* () {
      const plannerMayFinish = yield* Deferred.make<void>()
      // w0 may plan and is busy in its first turn until the test lets it finish; w1 is an
      // executor with no task to claim, so it waits for one (the queue is not drained while w0 runs).
      const plannerHolds = (baseDir: string): Harness => {
        const mock = inProcessMock(baseDir)
        return {
          name: "mock",
          runTurn: (request) =>
            request.prompt.includes(":w0]")
              ? Deferred.await(plannerMayFinish).pipe(
                  Effect.as({ ...failedTurn(request.logPath), text: "Nothing to plan.\n__DONE__", exitCode: 0 })
                )
              : mock.runTurn(request)
        }
      }
      const { events, swarm } = yield* startSwarm(
        {
          config: {
            workers: [
              { model: "mock:diligent", max_cycle: 1 },
              { model: "mock:diligent", can_plan: false, max_wait_for_tasks: 30 }
            ],
            reviewer: "mock:diligent"
          },
          tasks: []
        },
        plannerHolds
      )
      const waiting = yield* nextEvent(events, "waiting-for-tasks", (e) => e.worker === "w1")
      const wakeAt = (yield* TestClock.currentTimeMillis) + 30_000
      expect(waiting.data.waitMs).toBe(30_000)
      yield* awaitSleepUntil(wakeAt)
      yield* TestClock.adjust(29_999)
      yield* Effect.yieldNow()
      expect(Chunk.toReadonlyArray(yield* TestClock.sleeps())).toContain(wakeAt)
      expect((yield* drain(events)).filter((e) => e.type === "worker-stopped")).toEqual([])
      yield* TestClock.adjust(1)
      const stopped = yield* nextEvent(events, "worker-stopped")
      expect({ worker: stopped.worker, reason: stopped.data.reason }).toEqual({ worker: "w1", reason: "no-tasks" })
      yield* Deferred.succeed(plannerMayFinish, undefined)
      yield* Fiber.join(swarm)
    })
  )
})
