/**
 * Malformed agent output (issue 8): every CLI adapter, run on a stand-in CLI
 * (test/fixtures/fake-clis/emit-file.mjs) that prints exactly the bytes of a
 * case, gives a TurnResult — never a crash — with the final text the intact
 * events carry, a short plain error text when the CLI failed, and bounded
 * memory on a huge line.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { ConfigProvider, Duration, Effect, Exit, Fiber, Layer } from "effect"
import { ProcessRunnerLive } from "../../src/services/ProcessRunner.js"
import { CliHarnesses, CliHarnessesLive, type CliHarnessName } from "../../src/harness/cliHarnesses.js"
import type { TurnRequest, TurnResult } from "../../src/harness/Harness.js"
import * as claude from "../../src/harness/claude.js"
import * as codex from "../../src/harness/codex.js"
import * as copilot from "../../src/harness/copilot.js"
import * as gemini from "../../src/harness/gemini.js"
import * as kilo from "../../src/harness/kilo.js"
import * as opencode from "../../src/harness/opencode.js"
import * as pi from "../../src/harness/pi.js"
import * as qwen from "../../src/harness/qwen.js"

const emitter = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "fake-clis", "emit-file.mjs")
const TestLayer = CliHarnessesLive.pipe(Layer.provide(Layer.merge(NodeFileSystem.layer, ProcessRunnerLive)))
const harnessNames = ["claude", "codex", "opencode", "gemini", "pi", "copilot", "qwen", "kilo"] as const

const decoders: Record<CliHarnessName, (logPath: string) => Effect.Effect<{ readonly text: string }, unknown, never>> = {
  claude: (p) => claude.decodeLog(p).pipe(Effect.provide(NodeFileSystem.layer)),
  codex: (p) => codex.decodeLog(p).pipe(Effect.provide(NodeFileSystem.layer)),
  opencode: (p) => opencode.decodeLog(p).pipe(Effect.provide(NodeFileSystem.layer)),
  gemini: (p) => gemini.decodeLog(p).pipe(Effect.provide(NodeFileSystem.layer)),
  pi: (p) => pi.decodeLog(p).pipe(Effect.provide(NodeFileSystem.layer)),
  copilot: (p) => copilot.decodeLog(p).pipe(Effect.provide(NodeFileSystem.layer)),
  qwen: (p) => qwen.decodeLog(p).pipe(Effect.provide(NodeFileSystem.layer)),
  kilo: (p) => kilo.decodeLog(p).pipe(Effect.provide(NodeFileSystem.layer))
}

const j = (value: unknown) => JSON.stringify(value) + "\n"

/** The events with which each CLI says its last word `text` (as the real CLIs print them). */
const finalEvents = (harness: CliHarnessName, text: string): string => {
  switch (harness) {
    case "claude":
      return (
        j({ type: "system", subtype: "init", session_id: "s-1" }) +
        j({ type: "assistant", message: { role: "assistant", content: [{ type: "text", text }] }, parent_tool_use_id: null, session_id: "s-1" }) +
        j({ type: "result", subtype: "success", is_error: false, result: text, session_id: "s-1", usage: { input_tokens: 1, output_tokens: 2 } })
      )
    case "codex":
      return (
        j({ type: "thread.started", thread_id: "t-1" }) +
        j({ type: "item.completed", item: { id: "i1", type: "agent_message", text } }) +
        j({ type: "turn.completed", usage: { input_tokens: 1, cached_input_tokens: 0, output_tokens: 2 } })
      )
    // kilo (an opencode fork) prints opencode's events.
    case "opencode":
    case "kilo": {
      const part = (p: object) => ({ sessionID: "ses_1", messageID: "m1", ...p })
      return (
        j({ type: "text", timestamp: 1, sessionID: "ses_1", part: part({ type: "text", text }) }) +
        j({ type: "step_finish", timestamp: 1, sessionID: "ses_1", part: part({ type: "step-finish", reason: "stop", cost: 0, tokens: { input: 1, output: 2, reasoning: 0, cache: { read: 0, write: 0 } } }) })
      )
    }
    case "gemini":
      return (
        j({ type: "init", timestamp: "t", session_id: "g-1", model: "m" }) +
        j({ type: "message", timestamp: "t", role: "assistant", content: text, delta: true }) +
        j({ type: "result", timestamp: "t", status: "success", stats: { total_tokens: 3, input_tokens: 1, output_tokens: 2 } })
      )
    case "pi": {
      const message = {
        role: "assistant",
        content: [{ type: "text", text }],
        usage: { input: 1, output: 2, cacheRead: 0, cacheWrite: 0, totalTokens: 3, cost: { total: 0.0001 } },
        stopReason: "stop"
      }
      return (
        j({ type: "session", version: 3, id: "01a23af1-0000-7000-8000-000000000001", timestamp: "t", cwd: "/x" }) +
        j({ type: "message_end", message }) +
        j({ type: "agent_end", messages: [message] })
      )
    }
    case "copilot":
      return (
        j({ type: "user.message", data: { content: "prompt" }, id: "e1" }) +
        j({ type: "assistant.message", data: { messageId: "m1", model: "m", content: text, toolRequests: [], apiCallId: "c-1" }, id: "e2" }) +
        j({ type: "assistant.turn_end", data: { turnId: "0" }, id: "e3" }) +
        j({ type: "result", sessionId: "11111111-2222-4333-8444-555555555555", exitCode: 0, usage: { premiumRequests: 0 } })
      )
    case "qwen":
      return (
        j({ type: "system", subtype: "init", session_id: "11111111-2222-4333-8444-555555555555", model: "m" }) +
        j({ type: "assistant", session_id: "11111111-2222-4333-8444-555555555555", parent_tool_use_id: null, message: { content: [{ type: "text", text }], usage: { input_tokens: 1, output_tokens: 2 } } }) +
        j({ type: "result", subtype: "success", is_error: false, result: text, session_id: "11111111-2222-4333-8444-555555555555", usage: { input_tokens: 1, output_tokens: 2 } })
      )
  }
}

