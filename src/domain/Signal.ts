/**
 * Signals are whole lines of the agent's final message (SPEC §4). A signal
 * mentioned inside a sentence does nothing; surrounding whitespace, backticks
 * and `**` emphasis are tolerated because agents like to format them.
 */
export const MERGE_SIGNAL = "COMPLETE_AND_READY_FOR_MERGE"
export const DONE_SIGNAL = "__DONE__"
export const FOLLOWUP_SIGNAL = "NEEDS_FOLLOWUP"

export interface Signals {
  readonly merge: boolean
  readonly done: boolean
  /** Task ids from every whole-line `CLAIM(a, b)`, in order, without duplicates. */
  readonly claims: ReadonlyArray<string>
  readonly followup: boolean
}

export const noSignals: Signals = { merge: false, done: false, claims: [], followup: false }

/** The signals as the run files and the terminal name them, in a fixed order. */
export const signalNames = (signals: Signals): ReadonlyArray<string> => [
  ...(signals.merge ? [MERGE_SIGNAL] : []),
  ...(signals.done ? [DONE_SIGNAL] : []),
  ...signals.claims.map((id) => `CLAIM(${id})`),
  ...(signals.followup ? [FOLLOWUP_SIGNAL] : [])
]

/** Strips the decoration agents put around a signal line. */
export const bareLine = (line: string): string => {
  let text = line.trim()
  for (;;) {
    const before = text
    if (text.startsWith("**") && text.endsWith("**") && text.length >= 4) text = text.slice(2, -2).trim()
    if (text.startsWith("`") && text.endsWith("`") && text.length >= 2) text = text.replace(/^`+|`+$/g, "").trim()
    if (text === before) return text
  }
}

const CLAIM_LINE = /^CLAIM\(([^()]*)\)$/

export const parseSignals = (finalMessage: string): Signals => {
  let merge = false
  let done = false
  let followup = false
  const claims: Array<string> = []
  for (const raw of finalMessage.split(/\r?\n/)) {
    const line = bareLine(raw)
    if (line === MERGE_SIGNAL) merge = true
    else if (line === DONE_SIGNAL) done = true
    else if (line === FOLLOWUP_SIGNAL) followup = true
    else {
      const match = CLAIM_LINE.exec(line)
      if (match) {
        for (const id of (match[1] ?? "").split(",")) {
          const trimmed = id.trim().replace(/^["'`]|["'`]$/g, "")
          if (trimmed.length > 0 && !claims.includes(trimmed)) claims.push(trimmed)
        }
      }
    }
  }
  return { merge, done, claims, followup }
}
