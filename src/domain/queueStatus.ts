import { availableTasks, countsOf, oneLine, type QueueListing } from "./queue.js"

/** Longest summary shown per task line, so one huge summary cannot blow up a prompt. */
const SUMMARY_MAX = 200

/**
 * The queue status put in every agent prompt (SPEC §5): a counts line, then the
 * first `limit` available pending tasks as `- <id>: <summary>`, then `+N more`.
 * Bounded whatever the queue size (SPEC §12: the 0.6 list grew without bound).
 * Plain concatenation: `$` or `{{…}}` in a summary is just text.
 */
export const formatQueueStatus = (listing: QueueListing, limit = 30): string => {
  const counts = countsOf(listing)
  const lines: Array<string> = []
  const blocked = counts.pending - counts.available
  lines.push(
    `Tasks: ${counts.pending} pending${blocked > 0 ? ` (${counts.available} available, ${blocked} waiting on depends_on)` : ""}, ` +
      `${counts.current} in progress, ${counts.complete} complete` +
      (counts.invalid > 0 ? `, ${counts.invalid} invalid` : "")
  )
  const available = availableTasks(listing)
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
