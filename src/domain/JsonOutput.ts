import { Schema } from "effect"
import { QueueCounts } from "./queue.js"
import {
  CycleFile,
  ReviewFile,
  RunEventLine,
  RunProblem,
  RunStatus,
  RunTotals,
  StartedFile,
  StoppedFile,
  WorkerSummary
} from "./RunFiles.js"
import { Task, TaskId } from "./Task.js"
import { CycleOutcome } from "./Outcome.js"
import { Usage } from "./Usage.js"

/**
 * The documents `--json` prints (`oompa list`, `view`, `tasks`, `check`, `report`): one
 * JSON document on stdout per call, encoded with these Schemas, so the output
 * is exactly what `oompa schema list.json` (view.json, tasks.json, check.json, report.json)
 * describes. They are made of the run-file and task Schemas, not copies of them.
 *
 * Each document starts with `schema: "<name>@<N>"`. N goes up only when a field
 * is removed or changes meaning; fields may be added without it, so a script
 * checks N and ignores keys it does not know.
 *
 * Warnings the tables print on stderr (a run file or task file that does not
 * decode) are, with --json, in the document's `problems` and not on stderr.
 */

const problems = Schema.Array(RunProblem).annotations({
  description: "files that could not be read or decoded (the rest is still reported); the tables print these as warnings on stderr"
})

// ---- oompa list --json --------------------------------------------------------

/** One run of `oompa list --json`. */
export const ListedRun = Schema.Struct({
  id: Schema.String.annotations({ description: "the swarm id (the run folder's name)" }),
  dir: Schema.String.annotations({ description: "the run folder, absolute" }),
  status: RunStatus,
  started: Schema.OptionFromNullOr(StartedFile.omit("config")).annotations({
    description: "started.json without the config it read (oompa view --json has it); null when missing or undecodable"
  }),
  stopped: Schema.OptionFromNullOr(StoppedFile.omit("workers")).annotations({
    description: "stopped.json without the per-worker summaries (oompa view --json has them); null while running, after a crash, or when undecodable"
  }),
  totals: RunTotals.annotations({ description: "sums over the run's cycle files" }),
  problems
})
export type ListedRun = typeof ListedRun.Type

export const ListJson = Schema.Struct({
  schema: Schema.Literal("list.json@1"),
  runs: Schema.Array(ListedRun).annotations({ description: "every run of the repository, newest first" })
}).annotations({ title: "oompa list --json", description: "The runs of this repository, newest first, from their run files." })
export type ListJson = typeof ListJson.Type

// ---- oompa view --json --------------------------------------------------------

/** How many of the last events `oompa view` shows (the table and the document alike). */
export const VIEW_EVENTS = 15

export const ViewJson = Schema.Struct({
  schema: Schema.Literal("view.json@1"),
  id: Schema.String.annotations({ description: "the swarm id" }),
  dir: Schema.String.annotations({ description: "the run folder, absolute" }),
  status: RunStatus,
  started: Schema.OptionFromNullOr(StartedFile).annotations({ description: "started.json; null when missing or undecodable" }),
  stopped: Schema.OptionFromNullOr(StoppedFile).annotations({
    description: "stopped.json; null while running, after a crash, or when undecodable"
  }),
  workers: Schema.Array(WorkerSummary).annotations({
    description: "one summary per worker, computed from the cycle files as the swarm's own summary table is (the planner first when it ran)"
  }),
  totals: RunTotals.annotations({ description: "sums over the run's cycle files" }),
  cycles: Schema.Array(CycleFile).annotations({ description: "every cycle file, by worker (as in started.json), then cycle" }),
  reviews: Schema.Array(ReviewFile).annotations({ description: "every reviewer attempt, by worker, cycle, round, attempt" }),
  eventCount: Schema.Number.annotations({ description: "how many lines events.jsonl has that decode" }),
  lastEvents: Schema.Array(RunEventLine).annotations({
    description: `the last ${VIEW_EVENTS} events (all of them: events.jsonl, or oompa logs)`
  }),
  problems
}).annotations({ title: "oompa view --json", description: "One run, from its run files." })
export type ViewJson = typeof ViewJson.Type

// ---- oompa tasks --json -------------------------------------------------------

const queuedFields = {
  id: TaskId,
  file: Schema.String.annotations({ description: "the task file, absolute" }),
  task: Task.annotations({ description: "the task file as oompa reads it (keys oompa does not know are left out)" })
}

