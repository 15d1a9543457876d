import { Schema } from "effect"
import { CycleOutcome } from "./Outcome.js"
import { Verdict } from "./Verdict.js"
import { Usage } from "./Usage.js"
import { TurnFailure } from "./TurnFailure.js"

/**
 * The run files of SPEC §11, under `.oompa/runs/<swarm>/`. The code writes
 * them by encoding these Schemas and `oompa schema <name>` prints their JSON
 * Schemas, so readers (`list`, `view`, other tools) can rely on the shapes.
 */

/** The usage of src/domain/Usage.ts, under the name the run files have always used. */
export const UsageRecord = Usage

/** The kinds of run event; each has its typed variant in RunEvent.ts (checked there). */
export const EventType = Schema.Literal(
  "swarm-started",
  "worker-started",
  "waiting-for-tasks",
  "cycle-started",
  "turn-started",
  "turn-ended",
  "claim",
  "task-invalid",
  "review-started",
  "review",
  "merge",
  /** Something only the user can fix is holding work back (SPEC §7: local changes in the way). */
  "attention",
  "cycle-ended",
  "backing-off",
  "work-kept",
  "work-carried",
  "worker-stopped",
  "swarm-stopped",
  "recovered",
  /** A steering request (docs/steering.md) was applied or refused. */
  "steered",
  /** A provider answered with a rate or usage limit (or overload): its turns wait (the governor). */
  "rate-limited",
  /** A budget (max_cost_usd, max_tokens, max_runtime) of the swarm, a worker or a task was reached. */
  "budget-reached",
  /** A new worktree's setup (worktree.copy, worktree.setup) began; it ended (docs/worktree-setup.md). */
  "setup-started",
  "setup-ended",
  "warning"
)
export type EventType = typeof EventType.Type

/**
 * One line of `events.jsonl` (every state change, append-only), as every
 * version of oompa wrote it: the lenient shape readers of old runs decode.
 * What this version writes is the typed `RunEvent` union (RunEvent.ts), whose
 * every line also decodes as this.
 */
