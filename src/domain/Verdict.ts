import { Schema } from "effect"
import { bareLine } from "./Signal.js"

/** A reviewer's verdict (SPEC §6): the parser, the review files and the mock scenarios use this one list. */
export const Verdict = Schema.Literal("APPROVED", "NEEDS_CHANGES", "REJECTED")
export type Verdict = typeof Verdict.Type

const VERDICT_LINE = new RegExp(`^VERDICT:\\s*(${Verdict.literals.join("|")})\\s*$`)

/**
 * The reviewer's verdict: the LAST whole line `VERDICT: X` of its final
 * message. No bare-word matching, so "NOT APPROVED" can never approve.
 */
export const parseVerdict = (finalMessage: string): Verdict | undefined => {
  const lines = finalMessage.split(/\r?\n/)
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = VERDICT_LINE.exec(bareLine(lines[i] ?? ""))
    if (match) return match[1] as Verdict
  }
  return undefined
}
