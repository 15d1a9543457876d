/** The stall rule's timing (ProcessRunner's awaitSilence), driven by TestClock: no real time passes. */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Option, TestClock } from "effect"
import { awaitSilence } from "../../src/services/ProcessRunner.js"

describe("awaitSilence (the stall_timeout rule)", () => {
  it.effect("silent for the stall timeout from the check that saw the last growth: returns then, not before", () =>
    Effect.gen(function* () {
      let size = 0
      const fiber = yield* Effect.fork(awaitSilence(() => size, Duration.seconds(60)))
      yield* TestClock.adjust(Duration.seconds(30))
      size = 100 // output at 30 s: seen at the 31 s check
      yield* TestClock.adjust(Duration.seconds(60)) // t = 90 s: 59 s of silence
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust(Duration.seconds(1)) // t = 91 s: 60 s since the check that saw it
      expect(yield* Fiber.join(fiber)).toBe(60_000)
    })
  )

  it.effect("an agent that writes every 50 s never reaches a 60 s stall timeout", () =>
    Effect.gen(function* () {
      let size = 0
      const fiber = yield* Effect.fork(awaitSilence(() => size, Duration.seconds(60)))
      for (let i = 0; i < 20; i++) {
        yield* TestClock.adjust(Duration.seconds(50))
        size += 1
      }
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      // Then it stops writing: stalled 60 s (at most one 1 s check interval more) after its last line.
      yield* TestClock.adjust(Duration.seconds(59))
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust(Duration.seconds(2))
      const silence = yield* Fiber.join(fiber)
      expect(silence).toBeGreaterThanOrEqual(60_000)
      expect(silence).toBeLessThanOrEqual(61_000)
    })
  )

  it.effect("from the start: an agent that never writes stalls after exactly the stall timeout", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(awaitSilence(() => 42, Duration.seconds(5)))
      yield* TestClock.adjust(Duration.millis(4999))
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* Fiber.join(fiber)).toBe(5000)
    })
  )
})
