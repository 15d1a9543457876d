import * as os from "node:os"
import { FileSystem, Path } from "@effect/platform"
import { DateTime, Effect, Either, Option, ParseResult, Schema } from "effect"
import {
  ReviewFile,
  RunEventLine,
  StartedFile,
  StoppedFile,
  type CycleFile,
  type RunProblem,
  type RunStatus,
  type RunTotals,
  type WorkerSummary
} from "../domain/RunFiles.js"
import { processAlive } from "../services/processTree.js"
import { Git } from "../services/Git.js"
import { readCycleFiles, summarizeWorkers } from "./summaries.js"
import { humanDuration } from "../domain/humanDuration.js"
import { terminalLine } from "../domain/RunEvent.js"
import { runsDirOf } from "../domain/naming.js"

/**
 * The reader of the run files of SPEC §11 (`.oompa/runs/<swarm>/`), for
 * `list`, `view`, `logs`, `stop` and `cleanup`. It reads only those files:
 * each is decoded with the Schema it was written with, and a file that does
 * not decode is reported as a `RunProblem` beside the rest, never a crash.
 */

// ---------------------------------------------------------------------------
// Errors (exit code 2: bad input)

/** The current folder is not inside a git repository, so there is no runs folder to read. */
export class NotInRepository extends Schema.TaggedError<NotInRepository>()("NotInRepository", {
  cwd: Schema.String
}) {
  get exitCode() {
    return 2
  }
  override get message(): string {
    return `${this.cwd} is not inside a git repository: oompa keeps its runs under <git toplevel>/.oompa/runs`
  }
  override toString() {
    return this.message
  }
}

/** No run matches what the user asked for (unknown id, ambiguous prefix, nothing running, no runs at all). */
export class RunNotFound extends Schema.TaggedError<RunNotFound>()("RunNotFound", {
  message: Schema.String
}) {
  get exitCode() {
    return 2
  }
  override toString() {
    return this.message
  }
}

// ---------------------------------------------------------------------------
// Data

// RunProblem, RunStatus and RunTotals are Schemas of domain/RunFiles.ts (`oompa list --json` prints them).
export type { RunProblem, RunStatus, RunTotals }

export interface RunInfo {
  readonly id: string
  readonly dir: string
  readonly started: Option.Option<StartedFile>
  readonly stopped: Option.Option<StoppedFile>
  readonly status: RunStatus
  /** Ordered by worker (as in started.json), then cycle. */
  readonly cycles: ReadonlyArray<CycleFile>
  readonly problems: ReadonlyArray<RunProblem>
  /** started.json's startedAt, else the folder's modification time (ms since the epoch); for ordering. */
  readonly sortKey: number
}

export interface RunsLocation {
  readonly root: string
  readonly runsDir: string
}

// ---------------------------------------------------------------------------
// Reading

const formatParseError = (error: ParseResult.ParseError): string =>
  ParseResult.TreeFormatter.formatErrorSync(error).split("\n").slice(0, 6).join("\n")

/** Finds `<git toplevel>/.oompa/runs` from `cwd` through the Git service. */
export const findRuns = Effect.fn("runs.findRuns")(function* (cwd: string) {
  const git = yield* Git
  const root = yield* git.toplevel(cwd).pipe(Effect.mapError(() => new NotInRepository({ cwd })))
  return { root, runsDir: runsDirOf(root) } satisfies RunsLocation
})

const isNotFound = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "reason" in error && error.reason === "NotFound"

/**
 * Reads and decodes one JSON run file: `None` when it does not exist, a
 * problem when it cannot be read or decoded.
 */
