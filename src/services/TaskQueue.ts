import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Context, Duration, Effect, Layer, Option, Queue, Random, Ref, type Scope } from "effect"
import { ClaimResult, compareTaskIds, countsOf, availableTasks, missingDependencies } from "../domain/queue.js"
import type { InvalidTaskFile, MoveResult, QueueCounts, QueueListing, QueuedTask } from "../domain/queue.js"
import { taskAttempt, type Task, type TaskAttempt, type TaskId, type TaskState } from "../domain/Task.js"
import {
  decodeTaskFile,
  isTaskId,
  parseTaskFileName,
  parseTaskText,
  renderTaskJson,
  type TaskFileFormat
} from "../domain/taskFile.js"
import { ioError, TaskExistsError, TaskQueueIoError } from "./taskQueue/errors.js"
import { watchDirs } from "./watchDirs.js"

export { TaskExistsError, TaskQueueIoError } from "./taskQueue/errors.js"
export { ClaimResult } from "../domain/queue.js"
export type { InvalidTaskFile, MoveResult, QueueCounts, QueueListing, QueuedTask } from "../domain/queue.js"

/**
 * The task queue (SPEC §3): one folder shared by every worktree.
 *
 *   <root>/pending/<id>.json    unclaimed (0.6 `<id>.edn` files are read too)
 *   <root>/current/<id>.json    claimed, in progress
 *   <root>/complete/<id>.json   merged
 *   <root>/invalid/<file>       undecodable files, with <file>.reason.txt beside them
 *
 * Every state change is one atomic rename(2), so a task file is always in
 * exactly one folder and two claimers of one task cannot both win: the loser's
 * rename fails with ENOENT and it is told "already taken". Stamps are written
 * to a temp file in the same folder and renamed over the task file, so a
 * reader never sees half a file. Reading never moves a file: quarantine
 * (pending → invalid) is its own step, `quarantineInvalid`. Stamps edit the raw JSON object, so keys
 * agents add that `Task` does not know are preserved.
 *
 * Ids from agents (`CLAIM(../../x)`) are checked against the TaskId schema
 * before any path is built from them.
 */
export interface TaskQueue {
  /** Absolute path of the queue root. */
  readonly root: string
  /** Creates pending/, current/, complete/ and invalid/. */
  readonly ensureDirs: Effect.Effect<void, TaskQueueIoError>
  /**
   * Lists every folder, each sorted by id. A pure read: it moves nothing. A
   * pending file that does not decode is not in `pending` (it is no task);
   * `findInvalid` says which and why, `quarantineInvalid` moves them.
   */
  readonly list: Effect.Effect<QueueListing, TaskQueueIoError>
  /** The counts of `list` (a pure read too). */
  readonly counts: Effect.Effect<QueueCounts, TaskQueueIoError>
  /**
   * The pending files `quarantineInvalid` would move now, each with its
   * plain-words reason, without moving them (what `oompa tasks` shows).
   */
  readonly findInvalid: Effect.Effect<ReadonlyArray<InvalidPendingFile>, TaskQueueIoError>
  /**
   * The explicit quarantine step (SPEC §3): decodes every pending file and
   * moves the undecodable ones (bad JSON/EDN, bad or missing id, id ≠ file
   * stem, duplicate id, not a file, too large) to invalid/ with a
   * `<file>.reason.txt` beside them, telling `onQuarantine` of each. Returns
   * what it moved. A file that fails to decode but was modified within the
   * grace period is left alone this time (an agent may still be writing it).
   * The engine runs it where a swarm must sweep: at its start, before every
   * prompt's queue status, before every availability check of a waiting
   * executor, and at every cycle's end.
   */
  readonly quarantineInvalid: Effect.Effect<ReadonlyArray<InvalidTaskFile>, TaskQueueIoError>
  /**
   * Every file moved to invalid/ since the last call, by any
   * `quarantineInvalid`, oldest first, each with its plain-words reason in
   * `why`. Taking empties the list.
   */
  readonly takeQuarantined: Effect.Effect<ReadonlyArray<InvalidTaskFile>>
  /** Pending tasks whose `depends_on` are all complete: what agents are offered. */
  readonly available: Effect.Effect<ReadonlyArray<QueuedTask>, TaskQueueIoError>
  /** Claims each id for `owner` (pending → current, stamped). One result per id, in order. */
  readonly claim: (
    ids: ReadonlyArray<string>,
    owner: string
  ) => Effect.Effect<ReadonlyArray<ClaimResult>, TaskQueueIoError>
  /** current → complete, stamped with who merged it, when, the merge commit and review rounds. */
  readonly complete: (ids: ReadonlyArray<string>, stamp: CompleteStamp) => Effect.Effect<MoveResult, TaskQueueIoError>
  /**
   * current → pending, removing `claimed_by` / `claimed_at`. With `attempt`
   * (the cycle that held the tasks and did not merge them), it is appended to
   * each task's `attempts`, in the same temp file + rename as the other stamps.
   */
  readonly recycle: (
    ids: ReadonlyArray<string>,
    attempt?: TaskAttempt,
    /** Keys stamped too (a task whose budget was reached gets `budget_reached`). */
    fields?: Readonly<Record<string, unknown>>
  ) => Effect.Effect<MoveResult, TaskQueueIoError>
  /**
   * complete/ or invalid/ → pending/ (a steering `requeue`, `oompa tasks
   * requeue` of a finished task): a complete task loses its completion and
   * claim stamps; an invalid file (named `<id>.json` or `<id>.edn` in invalid/)
   * goes back as it is, its reason file removed — the next quarantine moves it
   * again if it still is no task. Says where the task was, or why it did not move.
   */
  readonly reopen: (id: string) => Effect.Effect<ReopenResult, TaskQueueIoError>
  /** Merges `fields` into the task file of `id` in `state` (temp file + rename). False when there is no such file. */
  readonly annotate: (
    id: string,
    state: "pending" | "current" | "complete",
    fields: Readonly<Record<string, unknown>>
  ) => Effect.Effect<boolean, TaskQueueIoError>
  /** Writes a new pending task; refuses an id that exists anywhere in the queue. */
  readonly add: (task: Task) => Effect.Effect<QueuedTask, TaskQueueIoError | TaskExistsError>
  /**
   * Completes as soon as `available` is non-empty: checks first, then waits on
   * a filesystem watch of pending/ and complete/ (no polling). Returns false
   * when `timeout` passes first.
   */
  readonly awaitAvailable: (timeout: Duration.DurationInput) => Effect.Effect<boolean, TaskQueueIoError>
  /**
   * A wake-up queue that receives an item whenever pending/ or complete/
   * changes, for the life of the scope. Register first, then check, then take.
   */
  readonly watch: Effect.Effect<Queue.Dequeue<void>, TaskQueueIoError, Scope.Scope>
}

