import { FileSystem, Path } from "@effect/platform"
import { Deferred, Effect, Option, Queue, Ref, Schema, type Scope } from "effect"
import { ControlDone, ControlRequest, type ControlAction, type ControlBy } from "../domain/Control.js"
import { make as runEvent } from "../domain/RunEvent.js"
import { controlDirOf, controlDoneDirOf } from "../domain/naming.js"
import type { RunLog } from "../services/RunLog.js"
import { nowIso } from "../services/RunLog.js"
import type { TaskQueue } from "../services/TaskQueue.js"
import { watchDirs } from "../services/watchDirs.js"

/**
 * The swarm's side of steering (docs/steering.md): what the workers ask
 * (may a turn start? should I stop after this cycle?) and what the control
 * watcher sets when a request arrives.
 */
export interface Steering {
  /** Returns at once unless the swarm is paused; then when it is resumed (or stopped). */
  readonly awaitUnpaused: Effect.Effect<void>
  /** Whether this worker was asked to stop after its current cycle. */
  readonly stopAfterCycle: (worker: string) => Effect.Effect<boolean>
  /** Returns once this worker is asked to stop after its cycle (wakes a waiting executor); never for an unknown one. */
  readonly awaitStopWorker: (worker: string) => Effect.Effect<void>
  /** Done when a `stop` request was applied: the swarm ends as on a first Ctrl-C. */
  readonly stopRequested: Deferred.Deferred<void>
  readonly isPaused: Effect.Effect<boolean>
  /** Pauses; false when it already was. */
  readonly pause: Effect.Effect<boolean>
  readonly resume: Effect.Effect<boolean>
  readonly stopWorker: (worker: string) => Effect.Effect<boolean>
  readonly requestStop: Effect.Effect<boolean>
}

/** The steering of a swarm whose workers (the planner included) have these ids. */
export const makeSteering = (workers: ReadonlyArray<string>): Effect.Effect<Steering> => Effect.gen(function* () {
  const latch = yield* Effect.makeLatch(true)
  const paused = yield* Ref.make(false)
  const stopping = yield* Ref.make<ReadonlySet<string>>(new Set())
  const stopRequested = yield* Deferred.make<void>()
  const stopSignals = new Map<string, Deferred.Deferred<void>>()
  for (const worker of workers) stopSignals.set(worker, yield* Deferred.make<void>())
  return {
    awaitUnpaused: latch.await,
    stopAfterCycle: (worker) => Effect.map(Ref.get(stopping), (set) => set.has(worker)),
    awaitStopWorker: (worker) => {
      const signal = stopSignals.get(worker)
      return signal === undefined ? Effect.never : Deferred.await(signal)
    },
    stopRequested,
    isPaused: Ref.get(paused),
    pause: Ref.getAndSet(paused, true).pipe(Effect.tap((was) => (was ? Effect.void : latch.close)), Effect.map((was) => !was)),
    resume: Ref.getAndSet(paused, false).pipe(Effect.tap((was) => (was ? latch.open : Effect.void))),
    stopWorker: (worker) =>
      Ref.modify(stopping, (set): [boolean, ReadonlySet<string>] => (set.has(worker) ? [false, set] : [true, new Set([...set, worker])])).pipe(
        Effect.tap(() => {
          const signal = stopSignals.get(worker)
          return signal === undefined ? Effect.void : Deferred.succeed(signal, undefined)
        })
      ),
    // A stop releases paused turns too: they see the interruption, not a pause.
    requestStop: Deferred.succeed(stopRequested, undefined).pipe(Effect.tap(() => latch.open))
  }
})

interface Answer {
  readonly ok: boolean
  readonly message: string
  /** What takes effect only once the answer and its event are written (resume, stop): the record comes first. */
  readonly then?: Effect.Effect<unknown>
}

const decodeRequest = Schema.decodeUnknownEither(Schema.parseJson(ControlRequest))
const encodeDone = Schema.encodeSync(ControlDone)

/** Request files: `<id>.json`, not the writers' temp files (hidden, or not ending in .json). */
const isRequestName = (name: string): boolean => name.endsWith(".json") && !name.startsWith(".")

/**
 * Watches the run's control/ folder for the life of the scope and applies
 * each request once, in name order (ids start with the time): the request is
 * removed, the answer written in control/done/<id>.json, then a `steered` event.
 * A stop is answered before it is applied, so the asker hears of it.
 */
