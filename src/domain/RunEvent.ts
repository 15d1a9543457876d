import { Schema } from "effect"
import { humanDuration } from "./humanDuration.js"
import { oneLine } from "./queue.js"
import { CycleOutcome } from "./Outcome.js"
import { ControlAction, ControlBy } from "./Control.js"
import { BudgetReachedRecord, EventType, RunEventLine, StopReason, TurnRecord } from "./RunFiles.js"
import { Usage } from "./Usage.js"
import { Verdict } from "./Verdict.js"

export { EventType, RunEventLine }

/**
 * A run's events (SPEC §11): one Schema tagged union, tagged by `type`. The
 * run log appends each event to `events.jsonl` encoded with this Schema,
 * prints its `terminalLine`, and publishes it to subscribers (the terminal
 * view, an embedder); `oompa schema events.jsonl` prints its JSON Schema.
 *
 * On disk a line is `{at, type, worker?, cycle?, message, data?}` — the shape
 * every earlier version wrote — so `data` is the typed payload of the kind and
 * `message` is the terminal wording, derived from the payload by `make` (one
 * wording per kind, below). Earlier versions wrote fewer payload fields; their
 * lines are read with the lenient `RunEventLine` (RunFiles.ts), which every
 * typed event also satisfies.
 *
 * Build events with `RunEvent.make.<kind>(…)`, never by hand: the message
 * cannot drift from the payload.
 */

// ---------------------------------------------------------------------------
// Payloads

const Text = Schema.String
const Count = Schema.Number

export const SwarmStartedData = Schema.Struct({
  swarm: Text,
  targetBranch: Text,
  workers: Count,
  pending: Count,
  /** The run folder, relative to the project root. */
  runFiles: Text
})

/** A worker begins its loop. */
export const WorkerStarting = Schema.Struct({ model: Text, canPlan: Schema.Boolean, maxCycle: Count })
/** The planner runs alone first, because too few tasks are available (SPEC §5). */
export const PlannerFirst = Schema.Struct({ available: Count, maxPending: Count })
export const WorkerStartedData = Schema.Union(WorkerStarting, PlannerFirst)

export const WaitingForTasksData = Schema.Struct({ waitMs: Count })

export const CycleStartedData = Schema.Struct({ branch: Text, worktree: Text, base: Text })

export const TurnStartedData = Schema.Struct({ turn: Count, kind: Text, log: Text })

export const TurnEndedData = Schema.Struct({ ...TurnRecord.fields, cycleName: Text })

export const ClaimResultTag = Schema.Literal("Claimed", "AlreadyTaken", "NotFound", "Blocked", "InvalidId", "OverBudget")
export const ClaimData = Schema.Struct({
  /** One per id asked for, in order. */
  results: Schema.Array(Schema.Struct({ id: Text, result: ClaimResultTag }))
})

export const TaskInvalidData = Schema.Struct({ file: Text, movedTo: Text, reason: Text })

export const ReviewStartedData = Schema.Struct({ round: Count, attempt: Count, reviewer: Text, log: Text })

/** What a review cost (absent in runs of versions before the live views). */
const reviewCost = {
  usage: Schema.optional(Usage),
  costUsd: Schema.optional(Schema.Number),
  /** `costUsd` was estimated from the price table (docs/budgets.md). */
  costEstimated: Schema.optional(Schema.Boolean)
}
export const ReviewVerdict = Schema.Struct({
  round: Count,
  attempt: Count,
  reviewer: Text,
  verdict: Verdict,
  ...reviewCost
})
/** Why a reviewer gave no verdict when its final message had none. */
export const NO_VERDICT_LINE = "no VERDICT line in the final message"
export const ReviewNoVerdict = Schema.Struct({
  round: Count,
  attempt: Count,
  reviewer: Text,
  verdict: Schema.Null,
  error: Text,
  /** Whether the chain has another reviewer to try this round. */
  nextReviewer: Schema.Boolean,
  ...reviewCost
})
export const ReviewData = Schema.Union(ReviewVerdict, ReviewNoVerdict)

