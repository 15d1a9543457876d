import { Option, Ref } from "effect"
import type { TurnRecord } from "../domain/RunFiles.js"
import type { CycleOutcome } from "../domain/Outcome.js"
import { addUsage, emptyUsage, type Usage } from "../domain/Usage.js"

/**
 * What a cycle has done so far, in a Ref so that the worktree's release can see
 * it whatever ended the cycle (the claims to put back, whether it merged).
 */
export interface CycleProgress {
  readonly startedAt: string
  readonly startedMs: number
  readonly base: string
  readonly claims: ReadonlyArray<string>
  readonly turns: ReadonlyArray<TurnRecord>
  readonly signals: ReadonlyArray<string>
  readonly reviewRounds: number
  readonly usage: Usage
  readonly costUsd: Option.Option<number>
  /** Part of `costUsd` was estimated from the price table (docs/budgets.md). */
  readonly costEstimated: boolean
  readonly mergedCommit: Option.Option<string>
  /** Set once the cycle's ending has been recorded: the release then only cleans up. */
  readonly finished: Option.Option<CycleOutcome>
}

export const makeProgress = (startedAt: string, startedMs: number, base: string) =>
  Ref.make<CycleProgress>({
    startedAt,
    startedMs,
    base,
    claims: [],
    turns: [],
    signals: [],
    reviewRounds: 0,
    usage: emptyUsage,
    costUsd: Option.none(),
    costEstimated: false,
    mergedCommit: Option.none(),
    finished: Option.none()
  })

export const addCost = (progress: Ref.Ref<CycleProgress>, usage: Usage, cost: Option.Option<number>, estimated = false) =>
  Ref.update(progress, (p) => ({
    ...p,
    costEstimated: p.costEstimated || estimated,
    usage: addUsage(p.usage, usage),
    costUsd: Option.isSome(cost) ? Option.some(Option.getOrElse(p.costUsd, () => 0) + cost.value) : p.costUsd
  }))
