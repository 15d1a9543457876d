import { Option } from "effect"
import type { ModelSpec } from "./Model.js"
import type { Usage } from "./Usage.js"

/**
 * List prices per model, USD per million tokens: what oompa estimates a turn's
 * cost from when its CLI reports none (codex and gemini never do), so that
 * `max_cost_usd` budgets hold for every CLI. An estimate is marked as one
 * wherever it is shown (docs/budgets.md). oompa.json's `prices` adds to and
 * overrides this table, key by key.
 */
export interface Price {
  readonly input_per_mtok: number
  readonly output_per_mtok: number
  /** Cached input tokens (cache reads); absent: priced as input (an estimate that errs high). */
  readonly cache_read_per_mtok?: number | undefined
}

export type PriceTable = Readonly<Record<string, Price>>

const p = (input: number, output: number, cacheRead: number): Price => ({
  input_per_mtok: input,
  output_per_mtok: output,
  cache_read_per_mtok: cacheRead
})

/**
 * The bundled table: standard (not batch, not priority/fast) short-context list
 * prices, checked 2026-12-03 against
 * - Anthropic: platform.claude.com/docs/about-claude/models (Opus 5.5 $4/$20, Sonnet 5.5 $2/$10,
 *   Haiku 5.5 $0.10/$0.50; cache reads 0.05× for Opus and Sonnet 5.5 since 2026-10-07, 0.10× for Haiku 5.5
 *   and the 5.0 models);
 * - OpenAI: developers.openai.com/api/docs/models/gpt-6-sol ($2 / cached $0.20 / $10),
 *   …/gpt-6.1-sol ($2 / cached $0.10 / $10), GPT-6 Luna ($0.10 / $0.01 / $0.50);
 * - Google: ai.google.dev/gemini-api/docs/pricing (gemini-2.5-pro $1.25/$10 up to 200k tokens,
 *   cached 10%; gemini-2.5-flash $0.30/$2.50).
 * Keys: `harness:alias` for the aliases the CLIs take (claude:opus), the model id alone
 * (gpt-6-sol), and the bare harness for the model its CLI uses when oompa.json names none:
 * gemini 0.61's DEFAULT_GEMINI_MODEL is gemini-2.5-pro (read in its bundle); for claude and
 * codex the default depends on the account, so they are priced as Sonnet 5.5 and GPT-6 Sol.
 * opencode reports its own cost and has no default here (its model is the user's provider's).
 */
export const bundledPrices: PriceTable = {
  // Anthropic
  "claude": p(2, 10, 0.1),
  "claude:opus": p(4, 20, 0.2),
  "claude:sonnet": p(2, 10, 0.1),
  "claude:haiku": p(0.1, 0.5, 0.01),
  "claude-opus-5-5": p(4, 20, 0.2),
  "claude-sonnet-5-5": p(2, 10, 0.1),
  "claude-haiku-5-5": p(0.1, 0.5, 0.01),
  "claude-opus-5": p(5, 25, 0.5),
  "claude-sonnet-5": p(2, 10, 0.2),
  // OpenAI
  "codex": p(2, 10, 0.2),
  "gpt-6-sol": p(2, 10, 0.2),
  "gpt-6.1-sol": p(2, 10, 0.1),
  "gpt-6-luna": p(0.1, 0.5, 0.01),
  // Google
  "gemini": p(1.25, 10, 0.125),
  "gemini-2.5-pro": p(1.25, 10, 0.125),
  "gemini-2.5-flash": p(0.3, 2.5, 0.03)
}

/**
 * The price of a model: `harness:model`, then the model id, then the id after
 * a provider prefix (`anthropic/claude-sonnet-5-5`), and for a model string
 * without a model the bare harness (its CLI's default model).
 */
export const priceOf = (table: PriceTable, model: ModelSpec): Option.Option<Price> => {
  const keys =
    model.model === undefined
      ? [model.harness]
      : [`${model.harness}:${model.model}`, model.model, model.model.slice(model.model.lastIndexOf("/") + 1)]
  for (const key of keys) if (Object.hasOwn(table, key)) return Option.some(table[key]!)
  return Option.none()
}

/** USD for this usage at this price (`inputTokens` includes the cached ones). */
export const estimateCost = (price: Price, usage: Usage): number => {
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens)
  const fresh = usage.inputTokens - cached
  return (
    (fresh * price.input_per_mtok + cached * (price.cache_read_per_mtok ?? price.input_per_mtok) + usage.outputTokens * price.output_per_mtok) /
    1_000_000
  )
}

/**
 * A turn's cost: the CLI's own figure when it gave one, else the estimate from
 * the table (`estimated`), else none (a model the table does not price).
 */
export const turnCost = (
  table: PriceTable,
  model: ModelSpec,
  usage: Usage,
  reported: Option.Option<number>
): { readonly costUsd: Option.Option<number>; readonly estimated: boolean } => {
  if (Option.isSome(reported)) return { costUsd: reported, estimated: false }
  const price = priceOf(table, model)
  if (Option.isNone(price)) return { costUsd: Option.none(), estimated: false }
  return { costUsd: Option.some(estimateCost(price.value, usage)), estimated: true }
}
