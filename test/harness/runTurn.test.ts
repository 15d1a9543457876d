import { describe, expect, it } from "@effect/vitest"
import { NodeFileSystem } from "@effect/platform-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { ConfigProvider, Duration, Effect, Exit, Fiber, Layer, Option } from "effect"
import { CliHarnesses, CliHarnessesLive, type CliHarnessName } from "../../src/harness/cliHarnesses.js"
import { type SessionRequest, type TurnRequest, turnFailed } from "../../src/harness/Harness.js"
import { liveGroupMembers, ProcessRunnerLive } from "../../src/services/ProcessRunner.js"
import { processAlive } from "../../src/services/processTree.js"
import { stderrPathOf } from "../../src/harness/cliAdapter.js"

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "fake-clis")
const fakeAgent = path.join(fixtures, "fake-agent.mjs")

const TestLayer = CliHarnessesLive.pipe(Layer.provide(Layer.merge(NodeFileSystem.layer, ProcessRunnerLive)))

const binEnv: Record<CliHarnessName, string> = {
  claude: "OOMPA_CLAUDE_BIN",
  codex: "OOMPA_CODEX_BIN",
  opencode: "OOMPA_OPENCODE_BIN",
  gemini: "OOMPA_GEMINI_BIN",
  pi: "OOMPA_PI_BIN",
  copilot: "OOMPA_COPILOT_BIN",
  qwen: "OOMPA_QWEN_BIN",
  kilo: "OOMPA_KILO_BIN"
}

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "oompa-h-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** The fake CLI's own env (FAKE_*) goes through process.env, which the child inherits. */
const withFakeEnv = <A, E, R>(vars: Record<string, string | undefined>, effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const saved: Record<string, string | undefined> = {}
      for (const [key, value] of Object.entries(vars)) {
        saved[key] = process.env[key]
        if (value === undefined) delete process.env[key]
        else process.env[key] = value
      }
      return saved
    }),
    () => effect,
    (saved) =>
      Effect.sync(() => {
        for (const [key, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[key]
          else process.env[key] = value
        }
      })
  )

/** Points every OOMPA_*_BIN at the fake agent, through Effect's ConfigProvider. */
const withBins = <A, E, R>(effect: Effect.Effect<A, E, R>, bins: Partial<Record<string, string>> = {}) =>
  Effect.withConfigProvider(
    effect,
    ConfigProvider.fromMap(
      new Map(
        Object.entries({
          PATH: process.env.PATH ?? "",
          ...Object.fromEntries(Object.values(binEnv).map((key) => [key, fakeAgent])),
          ...bins
        }).filter((entry): entry is [string, string] => entry[1] !== undefined)
      )
    )
  )

const turn = (dir: string, harness: CliHarnessName, session: SessionRequest, extra: Partial<TurnRequest> = {}): TurnRequest => ({
  prompt: "[oompa:ab12cd34:w0]\nsay pong",
  cwd: dir,
  model: { harness, model: harness === "opencode" || harness === "kilo" ? "prov/model-1" : "model-1" },
  session,
  mode: "work",
  timeout: Duration.seconds(30),
  logPath: path.join(dir, "logs", `${harness}.log`),
  ...extra
})

const records = (file: string): Array<{ flavor: string; argv: Array<string>; cwd: string; stdin: string; env: Record<string, string | null> }> =>
  fs.readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line))

