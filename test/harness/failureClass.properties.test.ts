import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Schema } from "effect"
import { TurnFailure } from "../../src/domain/TurnFailure.js"
import {
  classifyFailure,
  classOfStatus,
  classOfText,
  type FailureSignal,
  resetsAtOfText,
  retryAfterMsOfHeader,
  retryAfterMsOfText
} from "../../src/harness/failureClass.js"

/**
 * Properties of the failure-class parsers (src/harness/failureClass.ts): they
 * never throw on anything a CLI may print, a structured status decides the
 * class whatever the words around it, and the waits and reset times they read
 * are the ones written, wherever they sit in the message.
 */

const anyText = fc.oneof(fc.string(), fc.fullUnicodeString(), fc.lorem({ mode: "sentences" }))
const signal: fc.Arbitrary<FailureSignal> = fc.record(
  {
    status: fc.option(fc.integer({ min: 100, max: 599 }), { nil: undefined }),
    text: anyText,
    retryAfterMs: fc.option(fc.nat(), { nil: undefined })
  },
  { requiredKeys: ["text"] }
)
const isTurnFailure = Schema.is(TurnFailure)
const now = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) })

describe("classifyFailure (properties)", () => {
  it.prop("never throws; gives a TurnFailure with bounded evidence; a wait only on a limit", [fc.array(signal, { maxLength: 5 }), now], ([signals, nowMs]) => {
    const failure = classifyFailure(signals, nowMs)
    expect(isTurnFailure(failure)).toBe(true)
    expect(failure.evidence?.length ?? 0).toBeLessThanOrEqual(301)
    if (failure.class !== "rate-limited" && failure.class !== "overloaded") {
      expect(failure.resetsAt).toBeUndefined()
      expect(failure.retryAfterMs).toBeUndefined()
    }
  })

  it.prop(
    "the first signal's own status decides, whatever it says",
    [fc.constantFrom(429, 529, 503, 401, 403, 413), anyText, fc.array(signal, { maxLength: 3 })],
    ([status, text, rest]) => {
      expect(classifyFailure([{ status, text }, ...rest], 0).class).toBe(classOfStatus(status))
    }
  )

  it.prop(
    "a structured retry-after is carried on a rate-limited turn without a reset time",
    [fc.integer({ min: 0, max: 86_400_000 }), fc.lorem({ maxCount: 6 })],
    ([retryAfterMs, words]) => {
      const failure = classifyFailure([{ status: 429, text: words, retryAfterMs }], 0)
      expect(failure).toMatchObject({ class: "rate-limited", retryAfterMs })
      expect(failure.resetsAt).toBeUndefined()
    }
  )

  it.prop("plain prose names no class", [fc.lorem({ maxCount: 30 })], ([words]) => {
    expect(classOfText(words)).toBeUndefined()
    expect(classifyFailure([{ text: words }], 0).class).toBe("other")
  })
})

describe("waits and reset times in prose (properties)", () => {
  const around = fc.tuple(fc.lorem({ maxCount: 5 }), fc.lorem({ maxCount: 5 }))

  it.prop(
    "'try again in <N>s' / 'retry after <N>ms' anywhere in the text",
    [fc.integer({ min: 0, max: 100_000 }), fc.constantFrom("try again in", "retry in", "retry after", "Please try again in"), fc.constantFrom("s", "ms", " seconds"), around],
    ([n, lead, unit, [before, after]]) => {
      const text = `${before} ${lead} ${n}${unit}. ${after}`
      expect(retryAfterMsOfText(text)).toBe(unit === "ms" ? n : n * 1000)
    }
  )

  it.prop("a retry-after header in seconds or as an HTTP date", [fc.integer({ min: 0, max: 86_400 }), now], ([seconds, nowMs]) => {
    expect(retryAfterMsOfHeader(String(seconds), nowMs)).toBe(seconds * 1000)
    const at = Math.floor(nowMs / 1000) * 1000 + seconds * 1000
    expect(retryAfterMsOfHeader(new Date(at).toUTCString(), nowMs)).toBe(Math.max(0, at - nowMs))
  })

  it.prop("claude's 'usage limit reached|<epoch>' gives that instant", [fc.integer({ min: 1_600_000_000, max: 2_100_000_000 }), around], ([epoch, [before, after]]) => {
    const text = `${before} Claude AI usage limit reached|${epoch} ${after}`
    expect(resetsAtOfText(text, 0)).toBe(new Date(epoch * 1000).toISOString())
    expect(classifyFailure([{ text }], 0)).toMatchObject({ class: "rate-limited", resetsAt: new Date(epoch * 1000).toISOString() })
  })

  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
  const ordinal = (day: number) => (day % 10 === 1 && day !== 11 ? "st" : day % 10 === 2 && day !== 12 ? "nd" : day % 10 === 3 && day !== 13 ? "rd" : "th")
  it.prop(
    "codex's 'try again at <Mon Dth, YYYY h:mm AM>' (local time) gives that minute",
    [fc.date({ min: new Date(2025, 0, 1), max: new Date(2034, 11, 31), noInvalidDate: true })],
    ([date]) => {
      const at = new Date(date.getFullYear(), date.getMonth(), date.getDate(), date.getHours(), date.getMinutes())
      const hour12 = at.getHours() % 12 === 0 ? 12 : at.getHours() % 12
      const text = `You've hit your usage limit. Upgrade to Pro or try again at ${months[at.getMonth()]} ${at.getDate()}${ordinal(at.getDate())}, ${at.getFullYear()} ${hour12}:${String(at.getMinutes()).padStart(2, "0")} ${at.getHours() < 12 ? "AM" : "PM"}.`
      expect(resetsAtOfText(text, 0)).toBe(at.toISOString())
    }
  )
})
