import { FileSystem, Path } from "@effect/platform"
import { Console, Duration, Effect, Option, Queue, Schema } from "effect"
import { UsageError } from "../domain/errors.js"
import { StoppedFile } from "../domain/RunFiles.js"
import { findRuns, listRuns, RunNotFound, selectRun, type RunInfo } from "../runs/readRuns.js"
import { watchDirs } from "../services/watchDirs.js"
import { controlDirOf } from "../domain/naming.js"
import { awaitControlAnswer, requestControl, SteerFailed, steerRun } from "../runs/control.js"
import type { ControlAction } from "../domain/Control.js"
import { humanDuration } from "../domain/humanDuration.js"

const STOP_LIMIT = Duration.seconds(60)

/** The swarm got SIGINT but wrote no stopped.json within the limit. */
export class StopTimeout extends Schema.TaggedError<StopTimeout>()("StopTimeout", {
  swarm: Schema.String,
  pid: Schema.Number
}) {
  override get message(): string {
    return `swarm ${this.swarm} (pid ${this.pid}) got SIGINT but has not written stopped.json within ${humanDuration(STOP_LIMIT)}; kill -INT ${this.pid} again to end its agents at once`
  }
  override toString() {
    return this.message
  }
}

/** The signal could not be sent (the process is not ours, or vanished). */
export class SignalFailed extends Schema.TaggedError<SignalFailed>()("SignalFailed", {
  swarm: Schema.String,
  pid: Schema.Number,
  reason: Schema.String
}) {
  override toString() {
    return `could not send SIGINT to swarm ${this.swarm} (pid ${this.pid}): ${this.reason}`
  }
}

const decodeStopped = Schema.decodeUnknownOption(Schema.parseJson(StoppedFile))

/** The run a steering command is about: the one named, else the only one running. */
export const pickRun = (runs: ReadonlyArray<RunInfo>, wanted: Option.Option<string>) =>
  Effect.gen(function* () {
    if (Option.isSome(wanted)) {
      const run = yield* selectRun(runs, wanted)
      if (run.status !== "running") {
        return yield* new UsageError({ message: `swarm ${run.id} is not running: ${run.status}` })
      }
      return run
    }
    const running = runs.filter((run) => run.status === "running")
    if (running.length === 1) return running[0]!
    return yield* new RunNotFound({
      message:
        running.length === 0
          ? "no swarm is running"
          : `several swarms are running, name one: ${running.map((run) => run.id).join(", ")}`
    })
  })

const waitForStopped = (runDir: string, wake: Queue.Dequeue<void>, swarm: string, pid: number) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const stoppedPath = path.join(runDir, "stopped.json")
    for (;;) {
      const text = yield* fs.readFileString(stoppedPath).pipe(Effect.option)
      const decoded = Option.flatMap(text, decodeStopped)
      if (Option.isSome(decoded)) return decoded.value
      yield* Queue.take(wake)
    }
  }).pipe(Effect.timeoutFail({ duration: STOP_LIMIT, onTimeout: () => new StopTimeout({ swarm, pid }) }))

const stoppedAlready = (runDir: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(`${runDir}/stopped.json`).pipe(Effect.orElseSucceed(() => false)))

/** Whether the run's swarm steers (its control/ folder exists); a run of an older oompa gets SIGINT. */
const steers = (runDir: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(controlDirOf(runDir)).pipe(Effect.orElseSucceed(() => false)))

/**
 * `oompa stop [swarm] [--worker w]` (SPEC §10, docs/steering.md): a `stop`
 * steering request (the same clean stop as Ctrl-C), then wait, woken by a
 * watch on the run folder, until its stopped.json appears (60 s at most) and
 * print the reason. `--worker` stops one worker after its cycle and waits for
 * the swarm's answer only. A run of an oompa without steering gets SIGINT.
 */
export const handleStop = ({ swarm, worker }: { readonly swarm: Option.Option<string>; readonly worker: Option.Option<string> }) =>
  Effect.gen(function* () {
    const { runsDir } = yield* findRuns(process.cwd())
    const run = yield* pickRun(yield* listRuns(runsDir), swarm)
    if (Option.isNone(run.started)) return yield* new UsageError({ message: `swarm ${run.id} has no started.json` })
    const pid = run.started.value.pid
    if (Option.isSome(worker)) {
      const answer = yield* steerRun(run.dir, { action: "stop-worker", worker: worker.value, by: "cli" })
      if (!answer.ok) return yield* new SteerFailed({ message: `swarm ${run.id}: ${answer.message}` })
      yield* Console.log(`swarm ${run.id}: ${answer.message}`)
      return
    }
    // Watch first, then ask: the stopped.json rename cannot slip between the two.
    const wake = yield* watchDirs([run.dir]).pipe(Effect.mapError((e) => new UsageError({ message: e.message })))
    const sigint = (why: string) =>
      Effect.try({
        try: () => process.kill(pid, "SIGINT"),
        catch: (error) => new SignalFailed({ swarm: run.id, pid, reason: String(error) })
      }).pipe(Effect.zipRight(Console.log(`${why}sent SIGINT to swarm ${run.id} (pid ${pid}); waiting for it to stop…`)))
    if (yield* steers(run.dir)) {
      const id = yield* requestControl(run.dir, { action: "stop", by: "cli" })
      const answer = yield* awaitControlAnswer(run.dir, id).pipe(Effect.either)
      if (answer._tag === "Right") {
        if (!answer.right.ok) return yield* new SteerFailed({ message: `swarm ${run.id}: ${answer.right.message}` })
        yield* Console.log(`swarm ${run.id}: ${answer.right.message}; waiting for it to stop…`)
      } else if (!(yield* stoppedAlready(run.dir))) {
        // A swarm that cannot answer (still recovering a crashed run, or stuck) is stopped as Ctrl-C would.
        yield* sigint(`${answer.left.message}: `)
      }
    } else {
      yield* sigint("")
    }
    const stopped = yield* waitForStopped(run.dir, wake, run.id, pid)
    yield* Console.log(
      `swarm ${run.id} stopped: ${stopped.reason} (exit ${stopped.exitCode})${stopped.detail === undefined ? "" : `: ${stopped.detail.split("\n")[0]}`}`
    )
  }).pipe(Effect.scoped)

/** `oompa pause|resume [swarm]`: one steering request, its answer printed. */
export const handleSteer =
  (action: ControlAction) =>
  ({ swarm }: { readonly swarm: Option.Option<string> }) =>
    Effect.gen(function* () {
      const { runsDir } = yield* findRuns(process.cwd())
      const run = yield* pickRun(yield* listRuns(runsDir), swarm)
      const answer = yield* steerRun(run.dir, { action, by: "cli" })
      if (!answer.ok) return yield* new SteerFailed({ message: `swarm ${run.id}: ${answer.message}` })
      yield* Console.log(`swarm ${run.id}: ${answer.message}`)
    })