describe("runTurn against a fake CLI", () => {
  const expected: Record<
    CliHarnessName,
    { usage: { inputTokens: number; outputTokens: number; cachedInputTokens: number }; cost: Option.Option<number>; stdin: boolean }
  > = {
    claude: { usage: { inputTokens: 115, outputTokens: 7, cachedInputTokens: 100 }, cost: Option.some(0.0123), stdin: true },
    codex: { usage: { inputTokens: 200, outputTokens: 20, cachedInputTokens: 50 }, cost: Option.none(), stdin: false },
    opencode: { usage: { inputTokens: 101, outputTokens: 15, cachedInputTokens: 60 }, cost: Option.some(0.003), stdin: false },
    gemini: { usage: { inputTokens: 300, outputTokens: 30, cachedInputTokens: 120 }, cost: Option.none(), stdin: false },
    pi: { usage: { inputTokens: 101, outputTokens: 13, cachedInputTokens: 60 }, cost: Option.some(0.003), stdin: false },
    // Read from its session log under COPILOT_HOME: this run's two model calls, not the earlier one.
    copilot: { usage: { inputTokens: 300, outputTokens: 30, cachedInputTokens: 120 }, cost: Option.none(), stdin: false },
    // The sum of this run's assistant messages: the result's usage is cumulative over the session.
    qwen: { usage: { inputTokens: 300, outputTokens: 30, cachedInputTokens: 120 }, cost: Option.none(), stdin: false },
    // kilo prints opencode's events (the fake agent answers its argv as opencode): the same figures.
    kilo: { usage: { inputTokens: 101, outputTokens: 15, cachedInputTokens: 60 }, cost: Option.some(0.003), stdin: false }
  }

  for (const harness of ["claude", "codex", "opencode", "gemini", "pi", "copilot", "qwen", "kilo"] as const) {
    it.scoped(`${harness}: new turn, then resume with the reported session id`, () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const record = path.join(dir, "record.jsonl")
        const harnesses = yield* CliHarnesses
        const h = harnesses[harness]
        expect(h.name).toBe(harness)
        const first = yield* withFakeEnv(
          { FAKE_RECORD: record, FAKE_TEXT: "all done\nCOMPLETE_AND_READY_FOR_MERGE", IS_SANDBOX: undefined, COPILOT_HOME: path.join(dir, "copilot-home") },
          withBins(h.runTurn(turn(dir, harness, { _tag: "New" })))
        )
        expect(first.exitCode).toBe(0)
        expect(first.failure).toBeUndefined()
        expect(first.timedOut).toBe(false)
        expect(first.text).toBe("all done\nCOMPLETE_AND_READY_FOR_MERGE")
        expect(first.usage).toEqual(expected[harness].usage)
        expect(first.costUsd).toEqual(expected[harness].cost)
        expect(first.error).toBeUndefined()
        expect(Option.isSome(first.sessionId)).toBe(true)
        // Raw output is in the turn's log; oompa's notes in the stderr log.
        expect(fs.readFileSync(first.logPath, "utf8")).toContain("AND_READY_FOR_MERGE")
        expect(fs.readFileSync(path.join(dir, "logs", `${harness}.stderr.log`), "utf8")).toMatch(/^# oompa: /)

        const sessionId = Option.getOrThrow(first.sessionId)
        const second = yield* withFakeEnv(
          { FAKE_RECORD: record, FAKE_TEXT: "continued", COPILOT_HOME: path.join(dir, "copilot-home") },
          withBins(h.runTurn(turn(dir, harness, { _tag: "Resume", id: sessionId }, { logPath: path.join(dir, "logs", "t2.log") })))
        )
        expect(second.text).toBe("continued")
        expect(second.sessionId).toEqual(Option.some(sessionId))

        const [r1, r2] = records(record)
        // kilo's argv is opencode's (a fork): the fake agent cannot tell them apart.
        expect(r1!.flavor).toBe(harness === "kilo" ? "opencode" : harness)
        expect(fs.realpathSync(r1!.cwd)).toBe(fs.realpathSync(dir))
        if (expected[harness].stdin) {
          expect(r1!.stdin).toBe("[oompa:ab12cd34:w0]\nsay pong")
        } else if (harness === "copilot") {
          expect(r1!.stdin).toBe("")
          expect(r1!.argv).toContain("--prompt=[oompa:ab12cd34:w0]\nsay pong")
        } else {
          expect(r1!.stdin).toBe("")
          expect(r1!.argv.at(-1)).toBe("[oompa:ab12cd34:w0]\nsay pong")
        }
        expect(r2!.argv).toContain(sessionId)
        expect(r2!.argv).not.toContain("--session-id")
        // The user's environment passes through; IS_SANDBOX only for claude as root.
        expect(r1!.env.HOME).toBe(process.env.HOME ?? null)
        const isRoot = process.getuid?.() === 0
        expect(r1!.env.IS_SANDBOX).toBe(harness === "claude" && isRoot ? "1" : null)
      }).pipe(Effect.provide(TestLayer))
    )

    it.scoped(`${harness}: a failing CLI gives a failed turn with its error`, () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const harnesses = yield* CliHarnesses
        const result = yield* withFakeEnv(
          { FAKE_FAIL: "invalid x-api-key" },
          withBins(harnesses[harness].runTurn(turn(dir, harness, { _tag: "New" })))
        )
        // pi exits 0 after a failed API call; its adapter reads the failure from its output.
        expect(result.exitCode).toBe(harness === "pi" ? 0 : 1)
        expect(result.reportedFailure === true).toBe(harness === "pi")
        expect(turnFailed(result)).toBe(true)
        expect(result.error).toContain("invalid x-api-key")
        // The shared matching reads a rejected key as an authentication failure, whatever the CLI.
        expect(result.failure?.class).toBe("auth")
      }).pipe(Effect.provide(TestLayer))
    )
  }

  it.scoped("a CLI that is not installed is a HarnessError naming the package", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const harnesses = yield* CliHarnesses
      const exit = yield* harnesses.codex
        .runTurn(turn(dir, "codex", { _tag: "New" }))
        .pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["PATH", dir]]))),
          Effect.exit
        )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        expect(String(exit.cause)).toContain("codex CLI not found on PATH; install @openai/codex")
      }
    }).pipe(Effect.provide(TestLayer))
  )

  it.scoped("the binary is found on PATH without a shell", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const bin = path.join(dir, "bin")
      fs.mkdirSync(bin)
      fs.symlinkSync(fakeAgent, path.join(bin, "gemini"))
      const harnesses = yield* CliHarnesses
      const result = yield* harnesses.gemini
        .runTurn(turn(dir, "gemini", { _tag: "New" }))
        .pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["PATH", `${dir}/nothing:${bin}`]]))))
      expect(result.text).toBe("pong")
      expect(fs.readFileSync(path.join(dir, "logs", "gemini.stderr.log"), "utf8")).toContain(`${bin}/gemini`)
    }).pipe(Effect.provide(TestLayer))
  )

  it.live("a turn that overruns its timeout is ended and reported as timed out", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const harnesses = yield* CliHarnesses
        const hang = path.join(fixtures, "stubborn.mjs")
        const result = yield* withFakeEnv(
          { PIDS_FILE: path.join(dir, "pids") },
          harnesses.claude
            .runTurn(turn(dir, "claude", { _tag: "New" }, { timeout: Duration.seconds(2) }))
            .pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OOMPA_CLAUDE_BIN", hang], ["PATH", process.env.PATH ?? ""]]))))
        )
        expect(result.timedOut).toBe(true)
        expect(result.exitCode).toBeNull()
        expect(result.error).toContain("timed out")
        const [leader] = fs.readFileSync(path.join(dir, "pids"), "utf8").split(" ").map(Number)
        expect(liveGroupMembers(leader!)).toEqual([])
      }).pipe(Effect.provide(TestLayer))
    ),
    30_000
  )

  it.live("a turn silent for its stallTimeout ends stalled (not timed out), its processes gone, the stall in its error and stderr header", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const harnesses = yield* CliHarnesses
        const hang = path.join(fixtures, "stubborn.mjs")
        const request = turn(dir, "claude", { _tag: "New" }, { timeout: Duration.minutes(2) })
        const result = yield* withFakeEnv(
          { PIDS_FILE: path.join(dir, "pids") },
          harnesses.claude
            .runTurn({ ...request, stallTimeout: Duration.seconds(3) })
            .pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OOMPA_CLAUDE_BIN", hang], ["PATH", process.env.PATH ?? ""]]))))
        )
        expect(result.stalled).toBe(true)
        expect(result.timedOut).toBe(false)
        expect(result.exitCode).toBeNull()
        expect(result.error).toBe("stalled: no output for 3s")
        expect(result.durationMs).toBeLessThan(60_000)
        expect(fs.readFileSync(stderrPathOf(request.logPath), "utf8")).toContain("stall_timeout 3s")
        const [leader, grandchild] = fs.readFileSync(path.join(dir, "pids"), "utf8").split(" ").map(Number)
        expect(liveGroupMembers(leader!)).toEqual([])
        expect(processAlive(grandchild!)).toBe(false)
      }).pipe(Effect.provide(TestLayer))
    ),
    60_000
  )

  it.live(
    "200 MB of agent output: memory stays flat and the final events are still decoded",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const dir = yield* tempDir
          const harnesses = yield* CliHarnesses
          const before = process.memoryUsage().rss
          let peak = before
          const sampler = yield* Effect.fork(
            Effect.forever(
              Effect.sync(() => {
                peak = Math.max(peak, process.memoryUsage().rss)
              }).pipe(Effect.zipRight(Effect.sleep(Duration.millis(20))))
            )
          )
          const result = yield* withFakeEnv(
            { FAKE_FLOOD_MB: "200", FAKE_TEXT: "after the flood" },
            withBins(harnesses.claude.runTurn(turn(dir, "claude", { _tag: "New" }, { timeout: Duration.minutes(2) })))
          )
          yield* Fiber.interrupt(sampler)
          expect(result.exitCode).toBe(0)
          expect(result.text).toBe("after the flood")
          expect(fs.statSync(result.logPath).size).toBeGreaterThan(200 * 1024 * 1024)
          expect(peak - before).toBeLessThan(100 * 1024 * 1024)
        }).pipe(Effect.provide(TestLayer))
      ),
    180_000
  )
})