const readJsonFile = <A, I>(schema: Schema.Schema<A, I>, dir: string, relative: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const text = yield* Effect.either(fs.readFileString(path.join(dir, relative)))
    if (Either.isLeft(text)) {
      if (isNotFound(text.left)) return { value: Option.none<A>(), problem: Option.none<RunProblem>() }
      return { value: Option.none<A>(), problem: Option.some<RunProblem>({ file: relative, message: text.left.message }) }
    }
    const decoded = Schema.decodeUnknownEither(Schema.parseJson(schema))(text.right)
    if (Either.isLeft(decoded)) {
      return {
        value: Option.none<A>(),
        problem: Option.some<RunProblem>({ file: relative, message: formatParseError(decoded.left) })
      }
    }
    return { value: Option.some(decoded.right), problem: Option.none<RunProblem>() }
  })

const statusOf = (started: Option.Option<StartedFile>, stopped: Option.Option<StoppedFile>): RunStatus => {
  if (Option.isSome(stopped)) return stopped.value.reason
  if (Option.isNone(started)) return "starting"
  if (started.value.host !== os.hostname()) return "running"
  return processAlive(started.value.pid) ? "running" : "crashed"
}

const isoMillis = (iso: string): number | undefined =>
  Option.getOrUndefined(Option.map(DateTime.make(iso), DateTime.toEpochMillis))

/** Reads one run folder: started.json, stopped.json, every cycles/*.json. */
export const readRun = Effect.fn("runs.readRun")(function* (dir: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const problems: Array<RunProblem> = []
  const started = yield* readJsonFile(StartedFile, dir, "started.json")
  const stopped = yield* readJsonFile(StoppedFile, dir, "stopped.json")
  for (const problem of [started.problem, stopped.problem]) if (Option.isSome(problem)) problems.push(problem.value)

  const read = yield* readCycleFiles(dir)
  const cycles = [...read.cycles]
  problems.push(...read.problems)
  const workerOrder = Option.match(started.value, {
    onNone: () => [] as Array<string>,
    onSome: (s) => s.workers.map((w) => w.id)
  })
  const rank = (worker: string) => {
    const index = workerOrder.indexOf(worker)
    return index === -1 ? workerOrder.length : index
  }
  cycles.sort((a, b) => rank(a.worker) - rank(b.worker) || a.worker.localeCompare(b.worker) || a.cycle - b.cycle)

  const fromStarted = Option.flatMap(started.value, (s) => Option.fromNullable(isoMillis(s.startedAt)))
  const sortKey = Option.isSome(fromStarted)
    ? fromStarted.value
    : yield* fs.stat(dir).pipe(
        Effect.map((info) => Option.getOrElse(Option.map(info.mtime, (d) => d.getTime()), () => 0)),
        Effect.orElseSucceed(() => 0)
      )
  return {
    id: path.basename(dir),
    dir,
    started: started.value,
    stopped: stopped.value,
    status: statusOf(started.value, stopped.value),
    cycles,
    problems,
    sortKey
  } satisfies RunInfo
})

/** Every run under `runsDir`, newest first. No runs folder: no runs. */
export const listRuns = Effect.fn("runs.listRuns")(function* (runsDir: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const names = yield* fs.readDirectory(runsDir).pipe(Effect.orElseSucceed(() => [] as Array<string>))
  const runs: Array<RunInfo> = []
  for (const name of names) {
    // Hidden: a run folder still being created (RunLog's staging name).
    if (name.startsWith(".")) continue
    const dir = path.join(runsDir, name)
    const isDir = yield* fs.stat(dir).pipe(
      Effect.map((info) => info.type === "Directory"),
      Effect.orElseSucceed(() => false)
    )
    if (isDir) runs.push(yield* readRun(dir))
  }
  return runs.sort((a, b) => b.sortKey - a.sortKey || b.id.localeCompare(a.id))
})

/**
 * The run the user names: an exact id or a unique prefix of one; with no
 * name, the newest run. Unknown or ambiguous: `RunNotFound` naming the known ids.
 */
