import { Effect, Option } from "effect"
import type { QueuedTask } from "../../domain/queue.js"
import { listRuns, readReviews, selectRun, totalsOf, workerSummaries, type RunInfo } from "../../runs/readRuns.js"
import { Git } from "../../services/Git.js"
import { makeTaskQueue } from "../../services/TaskQueue.js"

/**
 * What the dashboard's JSON routes answer about runs: read from the run files
 * (SPEC §11) through src/runs/readRuns.ts, so every page works for a finished
 * run and with no swarm running. The queue board is the queue folder as it is
 * now (the run files do not keep its history).
 */

/** One line of the list of runs. */
export const runSummary = (run: RunInfo) => {
  const started = Option.getOrUndefined(run.started)
  const stopped = Option.getOrUndefined(run.stopped)
  return {
    id: run.id,
    status: run.status,
    startedAt: started?.startedAt,
    stoppedAt: stopped?.stoppedAt,
    targetBranch: started?.targetBranch,
    workers: started?.workers.length ?? 0,
    ...totalsOf(run.cycles)
  }
}

/** Every run of the repository, newest first. */
export const runList = (runsDir: string) => listRuns(runsDir).pipe(Effect.map((runs) => runs.map(runSummary)))

/** The run with this exact id (no prefixes in URLs), or None. */
export const findRun = (runsDir: string, id: string) =>
  listRuns(runsDir).pipe(
    Effect.flatMap((runs) => selectRun(runs, Option.some(id))),
    Effect.map((run) => (run.id === id ? Option.some(run) : Option.none<RunInfo>())),
    Effect.orElseSucceed(() => Option.none<RunInfo>())
  )

const boardCard = (entry: QueuedTask) => ({
  id: entry.id,
  summary: entry.task.summary,
  dependsOn: entry.task.depends_on ?? [],
  claimedBy: entry.task.claimed_by,
  completedBy: entry.task.completed_by,
  mergedCommit: entry.task.merged_commit,
  attempts: entry.task.attempts?.length ?? 0
})

/** The queue as a board: pending / in progress / complete / invalid. An unreadable queue is an empty board with the reason. */
export const queueBoard = (tasksDir: string) =>
  Effect.gen(function* () {
    const queue = yield* makeTaskQueue(tasksDir)
    return yield* queue.list.pipe(
      Effect.map((listing) => ({
        dir: tasksDir,
        pending: listing.pending.map(boardCard),
        current: listing.current.map(boardCard),
        complete: listing.complete.map(boardCard),
        invalid: listing.invalid.map((file) => ({ name: file.name, reason: file.reason })),
        problem: undefined as string | undefined
      })),
      Effect.orElseSucceed(() => ({ dir: tasksDir, pending: [], current: [], complete: [], invalid: [], problem: `cannot read ${tasksDir}` }))
    )
  })

/** The commits the run merged, each with its subject line (read with git: the run files hold the ids). */
export const mergedCommits = (root: string, run: RunInfo) =>
  Effect.gen(function* () {
    const git = yield* Git
    const merged = run.cycles.filter((c) => c.mergedCommit !== undefined)
    const subjects = new Map<string, string>()
    if (merged.length > 0) {
      const shown = yield* git
        .run(root, ["show", "--no-patch", "--format=%H %s", ...merged.map((c) => c.mergedCommit!)], { okExitCodes: [0, 128] })
        .pipe(Effect.orElseSucceed(() => ({ stdout: "" })))
      for (const line of shown.stdout.split("\n")) {
        const space = line.indexOf(" ")
        if (space > 0) subjects.set(line.slice(0, space), line.slice(space + 1))
      }
    }
    return merged.map((c) => ({
      worker: c.worker,
      cycle: c.cycle,
      commit: c.mergedCommit!,
      subject: subjects.get(c.mergedCommit!),
      claims: c.claims,
      endedAt: c.endedAt
    }))
  })

/** Everything the overview of one run shows beside its live events. */
export const runDetail = (root: string, run: RunInfo) =>
  Effect.gen(function* () {
    const { reviews, problems } = yield* readReviews(run)
    const started = Option.getOrUndefined(run.started)
    return {
      ...runSummary(run),
      started: started === undefined ? undefined : { ...started, config: undefined },
      stopped: Option.getOrUndefined(run.stopped),
      summaries: workerSummaries(run),
      cycles: run.cycles,
      reviews,
      queue: started === undefined ? undefined : yield* queueBoard(started.tasksDir),
      merged: yield* mergedCommits(root, run),
      problems: [...run.problems, ...problems]
    }
  })