/** The steps of landing a cycle's work (SPEC §7), one payload each, told apart by `step`. */
export const MergeCommitted = Schema.Struct({ step: Schema.Literal("committed"), commit: Text })
export const MergeRetry = Schema.Struct({
  step: Schema.Literal("retry"),
  target: Text,
  retry: Count,
  maxRetries: Count,
  targetTip: Text
})
export const MergeLanded = Schema.Struct({
  step: Schema.Literal("merged"),
  target: Text,
  commit: Text,
  retries: Count,
  /** How long a blocked checkout held the work back before it landed, and by what. */
  held: Schema.optional(Schema.Struct({ ms: Count, what: Text }))
})
export const MergeConflict = Schema.Struct({ step: Schema.Literal("conflict"), target: Text, conflict: Schema.Array(Text) })
export const MergeTestsFailed = Schema.Struct({ step: Schema.Literal("tests-failed") })
export const MergeData = Schema.Union(MergeCommitted, MergeRetry, MergeLanded, MergeConflict, MergeTestsFailed)

export const AttentionData = Schema.Struct({
  target: Text,
  worktree: Text,
  /** The user's files the landing would overwrite; empty when something else blocks it. */
  files: Schema.Array(Text),
  reason: Text,
  mergeWaitSeconds: Count
})

export const CycleEndedData = Schema.Struct({
  outcome: CycleOutcome,
  detail: Text,
  claims: Schema.Array(Text),
  keptRef: Schema.optional(Text)
})

/** After an error cycle the worker waits before its next one (SPEC §5: exponential back-off). */
export const BackingOffData = Schema.Struct({ ms: Count, consecutiveErrors: Count })

export const WorkKeptData = Schema.Struct({ ref: Text, commit: Text })

export const WorkCarriedData = Schema.Struct({
  task: Text,
  ref: Text,
  commit: Text,
  /** The cycle that kept the work, `<worker>-c<N>`. */
  from: Text,
  /** The cycle it was carried into (or not), `<worker>-c<N>`. */
  into: Text,
  merged: Schema.Boolean,
  /** Why it was not merged. */
  why: Schema.optional(Text)
})

export const WorkerStoppedData = Schema.Struct({
  reason: Text,
  cycles: Count,
  merged: Count,
  rejected: Count,
  mergeFailed: Count,
  stuck: Count,
  noChanges: Count,
  errors: Count,
  other: Count,
  turns: Count,
  usage: Usage,
  costUsd: Schema.Number,
  /** Part of `costUsd` was estimated from the price table (docs/budgets.md). */
  costEstimated: Schema.optional(Schema.Boolean),
  lastFailure: Schema.optional(Text)
})

export const SwarmStoppedData = Schema.Struct({
  swarm: Text,
  reason: StopReason,
  exitCode: Count,
  targetBranch: Text,
  merged: Count,
  /** The failed cycles, "1 error, 2 rejected", when there were any. */
  failed: Schema.optional(Text)
})

/** A crashed run's leftovers recovered (SPEC §8). */
export const RecoveredRun = Schema.Struct({
  swarm: Text,
  kept: Schema.Array(Text),
  claims: Schema.Array(Text),
  completed: Schema.Array(Text)
})
/** Unstamped tasks left in current/ by a stopped run, back to pending. */
export const RecoveredOrphans = Schema.Struct({ orphans: Schema.Array(Text) })
export const RecoveredData = Schema.Union(RecoveredRun, RecoveredOrphans)

/** A steering request (docs/steering.md) applied (ok) or refused, with the answer the asker got. */
export const SteeredData = Schema.Struct({
  action: ControlAction,
  worker: Schema.optional(Text),
  task: Schema.optional(Text),
  by: ControlBy,
  ok: Schema.Boolean,
  message: Text
})

/**
 * A provider (harness plus base URL) answered a turn with a limit: no new turn
 * of it starts until `until`; the limited cycle keeps its worktree and session
 * and resumes then. `source`: where the wait came from.
 */
export const RateLimitedData = Schema.Struct({
  provider: Text,
  class: Schema.Literal("rate-limited", "overloaded"),
  waitMs: Count,
  until: Text,
  source: Schema.Literal("reset-time", "retry-after", "backoff"),
  /** The limited turns in a row of this provider (1 for the first). */
  strike: Count
})

/** Which budget was reached, and by how much was spent (cost estimated where a CLI reports none): RunFiles.ts's record. */
export const BudgetReachedData = BudgetReachedRecord

