import { Command } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import { Console, Duration, Effect, Option, Queue, Schema } from "effect"
import { UsageError } from "../domain/errors.js"
import { StoppedFile } from "../domain/RunFiles.js"
import { findRuns, listRuns, RunNotFound, selectRun, type RunInfo } from "../runs/readRuns.js"
import { watchDirs } from "../services/watchDirs.js"
import { swarmArg } from "./view.js"
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

const pickRun = (runs: ReadonlyArray<RunInfo>, wanted: Option.Option<string>) =>
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

/**
 * `oompa stop [swarm]` (SPEC §10): SIGINT to the swarm's process (as Ctrl-C
 * would), then wait, woken by a watch on the run folder, until its
 * stopped.json appears (60 s at most) and print the reason.
 */
export const stopCommand = Command.make("stop", { swarm: swarmArg }, ({ swarm }) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const { runsDir } = yield* findRuns(process.cwd())
    const run = yield* pickRun(yield* listRuns(runsDir), swarm)
    if (Option.isNone(run.started)) return yield* new UsageError({ message: `swarm ${run.id} has no started.json` })
    const pid = run.started.value.pid
    const stoppedPath = path.join(run.dir, "stopped.json")
    // Watch first, then signal: the stopped.json rename cannot slip between the two.
    const wake = yield* watchDirs([run.dir]).pipe(Effect.mapError((e) => new UsageError({ message: e.message })))
    yield* Effect.try({
      try: () => process.kill(pid, "SIGINT"),
      catch: (error) => new SignalFailed({ swarm: run.id, pid, reason: String(error) })
    })
    yield* Console.log(`sent SIGINT to swarm ${run.id} (pid ${pid}); waiting for it to stop…`)
    const stopped = yield* Effect.gen(function* () {
      for (;;) {
        const text = yield* fs.readFileString(stoppedPath).pipe(Effect.option)
        const decoded = Option.flatMap(text, decodeStopped)
        if (Option.isSome(decoded)) return decoded.value
        yield* Queue.take(wake)
      }
    }).pipe(Effect.timeoutFail({ duration: STOP_LIMIT, onTimeout: () => new StopTimeout({ swarm: run.id, pid }) }))
    yield* Console.log(
      `swarm ${run.id} stopped: ${stopped.reason} (exit ${stopped.exitCode})${stopped.detail === undefined ? "" : `: ${stopped.detail.split("\n")[0]}`}`
    )
  }).pipe(Effect.scoped)
).pipe(Command.withDescription("Stop a running swarm (SIGINT, as Ctrl-C) and wait for it to finish"))
