import { Path } from "@effect/platform"
import { Console, Effect, Either, Logger, LogLevel, Option, Schema } from "effect"
import { discoverConfig } from "../config/loadConfig.js"
import { displayPath } from "../config/includes.js"
import { ConfigError, UsageError } from "../domain/errors.js"
import { loadSwarmConfig } from "../engine/loadConfig.js"
import { tasksDirProblem } from "../engine/tasksDir.js"
import { availableTasks, countsOf, missingDependencies, nextTaskId, oneLine } from "../domain/queue.js"
import type { QueueListing, QueuedTask } from "../domain/queue.js"
import { TasksJson } from "../domain/JsonOutput.js"
import { TaskId, type Task } from "../domain/Task.js"
import { parseTaskFileName } from "../domain/taskFile.js"
import { makeTaskQueue, TaskExistsError, type InvalidPendingFile, type TaskQueue } from "../services/TaskQueue.js"
import { printJson } from "./json.js"
import { findRuns, listRuns, type RunInfo } from "../runs/readRuns.js"
import { SteerFailed, steerRun } from "../runs/control.js"

/**
 * `oompa tasks` (SPEC §10): the queue's counts and lists, `tasks add`, and
 * `tasks requeue`. The queue folder comes from oompa.json (`tasks_dir`); with
 * no oompa.json found, it is `./tasks`. Thin: everything happens in TaskQueue.
 */


/** The queue root as the user would type it: relative to the current folder when inside it. */
const displayRoot = (root: string): string => {
  const cwd = process.cwd()
  return root.startsWith(cwd + "/") ? root.slice(cwd.length + 1) : root
}

/**
 * The queue for this invocation: `tasks_dir` of the config, or ./tasks when there is no config.
 * Opening it moves nothing: only `oompa tasks quarantine` (and a swarm) moves files to invalid/.
 */
const openQueue = (config: Option.Option<string>) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const cwd = process.cwd()
    const configPath = Option.isSome(config)
      ? config.value
      : Option.getOrUndefined(yield* Effect.option(discoverConfig({ cwd })))
    const loaded = configPath === undefined ? undefined : yield* loadSwarmConfig({ cwd, configPath })
    const tasksDir = loaded === undefined ? path.resolve(cwd, "tasks") : loaded.tasksDir
    // The same check swarm and check make, so a bad folder is exit 2 with its fix, before anything is written.
    const field = loaded === undefined ? `"tasks_dir" (in an oompa.json given with --config)` : `"tasks_dir"`
    const problem = yield* tasksDirProblem(tasksDir, displayRoot, field)
    if (problem !== undefined) {
      return yield* loaded === undefined
        ? new UsageError({ message: `no oompa.json found, so the queue is ./tasks, but ${problem}` })
        : new ConfigError({ file: displayPath(path, loaded.configPath, loaded.projectRoot), path: "tasks_dir", message: problem })
    }
    return yield* makeTaskQueue(tasksDir)
  })

/** Tells the user (on stderr, not through the log) of pending files that are no task, left where they are. */
const noteInvalid = (queue: TaskQueue) =>
  Effect.gen(function* () {
    for (const found of yield* queue.findInvalid) {
      yield* Console.error(
        `note: ${displayRoot(found.file)} is no task (left where it is; \`oompa tasks quarantine\` or the next swarm moves it to invalid/): ${found.reason}`
      )
    }
  })

/** The queue's own diagnostics go to the log; this command reports to the user itself. */
const quietLog = <A, E, R>(effect: Effect.Effect<A, E, R>) => Logger.withMinimumLogLevel(effect, LogLevel.Error)


const taskLine = (entry: QueuedTask, extra: string): string => {
  const summary = entry.task.summary ?? entry.task.description
  return `  ${entry.id}${summary === undefined ? "" : `  ${oneLine(summary, 100)}`}${extra}`
}

/** `  [tried 2×, last: rejected in w0-c3]` for a task put back after failed cycles. */
const triedNote = (entry: QueuedTask): string => {
  const attempts = entry.task.attempts ?? []
  const last = attempts[attempts.length - 1]
  return last === undefined ? "" : `  [tried ${attempts.length}×, last: ${last.outcome} in ${last.cycle}]`
}

