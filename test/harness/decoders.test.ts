/**
 * The adapters' decoders against output captured from the real CLIs
 * (claude-code 2.1.332, codex-cli 0.169.0, opencode 1.18.33, gemini-cli 0.61.0)
 * talking to the fake model server: test/fixtures/fake-clis/captured/*.jsonl.
 * Each capture is a turn that wrote a file with the shell tool and then
 * answered "done\nCOMPLETE_AND_READY_FOR_MERGE"; the resume captures continue
 * that session with the answer "again"; the error captures hit an API error.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Chunk, Effect, Option, Schema, Stream } from "effect"
import * as claude from "../../src/harness/claude.js"
import * as codex from "../../src/harness/codex.js"
import * as gemini from "../../src/harness/gemini.js"
import { fileLines, foldJsonLines, foldJsonText, splitLines } from "../../src/formats/jsonl.js"
import * as opencode from "../../src/harness/opencode.js"
import * as pi from "../../src/harness/pi.js"
import * as qwen from "../../src/harness/qwen.js"

const captured = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "fake-clis", "captured")
const read = (name: string) => fs.readFileSync(path.join(captured, name), "utf8")
const FINAL = "done\nCOMPLETE_AND_READY_FOR_MERGE"

describe("claude stream-json", () => {
  it("new session: final text from the result event, session id, usage, cost", () => {
    const d = claude.decodeText(read("claude-new.jsonl"))
    expect(d.text).toBe(FINAL)
    expect(d.sessionId).toEqual(Option.some("5b0c6c1a-3f55-4c1e-9a43-3c3f1b0b2a11"))
    expect(d.usage).toEqual({ inputTokens: 24368, outputTokens: 21, cachedInputTokens: 0 })
    expect(Option.getOrThrow(d.costUsd)).toBeCloseTo(0.097892, 6)
    expect(d.error).toEqual(Option.none())
  })
  it("resume keeps the session id; cost is the turn's own (total_cost_usd is cumulative)", () => {
    const d = claude.decodeText(read("claude-resume.jsonl"))
    expect(d.text).toBe("again")
    expect(Option.getOrThrow(d.costUsd)).toBeCloseTo(0.04912, 6)
    expect(d.sessionId).toEqual(Option.some("5b0c6c1a-3f55-4c1e-9a43-3c3f1b0b2a11"))
  })
  it("a run cut short while retrying a rejected key reports the API error", () => {
    const d = claude.decodeText(read("claude-auth-retry.jsonl"))
    expect(d.text).toBe("")
    expect(Option.getOrThrow(d.error)).toContain("authentication_failed (HTTP 401)")
  })
  it("cache reads and writes count as input; a failed result is an error", () => {
    const d = claude.decodeText(
      [
        `{"type":"assistant","message":{"content":[{"type":"text","text":"partial"}]},"parent_tool_use_id":null}`,
        `{"type":"result","subtype":"error_max_turns","is_error":true,"session_id":"s","usage":{"input_tokens":1,"cache_read_input_tokens":10,"cache_creation_input_tokens":100,"output_tokens":2}}`
      ].join("\n")
    )
    expect(d.text).toBe("partial")
    expect(d.usage).toEqual({ inputTokens: 111, outputTokens: 2, cachedInputTokens: 10 })
    expect(d.error).toEqual(Option.some("error_max_turns"))
  })
  it("sub-agent messages are not the final text", () => {
    const d = claude.decodeText(
      [
        `{"type":"assistant","message":{"content":[{"type":"text","text":"mine"}]},"parent_tool_use_id":null}`,
        `{"type":"assistant","message":{"content":[{"type":"text","text":"sub-agent"}]},"parent_tool_use_id":"toolu_1"}`
      ].join("\n")
    )
    expect(d.text).toBe("mine")
  })
})

describe("codex --json", () => {
  it("new session: last agent message, thread id, usage; no cost", () => {
    const d = codex.decodeText(read("codex-new.jsonl"))
    expect(d.text).toBe(FINAL)
    expect(d.sessionId).toEqual(Option.some("01a21458-fb4f-7d62-9f26-6838bb4de2d8"))
    expect(d.usage).toEqual({ inputTokens: 19839, outputTokens: 21, cachedInputTokens: 0 })
    expect(d.costUsd).toEqual(Option.none())
    expect(d.error).toEqual(Option.none())
  })
  it("resume reports the same thread", () => {
    const d = codex.decodeText(read("codex-resume.jsonl"))
    expect(d.text).toBe("again")
    expect(d.sessionId).toEqual(Option.some("01a21458-fb4f-7d62-9f26-6838bb4de2d8"))
  })
  it("a failed turn gives the API's message, unwrapped", () => {
    const d = codex.decodeText(read("codex-error.jsonl"))
    expect(d.text).toBe("")
    expect(d.error).toEqual(Option.some("invalid_request_error: model: unknown model 'nope'"))
  })
})

describe("opencode --format json", () => {
  it("new session: text of the final step, ses_ id, usage summed over steps, cost", () => {
    const d = opencode.decodeText(read("opencode-new.jsonl"))
    expect(d.text).toBe(FINAL)
    expect(d.sessionId).toEqual(Option.some("ses_deba6b1a8ffeVmXm0EuEdIw4pF"))
    expect(d.usage).toEqual({ inputTokens: 7673 + 7737, outputTokens: 21, cachedInputTokens: 0 })
    expect(d.costUsd).toEqual(Option.some(0))
  })
  it("resume continues the session", () => {
    const d = opencode.decodeText(read("opencode-resume.jsonl"))
    expect(d.text).toBe("again")
    expect(d.sessionId).toEqual(Option.some("ses_deba6b1a8ffeVmXm0EuEdIw4pF"))
  })
  it("an error event gives the API's message", () => {
    const d = opencode.decodeText(read("opencode-error.jsonl"))
    expect(d.text).toBe("")
    expect(d.error).toEqual(Option.some("APIError: invalid x-api-key"))
  })
})

describe("gemini stream-json", () => {
  it("new session: assistant deltas after the last tool call, session id, usage", () => {
    const d = gemini.decodeText(read("gemini-new.jsonl"))
    expect(d.text).toBe(FINAL)
    expect(d.sessionId).toEqual(Option.some("9b0c6c1a-3f55-4c1e-9a43-3c3f1b0b2a15"))
    expect(d.usage).toEqual({ inputTokens: 24478, outputTokens: 21, cachedInputTokens: 0 })
    expect(d.costUsd).toEqual(Option.none())
  })
  it("resume keeps the session id", () => {
    const d = gemini.decodeText(read("gemini-resume.jsonl"))
    expect(d.text).toBe("again")
    expect(d.sessionId).toEqual(Option.some("9b0c6c1a-3f55-4c1e-9a43-3c3f1b0b2a15"))
  })
  it("an error result gives its message", () => {
    const d = gemini.decodeText(read("gemini-error.jsonl"))
    expect(d.text).toBe("")
    expect(Option.getOrThrow(d.error)).toContain("invalid x-api-key")
  })
})

describe("the streaming fold equals the in-memory one", () => {
  const cases = [
    ["claude-new.jsonl", claude],
    ["codex-new.jsonl", codex],
    ["opencode-new.jsonl", opencode],
    ["gemini-new.jsonl", gemini]
  ] as const
  for (const [file, mod] of cases) {
    it.effect(file, () =>
      Effect.gen(function* () {
        const fromFile = yield* mod.decodeLog(path.join(captured, file))
        expect(fromFile).toEqual(mod.decodeText(read(file)))
      }).pipe(Effect.provide(NodeFileSystem.layer))
    )
  }
})

describe("jsonl line splitting", () => {
  const enc = new TextEncoder()
  const split = (chunks: ReadonlyArray<string | Uint8Array>, max?: number) =>
    Stream.fromIterable(chunks.map((c) => (typeof c === "string" ? enc.encode(c) : c))).pipe(
      splitLines(max),
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray)
    )

  it.effect("lines across chunk boundaries, CRLF, a last line without newline, multi-byte characters split", () =>
    Effect.gen(function* () {
      const euro = enc.encode("€") // 3 bytes
      const lines = yield* split(["a", "b\r\nc", "d\n\n", euro.slice(0, 1), euro.slice(1), "x\nlast"])
      expect(lines).toEqual(["ab", "cd", "", "€x", "last"])
    })
  )

  it.effect("a line over the limit is dropped whole, the next one survives", () =>
    Effect.gen(function* () {
      const lines = yield* split(["ok\n", "x".repeat(6), "x".repeat(6), "yy\nafter\n"], 10)
      expect(lines).toEqual(["ok", "after"])
    })
  )

  it.scoped("non-JSON lines and unknown events are skipped", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-jsonl-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const file = path.join(dir, "log")
      fs.writeFileSync(file, `Warning: something\n{"n":1}\n{broken\n{"n":"two"}\n[1]\n{"n":3}`)
      const N = Schema.Struct({ n: Schema.Number })
      const sum = yield* foldJsonLines(file, N, 0, (acc, e) => acc + e.n)
      expect(sum).toBe(4)
      const all = yield* fileLines(file).pipe(Stream.runCollect)
      expect(Chunk.size(all)).toBe(6)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.scoped("a log many read buffers long folds as its text does: events cut by a buffer's end, CRLF, a BOM, noise between", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-jsonl-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const file = path.join(dir, "log")
      const lines: Array<string> = []
      for (let i = 1; i <= 400; i++) {
        // Noise of varied length, so events land across every offset of the read buffer.
        lines.push("x".repeat((i * 997) % 3000), i % 7 === 0 ? `\uFEFF {"n":${i}}\r` : `{"n":${i}}`, `  [${i}]`, "")
      }
      const text = lines.join("\n")
      fs.writeFileSync(file, text)
      expect(fs.statSync(file).size).toBeGreaterThan(4 * 64 * 1024)
      const N = Schema.Struct({ n: Schema.Number })
      const fromFile = yield* foldJsonLines(file, N, [] as Array<number>, (acc, e) => [...acc, e.n])
      expect(fromFile).toEqual(foldJsonText(text, N, [] as Array<number>, (acc, e) => [...acc, e.n]))
      expect(fromFile).toHaveLength(400)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})

/** The shared captures of test/cli-e2e/direct.test.ts (a shell-tool commit, a resume, an API 400). */
describe("test/fixtures/cli-output (captured by the CLI facts work)", () => {
  const dir = path.resolve(captured, "..", "..", "cli-output")
  const mods = { claude, codex, opencode, gemini, pi, qwen } as const
  for (const [name, mod] of Object.entries(mods)) {
    const load = (file: string) => mod.decodeText(fs.readFileSync(path.join(dir, name, `${file}.jsonl`), "utf8"))
    it(`${name}: new session, resume of the same session, API error`, () => {
      const first = load("new-session")
      expect(first.text).toBe("I wrote out/hello.txt and committed it.\nCOMPLETE_AND_READY_FOR_MERGE")
      expect(Option.isSome(first.sessionId)).toBe(true)
      expect(first.usage.inputTokens).toBeGreaterThan(0)
      expect(first.usage.outputTokens).toBeGreaterThan(0)
      expect(first.error).toEqual(Option.none())
      const second = load("resumed-session")
      expect(second.text).toBe("Resumed after 2 turns: I remember writing out/hello.txt.")
      expect(second.sessionId).toEqual(first.sessionId)
      const failed = load("api-error")
      expect(Option.getOrThrow(failed.error)).toContain("scripted failure for tests")
    })
  }
  it("claude: a resumed turn's cost is its own, not the session's running total", () => {
    const second = claude.decodeText(fs.readFileSync(path.join(dir, "claude", "resumed-session.jsonl"), "utf8"))
    expect(Option.getOrThrow(second.costUsd)).toBeCloseTo(0.066705, 6)
    const first = claude.decodeText(fs.readFileSync(path.join(dir, "claude", "new-session.jsonl"), "utf8"))
    expect(Option.getOrThrow(first.costUsd)).toBeCloseTo(0.132873, 6)
  })
})
