import { Either, Schema } from "effect"
import { harnessNames, parseModelString } from "../domain/Model.js"

/**
 * The Schema of the oompa.json file itself (SPEC §2), exactly as users write
 * it: snake_case keys, seconds as numbers, model strings unparsed. `loadConfig`
 * decodes with it (unknown keys are errors) and then resolves defaults, paths
 * and prompts into an `OompaConfig`. `oompa schema` prints its JSON Schema.
 */

const harnessPattern = new RegExp(`^(${harnessNames.join("|")})(:.+)?$`)

/** `harness:model[:reasoning]`, e.g. `claude:opus`, `codex:gpt-5.3-codex:medium`. */
export const ModelString = Schema.String.pipe(
  Schema.pattern(harnessPattern, {
    identifier: "ModelString",
    title: "model",
    description:
      `"harness:model[:reasoning]": harness one of ${harnessNames.join(", ")}; ` +
      `reasoning (optional, last ":" part) one of minimal, low, medium, high, xhigh, max`
  }),
  Schema.filter((text) => Either.isRight(parseModelString(text)))
)

/** One prompt file or a list of them (concatenated), relative to oompa.json's folder, then to oompa's bundled files. */
export const PromptRef = Schema.Union(Schema.String, Schema.Array(Schema.String)).annotations({
  identifier: "PromptRef",
  description:
    "A prompt file, or a list of files joined in order. Relative paths resolve against the folder of oompa.json, " +
    "then against oompa's package root (so config/prompts/executor.md is the bundled executor prompt)."
})

const WholeNumber = (minimum: 0 | 1, description: string) =>
  Schema.Number.pipe(Schema.int(), Schema.greaterThanOrEqualTo(minimum)).annotations({ description })

const Seconds = (description: string) => Schema.Number.pipe(Schema.nonNegative()).annotations({ description })

/** A reviewer: a model string, or a model with its own prompt and timeout. */
export const ReviewerEntry = Schema.Union(
  ModelString,
  Schema.Struct({
    model: ModelString,
    prompt: Schema.optional(PromptRef),
    timeout: Schema.optional(
      Schema.Number.pipe(Schema.greaterThan(0)).annotations({
        description: "Seconds one review may run before it is stopped (default: the reviewed worker's timeout)"
      })
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

export const WorkerJson = Schema.Struct({
  model: ModelString,
  prompt: Schema.optional(PromptRef),
  max_cycle: Schema.optional(WholeNumber(1, "Cycles this worker runs before it stops (default 10)")),
  iterations: Schema.optional(WholeNumber(1, "The 0.6 name of max_cycle")),
  count: Schema.optional(WholeNumber(1, "How many identical workers this entry starts (default 1)")),
  can_plan: Schema.optional(
    Schema.Boolean.annotations({
      description: "May create tasks and finish the swarm with __DONE__ (default true); false: an executor"
    })
  ),
  max_wait_for_tasks: Schema.optional(
    Seconds("Seconds a can_plan:false worker waits for a claimable task before it stops (default 600)")
  ),
  max_resumes: Schema.optional(WholeNumber(1, "Agent turns per cycle before the cycle ends stuck (default 7)")),
  max_working_resumes: Schema.optional(
    WholeNumber(0, "Turns without a signal before the worker is nudged (default 5)")
  ),
  wait_between: Schema.optional(Seconds("Seconds to wait between cycles (default 0)")),
  timeout: Schema.optional(
    Schema.Number.pipe(Schema.greaterThan(0)).annotations({
      description: "Seconds one agent turn may run before it is stopped (default 1800)"
    })
  ),
  ...reviewerFields
}).annotations({ identifier: "Worker", description: "One worker entry; count expands it into several workers" })
export type WorkerJson = typeof WorkerJson.Type

export const PlannerJson = Schema.Struct({
  model: ModelString,
  prompt: Schema.optional(PromptRef),
  max_pending: Schema.optional(WholeNumber(1, "The planner stops adding tasks while this many are pending (default 10)"))
}).annotations({ identifier: "Planner", description: "A dedicated planner agent that keeps the queue filled" })
export type PlannerJson = typeof PlannerJson.Type

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
      description: "The task queue folder, relative to the project root (default tasks)"
    })
  ),
  test_command: Schema.optional(
    Schema.String.pipe(Schema.minLength(1)).annotations({
      description: "A shell command run in the worktree before merging; a failure goes back to the agent"
    })
  ),
  max_review_rounds: Schema.optional(
    WholeNumber(0, "NEEDS_CHANGES rounds before the cycle ends rejected (default 3)")
  ),
  max_consecutive_errors: Schema.optional(
    WholeNumber(1, "Failed cycles in a row that stop a worker (default 3)")
  ),
  max_merge_retries: Schema.optional(
    WholeNumber(0, "Times approved work is merged again when the target moved before it could land (default 5)")
  ),
  merge_wait: Schema.optional(
    Seconds("Seconds approved work waits for local changes in the user's checkout that block landing it (default 600)")
  )
}).annotations({
  identifier: "OompaJson",
  title: "oompa.json",
  description: "Configuration of an oompa swarm: its workers, reviewers, planner and task queue"
})
export type OompaJson = typeof OompaJson.Type

/** What each key expects, in words, for error messages (`expected <this>, got …`). */
export const expectedByKey: Readonly<Record<string, string>> = {
  model: `"harness:model[:reasoning]" (harness one of ${harnessNames.join(", ")})`,
  prompt: "a prompt file path or a list of paths",
  max_cycle: "a whole number >= 1",
  iterations: "a whole number >= 1",
  count: "a whole number >= 1",
  can_plan: "true or false",
  max_wait_for_tasks: "a number of seconds >= 0",
  max_resumes: "a whole number >= 1",
  max_working_resumes: "a whole number >= 0",
  wait_between: "a number of seconds >= 0",
  timeout: "a number of seconds > 0",
  reviewer: 'a model string, {"model", "prompt", "timeout"}, or a list of those',
  reviewers: 'a model string, {"model", "prompt", "timeout"}, or a list of those',
  review_model: 'a model string, {"model", "prompt", "timeout"}, or a list of those',
  review_models: 'a model string, {"model", "prompt", "timeout"}, or a list of those',
  planner: 'an object {"model", "prompt", "max_pending"}',
  max_pending: "a whole number >= 1",
  workers: 'a non-empty list of workers ({"model": "claude:opus", …})',
  target_branch: "a branch name (non-empty string)",
  tasks_dir: "a folder path (non-empty string)",
  test_command: "a shell command (non-empty string)",
  max_review_rounds: "a whole number >= 0",
  max_consecutive_errors: "a whole number >= 1",
  max_merge_retries: "a whole number >= 0",
  merge_wait: "a number of seconds >= 0",
  $schema: "a string"
}

const keysOf = (schema: { readonly fields: Readonly<Record<string, unknown>> }): ReadonlyArray<string> =>
  Object.keys(schema.fields)

export const topLevelKeys = keysOf(OompaJson)
export const workerKeys = keysOf(WorkerJson)
export const plannerKeys = keysOf(PlannerJson)
export const reviewerObjectKeys: ReadonlyArray<string> = ["model", "prompt", "timeout"]
