import { FileSystem, Path } from "@effect/platform"
import { Console, Deferred, Duration, Effect, Either, Option, Queue, Ref, Schema, Stream, SubscriptionRef } from "effect"
import { RunEvent, terminalLine } from "../domain/RunEvent.js"
import { applyEvent, emptyView, type SwarmView } from "../domain/swarmView.js"
import { followEvents } from "../runs/followEvents.js"
import { findRuns, listRuns, localTime, readRun, RunNotFound, selectRun, type RunInfo, type RunStatus } from "../runs/readRuns.js"
import { mayColour } from "../services/colour.js"
import { setInterruptNote } from "../services/interruptNote.js"
import { watchDirs } from "../services/watchDirs.js"
import { makeLiveView, runEventsOf } from "../ui/liveView.js"
import type { Key } from "../ui/terminal/keys.js"
import { renderFrame } from "../ui/terminal/render.js"
import { showView } from "../ui/terminal/showView.js"
import { liveViewWanted } from "./terminalMode.js"

/**
 * `oompa watch [swarm]` (issue 10): the live view of `oompa swarm`, read from
 * a run's files, so it shows a swarm started elsewhere (--detach, another
 * terminal) and a finished run's final state. Watching never touches the
 * swarm: q leaves the watch, `oompa stop` stops the swarm.
 */

/** The named run; else the one running swarm; else (none running) the newest run. */
export const pickWatchedRun = (runs: ReadonlyArray<RunInfo>, wanted: Option.Option<string>): Effect.Effect<RunInfo, RunNotFound> => {
  if (Option.isSome(wanted)) return selectRun(runs, wanted)
  const running = runs.filter((run) => run.status === "running")
  if (running.length === 1) return Effect.succeed(running[0]!)
  if (running.length > 1) {
    return Effect.fail(new RunNotFound({ message: `several swarms are running, name one: ${running.map((run) => run.id).join(", ")}` }))
  }
  return selectRun(runs, Option.none())
}

const mayStillWrite = (status: RunStatus): boolean => status === "running" || status === "starting"

/** How long a run whose last event has been written may take to write stopped.json and exit. */
const SETTLE_LIMIT = Duration.seconds(10)

/** The run's status now, read again from its files (a swarm that stops while watched). */
const statusNow = (run: RunInfo) =>
  readRun(run.dir).pipe(
    Effect.map((now) => now.status),
    Effect.orElseSucceed((): RunStatus => run.status)
  )

/**
 * The run's status once its last event is written: the swarm writes
 * swarm-stopped before stopped.json (so a follower never misses the last
 * line), so for a moment after that event the run still reads "running".
 * Woken by a watch on the run folder; a process that dies without writing
 * stopped.json is read as it is after SETTLE_LIMIT.
 */
const statusOnceSettled = (run: RunInfo) =>
  Effect.scoped(
    Effect.gen(function* () {
      const wake = yield* watchDirs([run.dir])
      for (;;) {
        const status = yield* statusNow(run)
        if (!mayStillWrite(status)) return status
        yield* Queue.take(wake)
      }
    })
  ).pipe(
    Effect.timeout(SETTLE_LIMIT),
    Effect.catchAll(() => statusNow(run))
  )

/**
 * The view as the run's files leave it once it writes nothing more: a run
 * that crashed (its process gone without a swarm-stopped event) is shown
 * stopped, with what happened, not "running" for ever.
 */
export const settle = (view: SwarmView, status: RunStatus): SwarmView =>
  view.status === "stopped" || mayStillWrite(status)
    ? view
    : {
        ...view,
        status: "stopped",
        stoppedAt: view.recent.at(-1)?.at ?? view.startedAt,
        ending: `${status}: the swarm's process ended without recording its end (oompa cleanup recovers the run)`
      }

/** The keys line: what q does, and that the swarm is not ours to stop. */
export const watchFooter = (ended: Option.Option<RunStatus>): string =>
  Option.match(ended, {
    onNone: () => "q quits the watch (the swarm keeps running) · oompa stop stops the swarm",
    onSome: (status) => `swarm ended: ${status} · q quits`
  })

const isQuitKey = (key: Key): boolean => key.kind === "ctrl-c" || (key.kind === "char" && (key.char === "q" || key.char === "Q"))

