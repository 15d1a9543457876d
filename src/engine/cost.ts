import type { Option } from "effect"
import { Option as O } from "effect"
import { tokensOf, type Spent } from "../domain/Budget.js"
import type { ModelSpec } from "../domain/Model.js"
import { bundledPrices, turnCost } from "../domain/prices.js"
import type { TurnResult } from "../harness/Harness.js"
import type { SwarmContext } from "./context.js"

export interface TurnCost {
  /** The CLI's figure, else the price table's estimate, else none (a model the table lacks). */
  readonly costUsd: Option.Option<number>
  readonly estimated: boolean
  /** The keys a turn or review record gets: `costUsd`, and `costEstimated` for an estimate. */
  readonly record: { readonly costUsd?: number; readonly costEstimated?: boolean }
  /** What the turn spent against the budgets. */
  readonly spent: Spent
}

/** What one turn (a review included) cost, estimated from the run's price table where its CLI said nothing (docs/budgets.md). */
export const costOfTurn = (ctx: SwarmContext, model: ModelSpec, result: TurnResult): TurnCost => {
  const { costUsd, estimated } = turnCost(ctx.config.prices ?? bundledPrices, model, result.usage, result.costUsd)
  return {
    costUsd,
    estimated,
    record: {
      ...(O.isSome(costUsd) ? { costUsd: costUsd.value } : {}),
      ...(estimated ? { costEstimated: true } : {})
    },
    spent: { costUsd: O.getOrElse(costUsd, () => 0), tokens: tokensOf(result.usage), estimated }
  }
}