export const formatListing = (root: string, listing: QueueListing): string => {
  const counts = countsOf(listing)
  const completeIds = new Set<string>(listing.complete.map((entry) => entry.id))
  const available = new Set<string>(availableTasks(listing).map((entry) => entry.id))
  const lines: Array<string> = [
    `Task queue ${displayRoot(root)}: ${counts.pending} pending (${counts.available} available), ` +
      `${counts.current} in progress, ${counts.complete} complete, ${counts.invalid} invalid`
  ]
  const section = (title: string, rows: ReadonlyArray<string>) => {
    if (rows.length === 0) return
    lines.push("", `${title}:`, ...rows)
  }
  section(
    "pending",
    listing.pending.map((entry) =>
      taskLine(
        entry,
        (available.has(entry.id) ? "" : `  [waits on ${missingDependencies(entry.task, completeIds).join(", ")}]`) +
          triedNote(entry)
      )
    )
  )
  section(
    "current",
    listing.current.map((entry) =>
      taskLine(entry, entry.task.claimed_by === undefined ? "" : `  [claimed by ${entry.task.claimed_by}]`)
    )
  )
  section(
    "complete",
    listing.complete.map((entry) =>
      taskLine(entry, entry.task.merged_commit === undefined ? "" : `  [merged ${entry.task.merged_commit.slice(0, 12)}]`)
    )
  )
  section(
    "invalid",
    listing.invalid.map((file) => `  ${file.name}${file.reason === undefined ? "" : `  ${oneLine(file.reason, 160)}`}`)
  )
  return lines.join("\n")
}

// ---- oompa tasks ------------------------------------------------------------

/** The listing as `oompa tasks --json` prints it: the same facts as formatListing, and the pending files that are no task. */
const tasksJson = (root: string, listing: QueueListing, notTasks: ReadonlyArray<InvalidPendingFile>): TasksJson => {
  const completeIds = new Set<string>(listing.complete.map((entry) => entry.id))
  const queued = (entry: QueuedTask) => ({ id: entry.id, file: entry.file, task: entry.task })
  return {
    schema: "tasks.json@1",
    root,
    counts: countsOf(listing),
    pending: listing.pending.map((entry) => {
      const waitingOn = missingDependencies(entry.task, completeIds)
      return { ...queued(entry), available: waitingOn.length === 0, waitingOn }
    }),
    current: listing.current.map(queued),
    complete: listing.complete.map(queued),
    invalid: listing.invalid.map((file) => ({ name: file.name, file: file.file, reason: file.reason ?? null })),
    problems: notTasks.map((found) => ({ file: found.file, message: found.reason }))
  }
}

export const handleTasks = ({ config, json }: { readonly config: Option.Option<string>; readonly json: boolean }) =>
  Effect.gen(function* () {
    const queue = yield* openQueue(config)
    if (json) return yield* printJson(TasksJson, tasksJson(queue.root, yield* queue.list, yield* queue.findInvalid))
    yield* noteInvalid(queue)
    yield* Console.log(formatListing(queue.root, yield* queue.list))
  }).pipe(quietLog)

// ---- oompa tasks quarantine -------------------------------------------------------

/** The one `oompa tasks` command that moves files to invalid/: the swarm's quarantine step, run by hand. */
export const handleTasksQuarantine = ({ config }: { readonly config: Option.Option<string> }) =>
  Effect.gen(function* () {
    const queue = yield* openQueue(config)
    for (const moved of yield* queue.quarantineInvalid) {
      yield* Console.error(`note: moved an undecodable task file to ${displayRoot(moved.file)}: ${moved.why ?? moved.reason ?? ""}`)
    }
    yield* Console.log(formatListing(queue.root, yield* queue.list))
  }).pipe(quietLog)

// ---- oompa tasks add ----------------------------------------------------------


const decodeTaskId = Schema.decodeUnknownEither(TaskId)

const addTask = (queue: TaskQueue, fields: Omit<Task, "id">, id: Option.Option<string>) =>
  Effect.gen(function* () {
    if (Option.isSome(id)) {
      const decoded = decodeTaskId(id.value)
      if (Either.isLeft(decoded)) {
        return yield* new UsageError({
          message: `--id ${JSON.stringify(id.value)}: a task id uses only letters, digits, ".", "_" and "-" (and is not "." or "..")`
        })
      }
      return yield* queue.add({ ...fields, id: decoded.right })
    }
    // A generated id can lose a race with another writer: pick the next one and retry.
    for (let attempt = 0; ; attempt++) {
      const listing = yield* queue.list
      const stems = [
        ...[...listing.pending, ...listing.current, ...listing.complete].map((entry) => entry.id),
        // A pending file that is no task still holds its name.
        ...[...listing.invalid, ...(yield* queue.findInvalid)].flatMap((file) => {
          const name = parseTaskFileName(file.name)
          return name === undefined ? [] : [name.stem]
        })
      ]
      const generated = TaskId.make(nextTaskId(stems))
      const added = yield* Effect.either(queue.add({ ...fields, id: generated }))
      if (Either.isRight(added)) return added.right
      if (!(added.left instanceof TaskExistsError) || attempt >= 5) return yield* added.left
    }
  })

