import * as path from "node:path"
import * as fs from "node:fs"
import { FileSystem } from "@effect/platform"
import { Clock, Duration, Effect, Either, Option, Schema } from "effect"
import { mockAgentScript } from "../paths.js"
import { foldJsonLines } from "../formats/jsonl.js"
import { emptyUsage, Usage } from "../domain/Usage.js"
import { ProcessRunner } from "../services/ProcessRunner.js"
import { activityReader } from "./activity.js"
import { runMockTurn } from "./mock/agent.js"
import { readScenario, scenarioPathOf } from "./mock/scenarioFile.js"
import { HarnessError, type Harness, type TurnRequest, type TurnResult } from "./Harness.js"
import type { TurnFailure } from "../domain/TurnFailure.js"
import { MockFailure } from "./mock/Scenario.js"

/** A scripted failure as the TurnResult carries it (its message is the error text, not part of the class). */
const failureOf = (fail: MockFailure): TurnFailure => ({
  class: fail.class,
  ...(fail.resetsAt !== undefined ? { resetsAt: fail.resetsAt } : {}),
  ...(fail.retryAfterMs !== undefined ? { retryAfterMs: fail.retryAfterMs } : {}),
  evidence: fail.message ?? `mock: scripted ${fail.class} failure`
})

/**
 * Where the mock keeps session memory between turns: beside the run's logs
 * (`.oompa/runs/<swarm>/mock-sessions/`), so nothing accumulates in /tmp.
 */
const stateDirFor = (logPath: string) =>
  process.env["OOMPA_MOCK_STATE_DIR"] ?? path.join(path.dirname(logPath), "..", "mock-sessions")

/**
 * The mock agent run inside this process: fast and deterministic, for engine
 * tests. `baseDir` resolves relative scenario paths in `mock:<file>` models.
 * It writes its log only when the turn is over, so the whole turn is silence:
 * a turn that runs longer than `stallTimeout` (a `hang` or a long `delayMs`
 * step) ends stalled, the way a real CLI that printed nothing would.
 */
export const makeInProcessMockHarness = (options: { readonly baseDir: string; readonly stateDir?: string }): Harness => ({
  name: "mock",
  runTurn: (request) =>
    Effect.gen(function* () {
      const scenario = readScenario(scenarioPathOf(request.model.model, options.baseDir))
      if (Either.isLeft(scenario)) return yield* new HarnessError({ harness: "mock", message: scenario.left })
      const started = yield* Clock.currentTimeMillis
      const run = Effect.promise(() => runMockTurn({
        prompt: request.prompt,
        cwd: request.cwd,
        sessionId: request.session.id,
        resume: request.session._tag === "Resume",
        mode: request.mode,
        env: request.env,
        scenario: scenario.right,
        stateDir: options.stateDir ?? stateDirFor(request.logPath)
      })).pipe(Effect.flatMap((output) => (output.hang ? Effect.never : Effect.succeed(output))))
      const stalls = request.stallTimeout !== undefined && Duration.lessThan(request.stallTimeout, request.timeout)
      const output = yield* Effect.timeoutOption(run, stalls ? request.stallTimeout! : request.timeout)
      const finished = yield* Clock.currentTimeMillis
      const text = Option.match(output, { onNone: () => "", onSome: (o) => o.text })
      yield* Effect.sync(() => {
        fs.mkdirSync(path.dirname(request.logPath), { recursive: true })
        fs.writeFileSync(request.logPath, JSON.stringify({ type: "result", text }) + "\n")
      })
      return Option.match(output, {
        onNone: (): TurnResult => ({
          text: "",
          sessionId: Option.fromNullable(request.session.id),
          exitCode: null,
          timedOut: !stalls,
          stalled: stalls,
          usage: emptyUsage,
          costUsd: Option.none(),
          logPath: request.logPath,
          durationMs: finished - started
        }),
        onSome: (o): TurnResult => ({
          text: o.text,
          sessionId: Option.some(o.sessionId),
          exitCode: o.exitCode,
          timedOut: false,
          stalled: false,
          usage: o.usage,
          costUsd: Option.fromNullable(o.costUsd),
          logPath: request.logPath,
          durationMs: finished - started,
          // Only a failed turn carries a class.
          ...(o.failure !== undefined && o.exitCode !== 0 ? { error: o.text, failure: failureOf(o.failure) } : {})
        })
      })
    })
})

