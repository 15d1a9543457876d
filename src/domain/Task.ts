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
  worker: Schema.String.annotations({ description: "the worker id, e.g. w0" }),
  swarm: Schema.String.annotations({ description: "the swarm (run) id" }),
  cycle: Schema.String.annotations({ description: "the cycle's name, <worker>-c<N>" }),
  outcome: Schema.String.annotations({
    description: "how the cycle ended: rejected, merge-failed, stuck, error, interrupted, no-changes, …"
  }),
  reason: Schema.String.annotations({ description: "the cycle's detail text: why it ended (capped)" }),
  kept_ref: Schema.optional(
    Schema.String.annotations({ description: "refs/oompa/kept/<swarm>/<worker>-c<N>, when the cycle left work" })
  ),
  kept_commit: Schema.optional(Schema.String.annotations({ description: "the commit the kept ref pointed at" })),
  ended_at: Schema.String.annotations({ description: "when the cycle ended (ISO 8601)" })
}).annotations({ identifier: "TaskAttempt" })
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

/** A task's own budget (docs/budgets.md), limit by limit over oompa.json's `task_budget`. */
export const TaskBudget = Schema.Struct({
  max_cost_usd: Schema.optional(Schema.Number.pipe(Schema.positive())),
  max_tokens: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  max_runtime: Schema.optional(Schema.Number.pipe(Schema.positive()))
}).annotations({ identifier: "TaskBudget", description: "max_cost_usd (USD), max_tokens, max_runtime (seconds since its first claim in a run)" })

/**
 * Stamped by oompa when the task's budget was reached: the task is back in
 * pending with its work kept, and no cycle claims it again until a person
 * removes this key (after raising the budget or splitting the task).
 */
export const BudgetReachedStamp = Schema.Struct({
  limit: Schema.Literal("max_cost_usd", "max_tokens", "max_runtime"),
  value: Schema.Number,
  spent: Schema.Number,
  estimated: Schema.Boolean,
  swarm: Schema.String,
  at: Schema.String
}).annotations({ identifier: "BudgetReachedStamp" })
export type BudgetReachedStamp = typeof BudgetReachedStamp.Type

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
  budget: Schema.optional(TaskBudget),
  budget_reached: Schema.optional(
    BudgetReachedStamp.annotations({
      description: "stamped by oompa when the task's budget was reached: it is not claimed again until this key is removed"
    })
  ),
  /** Oldest first. */
  attempts: Schema.optional(
    Schema.Array(TaskAttempt).annotations({
      description: "stamped by oompa: each cycle that held the task and ended without merging it, oldest first"
    })
  )
})
export type Task = typeof Task.Type

/**
 * What a task file may hold, for `oompa schema task`: the Task keys, plus any
 * keys agents add (the queue keeps them as written).
 */
export const TaskFileJson = Schema.Struct(Task.fields, Schema.Record({ key: Schema.String, value: Schema.Unknown })).annotations({
  title: "task file",
  description: "tasks/{pending,current,complete}/<id>.json. Only id is required; oompa stamps claimed_*, completed_*, merged_commit, review_rounds and attempts; other keys are kept."
})
