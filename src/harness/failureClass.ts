/**
 * Why a turn failed, read from what its CLI printed: the pattern matching all
 * four adapters share. Each adapter (claude.ts, codex.ts, …) picks out of its
 * own output the places a failure shows (an error event with its HTTP status,
 * a result's message, the stderr tail) as `FailureSignal`s, most telling
 * first; `classifyFailure` turns them into a TurnFailure. docs/cli-facts.md
 * lists, per CLI, what it prints for 429, 529/503, 401/403 and a prompt too long.
 */
import type { FailureClass, TurnFailure } from "../domain/TurnFailure.js"

/** One place the CLI's output says why the turn failed. */
export interface FailureSignal {
  /** The HTTP status the CLI reported in a structured field (claude's api_error_status, opencode's statusCode, …). */
  readonly status?: number | undefined
  /** What the CLI said (an error message, a result text, a stderr line). */
  readonly text: string
  /** Milliseconds to wait, when the CLI gave it in a structured field (a retry-after header it passed on). */
  readonly retryAfterMs?: number | undefined
  /** When the limit resets (ISO 8601), when the CLI gave it in a structured field. */
  readonly resetsAt?: string | undefined
  /** The class the CLI itself named (claude's `error: "rate_limit"`, opencode's ContextOverflowError). */
  readonly class?: FailureClass | undefined
}

/** The class an HTTP status means on its own; undefined for a status that needs the message (400, 500, …). */
export const classOfStatus = (status: number): FailureClass | undefined => {
  switch (status) {
    case 429:
      return "rate-limited"
    case 503:
    case 529:
      return "overloaded"
    case 401:
    case 403:
      return "auth"
    case 413:
      return "context-too-long"
    default:
      return undefined
  }
}

// An HTTP status named as such in prose: "429 Too Many Requests", "(429)", "status: 429", "code 401", "API Error: 529".
const statusIn = (codes: string): RegExp =>
  new RegExp(
    `(?:\\b(?:status|statusCode|code|http|error)["']?\\s*[:=]?\\s*["']?|\\()(?:${codes})\\b|\\b(?:${codes})\\s+(?:too many|unauthori[sz]ed|forbidden|service unavailable|overloaded|<unknown status code>)`,
    "i"
  )

/** Text patterns per class, tried in this order (the most specific first: a 400 that says the prompt is too long). */
const patterns: ReadonlyArray<readonly [FailureClass, RegExp]> = [
  [
    "context-too-long",
    /prompt is too long|context[ _-]?(?:length|window)[ _-]?(?:exceeded|of this model)|maximum context length|ran out of room in the model's context|exceeds the context window|context_length_exceeded|ContextOverflow|exceeds the maximum number of tokens|input is too long|request_too_large|too many (?:input )?tokens/i
  ],
  [
    "auth",
    /\b(?:authentication[ _](?:error|failed)|unauthenticated|permission_denied|permission_error|invalid[ _-]?(?:x-)?api[ _-]?key|api key not valid|incorrect api key|invalid bearer token|oauth token (?:has )?(?:expired|revoked)|not logged in|please run \/login)\b/i
  ],
  [
    "rate-limited",
    /rate[ _-]?limit|too many requests|resource[ _]exhausted|quota exceeded|exceeded your current quota|usage limit|hit your (?:usage )?limit|free usage exceeded|please wait and try again later/i
  ],
  ["overloaded", /\boverloaded|service[ _]unavailable|\bUNAVAILABLE\b|(?:currently|temporarily) at capacity/i]
]

const statusPatterns: ReadonlyArray<readonly [FailureClass, RegExp]> = [
  ["rate-limited", statusIn("429")],
  ["overloaded", statusIn("529|503")],
  ["auth", statusIn("401|403")]
]

/** The class a message means, from its words (or a status it spells out); undefined when it says nothing we know. */
export const classOfText = (text: string): FailureClass | undefined => {
  for (const [failureClass, pattern] of patterns) if (pattern.test(text)) return failureClass
  for (const [failureClass, pattern] of statusPatterns) if (pattern.test(text)) return failureClass
  return undefined
}

const unitMs: Record<string, number> = { ms: 1, s: 1000, sec: 1000, second: 1000, seconds: 1000, m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000, h: 3_600_000, hour: 3_600_000, hours: 3_600_000 }

/**
 * A wait spelled out in the message: "Please try again in 20s", "retry in 12.5s",
 * "Suggested retry after 12s", "try again in 1m30s", "retry after 250ms".
 */
export const retryAfterMsOfText = (text: string): number | undefined => {
  const match = /\b(?:try again|retry|retrying)\s+(?:in|after)\s+((?:\d+(?:\.\d+)?\s*(?:ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)(?![a-z])\s*)+)/i.exec(text)
  if (match === null) return undefined
  let total = 0
  for (const part of match[1]!.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/gi)) {
    const unit = part[2]!.toLowerCase()
    const factor = unitMs[unit] ?? unitMs[unit.replace(/s$/, "")] ?? (unit.startsWith("millisecond") ? 1 : undefined)
    if (factor === undefined) return undefined
    total += Number(part[1]) * factor
  }
  return Math.round(total)
}

