import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Duration, Effect, Exit, Fiber, Option, Scope, TestClock } from "effect"
import { LIMIT_BACKOFF_BASE, limitBackoff, makeGovernor, PROBE_GRACE, type Governor, type Provider } from "../../src/engine/governor.js"
import { providerOf } from "../../src/engine/provider.js"

/**
 * The governor's timing rules on the TestClock (`it.scoped` runs on it): a
 * fiber that asks to start a turn is admitted exactly when the hold ends, not
 * a millisecond before; after a hold one turn goes first and the rest follow.
 */

const claude: Provider = { harness: "claude", label: "claude" }
const codex: Provider = { harness: "codex", label: "codex" }

/** A fiber asking to start a turn; its admission (or refusal) is its result, the permit held until `done`. */
const asking = (governor: Governor, provider: Provider, done?: Deferred.Deferred<void>) =>
  Effect.fork(
    Effect.scoped(
      Effect.gen(function* () {
        const admission = yield* governor.admit(provider)
        if (done !== undefined) yield* Deferred.await(done)
        return admission
      })
    )
  )

/** Lets every fiber run as far as it can without the clock moving. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

const admitted = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  settle.pipe(Effect.zipRight(Fiber.poll(fiber)), Effect.map((exit) => Option.isSome(exit)))

const now = TestClock.currentTimeMillis

describe("governor: rate limits per provider", () => {
  it.scoped("a retry-after holds the provider's new turns until it has passed (plus jitter), not a millisecond less", () =>
    Effect.gen(function* () {
      const governor = yield* makeGovernor({ maxConcurrent: {} })
      const limit = yield* governor.limited(claude, { class: "rate-limited", retryAfterMs: 30_000 }, yield* now)
      expect(limit.source).toBe("retry-after")
      expect(limit.class).toBe("rate-limited")
      expect(limit.waitMs).toBeGreaterThanOrEqual(30_000)
      expect(limit.waitMs).toBeLessThanOrEqual(36_000)
      expect(Date.parse(limit.until)).toBe((yield* now) + limit.waitMs)
      const next = yield* asking(governor, claude)
      expect(yield* admitted(next)).toBe(false)
      expect(Chunk.toReadonlyArray(yield* TestClock.sleeps())).toContain((yield* now) + limit.waitMs)
      yield* TestClock.adjust(limit.waitMs - 1)
      expect(yield* admitted(next)).toBe(false)
      yield* TestClock.adjust(1)
      expect(yield* admitted(next)).toBe(true)
      const admission = yield* Fiber.join(next)
      expect(admission).toEqual({ _tag: "Admitted", waitedMs: limit.waitMs })
    })
  )

  it.scoped("a reset time is waited for until it comes; another provider is not held at all", () =>
    Effect.gen(function* () {
      const governor = yield* makeGovernor({ maxConcurrent: {} })
      const resetsAt = new Date((yield* now) + 3_600_000).toISOString()
      const limit = yield* governor.limited(claude, { class: "rate-limited", resetsAt }, yield* now)
      expect(limit.source).toBe("reset-time")
      expect(limit.waitMs).toBeGreaterThanOrEqual(3_600_000)
      const other = yield* asking(governor, codex)
      expect(yield* admitted(other)).toBe(true)
      expect(yield* Fiber.join(other)).toEqual({ _tag: "Admitted", waitedMs: 0 })
      const same = yield* asking(governor, claude)
      yield* TestClock.adjust(3_599_999)
      expect(yield* admitted(same)).toBe(false)
    })
  )

  it.scoped("no reset time: exponential back-off per strike (30 s, 60 s, …), the strike count in the event", () =>
    Effect.gen(function* () {
      expect(Duration.toMillis(limitBackoff(1))).toBe(Duration.toMillis(LIMIT_BACKOFF_BASE))
      expect(Duration.toMillis(limitBackoff(2))).toBe(60_000)
      expect(Duration.toMinutes(limitBackoff(10))).toBe(15)
      const governor = yield* makeGovernor({ maxConcurrent: {} })
      const first = yield* governor.limited(claude, { class: "overloaded" }, yield* now)
      expect({ source: first.source, strike: first.strike, class: first.class }).toEqual({ source: "backoff", strike: 1, class: "overloaded" })
      expect(first.waitMs).toBeGreaterThanOrEqual(30_000)
      expect(first.waitMs).toBeLessThanOrEqual(36_000)
      // The probe after the hold is limited again: the next wait doubles.
      yield* TestClock.adjust(first.waitMs)
      const probe = yield* asking(governor, claude)
      expect(yield* admitted(probe)).toBe(true)
      const second = yield* governor.limited(claude, { class: "overloaded" }, yield* now)
      expect(second.strike).toBe(2)
      expect(second.waitMs).toBeGreaterThanOrEqual(60_000)
      expect(second.waitMs).toBeLessThanOrEqual(72_000)
      // A turn ending without a limit resets the strikes.
      yield* TestClock.adjust(second.waitMs)
      const again = yield* asking(governor, claude)
      expect(yield* admitted(again)).toBe(true)
      yield* governor.cleared(claude)
      const third = yield* governor.limited(claude, { class: "overloaded" }, yield* now)
      expect(third.strike).toBe(1)
    })
  )

  it.scoped("turns already running when the limit hit add no strike: five limited at once are one strike", () =>
    Effect.gen(function* () {
      const governor = yield* makeGovernor({ maxConcurrent: {} })
      const started = yield* now
      yield* TestClock.adjust(1000)
      const strikes: Array<number> = []
      for (let i = 0; i < 5; i++) strikes.push((yield* governor.limited(claude, { class: "rate-limited" }, started)).strike)
      expect(strikes).toEqual([1, 1, 1, 1, 1])
    })
  )

  it.scoped("after a hold one turn goes first; the others start when it ended without a limit", () =>
    Effect.gen(function* () {
      const governor = yield* makeGovernor({ maxConcurrent: {} })
      const limit = yield* governor.limited(claude, { class: "rate-limited", retryAfterMs: 10_000 }, yield* now)
      const fibers = [yield* asking(governor, claude), yield* asking(governor, claude), yield* asking(governor, claude)]
      yield* TestClock.adjust(limit.waitMs)
      const states = []
      for (const fiber of fibers) states.push(yield* admitted(fiber))
      expect(states.filter(Boolean)).toHaveLength(1)
      // The probe's turn ended well: the rest go at once.
      yield* governor.cleared(claude)
      for (const fiber of fibers) expect(yield* admitted(fiber)).toBe(true)
    })
  )

  it.scoped("the others also go once the first turn has run PROBE_GRACE unlimited, not before", () =>
    Effect.gen(function* () {
      const governor = yield* makeGovernor({ maxConcurrent: {} })
      const limit = yield* governor.limited(claude, { class: "rate-limited", retryAfterMs: 10_000 }, yield* now)
      const probe = yield* asking(governor, claude)
      const second = yield* asking(governor, claude)
      yield* TestClock.adjust(limit.waitMs)
      const first = (yield* admitted(probe)) ? second : probe
      expect(yield* admitted(first)).toBe(false)
      yield* TestClock.adjust(Duration.toMillis(PROBE_GRACE) - 1)
      expect(yield* admitted(first)).toBe(false)
      yield* TestClock.adjust(1)
      expect(yield* admitted(first)).toBe(true)
    })
  )

  it.scoped("a limited probe holds the provider again: the waiting turns wait for the new hold", () =>
    Effect.gen(function* () {
      const governor = yield* makeGovernor({ maxConcurrent: {} })
      const limit = yield* governor.limited(claude, { class: "rate-limited", retryAfterMs: 10_000 }, yield* now)
      const a = yield* asking(governor, claude)
      const b = yield* asking(governor, claude)
      yield* TestClock.adjust(limit.waitMs)
      const waiting = (yield* admitted(a)) ? b : a
      const again = yield* governor.limited(claude, { class: "rate-limited", retryAfterMs: 40_000 }, yield* now)
      yield* TestClock.adjust(Duration.toMillis(PROBE_GRACE))
      expect(yield* admitted(waiting)).toBe(false)
      yield* TestClock.adjust(again.waitMs - Duration.toMillis(PROBE_GRACE))
      expect(yield* admitted(waiting)).toBe(true)
    })
  )

  it.scoped("an authentication failure refuses every later turn of that provider, and only of that one", () =>
    Effect.gen(function* () {
      const governor = yield* makeGovernor({ maxConcurrent: {} })
      yield* governor.authFailed(claude, "401 invalid x-api-key")
      expect(yield* Fiber.join(yield* asking(governor, claude))).toEqual({ _tag: "Refused", reason: "401 invalid x-api-key" })
      expect((yield* Fiber.join(yield* asking(governor, codex)))._tag).toBe("Admitted")
    })
  )

  it.scoped("max_concurrent caps a harness's parallel turns: the third waits until one ends", () =>
    Effect.gen(function* () {
      const governor = yield* makeGovernor({ maxConcurrent: { claude: 2 } })
      const running: Array<number> = []
      const ends = [yield* Deferred.make<void>(), yield* Deferred.make<void>(), yield* Deferred.make<void>()]
      const turn = (n: number, provider: Provider) =>
        Effect.fork(
          Effect.scoped(
            governor.admit(provider).pipe(
              Effect.tap(() => Effect.sync(() => running.push(n))),
              Effect.zipRight(Deferred.await(ends[n]!)),
              Effect.ensuring(Effect.sync(() => running.splice(running.indexOf(n), 1)))
            )
          )
        )
      const fibers = [yield* turn(0, claude), yield* turn(1, claude), yield* turn(2, { harness: "claude", label: "claude http://127.0.0.1:1" })]
      yield* settle
      expect([...running].sort()).toEqual([0, 1])
      yield* Deferred.succeed(ends[0]!, undefined)
      yield* settle
      expect([...running].sort()).toEqual([1, 2])
      yield* Deferred.succeed(ends[1]!, undefined)
      yield* Deferred.succeed(ends[2]!, undefined)
      for (const fiber of fibers) expect(Exit.isSuccess(yield* Fiber.await(fiber))).toBe(true)
      // Another harness is not capped.
      const scope = yield* Scope.make()
      yield* Scope.extend(governor.admit(codex), scope)
      yield* Scope.extend(governor.admit(codex), scope)
      expect((yield* Scope.extend(governor.admit(codex), scope))._tag).toBe("Admitted")
    })
  )
})

describe("providerOf", () => {
  it("a harness with its base URL set is its own provider; without, the harness alone", () => {
    expect(providerOf("claude", {}).label).toBe("claude")
    expect(providerOf("claude", { ANTHROPIC_BASE_URL: "http://127.0.0.1:9" }).label).toBe("claude http://127.0.0.1:9")
    expect(providerOf("gemini", { GOOGLE_GEMINI_BASE_URL: "http://127.0.0.1:8" }).label).toBe("gemini http://127.0.0.1:8")
    expect(providerOf("opencode", { ANTHROPIC_BASE_URL: "http://x" }).label).toBe("opencode")
    expect(providerOf("copilot", { COPILOT_PROVIDER_BASE_URL: "http://127.0.0.1:7/v1" }).label).toBe("copilot http://127.0.0.1:7/v1")
    // pi's base URL is in its models.json: one provider whatever the environment says.
    expect(providerOf("pi", { OPENAI_BASE_URL: "http://x" }).label).toBe("pi")
    expect(providerOf("qwen", { OPENAI_BASE_URL: "http://127.0.0.1:6/v1" }).label).toBe("qwen http://127.0.0.1:6/v1")
    expect(providerOf("mock", {}).harness).toBe("mock")
  })
})
