import { Clock, Deferred, Duration, Effect, Random, Ref, type Scope } from "effect"
import type { RateLimitedData as RateLimitedSchema } from "../domain/RunEvent.js"
import type { TurnFailure } from "../domain/TurnFailure.js"

/**
 * The rate-limit governor (issue 11): one per swarm, shared by every worker
 * and reviewer. A provider (src/engine/provider.ts) that answered a turn with
 * a rate or usage limit, or said it is overloaded, is held: no new turn of it
 * starts until the reset time it gave (or its retry-after, or an exponential
 * back-off with jitter when it gave neither). When the hold ends one turn
 * goes first (the probe); the others follow once it ended without a limit, or
 * once it has run for PROBE_GRACE without being limited — so the swarm does
 * not hit the limit again all at once. Other providers are not affected.
 *
 * An authentication failure marks the provider failed for the rest of the
 * run: its turns are refused at once (their workers stop). `max_concurrent`
 * caps the parallel turns of a harness, whatever its provider.
 *
 * Every wait is an Effect sleep on the Clock, so the TestClock drives the tests.
 */
export interface Governor {
  /**
   * Waits until a turn of this provider may start, then holds one of its
   * harness's `max_concurrent` permits for the rest of the scope (the turn).
   * Returns how long it waited on a limit, or the authentication failure that
   * refuses the turn.
   */
  readonly admit: (
    provider: Provider
  ) => Effect.Effect<{ readonly _tag: "Admitted"; readonly waitedMs: number } | { readonly _tag: "Refused"; readonly reason: string }, never, Scope.Scope>
  /**
   * A turn of this provider, started at `turnStartedMs`, ended limited: hold it.
   * A turn that started before the current hold began does not count as a new
   * strike (it ran into the limit the hold is already for).
   */
  readonly limited: (provider: Provider, failure: TurnFailure, turnStartedMs: number) => Effect.Effect<RateLimitedData>
  /** A turn of this provider ended without a limit: the probe, if it was one, lets the others go. */
  readonly cleared: (provider: Provider) => Effect.Effect<void>
  /** The provider refused its credentials: no turn of it starts again in this run. */
  readonly authFailed: (provider: Provider, reason: string) => Effect.Effect<void>
}

type RateLimitedData = typeof RateLimitedSchema.Type

/** Who serves a turn: the harness and where its requests go (base URL), as one label. */
export interface Provider {
  readonly harness: string
  /** `claude`, or `claude http://127.0.0.1:8080` for a non-default base URL. */
  readonly label: string
}

/** The back-off of the n-th limited turn in a row without a reset time: 30 s × 2ⁿ⁻¹, at most 15 min. */
export const LIMIT_BACKOFF_BASE = Duration.seconds(30)
export const LIMIT_BACKOFF_CAP = Duration.minutes(15)
/** Up to this fraction of the wait is added at random, so providers' clients do not all come back at once. */
export const LIMIT_JITTER = 0.2
/** How long the first turn after a hold runs unlimited before the others of the provider may start. */
export const PROBE_GRACE = Duration.seconds(20)

export const limitBackoff = (strike: number): Duration.Duration =>
  Duration.min(Duration.times(LIMIT_BACKOFF_BASE, 2 ** Math.max(0, Math.min(strike - 1, 16))), LIMIT_BACKOFF_CAP)

type Phase =
  | { readonly _tag: "Open" }
  | { readonly _tag: "Held"; readonly until: number; readonly since: number }
  | { readonly _tag: "Probing"; readonly startedMs: number; readonly done: Deferred.Deferred<void> }

interface ProviderState {
  readonly phase: Phase
  /** Limited turns in a row (reset by a turn that ended without one). */
  readonly strike: number
  /** When the current hold began: turns started before it do not add a strike. */
  readonly heldSince: number
  /** Woken whenever the phase changes, so waiters look again. */
  readonly changed: Deferred.Deferred<void>
  readonly authFailure: string | undefined
}

