import { FileSystem, Path } from "@effect/platform"
import { Clock, Deferred, Effect, Either, Fiber, Option, Queue, Schema, Stream, SubscriptionRef, type Scope } from "effect"
import { RunEvent } from "../domain/RunEvent.js"
import { applyActivity, applyEvent, emptyView, type SwarmView, type WorkerView } from "../domain/swarmView.js"
import { harnessOfModel } from "../harness/activity.js"
import { activityOfLine } from "../harness/activityOfLine.js"
import { followEvents, type FollowOptions } from "../runs/followEvents.js"
import { watchDirs } from "../services/watchDirs.js"

/**
 * A running (or finished) swarm as the live views see it: the one fold of
 * src/domain/swarmView.ts kept current from the run's events and from the
 * turn logs its workers write now (their latest activity). The terminal view
 * and `oompa watch` render it; the dashboard's server sends the same events
 * and activities to the page, which folds them with the same code.
 */

/** One line of activity seen in a worker's current log. */
export interface Activity {
  readonly worker: string
  readonly log: string
  readonly text: string
  readonly at: number
}

const decodeEvent = Schema.decodeUnknownEither(Schema.parseJson(RunEvent))

/**
 * The typed events of a run's events.jsonl, as they are written. A line this
 * version cannot read as a typed event (an older version's, a damaged one) is
 * left out: `oompa logs` and `view` report those.
 */
export const runEventsOf = (runDir: string, options: FollowOptions) =>
  followEvents(runDir, options).pipe(
    Stream.filterMap(({ text }) => {
      const decoded = text.trim() === "" ? undefined : decodeEvent(text)
      return decoded !== undefined && Either.isRight(decoded) ? Option.some(decoded.right) : Option.none()
    })
  )

/** At most this much of a log is read at a wake-up: a 200 MB log must not be read whole to find its last line. */
const ACTIVITY_WINDOW = 64 * 1024
const NEWLINE = 10

/**
 * The latest activity in each worker's current log, as the logs grow (woken
 * by a watch on the run's logs/ folder). `workers` says which log is whose now.
 */
export const followActivity = (runDir: string, workers: Effect.Effect<ReadonlyArray<WorkerView>>) =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const logsDir = path.join(runDir, "logs")
      yield* fs.makeDirectory(logsDir, { recursive: true }).pipe(Effect.ignore)
      const wake = yield* watchDirs([logsDir])
      /** How far each log has been read. */
      const read = new Map<string, number>()
      const decoder = new TextDecoder()

      /** The last activity among the complete lines appended to `log` since it was last read. */
      const latestIn = (log: string, harness: string) =>
        Effect.scoped(
          Effect.gen(function* () {
            const file = yield* fs.open(log, { flag: "r" })
            const size = Number((yield* file.stat).size)
            const from = Math.max(read.get(log) ?? 0, size - ACTIVITY_WINDOW)
            if (size <= from) return undefined
            yield* file.seek(from, "start")
            const bytes = Option.getOrElse(yield* file.readAlloc(size - from), () => new Uint8Array())
            const end = bytes.lastIndexOf(NEWLINE)
            if (end < 0) return undefined
            read.set(log, from + end + 1)
            const lines = decoder.decode(bytes.subarray(0, end)).split("\n")
            for (const line of lines.reverse()) {
              const activity = activityOfLine(harness, line)
              if (activity !== undefined) return activity
            }
            return undefined
          })
        ).pipe(Effect.orElseSucceed(() => undefined))

      const look = Effect.gen(function* () {
        const found: Array<Activity> = []
        for (const worker of yield* workers) {
          if (worker.log === undefined) continue
          const text = yield* latestIn(worker.log, harnessOfModel(worker.model))
          if (text !== undefined) found.push({ worker: worker.id, log: worker.log, text, at: yield* Clock.currentTimeMillis })
        }
        return found
      })
      return Stream.repeatEffect(Effect.zipRight(Queue.take(wake), look)).pipe(Stream.flattenIterables)
    })
  )

export interface LiveView {
  /** The view now; `changes` streams every new one. */
  readonly view: SubscriptionRef.SubscriptionRef<SwarmView>
  /** Done when the events end (the swarm stopped, or its process is gone). */
  readonly ended: Deferred.Deferred<void>
}

/**
 * Keeps a view of the run current for as long as the scope lasts: `events`
 * (the running swarm's own, or `runEventsOf` its run folder) and the activity
 * in its workers' logs.
 */
export const makeLiveView = <E, R>(
  runDir: string,
  events: Stream.Stream<RunEvent, E, R>
): Effect.Effect<LiveView, never, R | Scope.Scope | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const view = yield* SubscriptionRef.make(emptyView)
    const ended = yield* Deferred.make<void>()
    yield* events.pipe(
      // The run's last event: a swarm's own event stream goes on after it.
      Stream.takeUntil((event) => event.type === "swarm-stopped"),
      Stream.runForEach((event) => SubscriptionRef.update(view, (v) => applyEvent(v, event))),
      Effect.ignore,
      Effect.ensuring(Deferred.succeed(ended, undefined)),
      Effect.forkScoped
    )
    const activity = yield* followActivity(
      runDir,
      Effect.map(SubscriptionRef.get(view), (v) => v.workers)
    ).pipe(
      Stream.runForEach((a) => SubscriptionRef.update(view, (v) => applyActivity(v, a.worker, a.log, a.text, a.at))),
      Effect.ignore,
      Effect.forkScoped
    )
    // Activity stops with the events: a finished run's logs will not grow.
    yield* Deferred.await(ended).pipe(Effect.zipRight(Fiber.interrupt(activity)), Effect.forkScoped)
    return { view, ended }
  })
