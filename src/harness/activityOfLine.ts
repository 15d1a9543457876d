import type { ActivityReader } from "./activity.js"
import { mockActivity } from "./mock.js"
import { cliSpecs } from "./registry.js"

/** Every built-in harness's reader, in registry order. */
const readers: ReadonlyArray<readonly [string, ActivityReader]> = [
  ...Object.entries(cliSpecs).map(([name, spec]) => [name, spec.activity] as const),
  ["mock", mockActivity]
]

/**
 * The activity one output line shows (activity.ts), read as `harness`'s
 * output first and then as any other built-in CLI's (an embedder's harness
 * may print one of these formats). A line that is not one JSON object shows
 * nothing.
 */
export const activityOfLine = (harness: string, line: string): string | undefined => {
  const trimmed = line.trim()
  if (!trimmed.startsWith("{")) return undefined
  let json: unknown
  try {
    json = JSON.parse(trimmed)
  } catch {
    return undefined
  }
  const ordered = [...readers.filter(([name]) => name === harness), ...readers.filter(([name]) => name !== harness)]
  for (const [, read] of ordered) {
    const activity = read(json)
    if (activity !== undefined) return activity.replace(/\s+/g, " ").trim()
  }
  return undefined
}
