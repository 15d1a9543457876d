import { Schema } from "effect"

/**
 * Why a failed turn failed, as its adapter reads it from the CLI's own output
 * (docs/cli-facts.md lists what each CLI prints). The class decides what the
 * swarm does next: a rate-limited or overloaded provider is waited for (the
 * governor, no error counted), an authentication failure stops that
 * provider's workers at once, the rest are ordinary errors.
 */
export const FailureClass = Schema.Literal(
  /** 429, a usage or quota limit. */
  "rate-limited",
  /** 529 / 503: the provider is overloaded; retried like a limit with no reset time. */
  "overloaded",
  /** 401 / 403: a key missing, wrong or revoked. */
  "auth",
  /** The prompt or history does not fit the model's context. */
  "context-too-long",
  "other"
)
export type FailureClass = typeof FailureClass.Type

export const TurnFailure = Schema.Struct({
  class: FailureClass,
  /** When the limit resets (ISO 8601), when the CLI printed a reset time. */
  resetsAt: Schema.optional(Schema.String),
  /** The provider's retry-after, when the CLI printed one instead of a reset time. */
  retryAfterMs: Schema.optional(Schema.Number),
  /** The line of the CLI's output the class was read from (bounded). */
  evidence: Schema.optional(Schema.String)
})
export type TurnFailure = typeof TurnFailure.Type

/** The classes the governor waits out instead of counting an error. */
export const isLimit = (failure: TurnFailure | undefined): boolean =>
  failure !== undefined && (failure.class === "rate-limited" || failure.class === "overloaded")
