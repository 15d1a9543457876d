import { Either, Schema } from "effect"
import { isModelStringShape } from "../domain/Model.js"

/**
 * The Schema of the oompa.json file itself (SPEC §2), exactly as users write
 * it: snake_case keys, seconds as numbers, model strings unparsed. `loadConfig`
 * decodes with it (unknown keys are errors) and then resolves defaults, paths
 * and prompts into an `OompaConfig`. `oompa schema` prints its JSON Schema.
 */

/**
 * `harness:model[:reasoning]`, e.g. `claude:opus`, `codex:gpt-5.3-codex:medium`.
 * The Schema checks the shape; which harnesses exist is the registry's to say
 * (an embedder may add its own), so loadConfig checks the name against it.
 */
export const ModelString = Schema.String.pipe(
  Schema.pattern(/^[a-z][a-z0-9_-]*(:.+)?$/, {
    identifier: "ModelString",
    title: "model",
    description:
      `"harness:model[:reasoning]": harness one of the registered harnesses (\`oompa check\` lists them); ` +
      `reasoning (optional, last ":" part) one of minimal, low, medium, high, xhigh, max`
  }),
  Schema.filter(isModelStringShape)
)

/** One prompt file or a list of them (concatenated), relative to oompa.json's folder, then to oompa's bundled files. */
export const PromptRef = Schema.Union(Schema.String, Schema.Array(Schema.String)).annotations({
  identifier: "PromptRef",
  description:
    "A prompt file, or a list of files joined in order. Relative paths resolve against the folder of oompa.json, " +
    "then against oompa's package root (so config/prompts/executor.md is the bundled executor prompt)."
})

/**
 * The range of every number in oompa.json. The upper bounds keep a typo
 * (`"count": 1000000000`) from exhausting memory or sleeping for a century:
 * each is far above any sensible value, and the error message names it.
 */
export interface NumberBound {
  readonly integer: boolean
  readonly min: number
  /** `min` itself is refused (timeouts must be > 0). */
  readonly minExclusive?: boolean
  readonly max: number
  readonly unit?: "seconds"
}

/**
 * Defaults of SPEC §2, in the units of oompa.json (seconds for durations): the
 * one copy. The Schema's descriptions (and so `oompa schema`) quote them,
 * `loadConfig` applies them, the planner borrows them when it has no worker to copy.
 */
export const defaults = {
  max_cycle: 10,
  count: 1,
  can_plan: true,
  max_wait_for_tasks: 600,
  max_resumes: 7,
  max_working_resumes: 5,
  wait_between: 0,
  timeout: 1800,
  tasks_dir: "tasks",
  max_review_rounds: 3,
  max_consecutive_errors: 3,
  max_merge_retries: 5,
  merge_wait: 600,
  max_pending: 10,
  rate_limited_after: 600
} as const

const DAY = 86_400
/** At most this many workers in total, after `count` expanded every entry. */
export const MAX_WORKERS = 64

export const numberBounds = {
  max_cycle: { integer: true, min: 1, max: 10_000 },
  iterations: { integer: true, min: 1, max: 10_000 },
  count: { integer: true, min: 1, max: MAX_WORKERS },
  max_wait_for_tasks: { integer: false, min: 0, max: DAY, unit: "seconds" },
  max_resumes: { integer: true, min: 1, max: 1_000 },
  max_working_resumes: { integer: true, min: 0, max: 1_000 },
  wait_between: { integer: false, min: 0, max: DAY, unit: "seconds" },
  timeout: { integer: false, min: 0, minExclusive: true, max: DAY, unit: "seconds" },
  stall_timeout: { integer: false, min: 0, minExclusive: true, max: DAY, unit: "seconds" },
  max_pending: { integer: true, min: 1, max: 10_000 },
  max_review_rounds: { integer: true, min: 0, max: 100 },
  max_consecutive_errors: { integer: true, min: 1, max: 1_000 },
  max_merge_retries: { integer: true, min: 0, max: 100 },
  merge_wait: { integer: false, min: 0, max: DAY, unit: "seconds" },
  max_concurrent: { integer: true, min: 1, max: MAX_WORKERS },
  rate_limited_after: { integer: false, min: 0, max: DAY, unit: "seconds" },
  max_cost_usd: { integer: false, min: 0, minExclusive: true, max: 1_000_000 },
  max_tokens: { integer: true, min: 1, max: 1_000_000_000_000 },
  max_runtime: { integer: false, min: 0, minExclusive: true, max: 30 * DAY, unit: "seconds" },
  input_per_mtok: { integer: false, min: 0, max: 10_000 },
  output_per_mtok: { integer: false, min: 0, max: 10_000 },
  cache_read_per_mtok: { integer: false, min: 0, max: 10_000 }
} as const satisfies Readonly<Record<string, NumberBound>>
export type BoundedKey = keyof typeof numberBounds

