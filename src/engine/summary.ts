import type { WorkerSummary } from "../domain/RunFiles.js"
import { addOutcomeCounts, noOutcomes } from "../domain/outcomeCounts.js"
import { addUsage, emptyUsage } from "../domain/Usage.js"
import { humanDuration } from "../domain/humanDuration.js"


/** The final per-worker table (plain text, readable in CI logs): each way a cycle can end has its column. */
export const formatSummaryTable = (workers: ReadonlyArray<WorkerSummary>): string => {
  const header = [
    "worker",
    "model",
    "cycles",
    "merged",
    "rejected",
    "merge-failed",
    "stuck",
    "no-changes",
    "errors",
    "turns",
    "tokens in/out",
    "cost",
    "time",
    "stopped"
  ]
  const cells = (w: Omit<WorkerSummary, "id" | "model" | "durationMs" | "stopReason">) => [
    String(w.cycles),
    String(w.merged),
    String(w.rejected),
    String(w.mergeFailed),
    String(w.stuck),
    String(w.noChanges),
    String(w.errors),
    String(w.turns),
    `${w.usage.inputTokens}/${w.usage.outputTokens}`,
    // "~": part of it estimated from the price table (docs/budgets.md).
    `${w.costEstimated === true ? "~" : ""}$${w.costUsd.toFixed(4)}`
  ]
  const rows = workers.map((w) => [w.id, w.model, ...cells(w), humanDuration(w.durationMs), w.stopReason])
  const total = workers.reduce(
    (acc, w) => ({
      ...addOutcomeCounts(acc, w),
      turns: acc.turns + w.turns,
      usage: addUsage(acc.usage, w.usage),
      costUsd: acc.costUsd + w.costUsd,
      costEstimated: acc.costEstimated || w.costEstimated === true
    }),
    { ...noOutcomes, turns: 0, usage: emptyUsage, costUsd: 0, costEstimated: false }
  )
  rows.push(["total", "", ...cells(total), "", ""])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}
