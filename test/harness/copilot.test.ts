/**
 * The copilot adapter (src/harness/copilot.ts): its argv, and its decoder on
 * output captured from the real CLI (@github/copilot 1.0.102) against the fake
 * model server — test/fixtures/cli-output/copilot/ (the direct test with
 * UPDATE_CLI_FIXTURES=1) and test/fixtures/cli-candidates/copilot/ (a shell
 * turn, its resume, and the session log both wrote: the only place copilot
 * puts token usage).
 */
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ModelSpec } from "../../src/domain/Model.js"
import type { DecodeContext, EnvFacts } from "../../src/harness/cliAdapter.js"
import { failureOf } from "../../src/harness/cliAdapter.js"
import * as copilot from "../../src/harness/copilot.js"
import type { SessionRequest, TurnRequest } from "../../src/harness/Harness.js"

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures")
const captured = (name: string) => fs.readFileSync(path.join(fixtures, "cli-output", "copilot", name), "utf8")
const research = (name: string) => fs.readFileSync(path.join(fixtures, "cli-candidates", "copilot", name), "utf8")

const P = "[oompa:ab12cd34:w0]\nDo the thing"
const UUID = "5b0c6c1a-3f55-4c1e-9a43-3c3f1b0b2a11"
const user: EnvFacts = { isRoot: false, userEnv: {} }

const request = (model: ModelSpec, session: SessionRequest, mode: "work" | "review" = "work", prompt = P): TurnRequest => ({
  prompt,
  cwd: "/repo/.oompa/worktrees/w0",
  model,
  session,
  mode,
  timeout: Duration.minutes(30),
  logPath: "/runs/x/logs/w0-c1-t1.log"
})

describe("copilot argv", () => {
  const cases: ReadonlyArray<{ name: string; req: TurnRequest; args: ReadonlyArray<string> }> = [
    {
      name: "new session with the id chosen up front, no model",
      req: request({ harness: "copilot" }, { _tag: "New", id: UUID }),
      args: [`--prompt=${P}`, "--output-format", "json", "--allow-all-tools", "--session-id", UUID]
    },
    {
      name: "resume with model and reasoning",
      req: request({ harness: "copilot", model: "gpt-5.4", reasoning: "high" }, { _tag: "Resume", id: UUID }),
      args: [`--prompt=${P}`, "--output-format", "json", "--allow-all-tools", "--resume", UUID, "--model", "gpt-5.4", "--reasoning-effort", "high"]
    },
    {
      name: "review: plan mode, only read-only tools offered",
      req: request({ harness: "copilot", model: "m", reasoning: "minimal" }, { _tag: "New", id: UUID }, "review"),
      args: [
        `--prompt=${P}`,
        "--output-format",
        "json",
        "--mode",
        "plan",
        "--available-tools=view,grep,glob",
        "--allow-all-tools",
        "--session-id",
        UUID,
        "--model",
        "m",
        "--reasoning-effort",
        "minimal"
      ]
    },
    {
      name: "a prompt starting with '-' stays one --prompt= argument",
      req: request({ harness: "copilot", reasoning: "max" }, { _tag: "New", id: UUID }, "work", "--version please"),
      args: ["--prompt=--version please", "--output-format", "json", "--allow-all-tools", "--session-id", UUID, "--reasoning-effort", "max"]
    }
  ]
  for (const c of cases) {
    it(c.name, () => {
      const inv = copilot.buildInvocation("/bin/copilot", c.req, user)
      expect(inv.command).toBe("/bin/copilot")
      expect(inv.args).toEqual(c.args)
      expect(inv.env).toEqual({})
      expect(inv.stdin).toBeUndefined()
    })
  }
  it("the review allowlist holds no tool that writes or runs commands", () => {
    for (const tool of ["bash", "create", "edit", "write_bash", "task", "sql"]) {
      expect(copilot.reviewTools as ReadonlyArray<string>).not.toContain(tool)
    }
  })
})