/** An event of each CLI's own kind whose fields have the wrong shape. */
const wrongShape = (harness: CliHarnessName): string =>
  ({
    claude: j({ type: "result", subtype: 7, result: { nested: true }, usage: "lots", session_id: 12 }) + j({ type: "assistant", message: "hi" }),
    codex: j({ type: "item.completed", item: "agent_message" }) + j({ type: "turn.completed", usage: [1, 2, 3] }),
    opencode: j({ type: "text", part: { type: "text", text: 42 } }) + j({ type: "step_finish", part: { tokens: "many" } }),
    kilo: j({ type: "text", part: { type: "text", text: 42 } }) + j({ type: "step_finish", part: { tokens: "many" } }),
    gemini: j({ type: "message", role: "assistant", content: { a: 1 } }) + j({ type: "result", status: 3, stats: "none" }),
    pi: j({ type: "session", id: 5 }) + j({ type: "message_end", message: { role: "assistant", content: "x".split(""), usage: "lots" } }) + j({ type: "message_end", message: "hi" }),
    copilot:
      j({ type: "assistant.message", data: { content: { a: 1 }, apiCallId: 5 } }) +
      j({ type: "session.error", data: "boom" }) +
      j({ type: "result", sessionId: ["x"], exitCode: "0" }),
    qwen:
      j({ type: "assistant", message: { content: "hi", usage: "lots" } }) +
      j({ type: "result", subtype: 3, result: { nested: true }, error: "boom", session_id: 12 })
  })[harness]

