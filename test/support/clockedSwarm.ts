import { NodeContext } from "@effect/platform-node"
import { Chunk, Effect, PubSub, Queue, TestClock } from "effect"
import type { RunEvent, RunEventOf } from "../../src/domain/RunEvent.js"
import { runSwarm } from "../../src/engine/swarm.js"
import type { Harness } from "../../src/harness/Harness.js"
import { makeGitRepo } from "./gitRepo.js"
import { engineTestLayer, setupProject } from "./swarmProject.js"

/**
 * For swarms on the TestClock (`it.scoped` runs on it): the engine's waits are
 * Effect sleeps, so the clock moves only when the test moves it, while git and
 * the files take real time. A test finds the swarm asleep until exactly the
 * instant it expects (`awaitSleepUntil`, a condition, not a guess) and follows
 * its events as they are published.
 */

const quiet = () => Effect.void

/** Waits (live time, at most ~20 s) until a fiber sleeps until `at` on the TestClock. */
export const awaitSleepUntil = (at: number) =>
  Effect.gen(function* () {
    for (let tries = 0; tries < 1000; tries++) {
      if (Chunk.toReadonlyArray(yield* TestClock.sleeps()).includes(at)) return
      // Live time (a real timer, not the TestClock): git and the files take real time.
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
    }
    const pending = Chunk.toReadonlyArray(yield* TestClock.sleeps())
    return yield* Effect.dieMessage(`no fiber came to sleep until ${at} ms (pending sleeps: ${pending.join(", ") || "none"})`)
  })

/** The next event of this type (and matching `pick`), skipping the others. */
export const nextEvent = <T extends RunEvent["type"]>(
  events: Queue.Dequeue<RunEvent>,
  type: T,
  pick: (event: RunEventOf<T>) => boolean = () => true
) =>
  Effect.gen(function* () {
    for (;;) {
      const event = yield* Queue.take(events)
      if (event.type === type && pick(event as RunEventOf<T>)) return event as RunEventOf<T>
    }
  })

/** Events already published and not taken, without waiting. */
export const drain = (events: Queue.Dequeue<RunEvent>) => Queue.takeAll(events).pipe(Effect.map(Chunk.toReadonlyArray))

/** A swarm on a new repo, forked: its events from the first one, its exit when joined. */
export const startSwarm = (spec: Parameters<typeof setupProject>[1], harnessOf?: (baseDir: string) => Harness) =>
  Effect.gen(function* () {
    const repo = yield* makeGitRepo()
    const config = yield* setupProject(repo, spec)
    const pubsub = yield* PubSub.unbounded<RunEvent>()
    const events = yield* PubSub.subscribe(pubsub)
    const harness = harnessOf?.(repo.path)
    const swarm = yield* runSwarm(config, { print: quiet, events: pubsub }).pipe(
      Effect.provide(engineTestLayer({ baseDir: repo.path, ...(harness ? { harness } : {}) })),
      Effect.exit,
      Effect.fork
    )
    return { repo, events, swarm }
  }).pipe(Effect.provide(NodeContext.layer))
