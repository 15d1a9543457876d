/**
 * The adapters' failure classes on output captured from the real CLIs
 * (test/fixtures/cli-output/<cli>/fail-<case>.jsonl, .stderr.txt, .exit:
 * written by test/cli-e2e/failures.test.ts with UPDATE_CLI_FIXTURES=1), and
 * the shared matching on the shapes the CLIs print that the fake server cannot
 * provoke (claude's usage-limit line, codex's time-only reset).
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as claude from "../../src/harness/claude.js"
import * as codex from "../../src/harness/codex.js"
import * as gemini from "../../src/harness/gemini.js"
import * as kilo from "../../src/harness/kilo.js"
import * as opencode from "../../src/harness/opencode.js"
import * as pi from "../../src/harness/pi.js"
import * as qwen from "../../src/harness/qwen.js"
import { failureOf, type Decoded } from "../../src/harness/cliAdapter.js"
import { cliSpecs } from "../../src/harness/cliHarnesses.js"
import { classifyFailure, resetsAtOfText, retryAfterMsOfText } from "../../src/harness/failureClass.js"
import type { TurnFailure } from "../../src/domain/TurnFailure.js"

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "cli-output")
const decoders: Record<string, (text: string) => Decoded> = {
  claude: claude.decodeText,
  codex: codex.decodeText,
  gemini: gemini.decodeText,
  opencode: (text) => opencode.decodeText(text),
  pi: pi.decodeText,
  qwen: qwen.decodeText,
  kilo: (text) => kilo.decodeText(text)
}

/** A captured failed run, classified as the adapter does it (events, the spec's own signals, the stderr tail). */
const classified = (cli: keyof typeof cliSpecs, name: string, nowMs = Date.now()): TurnFailure => {
  const base = path.join(fixtures, cli, `fail-${name}`)
  const decoded = decoders[cli]!(fs.readFileSync(`${base}.jsonl`, "utf8"))
  const stderrTail = fs
    .readFileSync(`${base}.stderr.txt`, "utf8")
    .split("\n")
    .filter((line) => !line.startsWith("# oompa:") && !/^\s+at .+/.test(line))
    .slice(-8)
    .join("\n")
  const exitCode = Number(fs.readFileSync(`${base}.exit`, "utf8").trim())
  return failureOf(cliSpecs[cli], decoded, { exitCode, timedOut: false, stderrTail }, nowMs)
}

const expected: ReadonlyArray<readonly [keyof typeof cliSpecs, string, Omit<TurnFailure, "evidence">]> = [
  ["claude", "429", { class: "rate-limited" }],
  ["claude", "529", { class: "overloaded" }],
  ["claude", "503", { class: "overloaded" }],
  ["claude", "401", { class: "auth" }],
  ["claude", "403", { class: "auth" }],
  // An overload that arrives inside a 200 stream (`event: error`), then on claude's non-streaming retry as 529.
  ["claude", "stream-overloaded", { class: "overloaded" }],
  ["claude", "context", { class: "context-too-long" }],
  ["codex", "429", { class: "rate-limited" }],
  // codex prints the reset in the machine's local time, to the minute: Nov 30th, 2026 12:54 AM (captured in UTC).
  // A rate limit inside the stream (response.failed, code rate_limit_exceeded): its message keeps "try again in 20s".
  ["codex", "stream-429", { class: "rate-limited", retryAfterMs: 20000 }],
  ["codex", "503", { class: "overloaded" }],
  ["codex", "529", { class: "overloaded" }],
  ["codex", "401", { class: "auth" }],
  ["codex", "context", { class: "context-too-long" }],
  ["gemini", "429", { class: "rate-limited", retryAfterMs: 12500 }],
  ["gemini", "429-bare", { class: "rate-limited" }],
  ["gemini", "503", { class: "overloaded" }],
  ["gemini", "529", { class: "overloaded" }],
  ["gemini", "401", { class: "auth" }],
  ["gemini", "context", { class: "context-too-long" }],
  ["opencode", "429", { class: "rate-limited", retryAfterMs: 50 }],
  ["opencode", "503", { class: "overloaded", retryAfterMs: 50 }],
  ["opencode", "401", { class: "auth" }],
  ["opencode", "context", { class: "context-too-long" }],
  // pi exits 0 after each: the class is read from its last assistant message's errorMessage ("<status> <message>").
  ["pi", "429", { class: "rate-limited" }],
  ["pi", "429-wait", { class: "rate-limited", retryAfterMs: 20000 }],
  ["pi", "503", { class: "overloaded" }],
  ["pi", "529", { class: "overloaded" }],
  ["pi", "401", { class: "auth" }],
  ["pi", "context", { class: "context-too-long" }],
  // qwen exits 1 after each: the result's error is "[API Error: <status> <message>]" (a 429's with qwen's hint appended).
  ["qwen", "429", { class: "rate-limited" }],
  ["qwen", "429-wait", { class: "rate-limited", retryAfterMs: 20000 }],
  ["qwen", "503", { class: "overloaded" }],
  ["qwen", "529", { class: "overloaded" }],
  ["qwen", "401", { class: "auth" }],
  ["qwen", "context", { class: "context-too-long" }],
  // kilo 7.7.7 (an opencode fork): the same error events, retry-after-ms honoured and passed on.
  ["kilo", "429", { class: "rate-limited", retryAfterMs: 50 }],
  ["kilo", "503", { class: "overloaded", retryAfterMs: 50 }],
  ["kilo", "401", { class: "auth" }],
  ["kilo", "context", { class: "context-too-long" }]
]