export const RunEventLine = Schema.Struct({
  at: Schema.String,
  type: EventType,
  worker: Schema.optional(Schema.String),
  cycle: Schema.optional(Schema.Number),
  /** The human-readable line the terminal shows. */
  message: Schema.String,
  data: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
export type RunEventLine = typeof RunEventLine.Type

export const WorkerInfo = Schema.Struct({ id: Schema.String, model: Schema.String, canPlan: Schema.Boolean })

export const StartedFile = Schema.Struct({
  swarm: Schema.String,
  pid: Schema.Number,
  host: Schema.String,
  startedAt: Schema.String,
  projectRoot: Schema.String,
  configPath: Schema.String,
  targetBranch: Schema.String,
  tasksDir: Schema.String,
  versions: Schema.Struct({ oompa: Schema.String, node: Schema.String }),
  workers: Schema.Array(WorkerInfo),
  /** The oompa.json as read. */
  config: Schema.Unknown
})
export type StartedFile = typeof StartedFile.Type

export const TurnRecord = Schema.Struct({
  turn: Schema.Number,
  kind: Schema.String,
  sessionId: Schema.optional(Schema.String),
  exitCode: Schema.NullOr(Schema.Number),
  timedOut: Schema.Boolean,
  /** Ended for silence (`stall_timeout`), not by the hard timeout; absent: it was not (and before 0.9). */
  stalled: Schema.optional(Schema.Boolean),
  /** For a stalled turn: the silence it was ended after (its stall_timeout), in ms. */
  silenceMs: Schema.optional(Schema.Number),
  signals: Schema.Array(Schema.String),
  durationMs: Schema.Number,
  usage: UsageRecord,
  costUsd: Schema.optional(Schema.Number),
  /** `costUsd` is an estimate from the price table (the CLI reported no cost; docs/budgets.md); absent: it is not. */
  costEstimated: Schema.optional(Schema.Boolean),
  log: Schema.String,
  error: Schema.optional(Schema.String),
  /** A failed turn's class (rate-limited, auth, …), read from the CLI's output; absent before 0.9. */
  failure: Schema.optional(TurnFailure),
  /** How long the turn waited for its provider's rate limit to lift before it started (the governor). */
  limitWaitMs: Schema.optional(Schema.Number)
})
export type TurnRecord = typeof TurnRecord.Type

export const CycleOutcomeSchema = CycleOutcome

/** `cycles/<worker>-c<N>.json`: written once, when the cycle ends. */
export const CycleFile = Schema.Struct({
  swarm: Schema.String,
  worker: Schema.String,
  cycle: Schema.Number,
  model: Schema.String,
  outcome: CycleOutcomeSchema,
  detail: Schema.String,
  branch: Schema.String,
  claims: Schema.Array(Schema.String),
  turns: Schema.Array(TurnRecord),
  signals: Schema.Array(Schema.String),
  reviewRounds: Schema.Number,
  mergedCommit: Schema.optional(Schema.String),
  keptRef: Schema.optional(Schema.String),
  startedAt: Schema.String,
  endedAt: Schema.String,
  durationMs: Schema.Number,
  usage: UsageRecord,
  costUsd: Schema.optional(Schema.Number),
  /** `costUsd` is an estimate from the price table (the CLI reported no cost; docs/budgets.md); absent: it is not. */
  costEstimated: Schema.optional(Schema.Boolean),
})
export type CycleFile = typeof CycleFile.Type

/**
 * `reviews/<worker>-c<N>-r<R>-<A>.json`: one reviewer attempt. A round tries
 * the reviewer chain in order until one gives a verdict; each attempt has its
 * file, A = 1, 2, … its place in the chain (0.8 runs wrote one
 * `<worker>-c<N>-r<R>.json` per round, read as attempt 1).
 */
export const ReviewFile = Schema.Struct({
  swarm: Schema.String,
  worker: Schema.String,
  cycle: Schema.Number,
  round: Schema.Number,
  /** 1 for the first reviewer of the chain tried in this round, 2 for the next, … */
  attempt: Schema.optionalWith(Schema.Number, { default: () => 1 }),
  reviewer: Schema.String,
  verdict: Schema.NullOr(Verdict),
  /** The reviewer's final message. */
  text: Schema.String,
  /**
   * Why this attempt gave no verdict: the reviewer failed (with the CLI's own
   * error when it gave one: "reviewer exited with 1: rate limited"), timed
   * out, or its final message had no VERDICT line. The next reviewer is tried.
   */
  error: Schema.optional(Schema.String),
  /** A failed reviewer's class (rate-limited, auth, …), read from the CLI's output; absent before 0.9. */
  failure: Schema.optional(TurnFailure),
  diffTruncated: Schema.Boolean,
  files: Schema.Array(Schema.String),
  startedAt: Schema.String,
  durationMs: Schema.Number,
  usage: UsageRecord,
  costUsd: Schema.optional(Schema.Number),
  /** `costUsd` is an estimate from the price table (the CLI reported no cost; docs/budgets.md); absent: it is not. */
  costEstimated: Schema.optional(Schema.Boolean),
  log: Schema.String
})
export type ReviewFile = typeof ReviewFile.Type

export const WorkerSummary = Schema.Struct({
  id: Schema.String,
  model: Schema.String,
  cycles: Schema.Number,
  merged: Schema.Number,
  rejected: Schema.Number,
  // Added in 0.8: older stopped.json files lack them (read as 0).
  mergeFailed: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  stuck: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  noChanges: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  errors: Schema.Number,
  /** Cycles that ended done or interrupted. */
  other: Schema.Number,
  turns: Schema.Number,
  durationMs: Schema.Number,
  usage: UsageRecord,
  costUsd: Schema.Number,
  /** part of `costUsd` is estimated from the price table (the CLI reported no cost; docs/budgets.md); absent: it is not. */
  costEstimated: Schema.optional(Schema.Boolean),
  stopReason: Schema.String,
  /** The last cycle of this worker that failed, "c3 error: agent exited with 1 (log: …)". */
  lastFailure: Schema.optional(Schema.String)
})
export type WorkerSummary = typeof WorkerSummary.Type

/** A budget that was reached (docs/budgets.md): the `budget-reached` event's data and a row of stopped.json's `budgets`. */
export const BudgetReachedRecord = Schema.Struct({
  scope: Schema.Literal("swarm", "worker", "task"),
  /** The worker or task id, for a worker or task budget. */
  id: Schema.optional(Schema.String),
  limit: Schema.Literal("max_cost_usd", "max_tokens", "max_runtime"),
  /** The configured limit, in its unit: USD, tokens, seconds. */
  value: Schema.Number,
  spent: Schema.Number,
  /** Part of the cost was estimated from the price table (a CLI reported none). */
  estimated: Schema.Boolean
})
export type BudgetReachedRecord = typeof BudgetReachedRecord.Type

/**
 * Why a swarm stopped: stopped.json's `reason`. `stopped-by-user`: a steering
 * `stop` request (docs/steering.md), the same clean stop as a first Ctrl-C.
 * `budget`: the swarm's budget was reached (docs/budgets.md), the same clean stop; exit 3.
 */
export const StopReason = Schema.Literal("completed", "interrupted", "error", "stopped-by-user", "budget")
export type StopReason = typeof StopReason.Type

export const StoppedFile = Schema.Struct({
  swarm: Schema.String,
  reason: StopReason,
  detail: Schema.optional(Schema.String),
  stoppedAt: Schema.String,
  exitCode: Schema.Number,
  /**
   * Every budget reached in the run (docs/budgets.md), in order: the swarm's (reason
   * `budget`), a worker's (its stopReason `budget`), a task's (back in pending, stamped).
   */
  budgets: Schema.optional(Schema.Array(BudgetReachedRecord)),
  workers: Schema.Array(WorkerSummary)
})
export type StoppedFile = typeof StoppedFile.Type

/**
 * A run's status as its files tell it. `running`: no stopped.json and the
 * owner pid is alive on this host (a run started on another host, seen through
 * a shared folder, counts as running: its pid cannot be checked from here).
 * `crashed`: no stopped.json and the pid is gone. `starting`: no started.json
 * yet (nor stopped.json): the run folder exists but the swarm has not written
 * its start. Otherwise stopped.json's reason.
 */
export const RunStatus = Schema.Literal("running", "crashed", "starting", ...StopReason.literals)
export type RunStatus = typeof RunStatus.Type

/** Sums over a run's cycle files (what `oompa list` shows per run). */
export const RunTotals = Schema.Struct({
  cycles: Schema.Number,
  merged: Schema.Number,
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  costUsd: Schema.Number,
  /** Part of `costUsd` was estimated from the price table (docs/budgets.md); absent: none was. */
  costEstimated: Schema.optional(Schema.Boolean)
})
export type RunTotals = typeof RunTotals.Type

/** A run file (or one line of events.jsonl) that could not be read or decoded, beside the rest. */
export const RunProblem = Schema.Struct({
  /** Path relative to the run folder, with `:<line>` for events.jsonl. */
  file: Schema.String,
  message: Schema.String
})
export type RunProblem = typeof RunProblem.Type

export const runFileSchemas = {
  "started": StartedFile,
  "event": RunEventLine,
  "cycle": CycleFile,
  "review": ReviewFile,
  "stopped": StoppedFile
} as const
