import { Schema } from "effect"

/**
 * Tokens one turn (or a sum of turns) used. Harnesses report it, the run files
 * record it (SPEC §11) and summaries add it up: one Schema for all of them.
 * `cachedInputTokens` is counted inside `inputTokens`, as OpenAI reports it.
 */
export const Usage = Schema.Struct({
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  cachedInputTokens: Schema.Number
})
export type Usage = typeof Usage.Type

/** Nothing used yet: the start of every sum and the usage of a turn that could not run. */
export const emptyUsage: Usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 }

export const addUsage = (a: Usage, b: Usage): Usage => ({
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens
})
