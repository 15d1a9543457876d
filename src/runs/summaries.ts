import { FileSystem, Path } from "@effect/platform"
import { Effect, Either, ParseResult, Schema } from "effect"
import { countOutcome, failedOutcomes, noOutcomes } from "../domain/outcomeCounts.js"
import { CycleFile, type WorkerSummary } from "../domain/RunFiles.js"
import { addUsage, emptyUsage } from "../domain/Usage.js"

/**
 * The per-worker numbers of a run (SPEC §11), with one definition: they are
 * computed from the cycle records, the same ones written to
 * `cycles/<worker>-c<N>.json`. The swarm's summary table and stopped.json
 * (from the records it wrote), recovery's stopped.json of a crashed run and
 * `oompa view` (from the files) all go through `summarizeWorkers`, so they
 * cannot disagree — whatever ended a cycle, its record is the one count.
 * Only what is not in a cycle file comes from elsewhere: why the worker
 * stopped and how long it ran.
 */

export interface WorkerStatus {
  readonly stopReason: string
  readonly durationMs: number
}

/** One worker's summary from its cycle records (any order). */
export const summarizeWorker = (
  worker: { readonly id: string; readonly model: string },
  cycles: ReadonlyArray<CycleFile>,
  status: WorkerStatus
): WorkerSummary => {
  const own = cycles.filter((c) => c.worker === worker.id).sort((a, b) => a.cycle - b.cycle)
  const lastFailed = own.filter((c) => failedOutcomes.has(c.outcome)).at(-1)
  return {
    id: worker.id,
    model: worker.model,
    ...own.reduce((counts, c) => countOutcome(counts, c.outcome), noOutcomes),
    turns: own.reduce((n, c) => n + c.turns.length, 0),
    durationMs: status.durationMs,
    usage: own.reduce((u, c) => addUsage(u, c.usage), emptyUsage),
    costUsd: own.reduce((n, c) => n + (c.costUsd ?? 0), 0),
    ...(own.some((c) => c.costEstimated === true) ? { costEstimated: true } : {}),
    stopReason: status.stopReason,
    ...(lastFailed !== undefined ? { lastFailure: `c${lastFailed.cycle} ${lastFailed.outcome}: ${lastFailed.detail}` } : {})
  }
}

/**
 * Every worker's summary: the declared workers in order (idle ones included),
 * and any other worker that has cycle records — the planner first (it runs
 * before the others), the rest after.
 */
export const summarizeWorkers = (
  declared: ReadonlyArray<{ readonly id: string; readonly model: string }>,
  cycles: ReadonlyArray<CycleFile>,
  statusOf: (id: string, own: ReadonlyArray<CycleFile>) => WorkerStatus
): ReadonlyArray<WorkerSummary> => {
  const workers = [...declared]
  for (const cycle of cycles) {
    if (workers.some((w) => w.id === cycle.worker)) continue
    const found = { id: cycle.worker, model: cycle.model }
    if (cycle.worker === "planner") workers.unshift(found)
    else workers.push(found)
  }
  return workers.map((w) =>
    summarizeWorker(
      w,
      cycles,
      statusOf(
        w.id,
        cycles.filter((c) => c.worker === w.id)
      )
    )
  )
}

export interface CycleFileProblem {
  /** Path relative to the run folder. */
  readonly file: string
  readonly message: string
}

/**
 * Every `cycles/*.json` of a run folder, decoded with the Schema they were
 * written with; a file that cannot be read or decoded is a problem beside the
 * rest, never a failure. No cycles folder: no cycles.
 */
export const readCycleFiles = Effect.fn("runs.readCycleFiles")(function* (runDir: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const names = yield* fs.readDirectory(path.join(runDir, "cycles")).pipe(Effect.orElseSucceed(() => [] as Array<string>))
  const decode = Schema.decodeUnknownEither(Schema.parseJson(CycleFile))
  const cycles: Array<CycleFile> = []
  const problems: Array<CycleFileProblem> = []
  for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
    const file = `cycles/${name}`
    const text = yield* Effect.either(fs.readFileString(path.join(runDir, file)))
    if (Either.isLeft(text)) {
      // Gone between the listing and the read: not a problem, just not there.
      if (text.left._tag !== "SystemError" || text.left.reason !== "NotFound") problems.push({ file, message: text.left.message })
      continue
    }
    const decoded = decode(text.right)
    if (Either.isLeft(decoded)) {
      problems.push({ file, message: ParseResult.TreeFormatter.formatErrorSync(decoded.left).split("\n").slice(0, 6).join("\n") })
      continue
    }
    cycles.push(decoded.right)
  }
  return { cycles, problems } as { readonly cycles: ReadonlyArray<CycleFile>; readonly problems: ReadonlyArray<CycleFileProblem> }
})