/** A new worktree's setup (docs/worktree-setup.md): the files copied in, the commands to run. */
export const SetupStartedData = Schema.Struct({ copy: Schema.Array(Text), commands: Schema.Array(Text) })
/** One setup command that ran: its log holds its output (stdout and stderr). */
export const SetupCommandRecord = Schema.Struct({
  command: Text,
  exitCode: Schema.NullOr(Count),
  timedOut: Schema.Boolean,
  durationMs: Count,
  log: Text
})
export const SetupEndedData = Schema.Struct({
  ok: Schema.Boolean,
  durationMs: Count,
  /** The commands that ran, in order; a failed one is the last. */
  commands: Schema.Array(SetupCommandRecord),
  /** Why it failed: the copy or the command, with the end of its output. */
  error: Schema.optional(Text)
})

// ---------------------------------------------------------------------------
// The union

/** Where an event belongs: the swarm, one worker, or one worker's cycle. */
const ofSwarm = {}
const ofWorker = { worker: Text }
const ofCycle = { worker: Text, cycle: Count }

const variant = <const T extends string, S extends Schema.Struct.Fields, D extends Schema.Schema.Any>(
  type: T,
  scope: S,
  data: D,
  description: string
) =>
  Schema.Struct({ at: Text, type: Schema.Literal(type), ...scope, message: Text, data }).annotations({
    identifier: type,
    description
  })

export const SwarmStarted = variant("swarm-started", ofSwarm, SwarmStartedData, "the swarm began")
export const WorkerStarted = variant("worker-started", ofWorker, WorkerStartedData, "a worker began (or the planner runs first)")
export const WaitingForTasks = variant("waiting-for-tasks", ofWorker, WaitingForTasksData, "an executor waits for a task it may claim")
export const CycleStarted = variant("cycle-started", ofCycle, CycleStartedData, "a cycle's worktree and branch were made")
export const TurnStarted = variant("turn-started", ofCycle, TurnStartedData, "an agent turn began")
export const TurnEnded = variant("turn-ended", ofCycle, TurnEndedData, "an agent turn ended (or could not run)")
export const Claim = variant("claim", ofCycle, ClaimData, "the agent claimed tasks")
export const TaskInvalid = variant("task-invalid", ofSwarm, TaskInvalidData, "a pending task file was invalid and moved to invalid/")
export const ReviewStarted = variant("review-started", ofCycle, ReviewStartedData, "a reviewer began reading the cycle's diff")
export const Review = variant("review", ofCycle, ReviewData, "one reviewer's verdict (or why it gave none)")
export const Merge = variant("merge", ofCycle, MergeData, "a step of landing the work")
export const Attention = variant(
  "attention",
  ofCycle,
  AttentionData,
  "something only the user can fix is holding work back (SPEC §7: local changes in the way)"
)
export const CycleEnded = variant("cycle-ended", ofCycle, CycleEndedData, "a cycle ended, with its outcome")
export const BackingOff = variant("backing-off", ofWorker, BackingOffData, "a worker waits after consecutive error cycles")
export const WorkKept = variant("work-kept", ofCycle, WorkKeptData, "unmerged work kept under a ref (SPEC §8)")
export const WorkCarried = variant("work-carried", ofCycle, WorkCarriedData, "kept work of a claimed task carried into a cycle")
export const WorkerStopped = variant("worker-stopped", ofWorker, WorkerStoppedData, "a worker stopped, with its figures")
export const SwarmStopped = variant("swarm-stopped", ofSwarm, SwarmStoppedData, "the swarm stopped: the last event of a run but the notifier's warnings about its swarm-ended notification")
export const Recovered = variant("recovered", ofSwarm, RecoveredData, "a crashed run's leftovers were recovered")
export const Steered = variant("steered", ofSwarm, SteeredData, "a steering request was applied or refused (docs/steering.md)")
export const RateLimited = variant("rate-limited", ofCycle, RateLimitedData, "a provider's limit holds its turns until it resets")
export const BudgetReached = variant(
  "budget-reached",
  { worker: Schema.optional(Text) },
  BudgetReachedData,
  "a budget was reached: no new turns in its scope"
)
export const SetupStarted = variant("setup-started", ofCycle, SetupStartedData, "a new worktree's setup began: files copied, commands run")
export const SetupEnded = variant("setup-ended", ofCycle, SetupEndedData, "a new worktree's setup ended (a failure ends the cycle as an error)")
/** A warning: its message is all there is; it may belong to the swarm, a worker or a cycle. */
export const Warning = Schema.Struct({
  at: Text,
  type: Schema.Literal("warning"),
  worker: Schema.optional(Text),
  cycle: Schema.optional(Count),
  message: Text
}).annotations({ identifier: "warning", description: "something went wrong that the run survives" })

