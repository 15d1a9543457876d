import { FileSystem, Path } from "@effect/platform"
import { Console, DateTime, Effect, FiberRef, Option, PubSub, Ref, Schema, Stream, type Scope } from "effect"
import { make as makeEvent, RunEvent, terminalLine, type RunEventDraft } from "../domain/RunEvent.js"
import { CycleFile, ReviewFile, StartedFile, StoppedFile } from "../domain/RunFiles.js"
import { controlDirOf, controlDoneDirOf, cycleFileName, finalMessageFileOf, promptFileOf } from "../domain/naming.js"
import { diagnosticsFile, diagnosticsFileOf, runWarning } from "./diagnostics.js"

/**
 * Writes the run files of SPEC §11 for one swarm, prints each event's
 * terminal line and publishes the event.
 *
 * Events are written straight through (append, then print, then publish)
 * rather than through a queue so that no line can be lost when the swarm is
 * interrupted: an `emit` that returned is on disk.
 *
 * Subscribing (the terminal view, an embedder): `subscribe` (scoped) is
 * subscribed as soon as it runs and gives a Stream of every event emitted from
 * then on, for as long as the scope lasts; `events` is the same Stream
 * subscribing only when it starts to run (what a fork may miss in between).
 * To see a run from its first event, pass your own PubSub as
 * `RunLogOptions.publish` (runSwarm's `events` option) and subscribe to it
 * before the swarm starts. The run's last event is
 * `swarm-stopped`: `Stream.takeUntil((e) => e.type === "swarm-stopped")` ends
 * with the run (only the notifier's warnings about the swarm-ended
 * notification may follow it, before stopped.json: docs/notifications.md). Publishing never blocks the run: the log's own PubSub is
 * unbounded, and a bounded one passed in should be a sliding or dropping one.
 */
export interface RunLog {
  readonly dir: string
  /** Stamps the event's time, appends it to events.jsonl, prints its terminal line, publishes it. */
  readonly emit: (event: RunEventDraft) => Effect.Effect<void>
  readonly subscribe: Effect.Effect<Stream.Stream<RunEvent>, never, Scope.Scope>
  readonly events: Stream.Stream<RunEvent>
  readonly writeCycle: (file: CycleFile) => Effect.Effect<void>
  /**
   * The cycle records this log has written, in order: what the files in
   * `cycles/` hold, for summaries computed from them without reading them back.
   */
  readonly cycles: Effect.Effect<ReadonlyArray<CycleFile>>
  readonly writeReview: (file: ReviewFile) => Effect.Effect<void>
  readonly writeStopped: (file: StoppedFile) => Effect.Effect<void>
  readonly turnLogPath: (worker: string, cycle: number, turn: number) => string
  /** Writes the prompt of a turn (or review) beside its log (`promptFileOf`). */
  readonly writePrompt: (logPath: string, prompt: string) => Effect.Effect<void>
  /** Writes the agent's final message of a turn beside its log (`finalMessageFileOf`). */
  readonly writeFinalMessage: (logPath: string, text: string) => Effect.Effect<void>
  readonly reviewLogPath: (worker: string, cycle: number, round: number, reviewer: number) => string
}


export interface RunLogOptions {
  readonly dir: string
  /** Where terminal lines go; Console.log by default. */
  readonly print?: (line: string) => Effect.Effect<void>
  /**
   * For a new run: the folder is made under a hidden staging name, started.json
   * is written into it and only then is it renamed into place, so no run folder
   * ever exists without its started.json (SPEC §11), whatever stops oompa.
   */
  readonly started?: StartedFile
  /** Where events are published (besides the log's own `events`): an embedder's PubSub, subscribed before the run. */
  readonly publish?: PubSub.PubSub<RunEvent>
}

/** The staging folder of a run being created (hidden: readers skip names starting with "."). */
export const stagingDirOf = (dir: string, pid: number): string => {
  const slash = dir.lastIndexOf("/")
  return `${dir.slice(0, slash)}/.${dir.slice(slash + 1)}.starting-${pid}`
}

/** The pid in a staging folder's name, or undefined for any other name. */
export const stagingPidOf = (name: string): number | undefined => {
  const match = /^\..+\.starting-(\d+)$/.exec(name)
  return match ? Number(match[1]) : undefined
}

export const nowIso = DateTime.now.pipe(Effect.map(DateTime.formatIso))

