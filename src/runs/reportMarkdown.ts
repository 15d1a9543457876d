import type { ReportJson, ReportTask } from "../domain/JsonOutput.js"
import { oneLine } from "../domain/queue.js"
import { formatCost, formatDuration, localDateTime } from "./readRuns.js"

/**
 * The morning report (report.ts) as Markdown: a title line, then Merged, Not
 * merged, Tasks left, Cost, Waiting and Needs a human. Every line says what a
 * run file says; a section with nothing to tell says so in one line.
 */

const code = (text: string): string => `\`${text}\``

const tasksText = (tasks: ReadonlyArray<ReportTask>): string =>
  tasks.length === 0
    ? "no task claimed"
    : tasks.map((t) => (t.summary === null ? code(t.id) : `${code(t.id)} ${oneLine(t.summary, 120)}`)).join("; ")

const tokens = (u: { readonly inputTokens: number; readonly outputTokens: number }): string => `${u.inputTokens}/${u.outputTokens}`

const ending = (report: ReportJson): string => {
  const e = report.ended
  switch (e.status) {
    case "running":
      return "still running"
    case "starting":
      return "starting (no readable started.json)"
    case "crashed":
      return "crashed (no stopped.json and its process is gone)"
    default:
      return `${e.status}, exit ${e.exitCode ?? "?"}${e.detail === null ? "" : `: ${oneLine(e.detail, 200)}`}`
  }
}

const title = (report: ReportJson): string => {
  const start = report.startedAt === null ? "?" : localDateTime(report.startedAt)
  const end = report.ended.at === null ? (report.ended.status === "running" ? "now" : "?") : localDateTime(report.ended.at)
  return `# oompa report: swarm ${report.id} → ${report.targetBranch ?? "?"}, ${start} – ${end}, ${ending(report)}`
}

const mergedSection = (report: ReportJson): Array<string> => {
  const lines = [`## Merged (${report.merged.length})`, ""]
  if (report.merged.length === 0) return [...lines, "Nothing merged."]
  for (const m of report.merged) {
    const tests =
      m.testCommand === "none"
        ? "no test_command"
        : m.testCommand === "unknown"
          ? "test_command unknown"
          : `test_command passed${m.testFailures > 0 ? ` (after ${m.testFailures} failed run(s))` : ""}`
    lines.push(
      `- ${m.cycle}: ${tasksText(m.tasks)} — merged ${m.commit === null ? "?" : code(m.commit.slice(0, 12))}, ` +
        `${m.reviewRounds} review round(s), ${tests}, ${formatCost(m.costUsd, m.costEstimated)}`
    )
  }
  return lines
}

const notMergedSection = (report: ReportJson): Array<string> => {
  const lines = [`## Not merged (${report.notMerged.length})`, ""]
  if (report.notMerged.length === 0) return [...lines, report.merged.length === 0 ? "No cycle has ended." : "Every cycle merged."]
  // Cycles that claimed nothing, kept nothing and failed at nothing (no-changes, done): one line for all.
  const quiet = report.notMerged.filter((c) => c.tasks.length === 0 && c.keptRef === null && (c.outcome === "no-changes" || c.outcome === "done"))
  for (const c of report.notMerged) {
    if (quiet.includes(c)) continue
    lines.push(`- ${c.cycle} ${c.outcome}: ${tasksText(c.tasks)} — ${oneLine(c.detail, 300)}`)
    if (c.keptRef !== null) {
      lines.push(
        c.gitCommand === null
          ? `  - was kept as ${code(c.keptRef)}, no longer in the repository`
          : `  - kept as ${code(c.keptRef)}; look at it: ${code(c.gitCommand)}`
      )
    }
    if (c.laterMerged.length > 0) lines.push(`  - its task(s) merged later in ${c.laterMerged.join(", ")}`)
  }
  if (quiet.length > 0) {
    const outcomes = [...new Set(quiet.map((c) => c.outcome))].join(" or ")
    lines.push(`- ${quiet.map((c) => c.cycle).join(", ")}: ${outcomes}, no task claimed, nothing kept`)
  }
  return lines
}

const queueSection = (report: ReportJson): Array<string> => {
  const q = report.queue
  const lines = ["## Tasks left (the queue now)", ""]
  if (q === null) return [...lines, "Unknown: the run has no started.json naming its queue, or the queue could not be read."]
  lines.push(
    `${q.counts.pending} pending (${q.counts.available} available), ${q.counts.current} in progress, ` +
      `${q.counts.complete} complete, ${q.counts.invalid} invalid — in ${code(q.root)}`
  )
  if (q.pending.length > 0) {
    lines.push("", "Pending:")
    for (const t of q.pending) {
      lines.push(`- ${tasksText([t])}${t.waitingOn.length > 0 ? ` (waits on ${t.waitingOn.join(", ")})` : ""}`)
    }
  }
  if (q.current.length > 0) {
    lines.push("", "In progress:")
    for (const t of q.current) lines.push(`- ${tasksText([t])}${t.claimedBy === null ? "" : ` (claimed by ${t.claimedBy})`}`)
  }
  if (q.invalid.length > 0) {
    lines.push("", "Invalid:")
    for (const f of q.invalid) lines.push(`- ${code(f.name)}${f.reason === null ? "" : `: ${oneLine(f.reason, 200)}`}`)
  }
  return lines
}

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => [
  `| ${header.join(" | ")} |`,
  `|${header.map(() => "---").join("|")}|`,
  ...rows.map((r) => `| ${r.join(" | ")} |`)
]

