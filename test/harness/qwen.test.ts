/**
 * The qwen adapter (src/harness/qwen.ts): its argv, and its decoder on qwen
 * 0.24.4's real output (test/fixtures/cli-output/qwen/, captured by the
 * real-CLI tests with UPDATE_CLI_FIXTURES=1; test/fixtures/cli-candidates/qwen/
 * from the candidates' survey).
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ModelSpec } from "../../src/domain/Model.js"
import { failureOf } from "../../src/harness/cliAdapter.js"
import type { SessionRequest, TurnRequest } from "../../src/harness/Harness.js"
import * as qwen from "../../src/harness/qwen.js"
import { cliSpecs } from "../../src/harness/registry.js"

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures")
const output = (name: string) => fs.readFileSync(path.join(fixtures, "cli-output", "qwen", `${name}.jsonl`), "utf8")
const candidate = (name: string) => fs.readFileSync(path.join(fixtures, "cli-candidates", "qwen", `${name}.jsonl`), "utf8")

const P = "[oompa:ab12cd34:w0]\nDo the thing"
const ID = "2245c8f8-a9ca-42e4-8ac7-2e7c0fd0615e"

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

describe("qwen argv", () => {
  const cases: ReadonlyArray<{ readonly name: string; readonly req: TurnRequest; readonly args: ReadonlyArray<string> }> = [
    {
      name: "new session with the id oompa chose, no model: the user's configured one",
      req: request({ harness: "qwen" }, { _tag: "New", id: ID }),
      args: ["--yolo", "--output-format", "stream-json", "--session-id", ID, P]
    },
    {
      name: "resume, with a model",
      req: request({ harness: "qwen", model: "qwen3-coder-plus" }, { _tag: "Resume", id: ID }),
      args: ["--yolo", "--output-format", "stream-json", "--resume", ID, "-m", "qwen3-coder-plus", P]
    },
    {
      name: "review: plan mode instead of --yolo, no sub-agents (an option right after the tool list)",
      req: request({ harness: "qwen", model: "fake-model" }, { _tag: "New", id: ID }, "review"),
      args: ["--approval-mode", "plan", "--exclude-tools", "agent", "--output-format", "stream-json", "--session-id", ID, "-m", "fake-model", P]
    },
    {
      name: "a prompt starting with '-' gets a leading space (qwen reads no prompt after '--')",
      req: request({ harness: "qwen" }, { _tag: "Resume", id: ID }, "work", "--help me"),
      args: ["--yolo", "--output-format", "stream-json", "--resume", ID, " --help me"]
    }
  ]
  for (const c of cases) {
    it(c.name, () => {
      const invocation = qwen.buildInvocation("/bin/qwen", c.req, facts)
      expect(invocation.command).toBe("/bin/qwen")
      expect(invocation.args).toEqual(c.args)
      // The prompt is an argument: stdin stays closed (qwen would append it to the prompt).
      expect(invocation.stdin).toBeUndefined()
    })
  }

  it("no --auth-type: qwen's own choice (settings, then the environment) stands", () => {
    for (const mode of ["work", "review"] as const) {
      expect(qwen.buildInvocation("qwen", request({ harness: "qwen" }, { _tag: "New", id: ID }, mode), facts).args).not.toContain("--auth-type")
    }
  })

  it("work turns silence the --yolo warning unless the user set the variable; review turns need nothing", () => {
    const work = qwen.buildInvocation("qwen", request({ harness: "qwen" }, { _tag: "New", id: ID }), facts)
    expect(work.env).toEqual({ QWEN_CODE_SUPPRESS_YOLO_WARNING: "1" })
    expect(work.notes).toEqual(["added QWEN_CODE_SUPPRESS_YOLO_WARNING=1 to its environment (qwen warns on stderr on every --yolo run)"])
    const userSet = qwen.buildInvocation("qwen", request({ harness: "qwen" }, { _tag: "New", id: ID }), {
      isRoot: false,
      userEnv: { QWEN_CODE_SUPPRESS_YOLO_WARNING: "0" }
    })
    expect(userSet.env).toEqual({})
    expect(qwen.buildInvocation("qwen", request({ harness: "qwen" }, { _tag: "New", id: ID }, "review"), facts).env).toEqual({})
  })

  it("a reasoning suffix is ignored, and said so", () => {
    const invocation = qwen.buildInvocation("qwen", request({ harness: "qwen", model: "m", reasoning: "high" }, { _tag: "New", id: ID }), facts)
    expect(invocation.args).toEqual(["--yolo", "--output-format", "stream-json", "--session-id", ID, "-m", "m", P])
    expect(invocation.notes).toContain('qwen has no reasoning flag: reasoning "high" ignored')
  })

  it("the registry row: oompa chooses the session id, OOMPA_QWEN_BIN, the npm package", () => {
    expect(cliSpecs.qwen).toMatchObject({ name: "qwen", binary: "qwen", binEnv: "OOMPA_QWEN_BIN", npmPackage: "@qwen-code/qwen-code", choosesSessionId: true })
  })
})

describe("qwen decoder on real 0.24.4 output", () => {
  it("a new session with a shell call: the result's text, the session id, the usage of its model calls, no cost", () => {
    const decoded = qwen.decodeText(output("new-session"))
    expect(decoded.text).toBe("I wrote out/hello.txt and committed it.\nCOMPLETE_AND_READY_FOR_MERGE")
    expect(decoded.sessionId).toEqual(Option.some(ID))
    expect(decoded.usage).toEqual({ inputTokens: 36918, outputTokens: 53, cachedInputTokens: 0 })
    expect(decoded.costUsd).toEqual(Option.none())
    expect(decoded.error).toEqual(Option.none())
    expect(decoded.failureSignals).toEqual([])
  })

  it("a resumed session: this run's usage, not the session's cumulative total in the result (55528 in)", () => {
    const decoded = qwen.decodeText(output("resumed-session"))
    expect(decoded.text).toBe("Resumed after 2 turns: I remember writing out/hello.txt.")
    expect(decoded.sessionId).toEqual(Option.some(ID))
    expect(decoded.usage).toEqual({ inputTokens: 18610, outputTokens: 15, cachedInputTokens: 0 })
    // The survey's resume too: 18457 of the result's 55155.
    expect(qwen.decodeText(candidate("resume")).usage).toEqual({ inputTokens: 18457, outputTokens: 4, cachedInputTokens: 0 })
  })

  it("an API error: the result's error message, its status for the failure class, no text", () => {
    const decoded = qwen.decodeText(output("api-error"))
    expect(decoded.text).toBe("")
    expect(decoded.sessionId).toEqual(Option.some("ccfa8d58-80c5-4dab-a118-677e3cbb8143"))
    expect(decoded.error).toEqual(Option.some("[API Error: 400 scripted failure for tests]"))
    expect(decoded.failureSignals).toEqual([{ status: 400, text: "[API Error: 400 scripted failure for tests]" }])
    expect(failureOf({}, decoded, { exitCode: 1, timedOut: false, stderrTail: "" }, 0).class).toBe("other")
  })

  it("cache reads are inside input_tokens (OpenAI's prompt_tokens): counted once, as cached", () => {
    const line = (usage: unknown) =>
      JSON.stringify({ type: "assistant", session_id: ID, parent_tool_use_id: null, message: { content: [{ type: "text", text: "x" }], usage } })
    const decoded = qwen.decodeText(
      [line({ input_tokens: 1000, output_tokens: 10, cache_read_input_tokens: 800 }), line({ input_tokens: 1200, output_tokens: 5, cache_read_input_tokens: 1000 })].join("\n")
    )
    expect(decoded.usage).toEqual({ inputTokens: 2200, outputTokens: 15, cachedInputTokens: 1800 })
    // No result event (a run cut short): the last assistant text stands.
    expect(decoded.text).toBe("x")
  })

  it("the status qwen writes into its error text classifies it", () => {
    for (const [text, failureClass] of [
      ["[API Error: 429 Rate limit reached for tests]", "rate-limited"],
      ["[API Error: 401 Incorrect API key provided]", "auth"],
      ["[API Error: 503 Service unavailable]", "overloaded"]
    ] as const) {
      expect(qwen.statusOfApiError(text)).toBe(Number(text.slice(12, 15)))
      const decoded = qwen.decodeText(JSON.stringify({ type: "result", subtype: "error_during_execution", is_error: true, error: { message: text } }))
      expect(failureOf({}, decoded, { exitCode: 1, timedOut: false, stderrTail: "" }, 0).class).toBe(failureClass)
    }
  })
})