export const makeRunLog = Effect.fn("RunLog.make")(function* (options: RunLogOptions) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const dir = options.dir
  const print = options.print ?? ((line: string) => Console.log(line))
  const eventsPath = path.join(dir, "events.jsonl")
  const encodeEvent = Schema.encodeSync(RunEvent)

  // A run file that cannot be written is a broken machine (disk full, permissions):
  // there is no sensible way to continue without the record, so it is a defect.
  const writeText = (file: string, text: string) =>
    Effect.gen(function* () {
      const temp = `${file}.tmp-${process.pid}`
      yield* fs.writeFileString(temp, text)
      yield* fs.rename(temp, file)
    }).pipe(Effect.orDie, Effect.uninterruptible)
  const writeJson = <A, I>(schema: Schema.Schema<A, I>, file: string, value: A) =>
    writeText(file, JSON.stringify(Schema.encodeSync(schema)(value), null, 2) + "\n")

  const pubsub = yield* PubSub.unbounded<RunEvent>()

  const emit: RunLog["emit"] = (draft) =>
    Effect.gen(function* () {
      const event = { at: yield* nowIso, ...draft } as RunEvent
      // Encoding checks the event against its Schema: a payload that does not fit is a bug.
      yield* fs.writeFileString(eventsPath, JSON.stringify(encodeEvent(event)) + "\n", { flag: "a" }).pipe(Effect.orDie)
      yield* print(terminalLine(event))
      yield* PubSub.publish(pubsub, event)
      if (options.publish !== undefined) yield* PubSub.publish(options.publish, event)
    }).pipe(Effect.uninterruptible)

  // control/ and control/done/ (steering, docs/steering.md) are the owner's only: their mode is the CLI's ownership check.
  const makeFolders = (into: string) =>
    Effect.gen(function* () {
      yield* Effect.forEach(["cycles", "reviews", "logs"], (sub) => fs.makeDirectory(path.join(into, sub), { recursive: true }))
      yield* fs.makeDirectory(controlDoneDirOf(into), { recursive: true, mode: 0o700 })
      // The mode given to mkdir is masked by the umask: set it exactly.
      yield* fs.chmod(controlDirOf(into), 0o700)
      yield* fs.chmod(controlDoneDirOf(into), 0o700)
    }).pipe(Effect.orDie)
  if (options.started === undefined) {
    yield* makeFolders(dir)
  } else {
    const staging = stagingDirOf(dir, process.pid)
    yield* Effect.gen(function* () {
      yield* fs.remove(staging, { recursive: true }).pipe(Effect.ignore)
      yield* makeFolders(staging)
      yield* writeJson(StartedFile, path.join(staging, "started.json"), options.started!)
      yield* fs.rename(staging, dir).pipe(Effect.orDie)
    }).pipe(Effect.uninterruptible)
    // From here on, this swarm's diagnostics (Effect.log*) are kept in its run folder.
    yield* FiberRef.set(diagnosticsFile, Option.some(diagnosticsFileOf(dir)))
    yield* FiberRef.set(runWarning, Option.some((message: string) => emit(makeEvent.warning(message))))
  }

  const written = yield* Ref.make<ReadonlyArray<CycleFile>>([])
  const log: RunLog = {
    dir,
    emit,
    subscribe: Stream.fromPubSub(pubsub, { scoped: true }),
    events: Stream.fromPubSub(pubsub),
    writeCycle: (file) =>
      writeJson(CycleFile, path.join(dir, "cycles", cycleFileName(file.worker, file.cycle)), file).pipe(
        Effect.zipRight(Ref.update(written, (all) => [...all.filter((c) => c.worker !== file.worker || c.cycle !== file.cycle), file])),
        Effect.uninterruptible
      ),
    cycles: Ref.get(written),
    writeReview: (file) =>
      writeJson(ReviewFile, path.join(dir, "reviews", `${file.worker}-c${file.cycle}-r${file.round}-${file.attempt}.json`), file),
    writeStopped: (file) => writeJson(StoppedFile, path.join(dir, "stopped.json"), file),
    turnLogPath: (worker, cycle, turn) => path.join(dir, "logs", `${worker}-c${cycle}-t${turn}.log`),
    writePrompt: (logPath, prompt) => writeText(promptFileOf(logPath), prompt),
    writeFinalMessage: (logPath, text) => writeText(finalMessageFileOf(logPath), text),
    reviewLogPath: (worker, cycle, round, reviewer) =>
      path.join(dir, "logs", `${worker}-c${cycle}-r${round}-reviewer${reviewer}.log`)
  }
  return log
})