const MockEvent = Schema.Struct({
  type: Schema.String,
  session_id: Schema.optional(Schema.String),
  text: Schema.optional(Schema.String),
  usage: Schema.optional(Usage),
  cost_usd: Schema.optional(Schema.NullOr(Schema.Number)),
  failure: Schema.optional(MockFailure)
})

interface MockLog {
  readonly sessionId: string | undefined
  readonly result: typeof MockEvent.Type | undefined
}

/** Folds the mock agent's stdout log line by line (bounded memory, however big the log): the one JSONL reader. */
const readMockLog = (file: string) =>
  foldJsonLines(file, MockEvent, { sessionId: undefined, result: undefined } as MockLog, (state, event): MockLog => ({
    sessionId: event.session_id ?? state.sessionId,
    result: event.type === "result" ? event : state.result
  }))

/** The mock agent as a real child process (`dist/mock-agent.js`), run by ProcessRunner. */
export const makeProcessMockHarness = (options: { readonly baseDir: string; readonly stateDir?: string }) =>
  Effect.gen(function* () {
    const runner = yield* ProcessRunner
    const fileSystem = yield* FileSystem.FileSystem
    const harness: Harness = {
      name: "mock",
      runTurn: (request: TurnRequest) =>
        Effect.gen(function* () {
          const scenario = scenarioPathOf(request.model.model, options.baseDir)
          const valid = readScenario(scenario)
          if (Either.isLeft(valid)) return yield* new HarnessError({ harness: "mock", message: valid.left })
          const args = [
            mockAgentScript,
            ...(request.session._tag === "Resume"
              ? ["--resume", request.session.id]
              : request.session.id !== undefined
                ? ["--session", request.session.id]
                : []),
            ...(request.mode === "review" ? ["--review"] : []),
            ...(scenario !== undefined ? ["--scenario", scenario] : []),
            "--state-dir",
            options.stateDir ?? stateDirFor(request.logPath)
          ]
          const run = yield* runner
            .run({
              command: process.execPath,
              args,
              cwd: request.cwd,
              env: request.env,
              stdin: request.prompt,
              stdoutPath: request.logPath,
              stderrPath: request.logPath.replace(/\.log$/, "") + ".stderr.log",
              timeout: request.timeout,
              stallTimeout: request.stallTimeout,
              marker: request.marker
            })
            .pipe(Effect.mapError((error) => new HarnessError({ harness: "mock", message: error.message })))
          const decoded = yield* readMockLog(request.logPath).pipe(
            Effect.provideService(FileSystem.FileSystem, fileSystem),
            Effect.mapError((error) => new HarnessError({ harness: "mock", message: `could not read ${request.logPath}: ${error.message}` }))
          )
          const failed = run.timedOut || run.exitCode !== 0
          const fail = failed ? decoded.result?.failure : undefined
          return {
            text: decoded.result?.text ?? "",
            sessionId: Option.fromNullable(decoded.sessionId ?? request.session.id),
            exitCode: run.exitCode,
            timedOut: run.timedOut,
            stalled: run.stalled,
            usage: decoded.result?.usage ?? emptyUsage,
            costUsd: Option.fromNullable(decoded.result?.cost_usd),
            logPath: request.logPath,
            durationMs: run.durationMs,
            ...(fail !== undefined ? { error: decoded.result?.text ?? "", failure: failureOf(fail) } : {})
          } satisfies TurnResult
        })
    }
    return harness
  })

// The mock agent's lines (src/mock-agent.ts): one per step it takes.
const MockLine = Schema.Union(
  Schema.Struct({ type: Schema.Literal("tool"), name: Schema.String, detail: Schema.String }),
  Schema.Struct({ type: Schema.Literal("status"), text: Schema.String })
)

/** What a line of the mock agent's output shows the live views (activity.ts). */
export const mockActivity = activityReader(MockLine, (event) => (event.type === "tool" ? `${event.name}: ${event.detail}` : event.text))
