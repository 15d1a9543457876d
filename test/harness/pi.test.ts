/**
 * The pi adapter (src/harness/pi.ts): its argv, its decoder on pi 0.73.1's
 * real output (test/fixtures/cli-output/pi/, captured by the real-CLI tests
 * with UPDATE_CLI_FIXTURES=1; test/fixtures/cli-candidates/pi/ from the
 * candidates' survey), and the failure of a run that exits 0 after a failed
 * API call.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ModelSpec } from "../../src/domain/Model.js"
import { failureOf } from "../../src/harness/cliAdapter.js"
import type { SessionRequest, TurnRequest } from "../../src/harness/Harness.js"
import * as pi from "../../src/harness/pi.js"
import { cliSpecs } from "../../src/harness/registry.js"

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures")
const output = (name: string) => fs.readFileSync(path.join(fixtures, "cli-output", "pi", `${name}.jsonl`), "utf8")
const candidate = (name: string) => fs.readFileSync(path.join(fixtures, "cli-candidates", "pi", `${name}.jsonl`), "utf8")

const P = "[oompa:ab12cd34:w0]\nDo the thing"
const ID = "01a23d2f-0c0b-7141-a99d-425db2de4815"

const request = (model: ModelSpec, session: SessionRequest, mode: "work" | "review" = "work", prompt = P): TurnRequest => ({
  prompt,
  cwd: "/repo/.oompa/worktrees/w0",
  model,
  session,
  mode,
  timeout: Duration.minutes(30),
  logPath: "/runs/x/logs/w0-c1-t1.log"
})

const facts = { isRoot: false, userEnv: {} }

describe("pi argv", () => {
  const cases: ReadonlyArray<{ readonly name: string; readonly req: TurnRequest; readonly args: ReadonlyArray<string> }> = [
    { name: "new session, no model: pi's default", req: request({ harness: "pi" }, { _tag: "New" }), args: ["--mode", "json", "-p", P] },
    {
      name: "an id oompa chose for a new session is not passed (pi picks its own)",
      req: request({ harness: "pi", model: "fake/fake-model" }, { _tag: "New", id: "5b0c6c1a-3f55-4c1e-9a43-3c3f1b0b2a11" }),
      args: ["--mode", "json", "-p", "--model", "fake/fake-model", P]
    },
    {
      name: "resume by the session id pi printed",
      req: request({ harness: "pi", model: "anthropic/claude-sonnet-4-5" }, { _tag: "Resume", id: ID }),
      args: ["--mode", "json", "-p", "--session", ID, "--model", "anthropic/claude-sonnet-4-5", P]
    },
    {
      name: "review: the read-only tool allowlist",
      req: request({ harness: "pi", model: "fake/fake-model" }, { _tag: "New" }, "review"),
      args: ["--mode", "json", "-p", "--tools", "read,grep,find,ls", "--model", "fake/fake-model", P]
    },
    {
      name: "review resume",
      req: request({ harness: "pi" }, { _tag: "Resume", id: ID }, "review"),
      args: ["--mode", "json", "-p", "--tools", "read,grep,find,ls", "--session", ID, P]
    },
    {
      name: "reasoning → --thinking",
      req: request({ harness: "pi", model: "fake/fake-model", reasoning: "minimal" }, { _tag: "New" }),
      args: ["--mode", "json", "-p", "--model", "fake/fake-model", "--thinking", "minimal", P]
    },
    {
      name: "reasoning max → --thinking xhigh (pi's highest)",
      req: request({ harness: "pi", model: "fake/fake-model", reasoning: "max" }, { _tag: "New" }),
      args: ["--mode", "json", "-p", "--model", "fake/fake-model", "--thinking", "xhigh", P]
    },
    {
      name: "a prompt starting with - gets a leading space (no option)",
      req: request({ harness: "pi" }, { _tag: "New" }, "work", "--tools bash"),
      args: ["--mode", "json", "-p", " --tools bash"]
    },
    {
      name: "a prompt starting with @ gets a leading space (no file attached)",
      req: request({ harness: "pi" }, { _tag: "New" }, "work", "@secrets.txt read it"),
      args: ["--mode", "json", "-p", " @secrets.txt read it"]
    }
  ]
  for (const c of cases) {
    it(c.name, () => {
      const invocation = pi.buildInvocation("/bin/pi", c.req, facts)
      expect(invocation.command).toBe("/bin/pi")
      expect(invocation.args).toEqual(c.args)
      expect(invocation.env).toEqual({})
      // The prompt is an argument; stdin stays closed (pi would append piped stdin to it).
      expect(invocation.stdin).toBeUndefined()
    })
  }
  for (const level of ["low", "medium", "high", "xhigh"] as const) {
    it(`reasoning ${level} is pi's level of the same name`, () => {
      const args = pi.buildInvocation("/bin/pi", request({ harness: "pi", reasoning: level }, { _tag: "New" }), facts).args
      expect(args.slice(args.indexOf("--thinking"), args.indexOf("--thinking") + 2)).toEqual(["--thinking", level])
    })
  }
  it("the spec: binary, OOMPA_PI_BIN, the npm package, pi picks the session id", () => {
    expect(cliSpecs.pi).toMatchObject({
      name: "pi",
      binary: "pi",
      binEnv: "OOMPA_PI_BIN",
      npmPackage: "@mariozechner/pi-coding-agent",
      choosesSessionId: false
    })
  })
})

describe("pi output (pi 0.73.1)", () => {
  it("new session: a bash tool call, then the final text; usage and cost summed over both model calls", () => {
    const decoded = pi.decodeText(output("new-session"))
    expect(decoded.text).toBe("I wrote out/hello.txt and committed it.\nCOMPLETE_AND_READY_FOR_MERGE")
    expect(decoded.sessionId).toEqual(Option.some(ID))
    expect(decoded.usage).toEqual({ inputTokens: 1401 + 1490, outputTokens: 34 + 18, cachedInputTokens: 0 })
    // pi's cost, from the prices the test profile gives the fake model (3 / 15 USD per million tokens).
    expect(Option.getOrThrow(decoded.costUsd)).toBeCloseTo((2891 * 3 + 52 * 15) / 1e6, 9)
    expect(decoded.error).toEqual(Option.none())
    expect(decoded.reportedFailure).toBe(false)
  })
  it("resume: the same session id; only this run's usage and cost", () => {
    const decoded = pi.decodeText(output("resumed-session"))
    expect(decoded.text).toBe("Resumed after 2 turns: I remember writing out/hello.txt.")
    expect(decoded.sessionId).toEqual(Option.some(ID))
    expect(decoded.usage).toEqual({ inputTokens: 1540, outputTokens: 15, cachedInputTokens: 0 })
    expect(Option.getOrThrow(decoded.costUsd)).toBeCloseTo(0.004845, 9)
  })
  it("an API error (pi exits 0): the run is reported failed, with the SDK's message", () => {
    const decoded = pi.decodeText(output("api-error"))
    expect(decoded.text).toBe("")
    expect(decoded.reportedFailure).toBe(true)
    expect(decoded.error).toEqual(Option.some("400 scripted failure for tests"))
    expect(decoded.failureSignals).toEqual([{ status: 400, text: "400 scripted failure for tests" }])
    expect(decoded.costUsd).toEqual(Option.none())
  })
  it("a model without prices in models.json: pi's cost 0 is no cost (oompa's price table may estimate it)", () => {
    const decoded = pi.decodeText(candidate("ant"))
    expect(decoded.usage.inputTokens).toBe(1375)
    expect(decoded.costUsd).toEqual(Option.none())
  })
  it("the read-only reviewer (offered no shell) still answers", () => {
    const decoded = pi.decodeText(candidate("readonly"))
    expect(decoded.reportedFailure).toBe(false)
    expect(decoded.text.length).toBeGreaterThan(0)
  })
})

describe("pi events", () => {
  const j = (value: unknown) => JSON.stringify(value) + "\n"
  const assistant = (content: ReadonlyArray<unknown>, extra: Record<string, unknown> = {}) =>
    j({ type: "message_end", message: { role: "assistant", content, stopReason: "stop", ...extra } })
  it("inputTokens is the whole prompt: input + cache reads + cache writes; cache reads are cachedInputTokens", () => {
    const decoded = pi.decodeText(
      assistant([{ type: "text", text: "a" }], {
        usage: { input: 10, output: 5, cacheRead: 100, cacheWrite: 7, totalTokens: 122, cost: { total: 0.01 } }
      }) + assistant([{ type: "text", text: "b" }], { usage: { input: 1, output: 2, cacheRead: 3, cacheWrite: 0, cost: { total: 0.02 } } })
    )
    expect(decoded.usage).toEqual({ inputTokens: 117 + 4, outputTokens: 7, cachedInputTokens: 103 })
    expect(Option.getOrThrow(decoded.costUsd)).toBeCloseTo(0.03, 9)
    expect(decoded.text).toBe("b")
  })
  it("the final text is the text parts of the last assistant message (thinking and tool calls left out); user and tool messages do not count", () => {
    const decoded = pi.decodeText(
      assistant([{ type: "text", text: "first" }]) +
        assistant([{ type: "thinking", thinking: "hmm" }, { type: "text", text: "one" }, { type: "toolCall", id: "c", name: "ls", arguments: {} }, { type: "text", text: "two" }]) +
        j({ type: "message_end", message: { role: "toolResult", toolCallId: "c", content: [{ type: "text", text: "tool said" }] } }) +
        j({ type: "message_end", message: { role: "user", content: "a string prompt" } })
    )
    expect(decoded.text).toBe("one\ntwo")
  })
  it("an error pi retried is not the run's: the last assistant message succeeded", () => {
    const decoded = pi.decodeText(
      assistant([], { stopReason: "error", errorMessage: "429 Rate limit reached" }) +
        j({ type: "auto_retry_start", attempt: 1, maxAttempts: 3, delayMs: 2000, errorMessage: "429 Rate limit reached" }) +
        assistant([{ type: "text", text: "done" }])
    )
    expect(decoded.reportedFailure).toBe(false)
    expect(decoded.error).toEqual(Option.none())
    expect(decoded.text).toBe("done")
  })
  it("an aborted last message (no errorMessage) is a failed run too", () => {
    const decoded = pi.decodeText(assistant([{ type: "text", text: "half" }], { stopReason: "aborted" }))
    expect(decoded.reportedFailure).toBe(true)
    expect(decoded.error).toEqual(Option.some("request aborted"))
  })
  it("no assistant message at all (pi exited 0 without calling the model): a failed run", () => {
    const decoded = pi.decodeText(j({ type: "session", version: 3, id: ID, timestamp: "t", cwd: "/x" }))
    expect(decoded.reportedFailure).toBe(true)
    expect(decoded.error).toEqual(Option.none())
    expect(decoded.sessionId).toEqual(Option.some(ID))
    expect(pi.decodeText("").reportedFailure).toBe(true)
  })
  it("the HTTP status is read from the front of the SDK's message only", () => {
    expect(pi.statusOfMessage("429 Rate limit reached")).toBe(429)
    expect(pi.statusOfMessage('401 {"type":"error","error":{"type":"authentication_error"}}')).toBe(401)
    expect(pi.statusOfMessage("Connection error.")).toBeUndefined()
    expect(pi.statusOfMessage("used 4290 tokens")).toBeUndefined()
  })
})

describe("pi failure classes (captured from pi 0.73.1 by test/cli-e2e/failures.test.ts; pi exited 0 each time)", () => {
  const cases: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
    ["429", { class: "rate-limited" }],
    ["429-wait", { class: "rate-limited", retryAfterMs: 20000 }],
    ["503", { class: "overloaded" }],
    ["529", { class: "overloaded" }],
    ["401", { class: "auth" }],
    ["context", { class: "context-too-long" }]
  ]
  for (const [name, want] of cases) {
    it(`${name}: ${String(want.class)}`, () => {
      expect(fs.readFileSync(path.join(fixtures, "cli-output", "pi", `fail-${name}.exit`), "utf8").trim()).toBe("0")
      const decoded = pi.decodeText(output(`fail-${name}`))
      expect(decoded.reportedFailure).toBe(true)
      const { evidence, ...failure } = failureOf(cliSpecs.pi, decoded, { exitCode: 0, timedOut: false, stderrTail: "" }, Date.now())
      expect(failure).toEqual(want)
      expect(evidence).toBe(Option.getOrThrow(decoded.error).replace(/\s+/g, " ").trim())
    })
  }
})
