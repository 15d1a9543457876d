/**
 * The kilo adapter (src/harness/kilo.ts, opencode's spec with kilo's names):
 * opencode's decoder on kilo 7.7.7's real output (test/fixtures/cli-output/kilo/,
 * captured by the real-CLI tests with UPDATE_CLI_FIXTURES=1).
 */
import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { failureOf } from "../../src/harness/cliAdapter.js"
import * as kilo from "../../src/harness/kilo.js"
import { cliSpecs } from "../../src/harness/registry.js"

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "cli-output", "kilo")
const output = (name: string) => fs.readFileSync(path.join(fixtures, `${name}.jsonl`), "utf8")

describe("kilo's output, decoded (captured from 7.7.7)", () => {
  it("a new session: the last step's text, the ses_ id, the usage of both steps summed, cost 0 of a custom provider", () => {
    const decoded = kilo.decodeText(output("new-session"))
    expect(decoded.text).toBe("I wrote out/hello.txt and committed it.\nCOMPLETE_AND_READY_FOR_MERGE")
    expect(Option.getOrThrow(decoded.sessionId)).toMatch(/^ses_/)
    // step 1 (the shell tool call): input 12658, output 35; step 2 (the answer): 12758, 18; no cache.
    expect(decoded.usage).toEqual({ inputTokens: 12658 + 12758, outputTokens: 35 + 18, cachedInputTokens: 0 })
    expect(decoded.costUsd).toEqual(Option.some(0))
    expect(decoded.error).toEqual(Option.none())
    expect(decoded.failureSignals).toEqual([])
  })

  it("a resumed session keeps the id the first run reported", () => {
    const first = Option.getOrThrow(kilo.decodeText(output("new-session")).sessionId)
    const resumed = kilo.decodeText(output("resumed-session"))
    expect(resumed.sessionId).toEqual(Option.some(first))
    expect(resumed.text).toBe("Resumed after 2 turns: I remember writing out/hello.txt.")
    expect(resumed.usage).toEqual({ inputTokens: 12865, outputTokens: 15, cachedInputTokens: 0 })
  })

  it("an API error (400, exit 1): its message and status, a failure of class other", () => {
    const decoded = kilo.decodeText(output("api-error"))
    expect(decoded.text).toBe("")
    expect(Option.getOrThrow(decoded.error)).toBe("APIError: scripted failure for tests")
    expect(decoded.failureSignals[0]?.status).toBe(400)
    const failure = failureOf(cliSpecs.kilo, decoded, { exitCode: 1, timedOut: false, stderrTail: "Error: scripted failure for tests" }, 0)
    expect(failure.class).toBe("other")
    expect(failure.evidence).toContain("scripted failure for tests")
  })
})