const costSection = (report: ReportJson): Array<string> => {
  const s = report.spend
  const lines: Array<string> = [
    "## Cost",
    "",
    `Total: ${formatCost(s.total.costUsd, s.total.costEstimated)}${s.total.costEstimated === true ? " (~: estimated from the price table, the CLI reported no cost)" : ""}, tokens in/out ${tokens(s.total.usage)}, ${s.total.cycles} cycle(s).`
  ]
  if (s.workers.length > 0) {
    lines.push(
      "",
      ...table(
        ["worker", "model", "cycles", "merged", "tokens in/out", "cost", "time", "stopped"],
        s.workers.map((w) => [w.id, w.model, String(w.cycles), String(w.merged), tokens(w.usage), formatCost(w.costUsd, w.costEstimated), formatDuration(w.durationMs), w.stopReason])
      )
    )
  }
  if (s.tasks.length > 0) {
    lines.push(
      "",
      ...table(
        ["task", "cycles", "tokens in/out", "cost"],
        s.tasks.map((t) => [t.id, String(t.cycles), tokens(t.usage), formatCost(t.costUsd, t.costEstimated)])
      )
    )
    if (s.unclaimed.cycles > 0) {
      lines.push("", `Cycles that claimed no task: ${s.unclaimed.cycles}, ${formatCost(s.unclaimed.costUsd, s.unclaimed.costEstimated)}, tokens in/out ${tokens(s.unclaimed.usage)}.`)
    }
  }
  return lines
}

const waitingSection = (report: ReportJson): Array<string> => {
  const w = report.waiting
  const lines = ["## Waiting", ""]
  if (w.backOffs.length === 0 && w.mergeHolds.length === 0 && w.rateLimits.length === 0 && w.providers.length === 0) {
    return [...lines, "No back-off after errors, no rate limit, no merge held back."]
  }
  if (w.rateLimits.length > 0 || w.providers.length > 0) {
    lines.push(`Waiting for providers' rate limits to lift: ${formatDuration(w.rateLimitMs)} in all (turns waiting at once each count).`)
    for (const r of w.rateLimits) {
      lines.push(`- ${r.worker}: ${r.limitedTurns} turn(s) cut short by a limit, ${r.waits} turn(s) waited ${formatDuration(r.ms)}`)
    }
    for (const p of w.providers) lines.push(`- provider ${p.provider}: ${p.limits} limit(s), longest hold ${formatDuration(p.longestHoldMs)}`)
    if (w.backOffs.length > 0 || w.mergeHolds.length > 0) lines.push("")
  }
  if (w.backOffs.length > 0) {
    lines.push(`Backing off after error cycles: ${formatDuration(w.backOffMs)} in all.`)
    for (const b of w.backOffs) lines.push(`- ${b.worker}: ${b.count} back-off(s), ${formatDuration(b.ms)}`)
  }
  if (w.mergeHolds.length > 0) {
    if (w.backOffs.length > 0) lines.push("")
    lines.push(`Approved work held back before landing: ${formatDuration(w.mergeHoldMs)} in all.`)
    for (const h of w.mergeHolds) lines.push(`- ${h.cycle}: ${formatDuration(h.ms)} waiting for ${h.what}`)
  }
  return lines
}

const needsSection = (report: ReportJson): Array<string> => {
  const lines = [`## Needs a human (${report.needsHuman.length})`, ""]
  if (report.needsHuman.length === 0) return [...lines, "Nothing."]
  for (const n of report.needsHuman) {
    const command = n.command === null ? "" : n.kind === "invalid-task" ? ` — fix it, then ${code(n.command)}` : ` — ${code(n.command)}`
    lines.push(`- **${n.kind}** ${oneLine(n.text, 300)}${command}`)
  }
  return lines
}

/** The whole report as Markdown. */
export const reportMarkdown = (report: ReportJson): string => {
  const sections = [
    [title(report)],
    needsSection(report),
    mergedSection(report),
    notMergedSection(report),
    queueSection(report),
    costSection(report),
    waitingSection(report)
  ]
  if (report.problems.length > 0) {
    sections.push(["## Files that did not decode", "", ...report.problems.map((p) => `- ${code(p.file)}: ${p.message}`)])
  }
  return sections.map((s) => s.join("\n")).join("\n\n")
}
