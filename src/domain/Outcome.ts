import { Schema } from "effect"

/**
 * How a cycle ended (SPEC §5). `done` is a cycle whose planner said __DONE__
 * without asking for a merge; `interrupted` never comes out of `decide` — the
 * loop's scope records it when the fiber is interrupted. The one definition:
 * `decide`, the cycle files (RunFiles) and the summaries all use it.
 */
export const CycleOutcome = Schema.Literal(
  "merged",
  "no-changes",
  "rejected",
  "merge-failed",
  "stuck",
  "error",
  "done",
  "interrupted"
)
export type CycleOutcome = typeof CycleOutcome.Type
