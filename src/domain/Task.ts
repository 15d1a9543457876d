import { Schema } from "effect"

/** Task ids are file-name stems: no separators, no `..` tricks (SPEC §3). */
export const TaskId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9._-]+$/),
  Schema.filter((id) => id !== "." && id !== ".." ? true : "a task id cannot be . or .."),
  Schema.brand("TaskId")
)
export type TaskId = typeof TaskId.Type

/** The queue folders a task file can live in. `invalid` holds undecodable files. */
export const TaskState = Schema.Literal("pending", "current", "complete", "invalid")
export type TaskState = typeof TaskState.Type

/**
 * One cycle that held the task and ended without merging it (SPEC §8 "nothing
 * redone"): stamped by the queue when the task goes back to pending, so the next
 * cycle that claims it starts from the kept work and is told what was tried.
 */
export const TaskAttempt = Schema.Struct({
  /** The worker id, e.g. `w0`. */
  worker: Schema.String,
  swarm: Schema.String,
  /** The cycle's name, `<worker>-c<N>`. */
  cycle: Schema.String,
  /** How the cycle ended: rejected, merge-failed, stuck, error, interrupted, no-changes, … */
  outcome: Schema.String,
  /** The cycle's detail text (why it ended), capped. */
  reason: Schema.String,
  /** `refs/oompa/kept/<swarm>/<worker>-c<N>` when the cycle left work. */
  kept_ref: Schema.optional(Schema.String),
  /** The commit the kept ref pointed at. */
  kept_commit: Schema.optional(Schema.String),
  ended_at: Schema.String
})
export type TaskAttempt = typeof TaskAttempt.Type

/** The longest `reason` stamped into an attempt; the rest is cut. */
export const MAX_ATTEMPT_REASON = 2000

/** An attempt with its reason capped at MAX_ATTEMPT_REASON characters and no undefined keys. */
export const taskAttempt = (attempt: TaskAttempt): TaskAttempt => ({
  worker: attempt.worker,
  swarm: attempt.swarm,
  cycle: attempt.cycle,
  outcome: attempt.outcome,
  reason:
    attempt.reason.length <= MAX_ATTEMPT_REASON ? attempt.reason : `${attempt.reason.slice(0, MAX_ATTEMPT_REASON - 1)}…`,
  ...(attempt.kept_ref !== undefined ? { kept_ref: attempt.kept_ref } : {}),
  ...(attempt.kept_commit !== undefined ? { kept_commit: attempt.kept_commit } : {}),
  ended_at: attempt.ended_at
})

/**
 * A task as agents and users write it. Only `id` is required; the framework
 * stamps the claim / completion fields and, each time a cycle that held the task
 * ends without merging it, appends to `attempts`. Unknown keys written by agents are
 * preserved on disk by the queue (it edits the raw JSON object).
 */
export const Task = Schema.Struct({
  id: TaskId,
  summary: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  difficulty: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  files: Schema.optional(Schema.Array(Schema.String)),
  acceptance: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
  depends_on: Schema.optional(Schema.Array(Schema.String)),
  claimed_by: Schema.optional(Schema.String),
  claimed_at: Schema.optional(Schema.String),
  completed_by: Schema.optional(Schema.String),
  completed_at: Schema.optional(Schema.String),
  merged_commit: Schema.optional(Schema.String),
  review_rounds: Schema.optional(Schema.Number),
  /** Oldest first. */
  attempts: Schema.optional(Schema.Array(TaskAttempt))
})
export type Task = typeof Task.Type
