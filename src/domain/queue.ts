import { Data, Schema } from "effect"
import { KEPT_REF_PREFIX } from "./naming.js"
import type { Task, TaskAttempt, TaskId, TaskState } from "./Task.js"

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
  /** The text of `<name>.reason.txt` ("pending/x.json was moved here by oompa: <why>"). */
  readonly reason: string | undefined
  /** Set when this process just moved it: where it was (`pending/x.json`) and why, in plain words. */
  readonly movedFrom?: string | undefined
  readonly why?: string | undefined
}

export const QueueCounts = Schema.Struct({
  pending: Schema.Number,
  /** Pending tasks whose `depends_on` are all complete: what agents are offered. */
  available: Schema.Number,
  current: Schema.Number,
  complete: Schema.Number,
  invalid: Schema.Number
})
export type QueueCounts = typeof QueueCounts.Type

/**
 * Task ids in numeric-aware order: digit runs compare as numbers, so t2 comes
 * before t10 (a plain string sort puts t1, t10, t100 first and t2 after them).
 * Ids that only differ in leading zeros (t01, t1) fall back to the plain order,
 * so the order is total and every listing sorts alike.
 */
export const compareTaskIds = (a: string, b: string): number => {
  const runs = /(\d+)|(\D+)/g
  const left = a.match(runs) ?? []
  const right = b.match(runs) ?? []
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const x = left[i]!
    const y = right[i]!
    const bothDigits = /^\d/.test(x) && /^\d/.test(y)
    if (bothDigits) {
      // Compare as numbers without Number(): a 30-digit run must not lose precision.
      const xs = x.replace(/^0+(?=\d)/, "")
      const ys = y.replace(/^0+(?=\d)/, "")
      if (xs.length !== ys.length) return xs.length < ys.length ? -1 : 1
      if (xs !== ys) return xs < ys ? -1 : 1
    } else if (x !== y) {
      return x < y ? -1 : 1
    }
  }
  if (left.length !== right.length) return left.length < right.length ? -1 : 1
  return a === b ? 0 : a < b ? -1 : 1
}

/**
 * The available tasks in the order one worker is offered them: rotated to start
 * at the worker's place in the swarm, so parallel workers (each shown a
 * different first task) rarely race to claim the same one. Worker 0 sees the
 * plain id order.
 */
export const offeredOrder = <A>(available: ReadonlyArray<A>, workerIndex: number): ReadonlyArray<A> => {
  if (available.length === 0) return available
  const start = ((workerIndex % available.length) + available.length) % available.length
  return start === 0 ? available : [...available.slice(start), ...available.slice(0, start)]
}

/** The ids named in `depends_on` that are not complete yet. */
export const missingDependencies = (task: Task, completeIds: ReadonlySet<string>): ReadonlyArray<string> =>
  (task.depends_on ?? []).filter((dep) => !completeIds.has(dep))

