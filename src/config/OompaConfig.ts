import type { Duration } from "effect"
import type { ModelSpec } from "../domain/Model.js"
import type { BudgetLimits } from "../domain/Budget.js"
import type { PriceTable } from "../domain/prices.js"

/**
 * The resolved configuration the engine runs on: every default applied,
 * every path absolute, every prompt file read (with includes inlined, tokens
 * not yet rendered). Produced by `loadConfig`; nothing else builds one except tests.
 */
export interface PromptSource {
  /** Absolute paths of the files that make up the prompt, in order. */
  readonly files: ReadonlyArray<string>
  /** Their contents, includes inlined, joined with a blank line. */
  readonly text: string
}

export interface ReviewerSpec {
  readonly model: ModelSpec
  /** Without a `prompt` in oompa.json: the bundled reviewer.md (listed in `files`). */
  readonly prompt: PromptSource
  /** How long one review may run; undefined: the reviewed worker's `timeout`. */
  readonly timeout?: Duration.Duration | undefined
}

export interface WorkerSpec {
  /** `w0`, `w1`, … in config order, `count` expanded. */
  readonly id: string
  readonly model: ModelSpec
  readonly prompt: PromptSource
  readonly maxCycle: number
  readonly canPlan: boolean
  readonly maxWaitForTasks: Duration.Duration
  readonly maxResumes: number
  readonly maxWorkingResumes: number
  readonly waitBetween: Duration.Duration
  readonly timeout: Duration.Duration
  /** `stall_timeout`: a turn silent this long ends stalled (docs/stalls.md). Undefined: no stall rule. */
  readonly stallTimeout?: Duration.Duration | undefined
  /** Per-worker reviewers, tried before the global chain. */
  readonly reviewers: ReadonlyArray<ReviewerSpec>
  /** This worker's `budget` (docs/budgets.md); undefined: none. */
  readonly budget?: BudgetLimits | undefined
  /** `worktree` (docs/worktree-setup.md): the worker's own merged over the top-level one. Undefined: none. */
  readonly worktree?: WorktreeSpec | undefined
}

/** What each new worktree of a worker gets before its first turn; placeholders not yet rendered. */
export interface WorktreeSpec {
  /** Paths relative to the project root, canonical, each with the oompa.json field that named it (for errors). */
  readonly copy: ReadonlyArray<{ readonly path: string; readonly field: string }>
  /** Shell commands, in order. */
  readonly setup: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
}

export interface PlannerSpec {
  readonly model: ModelSpec
  readonly prompt: PromptSource
  readonly maxPending: number
}

/** `notify` (docs/notifications.md): at least one of `command` and `webhook`. */
export interface NotifyConfig {
  /** The program and its arguments, run without a shell; the payload on its stdin. */
  readonly command?: ReadonlyArray<string> | undefined
  /** An http(s) URL the payload is POSTed to. */
  readonly webhook?: string | undefined
  /** How long a provider's limit may hold its turns before a rate-limited notification. */
  readonly rateLimitedAfter: Duration.Duration
}

export interface OompaConfig {
  /** Absolute path of the oompa.json this came from. */
  readonly configPath: string
  /** The project root: the folder oompa runs in (`cwd` of loadConfig), whichever config file was found. */
  readonly projectRoot: string
  readonly workers: ReadonlyArray<WorkerSpec>
  readonly reviewers: ReadonlyArray<ReviewerSpec>
  readonly planner: PlannerSpec | undefined
  /** undefined: the branch checked out in the project root when the swarm starts. */
  readonly targetBranch: string | undefined
  /** Absolute path of the task queue root. */
  readonly tasksDir: string
  readonly testCommand: string | undefined
  readonly maxReviewRounds: number
  readonly maxConsecutiveErrors: number
  /** Re-merges when the target moved between merging it in and landing (SPEC §7). */
  readonly maxMergeRetries: number
  /** How long approved work waits for the user's checkout to stop blocking the fast forward. */
  readonly mergeWait: Duration.Duration
  /** Parallel turns per harness name (`max_concurrent`); a harness not listed has no cap. */
  readonly maxConcurrent: Readonly<Record<string, number>>
  /** Where notifications go; undefined: none are sent. */
  readonly notify?: NotifyConfig | undefined
  /** The swarm's `budget`, and `task_budget`, the default of every task (docs/budgets.md); undefined: none. */
  readonly budget?: BudgetLimits | undefined
  readonly taskBudget?: BudgetLimits | undefined
  /** The bundled price table with oompa.json's `prices` over it: estimates of costs a CLI does not report. */
  readonly prices?: PriceTable | undefined
}