const showBound = (bound: NumberBound, value: number): string =>
  bound.unit === "seconds" && value >= 3600 && value % 3600 === 0 ? `${value} (${value / 3600} h)` : String(value)

/** `a whole number from 1 to 64`, `a number of seconds > 0 and at most 86400 (24 h)`. */
export const describeBound = (bound: NumberBound): string => {
  const what = bound.integer ? "a whole number" : bound.unit === "seconds" ? "a number of seconds" : "a number"
  return bound.minExclusive
    ? `${what} > ${bound.min} and at most ${showBound(bound, bound.max)}`
    : `${what} from ${bound.min} to ${showBound(bound, bound.max)}`
}

/** `at most 64, got 1000000000`: the message for a number above its bound. */
export const aboveBound = (bound: NumberBound, value: number): string =>
  `at most ${showBound(bound, bound.max)}${bound.unit === "seconds" ? " seconds" : ""}, got ${String(value)}`

const Bounded = (key: BoundedKey, description: string): Schema.Schema<number> => {
  const bound: NumberBound = numberBounds[key]
  const whole: Schema.Schema<number> = bound.integer ? Schema.Number.pipe(Schema.int()) : Schema.Number
  const lower = bound.minExclusive
    ? whole.pipe(Schema.greaterThan(bound.min))
    : whole.pipe(Schema.greaterThanOrEqualTo(bound.min))
  return lower.pipe(Schema.lessThanOrEqualTo(bound.max)).annotations({
    description: `${description}; ${describeBound(bound)}`
  })
}

/** A reviewer: a model string, or a model with its own prompt and timeout. */
export const ReviewerEntry = Schema.Union(
  ModelString,
  Schema.Struct({
    model: ModelString,
    prompt: Schema.optional(PromptRef),
    timeout: Schema.optional(
      Bounded("timeout", "Seconds one review may run before it is stopped (default: the reviewed worker's timeout)")
    )
  })
).annotations({ identifier: "ReviewerEntry", description: "A reviewer: a model string or {model, prompt, timeout}" })

/** One reviewer, or a list of them tried in order (a fallback chain). */
export const ReviewerField = Schema.Union(ReviewerEntry, Schema.Array(ReviewerEntry)).annotations({
  identifier: "Reviewers",
  description: "A reviewer, or a list of reviewers tried in order when one fails or gives no verdict"
})

/** The four spellings the original accepted for reviewers; use one of them. */
export const reviewerKeys = ["reviewer", "reviewers", "review_model", "review_models"] as const
export type ReviewerKey = (typeof reviewerKeys)[number]

const reviewerFields = {
  reviewer: Schema.optional(ReviewerField),
  reviewers: Schema.optional(ReviewerField),
  review_model: Schema.optional(ReviewerField),
  review_models: Schema.optional(ReviewerField)
}

/** `worktree`: what every new worktree gets before its first turn (docs/worktree-setup.md). */
export const WorktreeJson = Schema.Struct({
  copy: Schema.optional(
    Schema.Array(Schema.String.pipe(Schema.minLength(1))).annotations({
      description: "Files or folders copied from the project root into each new worktree (relative paths inside the root; a folder is copied whole)"
    })
  ),
  setup: Schema.optional(
    Schema.Array(Schema.String.pipe(Schema.minLength(1))).annotations({
      description: "Shell commands run with /bin/sh in each new worktree, in order, before its first turn (each under the worker's timeout); a failure ends the cycle as an error"
    })
  ),
  env: Schema.optional(
    Schema.Record({ key: Schema.String, value: Schema.String }).annotations({
      description:
        'Environment for the setup commands, the agent\'s turns and test_command, e.g. {"PORT": "{{PORT}}"}; placeholders {{PORT}}, {{WORKER_INDEX}}, {{WORKER_ID}}, {{SWARM_ID}}'
    })
  )
}).annotations({
  identifier: "Worktree",
  description: "Worktree setup: files copied in, commands run, environment set (a worker's own overrides the top-level one field by field)"
})
export type WorktreeJson = typeof WorktreeJson.Type

