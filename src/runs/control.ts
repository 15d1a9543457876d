import { FileSystem, Path } from "@effect/platform"
import { Duration, Effect, Option, Queue, Random, Schema } from "effect"
import { ControlDone, ControlRequest, draftProblem, type ControlDraft } from "../domain/Control.js"
import { controlDirOf, controlDoneDirOf } from "../domain/naming.js"
import { watchDirs } from "../services/watchDirs.js"
import { readRun } from "./readRuns.js"

/**
 * The asking side of steering (docs/steering.md), shared by `oompa stop /
 * pause / resume / tasks requeue`, the terminal view's keys and the web
 * dashboard: write a request into the run's control/ folder, wait for the
 * swarm's answer in control/done/.
 */

/** The run is not running (finished, crashed, not started), or predates steering: nothing to ask. Exit 2. */
export class SteerNotRunning extends Schema.TaggedError<SteerNotRunning>()("SteerNotRunning", {
  message: Schema.String
}) {
  get exitCode() {
    return 2
  }
  override toString() {
    return this.message
  }
}

/** The request could not be written, was refused by the swarm, or got no answer in time. Exit 1. */
export class SteerFailed extends Schema.TaggedError<SteerFailed>()("SteerFailed", {
  message: Schema.String
}) {
  get exitCode() {
    return 1
  }
  override toString() {
    return this.message
  }
}

/** How long a surface waits for the swarm's answer by default (it answers at once: it only flips a state or moves a file). */
export const ANSWER_LIMIT = Duration.seconds(10)

const encodeRequest = Schema.encodeSync(ControlRequest)
const decodeDone = Schema.decodeUnknownOption(Schema.parseJson(ControlDone))

/** A request id: the time first, so requests sort in the order they were made, then randomness. */
const newId = Effect.gen(function* () {
  const random = yield* Random.nextIntBetween(0, 0xffffff)
  return `${Date.now()}-${random.toString(16).padStart(6, "0")}`
})

/** Refuses a run that is not running now, or whose swarm has no control/ folder (an older oompa). */
export const requireRunning = Effect.fn("runs.requireRunning")(function* (runDir: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const run = yield* readRun(runDir)
  if (run.status !== "running") {
    const why =
      run.status === "crashed"
        ? "crashed (its process is gone; `oompa cleanup` recovers it)"
        : run.status === "starting"
          ? "still starting (no started.json yet)"
          : `stopped: ${run.status}`
    return yield* new SteerNotRunning({ message: `swarm ${path.basename(runDir)} is not running: ${why}` })
  }
  if (!(yield* fs.exists(controlDirOf(runDir)).pipe(Effect.orElseSucceed(() => false)))) {
    return yield* new SteerNotRunning({
      message: `swarm ${path.basename(runDir)} was started by an oompa without steering (no control/ folder)`
    })
  }
  return run
})

/** Writes the request (temp file + rename) into the running swarm's control/ folder; returns its id. */
export const requestControl = Effect.fn("runs.requestControl")(function* (runDir: string, draft: ControlDraft) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const problem = draftProblem(draft)
  if (problem !== undefined) return yield* new SteerFailed({ message: problem })
  yield* requireRunning(runDir)
  const id = yield* newId
  const request: ControlRequest = {
    id,
    action: draft.action,
    ...(draft.worker !== undefined ? { worker: draft.worker } : {}),
    ...(draft.task !== undefined ? { task: draft.task } : {}),
    at: new Date().toISOString(),
    by: draft.by
  }
  const dir = controlDirOf(runDir)
  // Hidden and not ending in .json: the swarm never reads a half-written request.
  const temp = path.join(dir, `.${id}.json.tmp`)
  yield* Effect.gen(function* () {
    yield* fs.writeFileString(temp, JSON.stringify(encodeRequest(request), null, 2) + "\n")
    yield* fs.rename(temp, path.join(dir, `${id}.json`))
  }).pipe(
    Effect.mapError(
      (error) =>
        new SteerFailed({
          message:
            error._tag === "SystemError" && error.reason === "PermissionDenied"
              ? `cannot write ${dir}: only the user who started the swarm may steer it`
              : `cannot write the request into ${dir}: ${error.message}`
        })
    )
  )
  return id
})

/**
 * Waits for the swarm's answer to request `id`, woken by a watch on
 * control/done/ and the run folder (no polling). Fails when the swarm stops
 * without answering, or after `timeout`.
 */
export const awaitControlAnswer = (runDir: string, id: string, timeout: Duration.DurationInput = ANSWER_LIMIT) =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const answerPath = path.join(controlDoneDirOf(runDir), `${id}.json`)
      const wake = yield* watchDirs([controlDoneDirOf(runDir), runDir]).pipe(
        Effect.mapError((error) => new SteerFailed({ message: error.message }))
      )
      for (;;) {
        const text = yield* fs.readFileString(answerPath).pipe(Effect.option)
        const done = Option.flatMap(text, decodeDone)
        if (Option.isSome(done)) return done.value
        if (yield* fs.exists(path.join(runDir, "stopped.json")).pipe(Effect.orElseSucceed(() => false))) {
          // It may have answered just before it stopped.
          const last = Option.flatMap(yield* fs.readFileString(answerPath).pipe(Effect.option), decodeDone)
          if (Option.isSome(last)) return last.value
          return yield* new SteerFailed({ message: `swarm ${path.basename(runDir)} stopped before it answered the request` })
        }
        yield* Queue.take(wake)
      }
    })
  ).pipe(
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => new SteerFailed({ message: `the swarm did not answer within ${Duration.format(Duration.decode(timeout))}` })
    })
  )

/** Writes a request and waits for its answer. An answer that says ok:false is returned, not failed: the caller decides. */
export const steerRun = (runDir: string, draft: ControlDraft, timeout: Duration.DurationInput = ANSWER_LIMIT) =>
  Effect.gen(function* () {
    // Watching before writing is not needed: the answer is a file, checked before every wait.
    const id = yield* requestControl(runDir, draft)
    return yield* awaitControlAnswer(runDir, id, timeout)
  })