export const RunEvent = Schema.Union(
  SwarmStarted,
  WorkerStarted,
  WaitingForTasks,
  CycleStarted,
  TurnStarted,
  TurnEnded,
  Claim,
  TaskInvalid,
  ReviewStarted,
  Review,
  Merge,
  Attention,
  CycleEnded,
  BackingOff,
  WorkKept,
  WorkCarried,
  WorkerStopped,
  SwarmStopped,
  Recovered,
  Steered,
  RateLimited,
  BudgetReached,
  SetupStarted,
  SetupEnded,
  Warning
).annotations({ identifier: "RunEvent", description: "one line of runs/<swarm>/events.jsonl" })
export type RunEvent = typeof RunEvent.Type

/** One kind of event. */
export type RunEventOf<T extends EventType> = Extract<RunEvent, { readonly type: T }>

/** An event before the run log stamps its time. */
export type RunEventDraft = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, "at"> : never) : never

// The kinds a line may have (EventType, beside the lenient line Schema in RunFiles.ts) are
// exactly the union's: adding a variant without its kind, or a kind without a variant, fails here.
const sameKinds: [EventType] extends [RunEvent["type"]] ? ([RunEvent["type"]] extends [EventType] ? true : never) : never = true
void sameKinds

// ---------------------------------------------------------------------------
// Wording and rendering

/** The first non-blank line of a text, trimmed (git's stderr, for one-line messages). */
export const firstLine = (text: string): string => text.split("\n").find((line) => line.trim() !== "")?.trim() ?? text

/** Milliseconds as "12.3 s", how merge waits are told. */
export const secondsOf = (ms: number): string => `${Math.round(ms / 100) / 10} s`

const short = (sha: string): string => sha.slice(0, 12)

type Data<T extends EventType> = RunEventOf<T> extends { readonly data: infer D } ? D : never
type Scope<T extends EventType> = Omit<RunEventOf<T>, "at" | "type" | "message" | "data">