export const PendingTaskJson = Schema.Struct({
  ...queuedFields,
  available: Schema.Boolean.annotations({ description: "every depends_on is complete: agents are offered it" }),
  waitingOn: Schema.Array(Schema.String).annotations({ description: "the depends_on ids not complete yet" })
})

export const QueuedTaskJson = Schema.Struct(queuedFields)

export const InvalidTaskJson = Schema.Struct({
  name: Schema.String.annotations({ description: "the file's name in invalid/" }),
  file: Schema.String.annotations({ description: "the file, absolute" }),
  reason: Schema.NullOr(Schema.String).annotations({ description: "the text of <name>.reason.txt beside it, if any" })
})

export const TasksJson = Schema.Struct({
  schema: Schema.Literal("tasks.json@1"),
  root: Schema.String.annotations({ description: "the queue folder (tasks_dir), absolute" }),
  counts: QueueCounts,
  pending: Schema.Array(PendingTaskJson),
  current: Schema.Array(QueuedTaskJson),
  complete: Schema.Array(QueuedTaskJson),
  invalid: Schema.Array(InvalidTaskJson),
  problems: Schema.Array(RunProblem).annotations({
    description: "pending files that are no task, left where they are (`oompa tasks quarantine` or the next swarm moves them to invalid/); file is absolute"
  })
}).annotations({ title: "oompa tasks --json", description: "The task queue: counts and the tasks in each folder." })
export type TasksJson = typeof TasksJson.Type

// ---- oompa check --json -------------------------------------------------------

export const ConfigCheckJson = Schema.Union(
  Schema.Struct({ status: Schema.Literal("missing") }).annotations({
    description: "no oompa.json found (and no --config): only the harnesses are listed"
  }),
  Schema.Struct({
    status: Schema.Literal("valid"),
    path: Schema.String.annotations({ description: "the config file, absolute" }),
    workers: Schema.Number,
    reviewers: Schema.Number.annotations({ description: "the top-level reviewer chain's length" }),
    planner: Schema.Boolean
  }),
  Schema.Struct({
    status: Schema.Literal("invalid"),
    path: Schema.String.annotations({ description: "the config file as given or found" }),
    error: Schema.String.annotations({ description: "what `oompa swarm` would refuse it for (the message printed on stderr)" })
  })
)
export type ConfigCheckJson = typeof ConfigCheckJson.Type

export const HarnessCheckJson = Schema.Struct({
  harness: Schema.String,
  builtIn: Schema.Boolean.annotations({ description: "runs inside oompa (the mock, an embedder's): nothing to install" }),
  installed: Schema.Boolean.annotations({ description: "true for a built-in harness" }),
  path: Schema.NullOr(Schema.String).annotations({ description: "the executable found" }),
  source: Schema.NullOr(Schema.String).annotations({ description: 'where it was found: "PATH", or the variable naming it (OOMPA_CODEX_BIN, …)' }),
  npmPackage: Schema.NullOr(Schema.String).annotations({ description: "what to install for an agent CLI" }),
  binEnv: Schema.NullOr(Schema.String).annotations({ description: "the variable that names an agent CLI's executable" }),
  version: Schema.NullOr(Schema.String).annotations({ description: "the first line `--version` printed" }),
  versionError: Schema.NullOr(Schema.String).annotations({ description: "why there is no version (timed out, failed, cannot run, printed nothing)" }),
  usedBy: Schema.Array(Schema.String).annotations({ description: "the workers, reviewers and planner of the config using it" })
})
export type HarnessCheckJson = typeof HarnessCheckJson.Type

export const ProbeJson = Schema.Struct({
  model: Schema.String.annotations({ description: "harness:model[:reasoning] as the config names it" }),
  result: Schema.Literal("ok", "failed", "skipped"),
  durationMs: Schema.NullOr(Schema.Number),
  message: Schema.String.annotations({ description: "the answer's first line, or why the probe failed (with the CLI's error), or why it was skipped" })
})
export type ProbeJson = typeof ProbeJson.Type

export const CheckJson = Schema.Struct({
  schema: Schema.Literal("check.json@1"),
  ok: Schema.Boolean.annotations({ description: "false when the config is invalid (exit 2) or a probe failed (exit 1)" }),
  config: ConfigCheckJson,
  harnesses: Schema.NullOr(Schema.Array(HarnessCheckJson)).annotations({
    description: "one per registered harness, in registry order; null when the config is invalid (not checked)"
  }),
  probes: Schema.NullOr(Schema.Array(ProbeJson)).annotations({
    description: "one per configured model with --probe; null without --probe or when the config is invalid"
  })
}).annotations({
  title: "oompa check --json",
  description: "The config's validity, each harness's install, and with --probe each model's answer. Printed also when a check fails; the exit code says so."
})
export type CheckJson = typeof CheckJson.Type