interface Case {
  readonly name: string
  /** stdout bytes. */
  readonly stdout: (harness: CliHarnessName) => Buffer
  readonly stderr?: string
  readonly exit?: number
  readonly hugeMb?: number
  /** What the turn must say. */
  readonly expectText: string | ((harness: CliHarnessName) => string)
  readonly expectError?: RegExp
  readonly slow?: boolean
}

const FINAL = "done\nCOMPLETE_AND_READY_FOR_MERGE"
const BIG = "y".repeat(4 * 1024 * 1024 - FINAL.length) + FINAL

const cases: ReadonlyArray<Case> = [
  {
    name: "malformed JSON events among good ones",
    stdout: (h) =>
      Buffer.from(`{"type":\n{not json at all}\n[1,2,3]\nnull\n"a string"\n{"type":"result",,}\nplain progress text\n` + finalEvents(h, FINAL) + "}{\n"),
    expectText: FINAL
  },
  {
    name: "a truncated last line (the CLI was cut off mid-event)",
    stdout: (h) => Buffer.from(finalEvents(h, FINAL) + `{"type":"result","subtype":"succ`),
    expectText: FINAL
  },
  {
    name: "non-UTF-8 bytes, inside an event and as a line of binary garbage",
    stdout: (h) =>
      Buffer.concat([
        Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x0a]),
        ...finalEvents(h, "caf\u00e9 BYTES " + FINAL)
          .split("BYTES")
          .flatMap((part, i) => (i === 0 ? [Buffer.from(part)] : [Buffer.from([0xff]), Buffer.from(part)]))
      ]),
    expectText: "caf\u00e9 \ufffd " + FINAL
  },
  { name: "a 4 MB final message", stdout: (h) => Buffer.from(finalEvents(h, BIG)), expectText: BIG },
  { name: "empty output", stdout: () => Buffer.alloc(0), expectText: "" },
  {
    name: "only stderr, exit 1",
    stdout: () => Buffer.alloc(0),
    stderr: "Error: quota exceeded for this key\n    at somewhere (cli.js:1:1)\n",
    exit: 1,
    expectText: "",
    expectError: /^exit code 1: Error: quota exceeded for this key/
  },
  {
    name: "events of the wrong shape",
    stdout: (h) => Buffer.from(wrongShape(h) + finalEvents(h, FINAL) + wrongShape(h)),
    expectText: FINAL
  },
  {
    name: "a 4 MB error event of a failing CLI gives a short error text",
    stdout: (h) =>
      Buffer.from(
        h === "claude"
          ? j({ type: "result", subtype: "error_during_execution", is_error: true, result: BIG })
          : h === "codex"
            ? j({ type: "turn.failed", error: { message: BIG } })
            : h === "opencode" || h === "kilo"
              ? j({ type: "error", timestamp: 1, sessionID: "s", error: { name: "APIError", data: { message: BIG } } })
              : h === "pi"
                ? j({ type: "message_end", message: { role: "assistant", content: [], stopReason: "error", errorMessage: BIG } })
              : h === "copilot"
                ? j({ type: "session.error", data: { errorType: "query", message: BIG, statusCode: 400 } }) +
                  j({ type: "result", sessionId: "11111111-2222-4333-8444-555555555555", exitCode: 1 })
              : h === "qwen"
                ? j({ type: "result", subtype: "error_during_execution", is_error: true, error: { message: BIG } })
                : j({ type: "result", timestamp: "t", status: "error", error: { type: "Error", message: BIG } })
      ),
    exit: 1,
    expectText: "",
    expectError: /y{100}/
  },
  {
    name: "a 50 MB line without a newline after the last event",
    stdout: (h) => Buffer.from(finalEvents(h, FINAL)),
    hugeMb: 50,
    expectText: FINAL,
    slow: true
  }
]

const turn = (dir: string, harness: CliHarnessName): TurnRequest => ({
  prompt: "[oompa:ab12cd34:w0]\nsay pong",
  cwd: dir,
  model: { harness, model: harness === "opencode" || harness === "kilo" ? "prov/model-1" : "model-1" },
  session: { _tag: "New" },
  mode: "work",
  timeout: Duration.minutes(2),
  logPath: path.join(dir, "logs", `${harness}.log`)
})

