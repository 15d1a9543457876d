import type { Usage } from "./Usage.js"

/**
 * Budgets (docs/budgets.md): `budget: {max_cost_usd, max_tokens, max_runtime}`
 * of the swarm, of a worker, of a task. Pure: what a budget is, what was
 * spent against it, and which limit a spend reaches. The run's accounting and
 * timers are src/engine/budget.ts.
 */

/** One budget, in oompa.json's units (USD, tokens, seconds); an absent limit is no limit. */
export interface BudgetLimits {
  readonly max_cost_usd?: number | undefined
  readonly max_tokens?: number | undefined
  /** Wall time in seconds since the swarm, the worker or the task (its first claim in the run) started. */
  readonly max_runtime?: number | undefined
}

export type BudgetScope = "swarm" | "worker" | "task"
export type BudgetLimit = "max_cost_usd" | "max_tokens" | "max_runtime"

/** What a scope has used so far. `estimated`: part of the cost came from the price table. */
export interface Spent {
  readonly costUsd: number
  readonly tokens: number
  readonly estimated: boolean
}

export const nothingSpent: Spent = { costUsd: 0, tokens: 0, estimated: false }

/** Tokens a budget counts: everything sent (cached reads included, as inputTokens has them) and received. */
export const tokensOf = (usage: Usage): number => usage.inputTokens + usage.outputTokens

export const addSpent = (a: Spent, b: Spent): Spent => ({
  costUsd: a.costUsd + b.costUsd,
  tokens: a.tokens + b.tokens,
  estimated: a.estimated || b.estimated
})

/** A task's own budget over the `task_budget` default, limit by limit. */
export const mergeBudgets = (base: BudgetLimits | undefined, own: BudgetLimits | undefined): BudgetLimits | undefined => {
  if (base === undefined) return own
  if (own === undefined) return base
  return {
    max_cost_usd: own.max_cost_usd ?? base.max_cost_usd,
    max_tokens: own.max_tokens ?? base.max_tokens,
    max_runtime: own.max_runtime ?? base.max_runtime
  }
}

/** True when the budget sets any limit. */
export const hasLimits = (budget: BudgetLimits | undefined): budget is BudgetLimits =>
  budget !== undefined && (budget.max_cost_usd !== undefined || budget.max_tokens !== undefined || budget.max_runtime !== undefined)

/**
 * The first limit of cost and tokens that `spent` has reached (a limit is
 * reached once spent ≥ it), with its value; max_runtime is the timers' to say.
 */
export const reachedLimit = (
  budget: BudgetLimits | undefined,
  spent: Spent
): { readonly limit: BudgetLimit; readonly value: number; readonly spent: number } | undefined => {
  if (budget === undefined) return undefined
  if (budget.max_cost_usd !== undefined && spent.costUsd >= budget.max_cost_usd) {
    return { limit: "max_cost_usd", value: budget.max_cost_usd, spent: spent.costUsd }
  }
  if (budget.max_tokens !== undefined && spent.tokens >= budget.max_tokens) {
    return { limit: "max_tokens", value: budget.max_tokens, spent: spent.tokens }
  }
  return undefined
}
