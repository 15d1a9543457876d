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
 * A task as agents and users write it. Only `id` is required; the framework
 * stamps the claim / completion fields. Unknown keys written by agents are
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
  review_rounds: Schema.optional(Schema.Number)
})
export type Task = typeof Task.Type