export const watchControl = (options: {
  readonly runLog: RunLog
  readonly queue: TaskQueue
  readonly steering: Steering
  readonly workers: ReadonlyArray<string>
  /** Workers that have stopped already (a stop-worker for them is refused). */
  readonly stoppedWorkers: Effect.Effect<ReadonlySet<string>>
}): Effect.Effect<void, never, Scope.Scope | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = controlDirOf(options.runLog.dir)
    const doneDir = controlDoneDirOf(options.runLog.dir)
    yield* fs.makeDirectory(doneDir, { recursive: true, mode: 0o700 }).pipe(Effect.orDie)
    // Watch first, then look: a request written in between still wakes us.
    const wake = yield* watchDirs([dir]).pipe(Effect.orDie)

    const answer = (id: string, result: Answer) =>
      Effect.gen(function* () {
        const done: ControlDone = { id, ok: result.ok, message: result.message, at: yield* nowIso }
        const target = path.join(doneDir, `${id}.json`)
        const temp = path.join(doneDir, `.${id}.json.tmp-${process.pid}`)
        yield* fs.writeFileString(temp, JSON.stringify(encodeDone(done), null, 2) + "\n")
        yield* fs.rename(temp, target)
      }).pipe(Effect.orDie)

    const apply = (request: ControlRequest): Effect.Effect<Answer> =>
      Effect.gen(function* () {
        const { steering } = options
        switch (request.action) {
          case "pause":
            return (yield* steering.pause)
              ? { ok: true, message: "paused: no new turn starts (running turns go on) until resume" }
              : { ok: true, message: "already paused" }
          case "resume":
            return (yield* steering.isPaused)
              ? { ok: true, message: "resumed: turns start again", then: steering.resume }
              : { ok: true, message: "was not paused" }
          case "stop":
            return {
              ok: true,
              message: "stopping the swarm: agents get 5 s to exit, their work is kept, claims go back to pending",
              then: steering.requestStop
            }
          case "stop-worker": {
            const worker = request.worker ?? ""
            if (!options.workers.includes(worker)) {
              return { ok: false, message: `no worker ${JSON.stringify(worker)} in this swarm (workers: ${options.workers.join(", ")})` }
            }
            if ((yield* options.stoppedWorkers).has(worker)) return { ok: false, message: `worker ${worker} has already stopped` }
            return (yield* steering.stopWorker(worker))
              ? { ok: true, message: `worker ${worker} stops after its current cycle (it claims nothing more)` }
              : { ok: true, message: `worker ${worker} was already asked to stop after its cycle` }
          }
          case "requeue": {
            const task = request.task ?? ""
            const moved = yield* options.queue.reopen(task).pipe(
              Effect.catchAll((error) => Effect.succeed({ _tag: "NotMoved" as const, id: task, reason: error.message }))
            )
            return moved._tag === "Reopened"
              ? { ok: true, message: `task ${moved.id} requeued: moved from ${moved.from}/ to pending/` }
              : { ok: false, message: `cannot requeue: ${moved.reason}` }
          }
        }
      })

    const handle = (name: string) =>
      Effect.gen(function* () {
        const file = path.join(dir, name)
        const text = yield* fs.readFileString(file).pipe(Effect.option)
        if (Option.isNone(text)) return // removed meanwhile
        const id = name.slice(0, -".json".length)
        const decoded = decodeRequest(text.value)
        let steered: { action: ControlAction; worker?: string; task?: string; by: ControlBy } | undefined
        let result: Answer
        if (decoded._tag === "Left") {
          result = { ok: false, message: `control/${name} is no steering request (docs/steering.md), ignored: ${decoded.left.message.split("\n")[0]}` }
        } else if (decoded.right.id !== id) {
          result = { ok: false, message: `control/${name} says its id is ${JSON.stringify(decoded.right.id)}: a request's file is named <id>.json, ignored` }
        } else {
          const request = decoded.right
          steered = {
            action: request.action,
            ...(request.worker !== undefined ? { worker: request.worker } : {}),
            ...(request.task !== undefined ? { task: request.task } : {}),
            by: request.by
          }
          result = yield* apply(request)
        }
        // Removed before it is answered: an asker that has its answer never sees the request again.
        yield* fs.remove(file).pipe(Effect.ignore)
        yield* answer(id, result)
        if (steered !== undefined) yield* options.runLog.emit(runEvent.steered({}, { ...steered, ok: result.ok, message: result.message }))
        else yield* options.runLog.emit(runEvent.warning(result.message))
        if (result.then !== undefined) yield* result.then
      }).pipe(Effect.uninterruptible)

    yield* Effect.gen(function* () {
      for (;;) {
        const names = yield* fs.readDirectory(dir).pipe(Effect.orElseSucceed(() => [] as Array<string>))
        for (const name of names.filter(isRequestName).sort()) yield* handle(name)
        yield* Queue.take(wake)
      }
    }).pipe(Effect.forkScoped)
  })