// ---- oompa report --json ------------------------------------------------------

const CycleId = Schema.String.annotations({ description: 'the cycle, "<worker>-c<N>" (its file is cycles/<worker>-c<N>.json)' })

export const ReportTask = Schema.Struct({
  id: Schema.String,
  summary: Schema.NullOr(Schema.String).annotations({
    description: "the task's summary (or description) from its task file in the queue now; null when the queue has no such task"
  })
})
export type ReportTask = typeof ReportTask.Type

export const ReportEnding = Schema.Struct({
  status: RunStatus,
  at: Schema.NullOr(Schema.String).annotations({ description: "stopped.json's stoppedAt; null while running or after a crash" }),
  exitCode: Schema.NullOr(Schema.Number).annotations({ description: "stopped.json's exitCode; null while running or after a crash" }),
  detail: Schema.NullOr(Schema.String).annotations({ description: "stopped.json's detail, if any" })
})

/** true when part of costUsd was estimated from the price table (docs/budgets.md); absent otherwise. */
const CostEstimated = Schema.optional(Schema.Boolean).annotations({
  description: "true when part of costUsd was estimated from the price table (docs/budgets.md); absent otherwise"
})

export const ReportMerged = Schema.Struct({
  cycle: CycleId,
  worker: Schema.String,
  tasks: Schema.Array(ReportTask).annotations({ description: "the tasks the cycle claimed" }),
  commit: Schema.NullOr(Schema.String).annotations({ description: "the merge commit (the cycle file's mergedCommit)" }),
  reviewRounds: Schema.Number,
  testCommand: Schema.Literal("passed", "none", "unknown").annotations({
    description:
      'passed: the run had a test_command (started.json\'s config), and a cycle merges only after it passed; none: no test_command; unknown: no started.json to tell'
  }),
  testFailures: Schema.Number.annotations({ description: "test_command runs of the cycle that failed before it passed (its tests-failed events)" }),
  durationMs: Schema.Number,
  usage: Usage,
  costUsd: Schema.Number,
  costEstimated: CostEstimated
})
export type ReportMerged = typeof ReportMerged.Type

export const ReportNotMerged = Schema.Struct({
  cycle: CycleId,
  worker: Schema.String,
  outcome: CycleOutcome,
  detail: Schema.String.annotations({ description: "why, as the cycle file tells it" }),
  tasks: Schema.Array(ReportTask),
  keptRef: Schema.NullOr(Schema.String).annotations({ description: "where the work is kept (refs/oompa/kept/…), if it was" }),
  keptRefPresent: Schema.NullOr(Schema.Boolean).annotations({
    description: "whether the kept ref is in the repository now (someone may have deleted it since); null when nothing was kept or git could not tell"
  }),
  gitCommand: Schema.NullOr(Schema.String).annotations({
    description:
      "the git command that shows the kept work: git log -p <target>..<ref> (git show <ref> when the target is not known); null when nothing was kept or the ref is gone"
  }),
  laterMerged: Schema.Array(CycleId).annotations({ description: "later cycles that merged every task of this one" }),
  durationMs: Schema.Number,
  usage: Usage,
  costUsd: Schema.Number
,
  costEstimated: CostEstimated
})
export type ReportNotMerged = typeof ReportNotMerged.Type

export const ReportQueue = Schema.Struct({
  root: Schema.String.annotations({ description: "the queue folder (started.json's tasksDir), absolute" }),
  counts: QueueCounts,
  pending: Schema.Array(
    Schema.Struct({ ...ReportTask.fields, waitingOn: Schema.Array(Schema.String).annotations({ description: "depends_on ids not complete yet" }) })
  ),
  current: Schema.Array(
    Schema.Struct({ ...ReportTask.fields, claimedBy: Schema.NullOr(Schema.String) })
  ).annotations({ description: "tasks still claimed (a running swarm's, or a crashed one's until oompa cleanup)" }),
  invalid: Schema.Array(Schema.Struct({ name: Schema.String, reason: Schema.NullOr(Schema.String) }))
}).annotations({ description: "the task queue as it is now (not as it was when the run ended)" })
export type ReportQueue = typeof ReportQueue.Type