/** `budget` (swarm, worker) and `task_budget`: docs/budgets.md. Every limit is optional; none set is no budget. */
export const BudgetJson = Schema.Struct({
  max_cost_usd: Schema.optional(
    Bounded("max_cost_usd", "USD this scope may spend (the CLI's own cost, else estimated from the price table); reached: no new turns")
  ),
  max_tokens: Schema.optional(Bounded("max_tokens", "Tokens (input, cached included, plus output) this scope may use")),
  max_runtime: Schema.optional(
    Bounded("max_runtime", "Seconds of wall time from the start of the swarm, the worker, or the task's first claim in the run")
  )
}).annotations({
  identifier: "Budget",
  description: "Limits whose first reached ends the scope's running turns as a Ctrl-C would (work kept, claims back) and starts no new ones"
})
export type BudgetJson = typeof BudgetJson.Type

/** One row of `prices`: USD per million tokens. */
export const PriceJson = Schema.Struct({
  input_per_mtok: Bounded("input_per_mtok", "USD per million input tokens"),
  output_per_mtok: Bounded("output_per_mtok", "USD per million output tokens"),
  cache_read_per_mtok: Schema.optional(Bounded("cache_read_per_mtok", "USD per million cached input tokens (default: the input price)"))
}).annotations({ identifier: "Price", description: "A model's list price, for estimating the cost of turns whose CLI reports none" })

export const WorkerJson = Schema.Struct({
  model: ModelString,
  prompt: Schema.optional(PromptRef),
  max_cycle: Schema.optional(Bounded("max_cycle", `Cycles this worker runs before it stops (default ${defaults.max_cycle})`)),
  iterations: Schema.optional(Bounded("iterations", "The 0.6 name of max_cycle")),
  count: Schema.optional(Bounded("count", `How many identical workers this entry starts (default ${defaults.count}; at most ${MAX_WORKERS} workers in all)`)),
  can_plan: Schema.optional(
    Schema.Boolean.annotations({
      description: `May create tasks and finish the swarm with __DONE__ (default ${defaults.can_plan}); false: an executor`
    })
  ),
  max_wait_for_tasks: Schema.optional(
    Bounded("max_wait_for_tasks", `Seconds a can_plan:false worker waits for a claimable task before it stops (default ${defaults.max_wait_for_tasks})`)
  ),
  max_resumes: Schema.optional(Bounded("max_resumes", `Agent turns per cycle before the cycle ends stuck (default ${defaults.max_resumes})`)),
  max_working_resumes: Schema.optional(
    Bounded("max_working_resumes", `Turns without a signal before the worker is nudged (default ${defaults.max_working_resumes})`)
  ),
  wait_between: Schema.optional(Bounded("wait_between", `Seconds to wait between cycles (default ${defaults.wait_between})`)),
  timeout: Schema.optional(Bounded("timeout", `Seconds one agent turn may run before it is stopped (default ${defaults.timeout})`)),
  stall_timeout: Schema.optional(
    Bounded(
      "stall_timeout",
      "Seconds an agent turn may print nothing before it is ended as stalled and resumed once with a nudge (default: the top-level stall_timeout, else off)"
    )
  ),
  worktree: Schema.optional(WorktreeJson),
  budget: Schema.optional(BudgetJson.annotations({ description: "This worker's budget: reached, it stops (stop reason budget)" })),
  ...reviewerFields
}).annotations({ identifier: "Worker", description: "One worker entry; count expands it into several workers" })
export type WorkerJson = typeof WorkerJson.Type

export const PlannerJson = Schema.Struct({
  model: ModelString,
  prompt: Schema.optional(PromptRef),
  max_pending: Schema.optional(Bounded("max_pending", `The planner stops adding tasks while this many are pending (default ${defaults.max_pending})`))
}).annotations({ identifier: "Planner", description: "A dedicated planner agent that keeps the queue filled" })
export type PlannerJson = typeof PlannerJson.Type

/** An http(s) URL: what `notify.webhook` is POSTed to. */
const isHttpUrl = (text: string): boolean => {
  try {
    const url = new URL(text)
    return url.protocol === "http:" || url.protocol === "https:"
  } catch {
    return false
  }
}