export const handleTasksAdd = ({ config, summary, description, files, id }: {
  readonly config: Option.Option<string>
  readonly summary: string
  readonly description: Option.Option<string>
  readonly files: Option.Option<string>
  readonly id: Option.Option<string>
}) =>
    Effect.gen(function* () {
      const queue = yield* openQueue(config)
      const fileList = Option.map(files, (text) =>
        text
          .split(",")
          .map((file) => file.trim())
          .filter((file) => file.length > 0)
      )
      const fields: Omit<Task, "id"> = {
        summary,
        ...(Option.isSome(description) ? { description: description.value } : {}),
        ...(Option.isSome(fileList) && fileList.value.length > 0 ? { files: fileList.value } : {})
      }
      const added = yield* addTask(queue, fields, id)
      yield* Console.log(added.id)
    }).pipe(quietLog)

// ---- oompa tasks requeue --------------------------------------------------------

/** The running swarm working on this queue, if one is (its requeues go through it: docs/steering.md). */
const runningSwarmOf = (queue: TaskQueue) =>
  Effect.gen(function* () {
    const location = yield* Effect.option(findRuns(process.cwd()))
    if (Option.isNone(location)) return Option.none<RunInfo>()
    const runs = yield* listRuns(location.value.runsDir).pipe(Effect.orElseSucceed(() => [] as ReadonlyArray<RunInfo>))
    return Option.fromNullable(
      runs.find((run) => run.status === "running" && Option.isSome(run.started) && run.started.value.tasksDir === queue.root)
    )
  })

/**
 * While a swarm runs on the queue, each named task is requeued by that swarm
 * (a steering request), so a task is never moved under a worker's feet.
 */
const requeueThroughSwarm = (run: RunInfo, ids: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    if (ids.length === 0) {
      return yield* new UsageError({
        message: `swarm ${run.id} is running on this queue: name the tasks to requeue (its workers put their own claims back)`
      })
    }
    const refused: Array<string> = []
    for (const id of new Set(ids)) {
      const answer = yield* steerRun(run.dir, { action: "requeue", task: id, by: "cli" })
      if (answer.ok) yield* Console.log(`swarm ${run.id}: ${answer.message}`)
      else refused.push(answer.message)
    }
    if (refused.length > 0) return yield* new SteerFailed({ message: `swarm ${run.id}: ${refused.join("; ")}` })
  })

export const handleTasksRequeue = ({ config, ids }: { readonly config: Option.Option<string>; readonly ids: ReadonlyArray<string> }) =>
  Effect.gen(function* () {
    const queue = yield* openQueue(config)
    const running = yield* runningSwarmOf(queue)
    if (Option.isSome(running)) return yield* requeueThroughSwarm(running.value, ids)
    const listing = yield* queue.list
    const current = new Set<string>(listing.current.map((entry) => entry.id))
    const finished = new Set<string>([
      ...listing.complete.map((entry) => entry.id),
      ...listing.invalid.flatMap((file) => {
        const parsed = parseTaskFileName(file.name)
        return parsed === undefined ? [] : [parsed.stem]
      })
    ])
    const wanted = ids.length === 0 ? [...current] : [...new Set(ids)]
    // Check every id before moving any, so a typo moves nothing.
    const unknown = wanted.filter((id) => !current.has(id) && !finished.has(id))
    if (unknown.length > 0) {
      const where = (id: string) =>
        listing.pending.some((entry) => entry.id === id) ? `${JSON.stringify(id)} (it is in pending/)` : `${JSON.stringify(id)} (no such task)`
      return yield* new UsageError({
        message: `not in progress, cannot requeue: ${unknown.map(where).join(", ")}`
      })
    }
    if (wanted.length === 0) {
      yield* Console.log("nothing to requeue: no task is in progress")
      return
    }
    const result = yield* queue.recycle(wanted.filter((id) => current.has(id)))
    const missing = [...result.missing]
    const moved: Array<string> = [...result.moved]
    for (const id of wanted.filter((id) => !current.has(id))) {
      const reopened = yield* queue.reopen(id)
      if (reopened._tag === "Reopened") moved.push(`${id} (from ${reopened.from}/)`)
      else missing.push(id)
    }
    if (moved.length > 0) yield* Console.log(`requeued ${moved.join(", ")}`)
    if (missing.length > 0) {
      return yield* new UsageError({ message: `not in progress, cannot requeue: ${missing.join(", ")}` })
    }
  }).pipe(quietLog)
