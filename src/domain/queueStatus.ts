import { availableTasks, countsOf, offeredOrder, oneLine, type QueueListing } from "./queue.js"

/** Longest summary shown per task line, so one huge summary cannot blow up a prompt. */
const SUMMARY_MAX = 200

/**
 * The queue status put in every agent prompt (SPEC §5): a counts line, then the
 * first `limit` available pending tasks as `- <id>: <summary>`, then `+N more`.
 * Bounded whatever the queue size (SPEC §12: the 0.6 list grew without bound).
 * Plain concatenation: `$` or `{{…}}` in a summary is just text.
 * `workerIndex` (the worker's place in the swarm) rotates the list so each
 * worker is offered a different first task (see `offeredOrder`).
 */
export const formatQueueStatus = (listing: QueueListing, limit = 30, workerIndex = 0): string => {
  const counts = countsOf(listing)
  const lines: Array<string> = []
  // A task whose budget was reached (docs/budgets.md) waits for a person, not on depends_on.
  const overBudget = listing.pending.filter((entry) => entry.task.budget_reached !== undefined).length
  const blocked = counts.pending - counts.available - overBudget
  const held = [...(blocked > 0 ? [`${blocked} waiting on depends_on`] : []), ...(overBudget > 0 ? [`${overBudget} over budget`] : [])]
  lines.push(
    `Tasks: ${counts.pending} pending${held.length > 0 ? ` (${counts.available} available, ${held.join(", ")})` : ""}, ` +
      `${counts.current} in progress, ${counts.complete} complete` +
      (counts.invalid > 0 ? `, ${counts.invalid} invalid` : "")
  )
  const available = offeredOrder(availableTasks(listing), workerIndex)
  if (available.length === 0) {
    lines.push("No pending tasks are available to claim.")
    return lines.join("\n")
  }
  const shown = available.slice(0, Math.max(0, limit))
  lines.push("Available tasks:")
  for (const entry of shown) {
    const summary = entry.task.summary ?? entry.task.description
    lines.push(summary === undefined ? `- ${entry.id}` : `- ${entry.id}: ${oneLine(summary, SUMMARY_MAX)}`)
  }
  if (available.length > shown.length) lines.push(`+${available.length - shown.length} more`)
  return lines.join("\n")
}
