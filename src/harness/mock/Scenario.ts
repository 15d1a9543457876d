import { Schema } from "effect"
import { Verdict as ReviewerVerdict } from "../../domain/Verdict.js"
import { FailureClass } from "../../domain/TurnFailure.js"

/**
 * A failed turn as an agent CLI's adapter would classify it (a 429 with its
 * reset time, an auth error, …): the turn exits non-zero (`exit`, default 1)
 * and its TurnResult carries this failure. `message` is the turn's error text.
 */
export const MockFailure = Schema.Struct({
  class: FailureClass,
  /** When the limit resets (ISO 8601). */
  resetsAt: Schema.optional(Schema.String),
  retryAfterMs: Schema.optional(Schema.Number),
  message: Schema.optional(Schema.String)
})
export type MockFailure = typeof MockFailure.Type

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
  /** What the turn reports it cost (default $0.001); null: it reports no cost, as codex and gemini (oompa estimates it, docs/budgets.md). */
  costUsd: Schema.optional(Schema.NullOr(Schema.Number)),
  /**
   * Fail this turn with a class, e.g. `{"class": "rate-limited", "retryAfterMs": 30000}`
   * or `{"class": "rate-limited", "resetsAt": "2026-12-03T04:00:00Z"}`: nothing
   * else of the step is done (no writes, no commands, no auto behaviour).
   */
  fail: Schema.optional(MockFailure)
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