/** Pending tasks whose `depends_on` are all complete and whose budget was not reached, in id order. */
export const availableTasks = (listing: QueueListing): ReadonlyArray<QueuedTask> => {
  const complete = new Set<string>(listing.complete.map((entry) => entry.id))
  return listing.pending.filter((entry) => entry.task.budget_reached === undefined && missingDependencies(entry.task, complete).length === 0)
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
 * - OverBudget: the task's budget was reached in an earlier cycle; nothing moved.
 */
export type ClaimResult = Data.TaggedEnum<{
  Claimed: { readonly id: string; readonly task: Task }
  AlreadyTaken: { readonly id: string }
  NotFound: { readonly id: string }
  Blocked: { readonly id: string; readonly missing: ReadonlyArray<string> }
  InvalidId: { readonly id: string }
  /** Its budget was reached (`budget_reached` stamp, docs/budgets.md): it waits for a person; nothing moved. */
  OverBudget: { readonly id: string; readonly limit: string }
}>
export const ClaimResult = Data.taggedEnum<ClaimResult>()

/**
 * What became of the kept work of a claimed task's latest attempt when the engine
 * tried to carry it into the new cycle's worktree (SPEC §8 "nothing redone").
 * - Merged: merged into the worktree.
 * - AlreadyThere: the worktree already contains it (another claimed task shared it, or it landed).
 * - NotMerged: left where it is; `why` says why (a conflict with the current target, …).
 * - Gone: the kept ref no longer exists.
 */
export type CarriedWork = Data.TaggedEnum<{
  Merged: { readonly ref: string; readonly commit: string }
  AlreadyThere: { readonly ref: string; readonly commit: string }
  NotMerged: { readonly ref: string; readonly commit: string; readonly why: string }
  Gone: { readonly ref: string }
}>
export const CarriedWork = Data.taggedEnum<CarriedWork>()

/**
 * The latest attempt that left work under a kept ref, if any. Only work oompa
 * itself kept is carried: a hand-edited `kept_ref` elsewhere is ignored.
 */
export const latestKeptAttempt = (task: Task): (TaskAttempt & { readonly kept_ref: string }) | undefined => {
  const attempts = task.attempts ?? []
  for (let i = attempts.length - 1; i >= 0; i--) {
    const attempt = attempts[i]!
    if (attempt.kept_ref !== undefined && attempt.kept_ref.startsWith(KEPT_REF_PREFIX)) {
      return { ...attempt, kept_ref: attempt.kept_ref }
    }
  }
  return undefined
}

/** How many earlier attempts a claim result lists, and how much of each reason. */
const SHOWN_ATTEMPTS = 3
const SHOWN_REASON = 300

const describeCarried = (carried: CarriedWork): string =>
  CarriedWork.$match(carried, {
    Merged: ({ ref, commit }) =>
      `Its work (${ref}, commit ${commit.slice(0, 12)}) has been merged into your worktree: continue from it.`,
    AlreadyThere: ({ ref, commit }) => `Its work (${ref}, commit ${commit.slice(0, 12)}) is already in your worktree.`,
    NotMerged: ({ ref, why }) => `Its work is kept at ${ref}; ${why}: look at it with \`git show ${ref}\`.`,
    Gone: ({ ref }) => `Its kept work (${ref}) no longer exists.`
  })

/** The indented lines under a claimed task that was tried before: the last attempts and its kept work. */
const describeAttempts = (task: Task, carried: CarriedWork | undefined): ReadonlyArray<string> => {
  const attempts = task.attempts ?? []
  if (attempts.length === 0) return []
  const shown = attempts.slice(-SHOWN_ATTEMPTS)
  const head =
    attempts.length > shown.length
      ? `Tried ${attempts.length} times before and not merged; the last ${shown.length}:`
      : `Tried ${attempts.length === 1 ? "once" : `${attempts.length} times`} before and not merged:`
  return [
    head,
    ...shown.map(
      (a) => `- ${a.outcome} in ${a.cycle} (run ${a.swarm}, ${a.ended_at}): ${oneLine(a.reason, SHOWN_REASON) || "(no reason given)"}`
    ),
    ...(carried !== undefined ? [describeCarried(carried)] : [])
  ]
}

/**
 * One line per claim result, as the agent is told on its next turn; a claimed
 * task that was tried before gets indented lines under it: what was tried, why
 * it did not land, and what became of its kept work (`carried`).
 */
export const describeClaimResult = (result: ClaimResult, carried?: CarriedWork): string =>
  ClaimResult.$match(result, {
    Claimed: ({ id, task }) =>
      [`${id}: claimed${task.summary ? ` (${oneLine(task.summary, 200)})` : ""}`, ...describeAttempts(task, carried).map((line) => `  ${line}`)].join(
        "\n"
      ),
    AlreadyTaken: ({ id }) => `${id}: already taken by another worker; pick a different task`,
    NotFound: ({ id }) => `${id}: not found in pending`,
    Blocked: ({ id, missing }) => `${id}: blocked, waiting on ${missing.join(", ")} to complete`,
    InvalidId: ({ id }) => `${JSON.stringify(id)}: not a valid task id (letters, digits, . _ - only)`,
    OverBudget: ({ id, limit }) => `${id}: its budget (${limit}) was reached; it waits for a person, pick a different task`
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
