import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Chunk, Duration, Effect, Option, Queue, Stream } from "effect"
import { TaskQueueIoError } from "../services/taskQueue/errors.js"
import { watchDirs } from "../services/watchDirs.js"

/**
 * The lines of a run's events.jsonl as they are written: what `oompa logs
 * --follow`, `oompa watch` and the dashboard's server-sent events read. Each
 * line comes with the byte offset just past it, so a reader that stops can
 * resume there and miss nothing (the dashboard's event id).
 */
export interface EventsLine {
  /** The line, without its newline (possibly blank: readers skip those). */
  readonly text: string
  /** The byte offset just past the line (and its newline): where reading resumes. */
  readonly offset: number
}

export interface FollowOptions {
  /** Where to start: a byte offset at a line's start (0, or an `offset` given before). */
  readonly from?: number
  /**
   * Keep reading as the file grows until the run stops: the swarm writes
   * stopped.json after its last event, so once stopped.json is seen one more
   * read gives every line and the stream ends. Without it, the stream ends at
   * the end of the file.
   */
  readonly follow: boolean
  /**
   * While following, asked every few seconds when nothing was written: a run
   * whose process died without stopped.json writes nothing more, and the
   * stream ends when this says so.
   */
  readonly stillRunning?: Effect.Effect<boolean>
}

const NEWLINE = 10
const LIVENESS_CHECK = Duration.seconds(2)

const isNotFound = (error: PlatformError) => error._tag === "SystemError" && error.reason === "NotFound"

/**
 * Follows `<runDir>/events.jsonl`. A last line without its newline is held
 * back (it is still being written) until the run has stopped, when it is
 * given as it is. A missing file is no lines yet.
 */
export const followEvents = (
  runDir: string,
  options: FollowOptions
): Stream.Stream<EventsLine, PlatformError | TaskQueueIoError, FileSystem.FileSystem | Path.Path> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const eventsPath = path.join(runDir, "events.jsonl")
      const stoppedPath = path.join(runDir, "stopped.json")
      // Registered before the first read, so nothing appended after it goes unnoticed.
      const wake = options.follow ? Option.some(yield* watchDirs([runDir])) : Option.none<Queue.Dequeue<void>>()
      const decoder = new TextDecoder()
      let offset = options.from ?? 0
      let done = false

      /** The complete lines from `offset` on (all of them when `final`). */
      const read = (final: boolean) =>
        Effect.scoped(
          Effect.gen(function* () {
            const file = yield* fs.open(eventsPath, { flag: "r" })
            const size = Number((yield* file.stat).size)
            if (size <= offset) return Chunk.empty<EventsLine>()
            yield* file.seek(offset, "start")
            const bytes = Option.getOrElse(yield* file.readAlloc(size - offset), () => new Uint8Array())
            const lines: Array<EventsLine> = []
            let start = 0
            for (let i = 0; i < bytes.length; i++) {
              if (bytes[i] !== NEWLINE) continue
              lines.push({ text: decoder.decode(bytes.subarray(start, i)), offset: offset + i + 1 })
              start = i + 1
            }
            if (final && start < bytes.length) {
              lines.push({ text: decoder.decode(bytes.subarray(start)), offset: offset + bytes.length })
              start = bytes.length
            }
            offset += start
            return Chunk.fromIterable(lines)
          })
        ).pipe(Effect.catchIf(isNotFound, () => Effect.succeed(Chunk.empty<EventsLine>())))

      const next: Effect.Effect<Option.Option<Chunk.Chunk<EventsLine>>, PlatformError> = Effect.gen(function* () {
        if (done) return Option.none()
        if (Option.isNone(wake)) {
          done = true
          return Option.some(yield* read(true))
        }
        for (;;) {
          // Checked before the read: every line written before stopped.json is then in it.
          const stopped = yield* fs.exists(stoppedPath)
          const lines = yield* read(stopped)
          if (stopped) done = true
          if (stopped || Chunk.isNonEmpty(lines)) return Option.some(lines)
          const woke = yield* Queue.take(wake.value).pipe(Effect.timeoutOption(LIVENESS_CHECK))
          if (Option.isNone(woke) && options.stillRunning !== undefined && !(yield* options.stillRunning)) {
            done = true
            return Option.some(yield* read(true))
          }
        }
      })
      const pull = next.pipe(
        Effect.mapError(Option.some),
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(Option.none<PlatformError>()), onSome: Effect.succeed }))
      )
      return Stream.repeatEffectChunkOption(pull)
    })
  )