/** On a terminal: the live view until q (or Ctrl-C), then one line on the normal screen. */
const watchOnScreen = (run: RunInfo) =>
  Effect.gen(function* () {
    const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    const stillRunning = Effect.provide(Effect.map(statusNow(run), mayStillWrite), context)
    const ended = yield* Ref.make(Option.none<RunStatus>())
    yield* Effect.scoped(
      Effect.gen(function* () {
        const live = yield* makeLiveView(run.dir, runEventsOf(run.dir, { follow: mayStillWrite(run.status), stillRunning }))
        yield* Deferred.await(live.ended).pipe(
          Effect.zipRight(statusOnceSettled(run)),
          Effect.flatMap((status) => Ref.set(ended, Option.some(status))),
          Effect.forkScoped
        )
        const quit = yield* Deferred.make<void>()
        yield* showView({
          view: Effect.zipWith(SubscriptionRef.get(live.view), Ref.get(ended), (view, status) =>
            Option.match(status, { onNone: () => view, onSome: (s) => settle(view, s) })
          ),
          colour: mayColour(process.stdout),
          footer: Effect.map(Ref.get(ended), watchFooter),
          onKey: (key) => (isQuitKey(key) ? Deferred.succeed(quit, undefined) : Effect.void)
        })
        yield* Deferred.await(quit)
      })
    )
    const status = yield* Ref.get(ended)
    yield* Console.log(
      Option.match(status, {
        onNone: () => `left the watch; swarm ${run.id} keeps running (oompa stop stops it)`,
        onSome: (s) => `swarm ${run.id} ended: ${s}`
      })
    )
  })

const decodeEvent = Schema.decodeUnknownEither(Schema.parseJson(RunEvent))
const eventOf = (text: string): RunEvent | undefined => {
  if (text.trim() === "") return undefined
  const decoded = decodeEvent(text)
  return Either.isRight(decoded) ? decoded.right : undefined
}

const NEWLINE = 10

/** The complete lines of events.jsonl now, folded; and the byte offset past them, where following resumes. */
const viewSoFar = (run: RunInfo) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const bytes = yield* fs.readFile(path.join(run.dir, "events.jsonl")).pipe(Effect.orElseSucceed(() => new Uint8Array()))
    // A finished run's last line is whole even without its newline; a running one's may still be being written.
    const end = mayStillWrite(run.status) ? bytes.lastIndexOf(NEWLINE) + 1 : bytes.length
    let view = emptyView
    for (const line of new TextDecoder().decode(bytes.subarray(0, end)).split("\n")) {
      const event = eventOf(line)
      if (event !== undefined) view = applyEvent(view, event)
    }
    return { view, offset: end }
  })

/** $COLUMNS when it is a width, else 80. */
const printedColumns = (): number => {
  const columns = Number(process.env.COLUMNS)
  return Number.isInteger(columns) && columns >= 20 ? columns : 80
}

/**
 * Not on a terminal (or --plain): the frame printed once, as tall as it
 * needs. A finished run: its final state. A running one: its state now, a
 * line per new event until it ends, then its final state.
 */
const watchPrinted = (run: RunInfo) =>
  Effect.gen(function* () {
    const colour = mayColour(process.stdout)
    const columns = printedColumns()
    const printFrame = (view: SwarmView) =>
      Console.log(renderFrame(view, { now: view.stoppedAt ?? Date.now(), columns, rows: undefined, colour, footer: "" }).join("\n"))
    const soFar = yield* viewSoFar(run)
    if (!mayStillWrite(run.status)) return yield* printFrame(settle(soFar.view, run.status))
    yield* printFrame(soFar.view)
    yield* Console.log(`── swarm ${run.id} runs: its new events until it ends (Ctrl-C leaves it running) ──`)
    const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    const stillRunning = Effect.provide(Effect.map(statusNow(run), mayStillWrite), context)
    const view = yield* Ref.make(soFar.view)
    yield* followEvents(run.dir, { from: soFar.offset, follow: true, stillRunning }).pipe(
      Stream.runForEach(({ text }) => {
        const event = eventOf(text)
        if (event === undefined) return Effect.void
        return Ref.update(view, (v) => applyEvent(v, event)).pipe(
          Effect.zipRight(Console.log(`${localTime(event.at)} ${terminalLine(event)}`))
        )
      }),
      Effect.catchAll((error) => Console.error(`oompa watch: cannot read ${run.id}'s events.jsonl: ${error.message}`))
    )
    yield* Console.log("")
    yield* printFrame(settle(yield* Ref.get(view), yield* statusOnceSettled(run)))
  })

export const handleWatch = ({ plain, swarm }: { readonly swarm: Option.Option<string>; readonly plain: boolean }) =>
  Effect.gen(function* () {
    yield* Effect.sync(() => setInterruptNote("oompa watch: leaving (the swarm, if it runs, keeps running; oompa stop stops it)"))
    const { runsDir } = yield* findRuns(process.cwd())
    const run = yield* pickWatchedRun(yield* listRuns(runsDir), swarm)
    return yield* liveViewWanted(plain) ? watchOnScreen(run) : watchPrinted(run)
  })