const Spend = {
  cycles: Schema.Number,
  usage: Usage,
  costUsd: Schema.Number,
  costEstimated: CostEstimated
}

export const ReportSpend = Schema.Struct({
  workers: Schema.Array(
    Schema.Struct({
      id: Schema.String,
      model: Schema.String,
      ...Spend,
      merged: Schema.Number,
      durationMs: Schema.Number,
      stopReason: Schema.String
    })
  ).annotations({ description: "per worker, computed from the cycle files as oompa view does" }),
  tasks: Schema.Array(Schema.Struct({ id: Schema.String, ...Spend })).annotations({
    description: "per task: the sum of the cycles that claimed it (a cycle of several tasks counts in each, so these may add up to more than the total)"
  }),
  unclaimed: Schema.Struct(Spend).annotations({ description: "cycles that claimed no task (planning, no work)" }),
  total: Schema.Struct(Spend).annotations({ description: "sums over every cycle file" })
}).annotations({ description: "tokens and cost, from the cycle files (turns and reviews)" })
export type ReportSpend = typeof ReportSpend.Type

export const ReportWaiting = Schema.Struct({
  backOffs: Schema.Array(Schema.Struct({ worker: Schema.String, count: Schema.Number, ms: Schema.Number })).annotations({
    description: "per worker, the back-offs after error cycles (backing-off events; ms is what was announced, a stop may have cut it short)"
  }),
  backOffMs: Schema.Number,
  mergeHolds: Schema.Array(Schema.Struct({ cycle: CycleId, ms: Schema.Number, what: Schema.String })).annotations({
    description: "approved work held back by a blocked checkout before it landed (merge events)"
  }),
  mergeHoldMs: Schema.Number,
  rateLimits: Schema.Array(
    Schema.Struct({ worker: Schema.String, limitedTurns: Schema.Number, waits: Schema.Number, ms: Schema.Number })
  ).annotations({
    description:
      "per worker, its turns a provider's rate limit or overload cut short, and the time its turns waited for a limit to lift before starting (turn records' failure and limitWaitMs)"
  }),
  rateLimitMs: Schema.Number,
  providers: Schema.Array(
    Schema.Struct({ provider: Schema.String, limits: Schema.Number, longestHoldMs: Schema.Number })
  ).annotations({ description: "per provider, the limits it answered with and its longest hold (rate-limited events)" })
})
export type ReportWaiting = typeof ReportWaiting.Type

export const NeedsHumanKind = Schema.Literal(
  "crashed",
  "rejected",
  "merge-failed",
  "blocked-merge",
  "stuck",
  "stopped-on-errors",
  "invalid-task",
  /** A task whose budget was reached: back in pending, stamped budget_reached, claimed by nobody until a person looks. */
  "budget-reached"
)

export const NeedsHuman = Schema.Struct({
  kind: NeedsHumanKind,
  worker: Schema.NullOr(Schema.String),
  cycle: Schema.NullOr(CycleId),
  text: Schema.String,
  ref: Schema.NullOr(Schema.String).annotations({ description: "the kept ref of the work, if any" }),
  command: Schema.NullOr(Schema.String).annotations({ description: "the one command to look at it or fix it" })
})
export type NeedsHuman = typeof NeedsHuman.Type

export const ReportJson = Schema.Struct({
  schema: Schema.Literal("report.json@1"),
  id: Schema.String.annotations({ description: "the swarm id" }),
  dir: Schema.String.annotations({ description: "the run folder, absolute" }),
  targetBranch: Schema.NullOr(Schema.String).annotations({ description: "started.json's targetBranch; null when missing" }),
  startedAt: Schema.NullOr(Schema.String),
  ended: ReportEnding,
  merged: Schema.Array(ReportMerged).annotations({ description: "every merged cycle, by worker then cycle" }),
  notMerged: Schema.Array(ReportNotMerged).annotations({ description: "every other cycle, by worker then cycle" }),
  queue: Schema.NullOr(ReportQueue).annotations({ description: "null when started.json (which names the queue) is missing" }),
  spend: ReportSpend,
  waiting: ReportWaiting,
  needsHuman: Schema.Array(NeedsHuman).annotations({ description: "what a person should look at, most urgent first" }),
  problems
}).annotations({
  title: "oompa report --json",
  description: "The morning report of one run: what merged, what did not and where it is kept, what is left, what it cost, what needs a human. All from the run files and the queue."
})
export type ReportJson = typeof ReportJson.Type
