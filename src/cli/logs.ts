import { FileSystem, Path } from "@effect/platform"
import { Console, Effect, Option, Stream } from "effect"
import { UsageError } from "../domain/errors.js"
import type { RunEventLine } from "../domain/RunFiles.js"
import {
  decodeEventLines,
  describeProblems,
  findRuns,
  formatEvent,
  listRuns,
  selectRun,
  type RunInfo
} from "../runs/readRuns.js"
import { followEvents } from "../runs/followEvents.js"


/** Prints the raw log file `logs/<name>.log` of a run, streamed. */
const printTurnLog = (run: RunInfo, name: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const logsDir = path.join(run.dir, "logs")
    const file = path.join(logsDir, `${name}.log`)
    const exists = /^[A-Za-z0-9._-]+$/.test(name) && (yield* fs.exists(file).pipe(Effect.orElseSucceed(() => false)))
    if (!exists) {
      const known = (yield* fs.readDirectory(logsDir).pipe(Effect.orElseSucceed(() => [] as Array<string>)))
        .filter((n) => n.endsWith(".log"))
        .map((n) => n.slice(0, -".log".length))
        .sort()
      return yield* new UsageError({
        message: `run ${run.id} has no turn log ${JSON.stringify(name)}; ${
          known.length === 0 ? "it has no turn logs" : `its turn logs: ${known.join(", ")}`
        }`
      })
    }
    yield* fs.stream(file).pipe(
      Stream.runForEach((chunk) => Effect.sync(() => process.stdout.write(chunk))),
      Effect.orDie
    )
  })

/**
 * Prints events.jsonl from the start and, with `follow`, every line appended
 * after, until the run stops (src/runs/followEvents.ts).
 */
const printEvents = (run: RunInfo, worker: Option.Option<string>, follow: boolean) => {
  const show = (event: RunEventLine) => Option.isNone(worker) || event.worker === worker.value
  let line = 1
  // A crashed run (its process gone without stopped.json) will write nothing more.
  return followEvents(run.dir, { follow: follow && run.status !== "crashed" }).pipe(
    Stream.runForEach(({ text }) =>
      Effect.gen(function* () {
        const { events, problems } = decodeEventLines(text, line)
        line += 1
        for (const event of events) if (show(event)) yield* Console.log(formatEvent(event))
        for (const problem of describeProblems(run, problems)) yield* Console.error(problem)
      })
    ),
    Effect.catchAll((error) =>
      Effect.forEach(describeProblems(run, [{ file: "events.jsonl", message: error.message }]), (problem) => Console.error(problem))
    )
  )
}

/** `oompa logs [swarm] [--worker w0] [--follow] [--turn w0-c1-t2]` (SPEC §10). */
export const handleLogs = ({ follow, swarm, turn, worker }: {
  readonly swarm: Option.Option<string>
  readonly worker: Option.Option<string>
  readonly follow: boolean
  readonly turn: Option.Option<string>
}) =>
    Effect.gen(function* () {
      const { runsDir } = yield* findRuns(process.cwd())
      const run = yield* selectRun(yield* listRuns(runsDir), swarm)
      if (Option.isSome(turn)) return yield* printTurnLog(run, turn.value)
      if (Option.isSome(worker) && Option.isSome(run.started)) {
        const ids = [...run.started.value.workers.map((w) => w.id), "planner"]
        if (!ids.includes(worker.value)) {
          return yield* new UsageError({
            message: `run ${run.id} has no worker ${JSON.stringify(worker.value)}; its workers: ${ids.join(", ")}`
          })
        }
      }
      yield* printEvents(run, worker, follow)
    })