export const selectRun = (
  runs: ReadonlyArray<RunInfo>,
  wanted: Option.Option<string>
): Effect.Effect<RunInfo, RunNotFound> => {
  if (runs.length === 0) return Effect.fail(new RunNotFound({ message: "No runs yet" }))
  if (Option.isNone(wanted)) return Effect.succeed(runs[0]!)
  const exact = runs.find((run) => run.id === wanted.value)
  if (exact !== undefined) return Effect.succeed(exact)
  const matches = wanted.value === "" ? [] : runs.filter((run) => run.id.startsWith(wanted.value))
  if (matches.length === 1) return Effect.succeed(matches[0]!)
  const known = (matches.length > 1 ? matches : runs).map((run) => run.id).join(", ")
  return Effect.fail(
    new RunNotFound({
      message:
        matches.length > 1
          ? `${JSON.stringify(wanted.value)} matches several runs: ${known}`
          : `no run ${JSON.stringify(wanted.value)}; known runs: ${known}`
    })
  )
}

/** One line of events.jsonl decoded, or the problem with it. */
export const decodeEventLines = (
  text: string,
  firstLine = 1
): { readonly events: ReadonlyArray<RunEventLine>; readonly problems: ReadonlyArray<RunProblem> } => {
  const events: Array<RunEventLine> = []
  const problems: Array<RunProblem> = []
  const decode = Schema.decodeUnknownEither(Schema.parseJson(RunEventLine))
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return
    const decoded = decode(line)
    if (Either.isRight(decoded)) events.push(decoded.right)
    else problems.push({ file: `events.jsonl:${firstLine + index}`, message: formatParseError(decoded.left) })
  })
  return { events, problems }
}

/** All of a run's events. A missing events.jsonl is no events. */
export const readEvents = Effect.fn("runs.readEvents")(function* (dir: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const text = yield* Effect.either(fs.readFileString(path.join(dir, "events.jsonl")))
  if (Either.isLeft(text)) {
    if (isNotFound(text.left)) return { events: [] as ReadonlyArray<RunEventLine>, problems: [] as ReadonlyArray<RunProblem> }
    return { events: [] as ReadonlyArray<RunEventLine>, problems: [{ file: "events.jsonl", message: text.left.message }] }
  }
  return decodeEventLines(text.right)
})

// ---------------------------------------------------------------------------
// Derived figures

/** Sums over the cycle files. */
export const totalsOf = (cycles: ReadonlyArray<CycleFile>): RunTotals =>
  cycles.reduce(
    (acc, c) => ({
      cycles: acc.cycles + 1,
      merged: acc.merged + (c.outcome === "merged" ? 1 : 0),
      inputTokens: acc.inputTokens + c.usage.inputTokens,
      outputTokens: acc.outputTokens + c.usage.outputTokens,
      costUsd: acc.costUsd + (c.costUsd ?? 0),
      ...(acc.costEstimated === true || c.costEstimated === true ? { costEstimated: true } : {})
    }),
    { cycles: 0, merged: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 } as RunTotals
  )

/**
 * The per-worker summary, computed from the cycle files (SPEC §11: the files
 * are the truth) by the same function the swarm used for its summary table and
 * stopped.json, so they agree. stopped.json gives only what no cycle file
 * holds: each worker's stop reason and running time; without it (running or
 * crashed) the stop reason is the run's status and the time the sum of its cycles.
 * Every worker of started.json is listed (idle ones too), the planner first when it ran.
 */
export const workerSummaries = (run: RunInfo): ReadonlyArray<WorkerSummary> => {
  const stopped = Option.match(run.stopped, { onNone: () => [] as ReadonlyArray<WorkerSummary>, onSome: (s) => s.workers })
  const declared = [
    ...stopped.map((w) => ({ id: w.id, model: w.model })),
    ...Option.match(run.started, { onNone: () => [], onSome: (s) => s.workers })
  ].filter((w, i, all) => all.findIndex((o) => o.id === w.id) === i)
  return summarizeWorkers(declared, run.cycles, (id, own) => {
    const recorded = stopped.find((w) => w.id === id)
    return recorded !== undefined
      ? { stopReason: recorded.stopReason, durationMs: recorded.durationMs }
      : { stopReason: run.status, durationMs: own.reduce((n, c) => n + c.durationMs, 0) }
  })
}