export const makeGovernor = (options: {
  /** Parallel turns per harness name; absent: no cap. */
  readonly maxConcurrent: Readonly<Record<string, number>>
}): Effect.Effect<Governor> =>
  Effect.gen(function* () {
    const states = new Map<string, Ref.Ref<ProviderState>>()
    const semaphores = new Map<string, Effect.Semaphore>()
    for (const [harness, permits] of Object.entries(options.maxConcurrent)) semaphores.set(harness, yield* Effect.makeSemaphore(permits))

    const stateOf = (provider: Provider) =>
      Effect.gen(function* () {
        const known = states.get(provider.label)
        if (known !== undefined) return known
        const made = yield* Ref.make<ProviderState>({
          phase: { _tag: "Open" },
          strike: 0,
          heldSince: -Infinity,
          changed: yield* Deferred.make<void>(),
          authFailure: undefined
        })
        states.set(provider.label, made)
        return made
      })

    /** Sets the new state and wakes every waiter (they look again). */
    const change = (ref: Ref.Ref<ProviderState>, f: (s: ProviderState) => ProviderState) =>
      Effect.gen(function* () {
        const fresh = yield* Deferred.make<void>()
        const before = yield* Ref.getAndUpdate(ref, (s) => ({ ...f(s), changed: fresh }))
        yield* Deferred.succeed(before.changed, undefined)
      })

    const waitForTurn = (ref: Ref.Ref<ProviderState>) =>
      Effect.gen(function* () {
        const started = yield* Clock.currentTimeMillis
        for (;;) {
          const s = yield* Ref.get(ref)
          if (s.authFailure !== undefined) return { _tag: "Refused" as const, reason: s.authFailure }
          const now = yield* Clock.currentTimeMillis
          const phase = s.phase
          if (phase._tag === "Open") return { _tag: "Admitted" as const, waitedMs: now - started }
          if (phase._tag === "Held") {
            if (now < phase.until) {
              yield* Effect.raceFirst(Effect.sleep(Duration.millis(phase.until - now)), Deferred.await(s.changed))
              continue
            }
            // The hold is over: this turn goes first, alone.
            const done = yield* Deferred.make<void>()
            const won = yield* Ref.modify(ref, (current): [boolean, ProviderState] =>
              current.phase === phase ? [true, { ...current, phase: { _tag: "Probing", startedMs: now, done } }] : [false, current]
            )
            if (won) {
              yield* Effect.forkDaemon(releaseAfterGrace(ref, done))
              return { _tag: "Admitted" as const, waitedMs: now - started }
            }
            continue
          }
          // Probing: the others wait for the probe to come through (or for its grace to pass).
          yield* Effect.raceFirst(Deferred.await(phase.done), Deferred.await(s.changed))
        }
      })

    /** The probe has run PROBE_GRACE without a limit: the others may go. */
    const releaseAfterGrace = (ref: Ref.Ref<ProviderState>, done: Deferred.Deferred<void>) =>
      Effect.sleep(PROBE_GRACE).pipe(
        Effect.zipRight(open(ref, done)),
        // The probe's own ending may come first: then this has nothing left to do.
        Effect.raceFirst(Deferred.await(done))
      )

    /** Opens the provider if the probe `done` is still the one running. */
    const open = (ref: Ref.Ref<ProviderState>, done: Deferred.Deferred<void>) =>
      Effect.gen(function* () {
        const s = yield* Ref.get(ref)
        if (s.phase._tag !== "Probing" || s.phase.done !== done) return
        yield* change(ref, (current) => ({ ...current, phase: { _tag: "Open" } }))
        yield* Deferred.succeed(done, undefined)
      })

    return {
      admit: (provider) =>
        Effect.gen(function* () {
          const ref = yield* stateOf(provider)
          const admitted = yield* waitForTurn(ref)
          const semaphore = semaphores.get(provider.harness)
          if (admitted._tag === "Admitted" && semaphore !== undefined) {
            yield* Effect.acquireRelease(semaphore.take(1), () => semaphore.release(1))
          }
          return admitted
        }),

      limited: (provider, failure, turnStartedMs) =>
        Effect.gen(function* () {
          const ref = yield* stateOf(provider)
          const now = yield* Clock.currentTimeMillis
          const before = yield* Ref.get(ref)
          // A turn that began before the current hold ran into the limit the hold is for.
          const strike = turnStartedMs < before.heldSince ? Math.max(1, before.strike) : before.strike + 1
          const resetsAt = failure.resetsAt === undefined ? Number.NaN : Date.parse(failure.resetsAt)
          const base: { readonly ms: number; readonly source: RateLimitedData["source"] } = !Number.isNaN(resetsAt)
            ? { ms: Math.max(0, resetsAt - now), source: "reset-time" }
            : failure.retryAfterMs !== undefined
              ? { ms: failure.retryAfterMs, source: "retry-after" }
              : { ms: Duration.toMillis(limitBackoff(strike)), source: "backoff" }
          const jitter = Math.round(base.ms * LIMIT_JITTER * (yield* Random.next))
          // At least a second: a reset time already past still spaces the turns out.
          const waitMs = Math.max(1000, base.ms + jitter)
          const current = before.phase
          const until = Math.max(now + waitMs, current._tag === "Held" ? current.until : 0)
          const heldSince = current._tag === "Held" ? before.heldSince : now
          yield* change(ref, (s) => ({ ...s, strike, heldSince, phase: { _tag: "Held", until, since: heldSince } }))
          // A probe that was limited lets nobody through; its waiters now wait for the new hold.
          if (current._tag === "Probing") yield* Deferred.succeed(current.done, undefined)
          return {
            provider: provider.label,
            class: failure.class === "overloaded" ? "overloaded" : "rate-limited",
            waitMs: until - now,
            until: new Date(until).toISOString(),
            source: base.source,
            strike
          } as const
        }),

      cleared: (provider) =>
        Effect.gen(function* () {
          const ref = yield* stateOf(provider)
          const s = yield* Ref.get(ref)
          if (s.phase._tag === "Probing") yield* open(ref, s.phase.done)
          if (s.strike > 0 && s.phase._tag !== "Held") yield* Ref.update(ref, (current) => ({ ...current, strike: 0 }))
        }),

      authFailed: (provider, reason) =>
        Effect.gen(function* () {
          const ref = yield* stateOf(provider)
          yield* change(ref, (s) => (s.authFailure !== undefined ? s : { ...s, authFailure: reason }))
        })
    } satisfies Governor
  })

/** A governor with no caps, for code paths and embedders that configure none. */
export const unlimitedGovernor = makeGovernor({ maxConcurrent: {} })