describe("failure class of captured real-CLI output", () => {
  for (const [cli, name, want] of expected) {
    it(`${cli} ${name}: ${want.class}`, () => {
      const { evidence, ...failure } = classified(cli, name)
      expect(failure).toEqual(want)
      expect(evidence?.length ?? 0).toBeGreaterThan(0)
      expect(evidence!.length).toBeLessThanOrEqual(301)
    })
  }

  it("codex usage limit: the reset time it prints (local time, to the minute)", () => {
    const failure = classified("codex", "usage-limit")
    expect(failure.class).toBe("rate-limited")
    expect(failure.resetsAt).toBe(new Date(2026, 10, 30, 0, 54).toISOString())
    expect(failure.retryAfterMs).toBeUndefined()
  })

  it("gemini: the status comes from the exit code when the message dropped it", () => {
    expect(classified("gemini", "429-bare").evidence).toMatch(/^429: \[API Error: Resource exhausted\]/)
    expect(classified("gemini", "503").evidence).toMatch(/^503: /)
  })

  it("a captured 400 that is not about the context is other (the earlier api-error fixtures)", () => {
    for (const cli of ["claude", "codex", "gemini", "opencode", "qwen", "kilo"] as const) {
      const text = fs.readFileSync(path.join(fixtures, cli, "api-error.jsonl"), "utf8")
      const failure = failureOf(cliSpecs[cli], decoders[cli]!(text), { exitCode: cli === "gemini" ? 144 : 1, timedOut: false, stderrTail: "" }, 0)
      expect(failure.class, cli).toBe("other")
      expect(failure.evidence, cli).toContain("scripted failure for tests")
    }
  })
})

describe("shapes the fake server cannot provoke", () => {
  it("claude's usage-limit line carries the reset epoch", () => {
    const decoded = claude.decodeText(
      `{"type":"result","subtype":"success","is_error":true,"result":"Claude AI usage limit reached|1796000000","session_id":"s"}`
    )
    expect(failureOf(cliSpecs.claude, decoded, { exitCode: 1, timedOut: false, stderrTail: "" }, 0)).toEqual({
      class: "rate-limited",
      resetsAt: "2026-11-30T00:53:20.000Z",
      evidence: "Claude AI usage limit reached|1796000000"
    })
  })

  it("claude retrying a 429 until the turn timed out: the api_retry events' status", () => {
    const decoded = claude.decodeText(
      [
        `{"type":"system","subtype":"init","session_id":"s"}`,
        `{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":1011,"error_status":429,"error":"rate_limit","session_id":"s"}`
      ].join("\n")
    )
    expect(failureOf(cliSpecs.claude, decoded, { exitCode: null, timedOut: true, stderrTail: "" }, 0).class).toBe("rate-limited")
  })

  it("a timed-out turn with nothing telling is other", () => {
    const decoded = codex.decodeText(`{"type":"thread.started","thread_id":"t"}`)
    expect(failureOf(cliSpecs.codex, decoded, { exitCode: null, timedOut: true, stderrTail: "" }, 0)).toEqual({ class: "other", evidence: "timed out" })
  })

  it("codex's time-only reset is today, or tomorrow once that time has passed", () => {
    const now = new Date(2026, 11, 2, 15, 0).getTime()
    expect(resetsAtOfText("try again at 4:05 PM.", now)).toBe(new Date(2026, 11, 2, 16, 5).toISOString())
    expect(resetsAtOfText("try again at 9:30 AM.", now)).toBe(new Date(2026, 11, 3, 9, 30).toISOString())
  })

  it("waits spelled out in prose", () => {
    expect(retryAfterMsOfText("Rate limit reached for gpt-5. Please try again in 20s.")).toBe(20000)
    expect(retryAfterMsOfText("Please retry in 1m30s")).toBe(90000)
    expect(retryAfterMsOfText("retry after 250ms")).toBe(250)
    expect(retryAfterMsOfText("try again in a moment")).toBeUndefined()
  })

  it("a structured status outranks the words; the first telling signal decides", () => {
    expect(classifyFailure([{ status: 401, text: "rate limit" }], 0).class).toBe("auth")
    expect(classifyFailure([{ text: "something broke" }, { text: "429 Too Many Requests" }], 0).class).toBe("rate-limited")
    expect(classifyFailure([{ status: 500, text: "internal error" }], 0)).toEqual({ class: "other", evidence: "500: internal error" })
    expect(classifyFailure([], 0)).toEqual({ class: "other" })
  })
})