/** The terminal wording of each kind, from its payload. */
const wording: { readonly [T in Exclude<EventType, "warning">]: (data: Data<T>, scope: Scope<T>) => string } = {
  "swarm-started": (d) =>
    `swarm ${d.swarm} on ${d.targetBranch}: ${d.workers} worker(s), ${d.pending} pending task(s); run files in ${d.runFiles}`,
  "worker-started": (d) =>
    "model" in d
      ? `${d.model}${d.canPlan ? "" : " (executor)"}, up to ${d.maxCycle} cycles`
      : `planner runs first: ${d.available} available task(s) < max_pending ${d.maxPending}`,
  "waiting-for-tasks": (d) => `waiting up to ${humanDuration(d.waitMs)} for a task`,
  "cycle-started": (d, s) => `cycle ${s.cycle} started on ${d.branch}`,
  "turn-started": (d) => `turn ${d.turn} (${d.kind})`,
  "turn-ended": (d) =>
    // Only a turn that could not start records an error (its harness's).
    d.error !== undefined
      ? `turn ${d.turn} could not run: ${d.error}`
      : d.stalled === true
        ? `turn ${d.turn} stalled after ${d.silenceMs !== undefined ? humanDuration(d.silenceMs) : "a long time"} of silence`
        : d.timedOut
        ? `turn ${d.turn} timed out after ${humanDuration(d.durationMs)}`
        : d.exitCode !== 0 || d.failure !== undefined
          ? `turn ${d.turn} failed: exit ${d.exitCode ?? "by signal"}${d.exitCode === 0 ? ", error in its output" : ""}${
              d.failure !== undefined && d.failure.class !== "other" ? ` (${d.failure.class})` : ""
            }`
          : `turn ${d.turn} ended: ${d.signals.length > 0 ? d.signals.join(" ") : "no signal"} (${humanDuration(d.durationMs)}${
              d.costUsd !== undefined ? `, $${d.costUsd.toFixed(4)}` : ""
            })`,
  "claim": (d) => `claim ${d.results.map((r) => r.id).join(", ")}: ${d.results.map((r) => `${r.id} ${r.result}`).join(", ")}`,
  "task-invalid": (d) => `task file pending/${d.file} is invalid, moved to invalid/${d.movedTo}: ${d.reason}`,
  "review-started": (d) => `review round ${d.round}: ${d.reviewer} reading the diff`,
  "review": (d) =>
    d.verdict !== null
      ? `review round ${d.round}: ${d.reviewer} says ${d.verdict}`
      : `review round ${d.round}: ${d.reviewer} gave no verdict (${oneLine(d.error === NO_VERDICT_LINE ? "no VERDICT line" : d.error, 300)})${
          d.nextReviewer ? ", trying the next reviewer" : ""
        }`,
  "merge": (d) => {
    switch (d.step) {
      case "committed":
        return `committed the worktree as ${short(d.commit)}`
      case "retry":
        return `${d.target} moved to ${short(d.targetTip)} before the work could land: merging it in again (retry ${d.retry} of ${d.maxRetries})`
      case "merged": {
        const after = [
          d.retries > 0 ? `${d.retries} re-merge${d.retries === 1 ? "" : "s"}` : "",
          d.held !== undefined ? `waiting ${secondsOf(d.held.ms)} for ${d.held.what}` : ""
        ].filter((part) => part !== "")
        return `merged into ${d.target} at ${short(d.commit)}${after.length > 0 ? ` after ${after.join(" and ")}` : ""}`
      }
      case "conflict":
        return `merging ${d.target} conflicted in ${d.conflict.join(", ")}: back to the agent`
      case "tests-failed":
        return `test_command failed: back to the agent`
    }
  },
  "attention": (d) => {
    const holding =
      d.mergeWaitSeconds > 0
        ? `oompa holds the approved work and retries for up to ${secondsOf(d.mergeWaitSeconds * 1000)} (merge_wait)`
        : "merge_wait is 0, so the work is kept instead"
    return d.files.length > 0
      ? `${d.target} cannot move: landing the approved work would overwrite your local changes to ` +
          `${d.files.join(", ")} in ${d.worktree}. Commit, stash or revert them; they are left alone and ${holding}`
      : `${d.target} cannot move in ${d.worktree}: ${firstLine(d.reason)}; ${holding}`
  },
  "cycle-ended": (d, s) => {
    const claims = d.claims.length > 0 ? ` [${d.claims.join(", ")}${d.outcome === "merged" ? " complete" : " back to pending"}]` : ""
    return `cycle ${s.cycle} ${d.outcome}: ${d.detail}${claims}`
  },
  "backing-off": (d) => `backing off ${humanDuration(d.ms)} after ${d.consecutiveErrors} consecutive error(s)`,
  "work-kept": (d) => `work kept at ${d.ref} (${short(d.commit)})`,
  "work-carried": (d) =>
    d.merged
      ? `${d.task}: work kept from ${d.from} (${d.ref}, ${short(d.commit)}) carried into ${d.into}`
      : `${d.task}: work kept from ${d.from} (${d.ref}) not carried: ${d.why ?? "it was not merged"}; the agent is told where it is`,
  "worker-stopped": (d) => `stopped (${d.reason}) after ${d.cycles} cycle(s), ${d.merged} merged`,
  "swarm-stopped": (d) =>
    `swarm ${d.swarm} ${d.reason}: ${d.merged} cycle(s) merged into ${d.targetBranch}${d.failed !== undefined ? ` (${d.failed})` : ""}`,
  "recovered": (d) =>
    "orphans" in d
      ? `${d.orphans.length} unclaimed task(s) left in current/ by a stopped run back to pending: ${d.orphans.join(", ")}`
      : `recovered crashed run ${d.swarm}: ${d.kept.length} branch(es) kept${d.kept.length ? ` (${d.kept.join(", ")})` : ""}, ` +
        `${d.completed.length > 0 ? `${d.completed.length} merged claim(s) completed (${d.completed.join(", ")}), ` : ""}` +
        `${d.claims.length} claim(s) back to pending`,
  "rate-limited": (d) =>
    `${d.provider} ${d.class === "overloaded" ? "is overloaded" : "answered with a rate limit"}: no new turn of it starts for ${humanDuration(d.waitMs)} ` +
    `(until ${d.until}, ${d.source === "reset-time" ? "the reset time it gave" : d.source === "retry-after" ? "its retry-after" : `back-off, strike ${d.strike}`}); the cycle resumes then`,
  "budget-reached": (d) => {
    const unit = d.limit === "max_cost_usd" ? (n: number) => `$${n.toFixed(2)}` : d.limit === "max_runtime" ? (n: number) => humanDuration(n * 1000) : (n: number) => `${n} tokens`
    return `${d.scope === "swarm" ? "the swarm's" : `${d.scope} ${d.id ?? "?"}'s`} budget ${d.limit} ${unit(d.value)} reached: ${unit(d.spent)} spent${d.estimated ? " (estimated)" : ""}; no new turns`
  },
  "setup-started": (d) =>
    `setting up the worktree: ${[
      d.copy.length > 0 ? `copying ${d.copy.join(", ")}` : "",
      d.commands.length > 0 ? `running ${d.commands.map((c) => oneLine(c, 80)).join(", ")}` : ""
    ].filter((part) => part !== "").join(", then ")}`,
  "setup-ended": (d) => (d.ok ? `worktree set up in ${humanDuration(d.durationMs)}` : `worktree setup failed: ${d.error ?? "unknown error"}`),
  "steered": (d) => `${d.ok ? "" : "refused: "}${d.message} (asked from the ${d.by === "cli" ? "command line" : d.by === "terminal" ? "terminal view" : "web page"})`
}