/** `reviews/*.json` of a run: every reviewer attempt, ordered by worker, cycle, round, attempt. */
export const readReviews = Effect.fn("runs.readReviews")(function* (run: RunInfo) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const names = yield* fs.readDirectory(path.join(run.dir, "reviews")).pipe(Effect.orElseSucceed(() => [] as Array<string>))
  const reviews: Array<ReviewFile> = []
  const problems: Array<RunProblem> = []
  for (const name of names.filter((n) => n.endsWith(".json"))) {
    const review = yield* readJsonFile(ReviewFile, run.dir, `reviews/${name}`)
    if (Option.isSome(review.value)) reviews.push(review.value.value)
    if (Option.isSome(review.problem)) problems.push(review.problem.value)
  }
  const workerOrder = run.cycles.map((c) => c.worker)
  const rank = (worker: string) => {
    const index = workerOrder.indexOf(worker)
    return index === -1 ? workerOrder.length : index
  }
  reviews.sort(
    (a, b) =>
      rank(a.worker) - rank(b.worker) ||
      a.worker.localeCompare(b.worker) ||
      a.cycle - b.cycle ||
      a.round - b.round ||
      a.attempt - b.attempt
  )
  return { reviews, problems } as { readonly reviews: ReadonlyArray<ReviewFile>; readonly problems: ReadonlyArray<RunProblem> }
})

// ---------------------------------------------------------------------------
// Formatting helpers shared by the commands

const pad2 = (n: number) => String(n).padStart(2, "0")

/** An ISO timestamp as local `YYYY-MM-DD HH:MM:SS` (the text itself when it does not parse). */
export const localDateTime = (iso: string): string =>
  Option.match(DateTime.make(iso), {
    onNone: () => iso,
    onSome: (dt) => {
      const p = DateTime.toParts(DateTime.setZone(dt, DateTime.zoneMakeLocal()))
      return `${p.year}-${pad2(p.month)}-${pad2(p.day)} ${pad2(p.hours)}:${pad2(p.minutes)}:${pad2(p.seconds)}`
    }
  })

/** An ISO timestamp as local `HH:MM:SS`. */
export const localTime = (iso: string): string => localDateTime(iso).split(" ")[1] ?? iso

export const formatDuration = (ms: number): string => humanDuration(ms)

/** `$0.0123`; `~$0.0123` when part of it was estimated from the price table (docs/budgets.md). */
export const formatCost = (usd: number, estimated?: boolean): string => `${estimated === true ? "~" : ""}$${usd.toFixed(4)}`

/** The terminal line of an event, as the swarm printed it, with the local time in front. */
export const formatEvent = (event: RunEventLine): string => `${localTime(event.at)} ${terminalLine(event)}`

/** Left-aligned columns, two spaces apart. */
export const formatTable = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths: Array<number> = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n")
}

export const describeProblems = (run: RunInfo, problems: ReadonlyArray<RunProblem> = run.problems): ReadonlyArray<string> =>
  problems.map((p) => `warning: run ${run.id}: ${p.file} does not decode: ${shortMessage(p.message)}`)

/** A problem with its message as the warning prints it (for the `problems` of `--json`). */
export const cappedProblem = (p: RunProblem): RunProblem => ({ file: p.file, message: shortMessage(p.message) })

/** A problem's message on one line, at most 300 characters (a huge garbage line must not be echoed back). */
const shortMessage = (message: string): string => {
  const line = message.replace(/\s*\n\s*/g, " ")
  return line.length > 300 ? `${line.slice(0, 300)}… (${line.length} characters)` : line
}