/** `notify`: where the notifications of docs/notifications.md go (a command, a webhook, or both). */
export const NotifyJson = Schema.Struct({
  command: Schema.optional(
    Schema.Array(Schema.String.pipe(Schema.minLength(1))).pipe(Schema.minItems(1)).annotations({
      description: "A program and its arguments, run without a shell for each notification, the JSON payload on its stdin"
    })
  ),
  webhook: Schema.optional(
    Schema.String.pipe(Schema.filter(isHttpUrl)).annotations({
      description: "An http(s) URL each notification is POSTed to as application/json"
    })
  ),
  rate_limited_after: Schema.optional(
    Bounded(
      "rate_limited_after",
      `Seconds a provider's rate limit may hold its turns before a rate-limited notification is sent (default ${defaults.rate_limited_after})`
    )
  )
}).annotations({ identifier: "Notify", description: "Notifications when the swarm ends or needs a human (docs/notifications.md)" })
export type NotifyJson = typeof NotifyJson.Type

export const OompaJson = Schema.Struct({
  $schema: Schema.optional(Schema.String.annotations({ description: "Editor hint; ignored by oompa" })),
  workers: Schema.Array(WorkerJson).pipe(Schema.minItems(1)).annotations({
    description: "The workers, in order; their ids are w0, w1, … with count expanded"
  }),
  ...reviewerFields,
  planner: Schema.optional(PlannerJson),
  target_branch: Schema.optional(
    Schema.String.pipe(Schema.minLength(1)).annotations({
      description: "The branch work is merged into (default: the branch checked out in the project root)"
    })
  ),
  tasks_dir: Schema.optional(
    Schema.String.pipe(Schema.minLength(1)).annotations({
      description: `The task queue folder, relative to the project root (default ${defaults.tasks_dir})`
    })
  ),
  test_command: Schema.optional(
    Schema.String.pipe(Schema.minLength(1)).annotations({
      description: "A shell command run in the worktree before merging; a failure goes back to the agent"
    })
  ),
  max_review_rounds: Schema.optional(
    Bounded("max_review_rounds", `NEEDS_CHANGES rounds before the cycle ends rejected (default ${defaults.max_review_rounds})`)
  ),
  max_consecutive_errors: Schema.optional(
    Bounded("max_consecutive_errors", `Failed cycles in a row that stop a worker (default ${defaults.max_consecutive_errors})`)
  ),
  max_merge_retries: Schema.optional(
    Bounded("max_merge_retries", `Times approved work is merged again when the target moved before it could land (default ${defaults.max_merge_retries})`)
  ),
  merge_wait: Schema.optional(
    Bounded("merge_wait", `Seconds approved work waits for local changes in the user's checkout that block landing it (default ${defaults.merge_wait})`)
  ),
  max_concurrent: Schema.optional(
    Schema.Record({
      key: Schema.String,
      value: Bounded("max_concurrent", "Agent turns (reviews included) of this harness that may run at once")
    }).annotations({
      description: 'Caps parallel turns per harness, e.g. {"claude": 4} (default: no cap; rate limits are waited out per provider either way)'
    })
  ),
  stall_timeout: Schema.optional(
    Bounded("stall_timeout", "The stall_timeout of every worker that sets none: seconds a turn may print nothing before it is ended as stalled (default: off)")
  ),
  notify: Schema.optional(NotifyJson),
  worktree: Schema.optional(WorktreeJson),
  budget: Schema.optional(BudgetJson.annotations({ description: "The swarm's budget: reached, the swarm stops (stopped.json reason budget, exit 3)" })),
  task_budget: Schema.optional(
    BudgetJson.annotations({
      description: "The budget of each task, limit by limit under the task file's own `budget`: reached, the task goes back to pending stamped budget_reached"
    })
  ),
  prices: Schema.optional(
    Schema.Record({ key: Schema.String, value: PriceJson }).annotations({
      description:
        'Prices per model over the bundled table (docs/budgets.md), keyed "harness:model", the model id, or the bare harness for its default model, e.g. {"codex:gpt-6-sol": {"input_per_mtok": 2, "output_per_mtok": 10}}'
    })
  )
}).annotations({
  identifier: "OompaJson",
  title: "oompa.json",
  description: "Configuration of an oompa swarm: its workers, reviewers, planner and task queue"
})
export type OompaJson = typeof OompaJson.Type