/** An HTTP `retry-after` value: seconds, or an HTTP date (relative to `nowMs`). */
export const retryAfterMsOfHeader = (value: string, nowMs: number): number | undefined => {
  const trimmed = value.trim()
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

const isoOfEpoch = (digits: string): string | undefined => {
  const n = Number(digits)
  const ms = digits.length >= 13 ? n : n * 1000
  const date = new Date(ms)
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString()
}

/**
 * A reset time spelled out in the message:
 *   - claude's usage-limit line "Claude AI usage limit reached|<epoch seconds>";
 *   - codex's "… or try again at Nov 30th, 2026 12:53 AM." (the machine's local
 *     time, as oompa runs on the machine the CLI runs on) or "try again at 4:05 PM."
 *     (today, or tomorrow when that time has passed);
 *   - an ISO 8601 time after "reset(s) at".
 */
export const resetsAtOfText = (text: string, nowMs: number): string | undefined => {
  const epoch = /usage limit reached\|(\d{9,13})\b/i.exec(text)
  if (epoch !== null) return isoOfEpoch(epoch[1]!)
  const iso = /\breset(?:s)?(?:_at)?["']?\s*(?:at|:)?\s*["']?(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))/i.exec(text)
  if (iso !== null) {
    const at = Date.parse(iso[1]!)
    if (!Number.isNaN(at)) return new Date(at).toISOString()
  }
  const epochField = /\bresets?_at["']?\s*[:=]\s*(\d{9,13})\b/i.exec(text)
  if (epochField !== null) return isoOfEpoch(epochField[1]!)
  const dated = /try again at ([A-Z][a-z]{2} \d{1,2})(?:st|nd|rd|th)?, (\d{4}) (\d{1,2}:\d{2}\s*[AP]M)/.exec(text)
  if (dated !== null) {
    const at = Date.parse(`${dated[1]}, ${dated[2]} ${dated[3]}`)
    if (!Number.isNaN(at)) return new Date(at).toISOString()
  }
  const timeOnly = /try again at (\d{1,2}):(\d{2})\s*([AP]M)\b/.exec(text)
  if (timeOnly !== null) {
    const hours = (Number(timeOnly[1]) % 12) + (timeOnly[3] === "PM" ? 12 : 0)
    const at = new Date(nowMs)
    at.setHours(hours, Number(timeOnly[2]), 0, 0)
    if (at.getTime() <= nowMs) at.setDate(at.getDate() + 1)
    return at.toISOString()
  }
  return undefined
}

/** The evidence kept in the record: one line, bounded. */
export const evidenceOf = (text: string): string => {
  const line = text.replace(/\s+/g, " ").trim()
  return line.length > 300 ? `${line.slice(0, 300)}…` : line
}

/** A signal as the record shows it: its status first when its text does not say it. */
const shown = (signal: FailureSignal): string =>
  signal.status !== undefined && !signal.text.includes(String(signal.status)) ? `${signal.status}: ${signal.text}` : signal.text

const isLimitClass = (failureClass: FailureClass): boolean => failureClass === "rate-limited" || failureClass === "overloaded"

/**
 * The class of a failed turn from its signals, most telling first: the first
 * signal whose status, own class or words name a class decides; a structured
 * status outranks the words. A rate-limited or overloaded turn carries the
 * reset time or the retry-after found in any signal (a structured field first).
 * No signal with a class: "other", with the first signal as evidence.
 */
export const classifyFailure = (signals: ReadonlyArray<FailureSignal>, nowMs: number): TurnFailure => {
  const present = signals.filter((signal) => signal.text.trim().length > 0 || signal.status !== undefined)
  for (const signal of present) {
    const failureClass =
      (signal.status !== undefined ? classOfStatus(signal.status) : undefined) ?? signal.class ?? classOfText(signal.text)
    if (failureClass === undefined) continue
    const evidence = evidenceOf(shown(signal))
    if (!isLimitClass(failureClass)) return { class: failureClass, evidence }
    const resetsAt =
      present.map((s) => s.resetsAt).find((v) => v !== undefined) ??
      present.map((s) => resetsAtOfText(s.text, nowMs)).find((v) => v !== undefined)
    const retryAfterMs =
      present.map((s) => s.retryAfterMs).find((v) => v !== undefined) ??
      present.map((s) => retryAfterMsOfText(s.text)).find((v) => v !== undefined)
    return {
      class: failureClass,
      ...(resetsAt !== undefined ? { resetsAt } : {}),
      ...(resetsAt === undefined && retryAfterMs !== undefined ? { retryAfterMs } : {}),
      evidence
    }
  }
  const first = present[0]
  return first === undefined ? { class: "other" } : { class: "other", evidence: evidenceOf(shown(first)) }
}