const build =
  <T extends Exclude<EventType, "warning">>(type: T) =>
  (scope: Scope<T>, data: Data<T>): Omit<RunEventOf<T>, "at"> =>
    // The cast: TypeScript cannot see that these four parts make up the variant of T.
    ({ type, ...scope, message: (wording[type] as (d: Data<T>, s: Scope<T>) => string)(data, scope), data }) as unknown as Omit<RunEventOf<T>, "at">

/**
 * The constructors, one per kind: `make.claim({ worker, cycle }, { results })`.
 * Each derives the message from the payload; the run log adds `at`.
 */
export const make = {
  swarmStarted: build("swarm-started"),
  workerStarted: build("worker-started"),
  waitingForTasks: build("waiting-for-tasks"),
  cycleStarted: build("cycle-started"),
  turnStarted: build("turn-started"),
  turnEnded: build("turn-ended"),
  claim: build("claim"),
  taskInvalid: build("task-invalid"),
  reviewStarted: build("review-started"),
  review: build("review"),
  merge: build("merge"),
  attention: build("attention"),
  cycleEnded: build("cycle-ended"),
  backingOff: build("backing-off"),
  workKept: build("work-kept"),
  workCarried: build("work-carried"),
  workerStopped: build("worker-stopped"),
  swarmStopped: build("swarm-stopped"),
  recovered: build("recovered"),
  steered: build("steered"),
  rateLimited: build("rate-limited"),
  budgetReached: build("budget-reached"),
  setupStarted: build("setup-started"),
  setupEnded: build("setup-ended"),
  warning: (message: string, scope: { readonly worker?: string; readonly cycle?: number } = {}): RunEventDraft => ({
    type: "warning",
    ...(scope.worker !== undefined ? { worker: scope.worker } : {}),
    ...(scope.cycle !== undefined ? { cycle: scope.cycle } : {}),
    message
  })
} as const

/**
 * The line the terminal shows for an event — what `oompa swarm` prints and
 * `oompa logs` repeats (with the time in front): one definition for both.
 */
export const terminalLine = (event: Pick<RunEventLine, "worker" | "cycle" | "message">): string => {
  const prefix = event.worker !== undefined ? `[${event.worker}]` : "[oompa]"
  const cycle = event.cycle !== undefined ? ` c${event.cycle}` : ""
  return `${prefix}${cycle} ${event.message}`
}