/** What a model string is, in words, naming the registry's harnesses. */
export const expectedModel = (harnesses: ReadonlyArray<string>): string =>
  `"harness:model[:reasoning]" (harness one of ${harnesses.join(", ")})`

/** What each key but `model` (expectedModel) expects, in words, for error messages (`expected <this>, got …`). */
export const expectedByKey: Readonly<Record<string, string>> = {
  prompt: "a prompt file path or a list of paths",
  max_cycle: describeBound(numberBounds.max_cycle),
  iterations: describeBound(numberBounds.iterations),
  count: describeBound(numberBounds.count),
  can_plan: "true or false",
  max_wait_for_tasks: describeBound(numberBounds.max_wait_for_tasks),
  max_resumes: describeBound(numberBounds.max_resumes),
  max_working_resumes: describeBound(numberBounds.max_working_resumes),
  wait_between: describeBound(numberBounds.wait_between),
  timeout: describeBound(numberBounds.timeout),
  stall_timeout: describeBound(numberBounds.stall_timeout),
  reviewer: 'a model string, {"model", "prompt", "timeout"}, or a list of those',
  reviewers: 'a model string, {"model", "prompt", "timeout"}, or a list of those',
  review_model: 'a model string, {"model", "prompt", "timeout"}, or a list of those',
  review_models: 'a model string, {"model", "prompt", "timeout"}, or a list of those',
  planner: 'an object {"model", "prompt", "max_pending"}',
  max_pending: describeBound(numberBounds.max_pending),
  workers: 'a non-empty list of workers ({"model": "claude:opus", …})',
  target_branch: "a branch name (non-empty string)",
  tasks_dir: "a folder path (non-empty string)",
  test_command: "a shell command (non-empty string)",
  max_review_rounds: describeBound(numberBounds.max_review_rounds),
  max_consecutive_errors: describeBound(numberBounds.max_consecutive_errors),
  max_merge_retries: describeBound(numberBounds.max_merge_retries),
  merge_wait: describeBound(numberBounds.merge_wait),
  budget: 'an object {"max_cost_usd", "max_tokens", "max_runtime"}',
  task_budget: 'an object {"max_cost_usd", "max_tokens", "max_runtime"}',
  max_cost_usd: describeBound(numberBounds.max_cost_usd),
  max_tokens: describeBound(numberBounds.max_tokens),
  max_runtime: describeBound(numberBounds.max_runtime),
  prices: 'an object of models to {"input_per_mtok", "output_per_mtok", "cache_read_per_mtok"}',
  input_per_mtok: describeBound(numberBounds.input_per_mtok),
  output_per_mtok: describeBound(numberBounds.output_per_mtok),
  cache_read_per_mtok: describeBound(numberBounds.cache_read_per_mtok),
  max_concurrent: `an object of harness names to ${describeBound(numberBounds.max_concurrent)}, e.g. {"claude": 4}`,
  notify: 'an object {"command": [...], "webhook": "https://…", "rate_limited_after": seconds} with a command or a webhook',
  command: 'a non-empty list of non-empty strings, the program and its arguments (run without a shell), e.g. ["notify-send", "oompa"]',
  webhook: 'an http(s) URL such as "https://hooks.example.com/oompa"',
  rate_limited_after: describeBound(numberBounds.rate_limited_after),
  worktree: 'an object {"copy": [paths], "setup": [commands], "env": {"NAME": "value"}}',
  copy: "a list of paths relative to the project root",
  setup: "a list of shell commands",
  env: 'an object of variable names to strings, e.g. {"PORT": "{{PORT}}"}',
  $schema: "a string"
}

const keysOf = (schema: { readonly fields: Readonly<Record<string, unknown>> }): ReadonlyArray<string> =>
  Object.keys(schema.fields)

export const topLevelKeys = keysOf(OompaJson)
export const workerKeys = keysOf(WorkerJson)
export const plannerKeys = keysOf(PlannerJson)
export const notifyKeys = keysOf(NotifyJson)
export const worktreeKeys = keysOf(WorktreeJson)
export const budgetKeys = keysOf(BudgetJson)
export const priceKeys = keysOf(PriceJson)
export const reviewerObjectKeys: ReadonlyArray<string> = ["model", "prompt", "timeout"]