/** A pending file that is no task, found by `findInvalid` and left where it is. */
export interface InvalidPendingFile {
  /** Its name in pending/. */
  readonly name: string
  readonly file: string
  /** Why it is no task, in plain words. */
  readonly reason: string
}

export type ReopenResult =
  | { readonly _tag: "Reopened"; readonly id: string; readonly from: "complete" | "invalid" }
  | { readonly _tag: "NotMoved"; readonly id: string; readonly reason: string }

export interface CompleteStamp {
  /** The worker that did the work, e.g. `a1b2c3d4:w0`. */
  readonly by: string
  readonly mergedCommit?: string | undefined
  readonly reviewRounds?: number | undefined
}

export interface TaskQueueOptions {
  /**
   * How long an undecodable pending file is left in place before it is moved
   * to invalid/ (an agent may be half-way through writing it). Default 2 s.
   */
  readonly invalidGrace?: Duration.DurationInput
  /**
   * Told of every file `quarantineInvalid` moves to invalid/ (a swarm
   * records each as a `task-invalid` event). `name`: the file in pending/,
   * `movedTo`: its name in invalid/, `reason`: why it does not decode.
   */
  readonly onQuarantine?: (moved: { readonly name: string; readonly movedTo: string; readonly reason: string }) => Effect.Effect<void>
}

export class TaskQueueTag extends Context.Tag("oompa/TaskQueue")<TaskQueueTag, TaskQueue>() {}

const STATES = ["pending", "current", "complete", "invalid"] as const
type TaskFolder = "pending" | "current" | "complete"

const REASON_SUFFIX = ".reason.txt"

/** The largest task file the queue reads; a real one is a few KB. Larger ones are quarantined unread. */
export const MAX_TASK_FILE_BYTES = 1024 * 1024

/** A file name as a reason shows it: quoted and escaped when it holds a newline or another control character. */
const showName = (name: string): string => (/[\u0000-\u001f\u007f]/.test(name) ? JSON.stringify(name) : name)

/** Read errors that belong to the file (a folder, a loop of links, no permission), not to the queue. */
const isUnreadable = (error: PlatformError): boolean =>
  error._tag === "SystemError" && (error.reason === "BadResource" || error.reason === "PermissionDenied")

