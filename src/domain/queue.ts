import { Data } from "effect"
import type { Task, TaskId, TaskState } from "./Task.js"

/**
 * The task queue as data (SPEC §3): what a listing holds and what a claim
 * returns. Pure: the TaskQueue service (src/services/TaskQueue.ts) does the I/O.
 */

/** One task file in one queue folder. `file` is the absolute path. */
export interface QueuedTask {
  readonly id: TaskId
  readonly task: Task
  readonly state: TaskState
  readonly file: string
}

export interface QueueListing {
  readonly pending: ReadonlyArray<QueuedTask>
  readonly current: ReadonlyArray<QueuedTask>
  readonly complete: ReadonlyArray<QueuedTask>
  readonly invalid: ReadonlyArray<InvalidTaskFile>
}

/** A file in `invalid/`, with the reason the queue wrote beside it (if any). */
export interface InvalidTaskFile {
  readonly name: string
  readonly file: string
  readonly reason: string | undefined
}

export interface QueueCounts {
  readonly pending: number
  /** Pending tasks whose `depends_on` are all complete: what agents are offered. */
  readonly available: number
  readonly current: number
  readonly complete: number
  readonly invalid: number
}

/** The ids named in `depends_on` that are not complete yet. */
export const missingDependencies = (task: Task, completeIds: ReadonlySet<string>): ReadonlyArray<string> =>
  (task.depends_on ?? []).filter((dep) => !completeIds.has(dep))

/** Pending tasks whose `depends_on` are all complete, in id order. */
export const availableTasks = (listing: QueueListing): ReadonlyArray<QueuedTask> => {
  const complete = new Set<string>(listing.complete.map((entry) => entry.id))
  return listing.pending.filter((entry) => missingDependencies(entry.task, complete).length === 0)
}

export const countsOf = (listing: QueueListing): QueueCounts => ({
  pending: listing.pending.length,
  available: availableTasks(listing).length,
  current: listing.current.length,
  complete: listing.complete.length,
  invalid: listing.invalid.length
})

/**
 * The result of claiming one id. Every case carries the id as the agent wrote it.
 * - Claimed: the file moved pending → current and was stamped.
 * - AlreadyTaken: the file is gone from pending and the task is in current or complete.
 * - NotFound: no such task anywhere (or its pending file does not decode).
 * - Blocked: its `depends_on` are not all complete; nothing moved.
 * - InvalidId: the id is not a task id (`../x`, `a/b`, …); no path was ever built from it.
 */
export type ClaimResult = Data.TaggedEnum<{
  Claimed: { readonly id: string; readonly task: Task }
  AlreadyTaken: { readonly id: string }
  NotFound: { readonly id: string }
  Blocked: { readonly id: string; readonly missing: ReadonlyArray<string> }
  InvalidId: { readonly id: string }
}>
export const ClaimResult = Data.taggedEnum<ClaimResult>()

/** One line per claim result, as the agent is told on its next turn. */
export const describeClaimResult = (result: ClaimResult): string =>
  ClaimResult.$match(result, {
    Claimed: ({ id, task }) => `${id}: claimed${task.summary ? ` (${oneLine(task.summary, 200)})` : ""}`,
    AlreadyTaken: ({ id }) => `${id}: already taken by another worker; pick a different task`,
    NotFound: ({ id }) => `${id}: not found in pending`,
    Blocked: ({ id, missing }) => `${id}: blocked, waiting on ${missing.join(", ")} to complete`,
    InvalidId: ({ id }) => `${JSON.stringify(id)}: not a valid task id (letters, digits, . _ - only)`
  })

/** Result of moving ids between folders (complete, recycle / requeue). */
export interface MoveResult {
  readonly moved: ReadonlyArray<TaskId>
  /** Ids that were not in the source folder (or were not valid ids). */
  readonly missing: ReadonlyArray<string>
}

/** Collapses whitespace to single spaces and caps the length, for one-line display. */
export const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1))}…`
}

/** `task-<n>` with n one more than the largest `task-<n>` among `existing` (ids or file stems). */
export const nextTaskId = (existing: Iterable<string>): string => {
  let max = 0
  for (const id of existing) {
    const match = /^task-(\d+)$/.exec(id)
    if (match !== null) max = Math.max(max, Number(match[1]))
  }
  return `task-${max + 1}`
}