describe("copilot --output-format json", () => {
  it("new session: the last assistant message, the result's session id", () => {
    const d = copilot.decodeText(captured("new-session.jsonl"))
    expect(d.text).toBe("I wrote out/hello.txt and committed it.\nCOMPLETE_AND_READY_FOR_MERGE")
    expect(d.sessionId).toEqual(Option.some("73d1548c-0c6d-439d-8c24-663dc5ae21fd"))
    expect(d.error).toEqual(Option.none())
    expect(d.failureSignals).toEqual([])
    expect(d.costUsd).toEqual(Option.none())
    // Without its session log: no usage (stdout has none).
    expect(d.usage).toEqual({ inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 })
  })
  it("resume: the same session id, this run's answer", () => {
    const d = copilot.decodeText(captured("resumed-session.jsonl"))
    expect(d.text).toBe("Resumed after 2 turns: I remember writing out/hello.txt.")
    expect(d.sessionId).toEqual(Option.some("73d1548c-0c6d-439d-8c24-663dc5ae21fd"))
  })
  it("an API error: session.error's message, its status and the failed call's as signals", () => {
    const d = copilot.decodeText(captured("api-error.jsonl"))
    expect(d.text).toBe("")
    expect(d.error).toEqual(Option.some("400 scripted failure for tests"))
    expect(d.failureSignals[0]).toEqual({ status: 400, text: "400 scripted failure for tests" })
    expect(d.failureSignals[1]?.status).toBe(400)
    expect(d.sessionId).toEqual(Option.some("d62d8ec6-1beb-4fa6-b421-6412e803f77d"))
  })
  it("the turn's usage is its own model calls' records in the session log, not the session's total", () => {
    const log = research("session-state-events.jsonl")
    // The shell turn made two model calls; its resume one. The log holds all three.
    const first = copilot.decodeText(research("shell.jsonl"), log)
    const resumed = copilot.decodeText(research("resume.jsonl"), log)
    expect(first.usage).toEqual({ inputTokens: 11980 + 12084, outputTokens: 24 + 4, cachedInputTokens: 0 })
    expect(resumed.usage).toEqual({ inputTokens: 12142, outputTokens: 4, cachedInputTokens: 0 })
    expect(first.sessionId).toEqual(resumed.sessionId)
  })
  it("cache reads count inside the input; a sub-agent's message is not the answer; unknown and misshapen events are skipped", () => {
    const j = (v: unknown) => JSON.stringify(v)
    const stdout = [
      j({ type: "assistant.message", data: { content: "mine", apiCallId: "a" } }),
      j({ type: "assistant.message", data: { content: "the sub-agent's", apiCallId: "b", parentToolCallId: "t1" } }),
      j({ type: "assistant.message", data: { content: 42, apiCallId: "z" } }),
      j({ type: "some.future_event", data: { content: "no" } }),
      "not json",
      j({ type: "result", sessionId: "s-1", exitCode: 0 })
    ].join("\n")
    const log = [
      j({ type: "session.usage_record", data: { usage: { apiCallId: "a", inputTokens: 100, outputTokens: 5, cacheReadTokens: 60 } } }),
      j({ type: "session.usage_record", data: { usage: { apiCallId: "b", inputTokens: 10, outputTokens: 1, cacheReadTokens: 0 } } }),
      j({ type: "session.usage_record", data: { usage: { apiCallId: "earlier", inputTokens: 9999, outputTokens: 99 } } }),
      j({ type: "session.usage_record", data: { usage: "lots" } })
    ].join("\n")
    const d = copilot.decodeText(stdout, log)
    expect(d.text).toBe("mine")
    expect(d.sessionId).toEqual(Option.some("s-1"))
    expect(d.usage).toEqual({ inputTokens: 110, outputTokens: 6, cachedInputTokens: 60 })
  })
})

