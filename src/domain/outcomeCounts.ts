import type { CycleOutcome } from "./Outcome.js"

/** How many cycles ended each way: the columns of the summary table (SPEC §11). */
export interface OutcomeCounts {
  readonly cycles: number
  readonly merged: number
  readonly rejected: number
  readonly mergeFailed: number
  readonly stuck: number
  readonly noChanges: number
  readonly errors: number
  /** done and interrupted */
  readonly other: number
}

export const noOutcomes: OutcomeCounts = {
  cycles: 0,
  merged: 0,
  rejected: 0,
  mergeFailed: 0,
  stuck: 0,
  noChanges: 0,
  errors: 0,
  other: 0
}

const columnOf = (outcome: CycleOutcome): Exclude<keyof OutcomeCounts, "cycles"> => {
  switch (outcome) {
    case "merged":
      return "merged"
    case "rejected":
      return "rejected"
    case "merge-failed":
      return "mergeFailed"
    case "stuck":
      return "stuck"
    case "no-changes":
      return "noChanges"
    case "error":
      return "errors"
    case "done":
    case "interrupted":
      return "other"
  }
}

export const countOutcome = (counts: OutcomeCounts, outcome: CycleOutcome): OutcomeCounts => {
  const column = columnOf(outcome)
  return { ...counts, cycles: counts.cycles + 1, [column]: counts[column] + 1 }
}

export const countOutcomes = (outcomes: Iterable<CycleOutcome>): OutcomeCounts => {
  let counts = noOutcomes
  for (const outcome of outcomes) counts = countOutcome(counts, outcome)
  return counts
}

export const addOutcomeCounts = (a: OutcomeCounts, b: OutcomeCounts): OutcomeCounts => ({
  cycles: a.cycles + b.cycles,
  merged: a.merged + b.merged,
  rejected: a.rejected + b.rejected,
  mergeFailed: a.mergeFailed + b.mergeFailed,
  stuck: a.stuck + b.stuck,
  noChanges: a.noChanges + b.noChanges,
  errors: a.errors + b.errors,
  other: a.other + b.other
})

/** The endings of cycles that did work and did not land it. */
export const failedOutcomes: ReadonlySet<CycleOutcome> = new Set(["rejected", "merge-failed", "stuck", "error"])

/** Cycles that did work and did not land it: what makes a swarm that merged nothing a failure (SPEC §10). */
export const failedCycles = (counts: OutcomeCounts): number => counts.rejected + counts.mergeFailed + counts.stuck + counts.errors

/** "2 error, 1 merge-failed": the failed cycles, for a message. */
export const describeFailedCycles = (counts: OutcomeCounts): string =>
  [
    [counts.errors, "error"],
    [counts.mergeFailed, "merge-failed"],
    [counts.stuck, "stuck"],
    [counts.rejected, "rejected"]
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${n} ${what}`)
    .join(", ")
