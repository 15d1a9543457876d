import type { WorkerSummary } from "../domain/RunFiles.js"

const seconds = (ms: number): string => (ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s` : `${(ms / 1000).toFixed(1)}s`)

/** The final per-worker table (plain text, readable in CI logs). */
export const formatSummaryTable = (workers: ReadonlyArray<WorkerSummary>): string => {
  const header = ["worker", "model", "cycles", "merged", "rejected", "errors", "turns", "tokens in/out", "cost", "time", "stopped"]
  const rows = workers.map((w) => [
    w.id,
    w.model,
    String(w.cycles),
    String(w.merged),
    String(w.rejected),
    String(w.errors),
    String(w.turns),
    `${w.usage.inputTokens}/${w.usage.outputTokens}`,
    `$${w.costUsd.toFixed(4)}`,
    seconds(w.durationMs),
    w.stopReason
  ])
  const total = workers.reduce(
    (acc, w) => ({
      cycles: acc.cycles + w.cycles,
      merged: acc.merged + w.merged,
      rejected: acc.rejected + w.rejected,
      errors: acc.errors + w.errors,
      turns: acc.turns + w.turns,
      input: acc.input + w.usage.inputTokens,
      output: acc.output + w.usage.outputTokens,
      cost: acc.cost + w.costUsd
    }),
    { cycles: 0, merged: 0, rejected: 0, errors: 0, turns: 0, input: 0, output: 0, cost: 0 }
  )
  rows.push([
    "total",
    "",
    String(total.cycles),
    String(total.merged),
    String(total.rejected),
    String(total.errors),
    String(total.turns),
    `${total.input}/${total.output}`,
    `$${total.cost.toFixed(4)}`,
    "",
    ""
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}