describe("copilot's session log", () => {
  const context = (env: Record<string, string>, userEnv: Record<string, string>, session: SessionRequest): DecodeContext => ({
    request: request({ harness: "copilot" }, session),
    env,
    facts: { isRoot: false, userEnv }
  })
  it("COPILOT_HOME from the run's env, then the user's, then $HOME/.copilot", () => {
    expect(copilot.copilotHomeOf(context({ COPILOT_HOME: "/a" }, { COPILOT_HOME: "/b", HOME: "/h" }, { _tag: "New" }))).toBe("/a")
    expect(copilot.copilotHomeOf(context({}, { COPILOT_HOME: "/b", HOME: "/h" }, { _tag: "New" }))).toBe("/b")
    expect(copilot.copilotHomeOf(context({ HOME: "/t" }, { HOME: "/h" }, { _tag: "New" }))).toBe("/t/.copilot")
    expect(copilot.copilotHomeOf(context({}, { HOME: "/h", COPILOT_HOME: "" }, { _tag: "New" }))).toBe("/h/.copilot")
  })
  it("the session id from its output, else the one asked for; never one that leaves the folder", () => {
    const ctx = context({ COPILOT_HOME: "/c" }, {}, { _tag: "Resume", id: UUID })
    expect(copilot.sessionStatePathOf(ctx, Option.some("s-2"))).toEqual(Option.some("/c/session-state/s-2/events.jsonl"))
    expect(copilot.sessionStatePathOf(ctx, Option.none())).toEqual(Option.some(`/c/session-state/${UUID}/events.jsonl`))
    expect(copilot.sessionStatePathOf(ctx, Option.some("../../etc"))).toEqual(Option.none())
  })
  it.effect("decodeLog reads the usage from $COPILOT_HOME/session-state/<id>/events.jsonl; no log: no usage, no error", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-copilot-"))
      try {
        const stdoutFile = path.join(dir, "t1.log")
        fs.writeFileSync(stdoutFile, research("shell.jsonl"))
        const sessionId = Option.getOrThrow(copilot.decodeText(research("shell.jsonl")).sessionId)
        const ctx = context({ COPILOT_HOME: path.join(dir, "home") }, {}, { _tag: "New", id: sessionId })
        const without = yield* copilot.decodeLog(stdoutFile, ctx)
        expect(without.usage).toEqual({ inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 })
        expect(without.text).toBe("shell done")
        const stateDir = path.join(dir, "home", "session-state", sessionId)
        fs.mkdirSync(stateDir, { recursive: true })
        fs.writeFileSync(path.join(stateDir, "events.jsonl"), research("session-state-events.jsonl"))
        const withLog = yield* copilot.decodeLog(stdoutFile, ctx)
        expect(withLog).toEqual(copilot.decodeText(research("shell.jsonl"), research("session-state-events.jsonl")))
        expect(withLog.usage.inputTokens).toBe(11980 + 12084)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})

describe("copilot failure classes", () => {
  it("its session.error status classes the turn (captured 400: not a class of its own)", () => {
    const d = copilot.decodeText(captured("api-error.jsonl"))
    expect(failureOf(copilot.copilotSpec, d, { exitCode: 1, timedOut: false, stderrTail: "" }, Date.now()).class).toBe("other")
  })
  const failed = (statusCode: number | null, message: string) =>
    copilot.decodeText(
      [
        JSON.stringify({ type: "session.error", data: { errorType: "query", message, statusCode } }),
        JSON.stringify({ type: "result", sessionId: "s", exitCode: 1 })
      ].join("\n")
    )
  for (const [status, message, cls] of [
    [429, "429 rate limited", "rate-limited"],
    [503, "503 Service unavailable", "overloaded"],
    [401, "401 invalid api key", "auth"],
    [400, "400 This model's maximum context length is 128000 tokens", "context-too-long"]
  ] as const) {
    it(`${status}: ${cls}`, () => {
      expect(failureOf(copilot.copilotSpec, failed(status, message), { exitCode: 1, timedOut: false, stderrTail: "" }, Date.now()).class).toBe(cls)
    })
  }
})
