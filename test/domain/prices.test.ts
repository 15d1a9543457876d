import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import { bundledPrices, estimateCost, priceOf, turnCost } from "../../src/domain/prices.js"
import { reachedLimit, mergeBudgets } from "../../src/domain/Budget.js"

/** The price table and the budget rules of docs/budgets.md, pure. */
describe("prices", () => {
  const table = { ...bundledPrices, "opencode:anthropic/claude-sonnet-5-5": { input_per_mtok: 9, output_per_mtok: 9 } }

  it("looks a model up as harness:model, then the model id, then the id after a provider prefix; a bare harness as its CLI's default", () => {
    expect(priceOf(table, { harness: "claude", model: "opus" })).toEqual(Option.some(bundledPrices["claude:opus"]))
    expect(priceOf(table, { harness: "codex", model: "gpt-6.1-sol", reasoning: "high" })).toEqual(Option.some(bundledPrices["gpt-6.1-sol"]))
    expect(priceOf(table, { harness: "opencode", model: "anthropic/claude-haiku-5-5" })).toEqual(Option.some(bundledPrices["claude-haiku-5-5"]))
    expect(priceOf(table, { harness: "opencode", model: "anthropic/claude-sonnet-5-5" })).toEqual(Option.some({ input_per_mtok: 9, output_per_mtok: 9 }))
    expect(priceOf(table, { harness: "gemini" })).toEqual(Option.some(bundledPrices["gemini-2.5-pro"]))
    expect(priceOf(table, { harness: "mock", model: "x.json" })).toEqual(Option.none())
  })

  it("estimates: fresh input, cached input at the cache price (the input price when none is given), output", () => {
    const usage = { inputTokens: 1_000_000, cachedInputTokens: 400_000, outputTokens: 100_000 }
    // 0.6 M × $2 + 0.4 M × $0.20 + 0.1 M × $10
    expect(estimateCost(bundledPrices["gpt-6-sol"]!, usage)).toBeCloseTo(1.2 + 0.08 + 1, 9)
    expect(estimateCost({ input_per_mtok: 2, output_per_mtok: 10 }, usage)).toBeCloseTo(2 + 1, 9)
  })

  it("a CLI's own cost is kept as it is; none is estimated (marked) or, for a model the table lacks, none", () => {
    const usage = { inputTokens: 1000, cachedInputTokens: 0, outputTokens: 0 }
    expect(turnCost(table, { harness: "claude", model: "opus" }, usage, Option.some(0.5))).toEqual({ costUsd: Option.some(0.5), estimated: false })
    expect(turnCost(table, { harness: "claude", model: "opus" }, usage, Option.none())).toEqual({ costUsd: Option.some(0.004), estimated: true })
    expect(turnCost(table, { harness: "mock" }, usage, Option.none())).toEqual({ costUsd: Option.none(), estimated: false })
  })
})

describe("budget rules", () => {
  it("a limit is reached at or above it; cost before tokens; a task's own budget over task_budget, limit by limit", () => {
    expect(reachedLimit({ max_cost_usd: 1 }, { costUsd: 0.99, tokens: 5, estimated: false })).toBeUndefined()
    expect(reachedLimit({ max_cost_usd: 1, max_tokens: 5 }, { costUsd: 1, tokens: 5, estimated: true })).toEqual({ limit: "max_cost_usd", value: 1, spent: 1 })
    expect(reachedLimit({ max_tokens: 5 }, { costUsd: 9, tokens: 6, estimated: false })).toEqual({ limit: "max_tokens", value: 5, spent: 6 })
    expect(reachedLimit({ max_runtime: 1 }, { costUsd: 9, tokens: 9, estimated: false })).toBeUndefined()
    expect(mergeBudgets({ max_cost_usd: 2, max_runtime: 60 }, { max_cost_usd: 5 })).toEqual({ max_cost_usd: 5, max_tokens: undefined, max_runtime: 60 })
    expect(mergeBudgets(undefined, { max_tokens: 3 })).toEqual({ max_tokens: 3 })
  })
})
