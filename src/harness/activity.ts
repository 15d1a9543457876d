import { Either, Schema } from "effect"

/**
 * What an agent is doing now, from one line of its CLI's structured output
 * (the turn log): its latest tool call ("Bash: npm test", "Edit src/a.ts") or
 * line of text. The live views show it beside the worker; it is display only,
 * so a line that tells nothing (or is not JSON) gives undefined.
 *
 * Each CLI's reader is in its adapter's file (`CliSpec.activity`), reading
 * only the parts of its events that show activity; what a turn's result is
 * (text, session, usage) is read by the adapter's decoder. This file has the
 * words they share; activityOfLine.ts picks the reader.
 */

/** One output line (parsed JSON) → the activity it shows, if any. */
export type ActivityReader = (json: unknown) => string | undefined

/** A tool call in words: the tool, and its most telling argument. */
export const describeToolCall = (name: string, input: unknown): string => {
  const args = typeof input === "object" && input !== null ? (input as Record<string, unknown>) : {}
  const telling = ["command", "file_path", "filePath", "path", "pattern", "query", "url", "description", "prompt"]
    .map((key) => args[key])
    .find((value): value is string => typeof value === "string" && value.trim() !== "")
  const first = telling ?? Object.values(args).find((value): value is string => typeof value === "string" && value.trim() !== "")
  return first === undefined ? name : `${name}: ${first}`
}

/** The first non-blank line of a text, for a reply shown on one row. */
export const textLine = (text: string): string | undefined => {
  const line = text.split("\n").find((l) => l.trim() !== "")
  return line === undefined ? undefined : `» ${line.trim()}`
}

/** A reader of the lines `schema` decodes. */
export const activityReader =
  <A, I>(schema: Schema.Schema<A, I>, describe: (event: A) => string | undefined): ActivityReader =>
  (json: unknown): string | undefined => {
    const decoded = Schema.decodeUnknownEither(schema)(json)
    return Either.isRight(decoded) ? describe(decoded.right) : undefined
  }

/** The harness part of a model string as the views show it ("claude:opus" → "claude"). */
export const harnessOfModel = (model: string): string => model.split(":")[0] ?? model
