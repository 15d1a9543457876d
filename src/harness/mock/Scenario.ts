import { Schema } from "effect"
import { Verdict as ReviewerVerdict } from "../../domain/Verdict.js"

/**
 * A mock agent scenario (SPEC §9). Steps are looked up per turn of a session
 * by key `<worker>-c<cycle>`, then `<worker>`, then `*`; a turn past the end of
 * its list (or with no list) uses the built-in diligent behaviour: claim the
 * first available task, do it, ask for merge, address review feedback, resolve
 * merge conflicts, and say __DONE__ when nothing is left.
 */
export const MockStep = Schema.Struct({
  /** Files to write, relative to the worktree. `{{TASK}}`/`{{WORKER}}` are replaced. */
  write: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  /** Lines to append to files, relative to the worktree. */
  append: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  /** Shell commands run with /bin/sh in the worktree, in order; a failure fails the turn. */
  run: Schema.optional(Schema.Array(Schema.String)),
  /** The final message. Without it the auto behaviour's message (or none) is used. */
  say: Schema.optional(Schema.String),
  /** Do the built-in behaviour for this turn (after `write`/`append`/`run`). */
  auto: Schema.optional(Schema.Boolean),
  /** Exit code of the agent process. */
  exit: Schema.optional(Schema.Number),
  delayMs: Schema.optional(Schema.Number),
  /** Never finish (the turn timeout must end it). */
  hang: Schema.optional(Schema.Boolean),
  /** Bytes of noise to print before the final message (log streaming tests). */
  noiseBytes: Schema.optional(Schema.Number),
  costUsd: Schema.optional(Schema.Number)
})
export type MockStep = typeof MockStep.Type

/** A scripted review: a real verdict, NONE (no VERDICT line) or FAIL (the reviewer exits 1). */
export const Verdict = Schema.Literal(...ReviewerVerdict.literals, "NONE", "FAIL")

export const MockScenario = Schema.Struct({
  turns: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Array(MockStep) })),
  /** Reviewer verdicts per review round of a cycle, keyed like `turns`. Default: APPROVED. */
  reviews: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Array(Verdict) }))
})
export type MockScenario = typeof MockScenario.Type

export const emptyScenario: MockScenario = {}
