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

/**
 * The documents `--json` prints (`oompa list`, `view`, `tasks`, `check`): one
 * JSON document on stdout per call, encoded with these Schemas, so the output
 * is exactly what `oompa schema list.json` (view.json, tasks.json, check.json)
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