const isNotFound = (error: PlatformError): boolean => error._tag === "SystemError" && error.reason === "NotFound"

interface LocatedFile {
  readonly name: string
  readonly format: TaskFileFormat
  readonly path: string
}

export const makeTaskQueue = (
  tasksDir: string,
  options: TaskQueueOptions = {}
): Effect.Effect<TaskQueue, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = path.resolve(tasksDir)
    const grace = Duration.toMillis(Duration.decode(options.invalidGrace ?? "2 seconds"))
    const tempCounter = yield* Ref.make(0)
    const quarantined = yield* Ref.make<ReadonlyArray<InvalidTaskFile>>([])

    const dirOf = (state: TaskState): string => path.join(root, state)
    // Only ever called with a validated TaskId (or a file name read from the folder itself).
    const fileIn = (state: TaskState, name: string): string => path.join(dirOf(state), name)

    const nowIso = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis).toISOString())

    /** Folder entries; a missing folder is empty. */
    const readNames = (state: TaskState) =>
      fs.readDirectory(dirOf(state)).pipe(
        Effect.catchIf(isNotFound, () => Effect.succeed<Array<string>>([])),
        Effect.mapError(ioError("readDirectory", dirOf(state))),
        Effect.map((names) => [...names].sort())
      )

    /** Task file names of a folder, `.json` before `.edn` for the same stem. */
    const readTaskNames = (state: TaskState) =>
      Effect.map(readNames(state), (names) =>
        names
          .flatMap((name) => {
            const parsed = parseTaskFileName(name)
            return parsed === undefined ? [] : [{ name, ...parsed }]
          })
          .sort((a, b) =>
            a.stem === b.stem ? (a.format === b.format ? 0 : a.format === "json" ? -1 : 1) : compareTaskIds(a.stem, b.stem)
          )
      )

    const stemsIn = (state: TaskState) =>
      Effect.map(readTaskNames(state), (names) => new Set(names.map((entry) => entry.stem)))

    /**
     * Reads a file's text; none when it is gone, or when it is not a readable
     * file (a folder named x.json, a link loop): quarantineInvalid moves those
     * in pending/, and elsewhere they are no task.
     */
    const readText = (file: string) =>
      fs.readFileString(file).pipe(
        Effect.map(Option.some),
        Effect.catchIf(
          (error) => isNotFound(error) || isUnreadable(error),
          () => Effect.succeed(Option.none<string>())
        ),
        Effect.mapError(ioError("readFile", file))
      )

    /**
     * Why a pending entry cannot be a task file before reading it, if so: a
     * folder (or a link to one), a dangling link, a FIFO or device (reading
     * one could block for ever), a file over MAX_TASK_FILE_BYTES. "gone" when
     * nothing is there any more.
     */
    const notATaskFile = (file: string) =>
      Effect.gen(function* () {
        const stat = yield* fs.stat(file).pipe(Effect.either)
        if (stat._tag === "Right") {
          const info = stat.right
          statKeys.set(file, `${info.size}:${Option.getOrUndefined(info.mtime)?.getTime()}:${Option.getOrUndefined(info.ino)}`)
        } else {
          statKeys.delete(file)
        }
        if (stat._tag === "Left") {
          const error = stat.left
          if (isUnreadable(error)) return `cannot be read: ${error.message}`
          if (!isNotFound(error)) return yield* ioError("stat", file)(error)
          const link = yield* fs.readLink(file).pipe(Effect.option)
          return Option.isSome(link) ? `a symbolic link to ${link.value}, which does not exist, not a task file` : "gone"
        }
        const { type, size } = stat.right
        if (type === "Directory") return "a folder, not a task file: a task file is a JSON file named <id>.json"
        if (type !== "File") {
          const what = { FIFO: "named pipe", Socket: "socket", BlockDevice: "block device", CharacterDevice: "character device" }[
            type as "FIFO"
          ] ?? "special file"
          return `a ${what}, not a task file: a task file is a JSON file named <id>.json`
        }
        if (Number(size) > MAX_TASK_FILE_BYTES) {
          return `${(Number(size) / 1024 / 1024).toFixed(1)} MB, over the ${MAX_TASK_FILE_BYTES / 1024 / 1024} MB a task file may be: put long text in a file of the repository and name it in "files"`
        }
        return undefined
      })

    /**
     * What each task file decoded to, keyed by its path and remembered with the size,
     * mtime and inode it had then: a listing reads and decodes only the files that
     * changed since the last one (an edit, a stamp's rename, a new file), not every
     * pending and complete file for every prompt. `statKeys` holds the key of each
     * file's latest stat (by notATaskFile, which every read goes through first).
     */
    const statKeys = new Map<string, string>()
    const decodeCache = new Map<string, { readonly key: string; readonly result: ReturnType<typeof decodeTaskFile> }>()
    /** The file decoded, from the cache when it has not changed since; none when it cannot be read. */
    const readDecoded = (file: string, name: string) =>
      Effect.gen(function* () {
        const key = statKeys.get(file)
        const cached = decodeCache.get(file)
        if (key !== undefined && cached !== undefined && cached.key === key) return Option.some(cached.result)
        const text = yield* readText(file)
        if (Option.isNone(text)) {
          decodeCache.delete(file)
          return Option.none<ReturnType<typeof decodeTaskFile>>()
        }
        const result = decodeTaskFile(name, text.value)
        if (key !== undefined) decodeCache.set(file, { key, result })
        return Option.some(result)
      })

    /** rename(2); false when the source is gone (someone else moved it first). */
    const renameIfPresent = (from: string, to: string) =>
      fs.rename(from, to).pipe(
        Effect.as(true),
        Effect.catchIf(isNotFound, () => Effect.succeed(false)),
        Effect.mapError(ioError("rename", from))
      )

    const removeIfPresent = (file: string) =>
      fs.remove(file).pipe(
        Effect.catchIf(isNotFound, () => Effect.void),
        Effect.mapError(ioError("remove", file))
      )

    const exists = (file: string) => fs.exists(file).pipe(Effect.mapError(ioError("exists", file)))

    const tempNameFor = (target: string) =>
      Effect.gen(function* () {
        const n = yield* Ref.updateAndGet(tempCounter, (k) => k + 1)
        const r = yield* Random.nextIntBetween(0, 0x7fffffff)
        // Ends in neither .json nor .edn, so no listing ever mistakes it for a task.
        return `${target}.tmp-${process.pid}-${n}-${r.toString(16)}`
      })

    /** Writes `text` to `target` via a temp file in the same folder and a rename. */
    const writeAtomic = (target: string, text: string) =>
      Effect.gen(function* () {
        const temp = yield* tempNameFor(target)
        yield* fs.writeFileString(temp, text).pipe(Effect.mapError(ioError("writeFile", temp)))
        yield* fs.rename(temp, target).pipe(
          Effect.mapError(ioError("rename", temp)),
          Effect.tapError(() => Effect.ignore(fs.remove(temp)))
        )
      })

    /** The task file of `id` in `state`, `.json` first. `id` must already be a valid TaskId. */
    const locate = (state: TaskState, id: TaskId) =>
      Effect.gen(function* () {
        for (const format of ["json", "edn"] as const) {
          const name = `${id}.${format}`
          const file = fileIn(state, name)
          if (yield* exists(file)) return Option.some<LocatedFile>({ name, format, path: file })
        }
        return Option.none<LocatedFile>()
      })

    const whereIs = (id: TaskId, states: ReadonlyArray<TaskState>) =>
      Effect.gen(function* () {
        for (const state of states) {
          if (Option.isSome(yield* locate(state, id))) return Option.some(state)
        }
        return Option.none<TaskState>()
      })

    /**
     * Rewrites the task file `located` (in folder `state`) as `<id>.json` with
     * `edit` applied to its raw object (temp file + rename). A 0.6 `.edn` task
     * is converted here: the new `<id>.json` replaces it and the `.edn` is
     * removed right after, so stamping an edn task leaves a JSON one.
     * Returns the decoded task after the edit; none if the file is gone.
     */
    const stamp = (
      state: TaskFolder,
      id: TaskId,
      located: LocatedFile,
      edit: (raw: Record<string, unknown>) => Record<string, unknown>
    ) =>
      Effect.gen(function* () {
        const text = yield* readText(located.path)
        if (Option.isNone(text)) return Option.none<Task>()
        const parsed = parseTaskText(located.format, text.value)
        if (parsed._tag === "Left") {
          return yield* new TaskQueueIoError({ op: "stamp", path: located.path, message: parsed.left })
        }
        const raw = edit({ ...parsed.right })
        const jsonName = `${id}.json`
        const decoded = decodeTaskFile(jsonName, renderTaskJson(raw))
        if (decoded._tag === "Left") {
          return yield* new TaskQueueIoError({ op: "stamp", path: located.path, message: decoded.left })
        }
        yield* writeAtomic(fileIn(state, jsonName), renderTaskJson(raw))
        if (located.format === "edn") yield* removeIfPresent(located.path)
        return Option.some(decoded.right.task)
      })

    // ---- listing -------------------------------------------------------

    const loadFolder = (state: TaskFolder) =>
      Effect.gen(function* () {
        const names = yield* readTaskNames(state)
        const seen = new Set<string>()
        const entries: Array<QueuedTask> = []
        for (const entry of names) {
          if (seen.has(entry.stem)) continue
          const file = fileIn(state, entry.name)
          // Never read a FIFO (it could block for ever) nor an oversized file: a pure read
          // leaves them where they are, and quarantine moves those in pending/.
          const unusable = yield* notATaskFile(file)
          if (unusable === "gone") continue // moved while we looked
          const read = unusable === undefined ? yield* readDecoded(file, entry.name) : Option.none()
          const decoded = Option.getOrUndefined(read)
          if (decoded === undefined || decoded._tag === "Left") {
            if (state !== "pending" && (unusable !== undefined || decoded !== undefined)) {
              yield* Effect.logWarning(`task queue: ${file} is no task: ${unusable ?? (decoded?._tag === "Left" ? decoded.left : "")}`)
            }
            continue
          }
          seen.add(entry.stem)
          entries.push({ id: decoded.right.task.id, task: decoded.right.task, state, file })
        }
        return entries
      })

    const loadInvalid = Effect.gen(function* () {
      const names = yield* readNames("invalid")
      const files = names.filter((name) => !name.endsWith(REASON_SUFFIX) && !/\.tmp-[^/]*$/.test(name))
      return yield* Effect.forEach(files, (name) =>
        Effect.map(
          readText(fileIn("invalid", name + REASON_SUFFIX)),
          (reason): InvalidTaskFile => ({
            name,
            file: fileIn("invalid", name),
            reason: Option.getOrUndefined(Option.map(reason, (text) => text.trim()))
          })
        )
      )
    })

    const ensureDirs = Effect.forEach(
      STATES,
      (state) =>
        fs.makeDirectory(dirOf(state), { recursive: true }).pipe(Effect.mapError(ioError("makeDirectory", dirOf(state)))),
      { discard: true }
    ).pipe(Effect.withSpan("TaskQueue.ensureDirs"))

    /** A free name in invalid/ for `name` (`x.json`, then `x~1.json`, …). */
    const invalidTarget = (name: string) =>
      Effect.gen(function* () {
        const dot = name.lastIndexOf(".")
        const base = dot > 0 ? name.slice(0, dot) : name
        const ext = dot > 0 ? name.slice(dot) : ""
        for (let k = 0; ; k++) {
          const candidate = k === 0 ? name : `${base}~${k}${ext}`
          if (!(yield* exists(fileIn("invalid", candidate)))) return candidate
        }
      })

    const moveToInvalid = (name: string, reason: string) =>
      Effect.gen(function* () {
        yield* ensureDirs
        const target = yield* invalidTarget(name)
        const moved = yield* renameIfPresent(fileIn("pending", name), fileIn("invalid", target))
        if (!moved) return Option.none<InvalidTaskFile>()
        const text = `pending/${showName(name)} was moved here by oompa: ${reason}\n`
        yield* writeAtomic(fileIn("invalid", target + REASON_SUFFIX), text)
        // A diagnostic for oompa.log (the terminal shows the swarm's task-invalid event, `oompa tasks`' note).
        yield* Effect.logInfo(`task queue: moved pending/${showName(name)} to invalid/${showName(target)}: ${reason}`)
        if (options.onQuarantine !== undefined) yield* options.onQuarantine({ name: showName(name), movedTo: showName(target), reason })
        const result: InvalidTaskFile = {
          name: target,
          file: fileIn("invalid", target),
          reason: text.trim(),
          movedFrom: `pending/${name}`,
          why: reason
        }
        yield* Ref.update(quarantined, (all) => [...all, result])
        return Option.some(result)
      }).pipe(Effect.uninterruptible) // moved, its reason written and reported: all or nothing

    /** Age of a file in ms by the Effect Clock, or undefined when it is gone. */
    const ageOf = (file: string) =>
      Effect.gen(function* () {
        const info = yield* fs.stat(file).pipe(
          Effect.map(Option.some),
          Effect.catchIf(isNotFound, () => Effect.succeed(Option.none())),
          Effect.mapError(ioError("stat", file))
        )
        if (Option.isNone(info)) return undefined
        const now = yield* Clock.currentTimeMillis
        const mtime = Option.getOrUndefined(info.value.mtime)
        return mtime === undefined ? Number.POSITIVE_INFINITY : now - mtime.getTime()
      })

    /**
     * Walks pending/ and hands every file that is no task, with its reason, to
     * `found` as soon as it is found (so the duplicate-id re-check stays right
     * before a move). Shared by the read (`findInvalid`) and the move
     * (`quarantineInvalid`), so both judge a file alike.
     */
    const scanInvalid = <E>(found: (name: string, reason: string) => Effect.Effect<void, E>) =>
      Effect.gen(function* () {
        const names = yield* readTaskNames("pending")
        const validStems = new Set<string>()
        let elsewhere: Map<string, TaskState> | undefined
        for (const entry of names) {
          const file = fileIn("pending", entry.name)
          const unusable = yield* notATaskFile(file)
          if (unusable === "gone") continue
          if (unusable !== undefined) {
            yield* found(entry.name, unusable)
            continue
          }
          const read = yield* readDecoded(file, entry.name)
          if (Option.isNone(read)) continue
          const decoded = read.value
          if (decoded._tag === "Left") {
            const age = yield* ageOf(file)
            if (age === undefined) continue
            if (grace > 0 && age < grace) continue // possibly still being written
            yield* found(entry.name, decoded.left)
            continue
          }
          if (validStems.has(entry.stem)) {
            yield* found(entry.name, `duplicate id ${entry.stem}: pending/${entry.stem}.json already exists`)
            continue
          }
          if (elsewhere === undefined) {
            elsewhere = new Map()
            for (const state of ["current", "complete"] as const) {
              for (const stem of yield* stemsIn(state)) elsewhere.set(stem, state)
            }
          }
          const other = elsewhere.get(entry.stem)
          // Re-check right before moving: the other copy may have just been recycled into pending.
          if (other !== undefined && Option.isSome(yield* locate(other, decoded.right.task.id))) {
            yield* found(entry.name, `duplicate id ${entry.stem}: a task with this id is already in ${other}/`)
            continue
          }
          validStems.add(entry.stem)
        }
      })

    const findInvalid = Effect.gen(function* () {
      const found: Array<InvalidPendingFile> = []
      yield* scanInvalid((name, reason) => Effect.sync(() => void found.push({ name, file: fileIn("pending", name), reason })))
      return found as ReadonlyArray<InvalidPendingFile>
    }).pipe(Effect.withSpan("TaskQueue.findInvalid"))

    const quarantineInvalid = Effect.gen(function* () {
      const moved: Array<InvalidTaskFile> = []
      yield* scanInvalid((name, reason) =>
        Effect.map(moveToInvalid(name, reason), (result) => {
          if (Option.isSome(result)) moved.push(result.value)
        })
      )
      return moved as ReadonlyArray<InvalidTaskFile>
    }).pipe(Effect.withSpan("TaskQueue.quarantineInvalid"))

    const list = Effect.gen(function* () {
      const [pending, current, complete, invalid] = yield* Effect.all([
        loadFolder("pending"),
        loadFolder("current"),
        loadFolder("complete"),
        loadInvalid
      ])
      return { pending, current, complete, invalid } satisfies QueueListing
    }).pipe(Effect.withSpan("TaskQueue.list"))

    const available = Effect.map(list, availableTasks)

    // ---- claim / complete / recycle ------------------------------------

    const claimOne = (rawId: string, owner: string) =>
      Effect.gen(function* () {
        if (!isTaskId(rawId)) return ClaimResult.InvalidId({ id: rawId })
        const id = rawId
        const goneResult = Effect.map(whereIs(id, ["current", "complete"]), (where) =>
          Option.isSome(where) ? ClaimResult.AlreadyTaken({ id }) : ClaimResult.NotFound({ id })
        )
        const located = yield* locate("pending", id)
        if (Option.isNone(located)) return yield* goneResult
        const text = yield* readText(located.value.path)
        if (Option.isNone(text)) return yield* goneResult
        const decoded = decodeTaskFile(located.value.name, text.value)
        // An undecodable file is not a task: the next quarantine moves it to invalid/.
        if (decoded._tag === "Left") return ClaimResult.NotFound({ id })
        // A task whose budget was reached waits for a person (docs/budgets.md).
        const overBudget = decoded.right.task.budget_reached
        if (overBudget !== undefined) return ClaimResult.OverBudget({ id, limit: overBudget.limit })
        const missing = missingDependencies(decoded.right.task, yield* stemsIn("complete"))
        if (missing.length > 0) return ClaimResult.Blocked({ id, missing })
        // A pending file whose id is already in current/ or complete/ is a duplicate (the
        // quarantine moves it to invalid/); renaming it would overwrite the task in progress.
        if (Option.isSome(yield* whereIs(id, ["current", "complete"]))) return ClaimResult.AlreadyTaken({ id })
        // The claim itself: one atomic rename. Whoever renames first wins.
        const target = fileIn("current", located.value.name)
        const won = yield* renameIfPresent(located.value.path, target)
        if (!won) return yield* goneResult
        const claimedAt = yield* nowIso
        const stamped = yield* stamp("current", id, { ...located.value, path: target }, (raw) => ({
          ...raw,
          claimed_by: owner,
          claimed_at: claimedAt
        }))
        return ClaimResult.Claimed({ id, task: Option.getOrElse(stamped, () => decoded.right.task) })
      })

    const claim = Effect.fn("TaskQueue.claim")(function* (ids: ReadonlyArray<string>, owner: string) {
      // rename(2) also fails with ENOENT when the target folder is missing: make sure it is not.
      yield* ensureDirs
      const results: Array<ClaimResult> = []
      for (const id of ids) results.push(yield* claimOne(id, owner))
      return results as ReadonlyArray<ClaimResult>
    })

    /** Stamps each current task of `ids`, then renames it to `to`. */
    const moveFromCurrent = (
      ids: ReadonlyArray<string>,
      to: "pending" | "complete",
      edit: (raw: Record<string, unknown>) => Record<string, unknown>
    ) =>
      Effect.gen(function* () {
        yield* ensureDirs
        const moved: Array<TaskId> = []
        const missing: Array<string> = []
        for (const rawId of ids) {
          if (!isTaskId(rawId)) {
            missing.push(rawId)
            continue
          }
          const located = yield* locate("current", rawId)
          if (Option.isNone(located)) {
            missing.push(rawId)
            continue
          }
          // Stamp in current/ first, then move: once in pending/ another worker may claim it at once.
          const stamped = yield* stamp("current", rawId, located.value, edit)
          if (Option.isNone(stamped)) {
            missing.push(rawId)
            continue
          }
          const name = `${rawId}.json`
          if (yield* renameIfPresent(fileIn("current", name), fileIn(to, name))) moved.push(rawId)
          else missing.push(rawId)
        }
        return { moved, missing } satisfies MoveResult
      })

    const complete = Effect.fn("TaskQueue.complete")(function* (ids: ReadonlyArray<string>, stampWith: CompleteStamp) {
      const completedAt = yield* nowIso
      return yield* moveFromCurrent(ids, "complete", (raw) => {
        const next: Record<string, unknown> = { ...raw, completed_by: stampWith.by, completed_at: completedAt }
        if (stampWith.mergedCommit !== undefined) next.merged_commit = stampWith.mergedCommit
        if (stampWith.reviewRounds !== undefined) next.review_rounds = stampWith.reviewRounds
        return next
      })
    })

    const recycle = Effect.fn("TaskQueue.recycle")(function* (
      ids: ReadonlyArray<string>,
      attempt?: TaskAttempt,
      fields?: Readonly<Record<string, unknown>>
    ) {
      const stamped = attempt === undefined ? undefined : taskAttempt(attempt)
      return yield* moveFromCurrent(ids, "pending", (raw) => {
        const { claimed_by: _by, claimed_at: _at, ...rest } = raw
        const withFields = fields === undefined ? rest : { ...rest, ...fields }
        if (stamped === undefined) return withFields
        const earlier = Array.isArray(withFields.attempts) ? withFields.attempts : []
        return { ...withFields, attempts: [...earlier, stamped] }
      })
    })

    const reopen = Effect.fn("TaskQueue.reopen")(function* (rawId: string) {
      const notMoved = (reason: string): ReopenResult => ({ _tag: "NotMoved", id: rawId, reason })
      if (!isTaskId(rawId)) return notMoved(`${JSON.stringify(rawId)} is no task id`)
      const id = rawId
      yield* ensureDirs
      const here = yield* whereIs(id, ["pending", "current"])
      if (Option.isSome(here)) {
        return notMoved(here.value === "pending" ? `task ${id} is already pending` : `task ${id} is in progress (current/): its cycle puts it back if it does not merge`)
      }
      const done = yield* locate("complete", id)
      if (Option.isSome(done)) {
        const stamped = yield* stamp("complete", id, done.value, (raw) => {
          const { completed_by: _b, completed_at: _a, merged_commit: _m, review_rounds: _r, claimed_by: _c, claimed_at: _t, ...rest } = raw
          return rest
        })
        if (Option.isNone(stamped)) return notMoved(`task ${id} left complete/ while it was being requeued`)
        const name = `${id}.json`
        return (yield* renameIfPresent(fileIn("complete", name), fileIn("pending", name)))
          ? ({ _tag: "Reopened", id, from: "complete" } as const)
          : notMoved(`task ${id} left complete/ while it was being requeued`)
      }
      for (const format of ["json", "edn"] as const) {
        const name = `${id}.${format}`
        if (yield* renameIfPresent(fileIn("invalid", name), fileIn("pending", name))) {
          yield* removeIfPresent(fileIn("invalid", name + REASON_SUFFIX))
          return { _tag: "Reopened", id, from: "invalid" } as const
        }
      }
      return notMoved(`no task ${id} in complete/ or invalid/`)
    })

    const annotate = Effect.fn("TaskQueue.annotate")(function* (
      rawId: string,
      state: TaskFolder,
      fields: Readonly<Record<string, unknown>>
    ) {
      if (!isTaskId(rawId)) return false
      const located = yield* locate(state, rawId)
      if (Option.isNone(located)) return false
      const stamped = yield* stamp(state, rawId, located.value, (raw) => ({ ...raw, ...fields }))
      return Option.isSome(stamped)
    })

    const add = Effect.fn("TaskQueue.add")(function* (task: Task) {
      yield* ensureDirs
      for (const state of STATES) {
        if ((yield* stemsIn(state)).has(task.id)) return yield* new TaskExistsError({ id: task.id, state })
      }
      const raw: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(task)) if (value !== undefined) raw[key] = value
      const name = `${task.id}.json`
      const target = fileIn("pending", name)
      const temp = yield* tempNameFor(target)
      yield* fs.writeFileString(temp, renderTaskJson(raw)).pipe(Effect.mapError(ioError("writeFile", temp)))
      // link(2) refuses an existing target, so two concurrent adds of one id cannot both win.
      yield* fs.link(temp, target).pipe(
        Effect.ensuring(Effect.ignore(fs.remove(temp))),
        Effect.catchIf(
          (error) => error._tag === "SystemError" && error.reason === "AlreadyExists",
          () => new TaskExistsError({ id: task.id, state: "pending" })
        ),
        Effect.mapError((error) => (error._tag === "TaskExistsError" ? error : ioError("link", target)(error)))
      )
      return { id: task.id, task, state: "pending", file: target } satisfies QueuedTask
    })

    // ---- waiting -------------------------------------------------------

    const watch = Effect.zipRight(ensureDirs, watchDirs([dirOf("pending"), dirOf("complete")]))

    const awaitAvailable = Effect.fn("TaskQueue.awaitAvailable")(function* (timeout: Duration.DurationInput) {
      // Check outside the timeout, so a zero timeout still means "is anything available now?".
      if ((yield* available).length > 0) return true
      if (Duration.lessThanOrEqualTo(Duration.decode(timeout), Duration.zero)) return false
      const wait = Effect.scoped(
        Effect.gen(function* () {
          // Watch first, then check: a task added after the check still wakes us.
          const wake = yield* watch
          for (;;) {
            if ((yield* available).length > 0) return true
            yield* Queue.take(wake)
          }
        })
      )
      return yield* Effect.timeoutTo(wait, { duration: timeout, onSuccess: (found) => found, onTimeout: () => false })
    })

    return {
      root,
      ensureDirs,
      list,
      counts: Effect.map(list, countsOf),
      findInvalid,
      quarantineInvalid,
      takeQuarantined: Ref.getAndSet(quarantined, []),
      available,
      claim,
      complete,
      recycle,
      reopen,
      annotate,
      add,
      awaitAvailable,
      watch
    } satisfies TaskQueue
  })

export const TaskQueue = {
  /** The live queue rooted at `tasksDir` (made absolute). Touches nothing on disk until used. */
  layer: (
    tasksDir: string,
    options?: TaskQueueOptions
  ): Layer.Layer<TaskQueueTag, never, FileSystem.FileSystem | Path.Path> =>
    Layer.effect(TaskQueueTag, makeTaskQueue(tasksDir, options))
} as const