const runCase = (harness: CliHarnessName, c: Case, dir: string) =>
  Effect.gen(function* () {
    const stdoutFile = path.join(dir, "stdout.bin")
    fs.writeFileSync(stdoutFile, c.stdout(harness))
    const env: Record<string, string> = { EMIT_STDOUT: stdoutFile, EMIT_EXIT: String(c.exit ?? 0), EMIT_HUGE_MB: String(c.hugeMb ?? 0) }
    if (c.stderr !== undefined) {
      env.EMIT_STDERR = path.join(dir, "stderr.txt")
      fs.writeFileSync(env.EMIT_STDERR, c.stderr)
    }
    const harnesses = yield* CliHarnesses
    const bin = { claude: "OOMPA_CLAUDE_BIN", codex: "OOMPA_CODEX_BIN", opencode: "OOMPA_OPENCODE_BIN", gemini: "OOMPA_GEMINI_BIN", pi: "OOMPA_PI_BIN", copilot: "OOMPA_COPILOT_BIN", qwen: "OOMPA_QWEN_BIN", kilo: "OOMPA_KILO_BIN" }[harness]
    return yield* harnesses[harness]
      .runTurn({ ...turn(dir, harness), env })
      .pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([[bin, emitter], ["PATH", process.env.PATH ?? ""]]))))
  })

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "oompa-malformed-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A plain error text: short, one reason, no stack trace, no Schema dump. */
const expectPlainError = (error: string | undefined) => {
  expect(error).toBeDefined()
  expect(error!.length).toBeLessThanOrEqual(2_100)
  expect(error).not.toMatch(/\n\s+at /)
  expect(error).not.toMatch(/readonly /)
}

describe("malformed agent output", () => {
  for (const harness of harnessNames) {
    for (const c of cases) {
      it.live(
        `${harness}: ${c.name}`,
        () =>
          Effect.scoped(
            Effect.gen(function* () {
              const dir = yield* tempDir
              const before = process.memoryUsage().rss
              let peak = before
              const sampler = yield* Effect.fork(
                Effect.forever(Effect.sync(() => (peak = Math.max(peak, process.memoryUsage().rss))).pipe(Effect.zipRight(Effect.sleep("10 millis"))))
              )
              const exit = yield* runCase(harness, c, dir).pipe(Effect.exit)
              yield* Fiber.interrupt(sampler)
              expect(Exit.isSuccess(exit), String(Exit.isFailure(exit) ? exit.cause : "")).toBe(true)
              const result = (exit as Exit.Success<TurnResult, never>).value
              const expected = typeof c.expectText === "function" ? c.expectText(harness) : c.expectText
              expect(result.text.length).toBe(expected.length)
              expect(result.text === expected).toBe(true)
              expect(result.exitCode).toBe(c.exit ?? 0)
              expect(result.timedOut).toBe(false)
              if ((c.exit ?? 0) !== 0) {
                expectPlainError(result.error)
                if (c.expectError) expect(result.error).toMatch(c.expectError)
              } else if (expected.length > 0) {
                expect(result.error).toBeUndefined()
              }
              if (c.hugeMb !== undefined) {
                expect(fs.statSync(result.logPath).size).toBeGreaterThan(c.hugeMb * 1024 * 1024)
                // A line is kept only up to the line limit; the rest is dropped as it streams.
                expect(peak - before).toBeLessThan(80 * 1024 * 1024)
                // And the decoder alone on the same file.
                const decoded = yield* decoders[harness](result.logPath)
                expect(decoded.text === FINAL).toBe(true)
              }
            }).pipe(Effect.provide(TestLayer))
          ),
        c.slow ? 60_000 : 20_000
      )
    }
  }
})
