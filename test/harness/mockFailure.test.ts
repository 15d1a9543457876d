/**
 * The mock harness scripts a classified failed turn (scenario step `fail`),
 * in-process and as a real process, and the swarm records it: the turn record
 * of the cycle file carries the class and the reason (what the governor reads).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { runSwarm } from "../../src/engine/swarm.js"
import type { TurnRequest } from "../../src/harness/Harness.js"
import { makeInProcessMockHarness, makeProcessMockHarness } from "../../src/harness/mock.js"
import { readScenario } from "../../src/harness/mock/scenarioFile.js"
import { ProcessRunnerLive } from "../../src/services/ProcessRunner.js"
import { makeGitRepo } from "../support/gitRepo.js"
import { engineTestLayer, makeTasks, setupProject, validateRunFiles } from "../support/swarmProject.js"

const scenario = {
  turns: {
    "*": [
      { fail: { class: "rate-limited", retryAfterMs: 30000, message: "API Error: 429 slow down" } },
      { fail: { class: "rate-limited", resetsAt: "2026-12-03T04:00:00.000Z" } },
      { fail: { class: "auth" }, exit: 3 },
      { say: "fine again" }
    ]
  }
}

const setup = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-mock-fail-"))
  fs.writeFileSync(path.join(dir, "scenario.json"), JSON.stringify(scenario))
  const request = (n: number, session: TurnRequest["session"]): TurnRequest => ({
    prompt: "[oompa:s1:w0]\ndo it",
    cwd: dir,
    model: { harness: "mock", model: "scenario.json" },
    session,
    mode: "work",
    timeout: Duration.seconds(30),
    logPath: path.join(dir, "logs", `t${n}.log`)
  })
  return { dir, request }
}

describe("mock scenario step `fail`", () => {
  it("is part of the scenario schema; an unknown class is refused", () => {
    const { dir } = setup()
    const bad = path.join(dir, "bad.json")
    fs.writeFileSync(bad, JSON.stringify({ turns: { "*": [{ fail: { class: "teapot" } }] } }))
    expect(readScenario(path.join(dir, "scenario.json"))._tag).toBe("Right")
    const refused = readScenario(bad)
    expect(refused._tag).toBe("Left")
    if (refused._tag === "Left") expect(refused.left).toContain("teapot")
  })

  for (const kind of ["in-process", "process"] as const) {
    it.live(`${kind}: failed turns with the scripted class, reset time or retry-after; a later step succeeds`, () =>
      Effect.gen(function* () {
        const { dir, request } = setup()
        fs.mkdirSync(path.join(dir, "logs"))
        const stateDir = path.join(dir, "state")
        const harness =
          kind === "in-process"
            ? makeInProcessMockHarness({ baseDir: dir, stateDir })
            : yield* makeProcessMockHarness({ baseDir: dir, stateDir })
        const first = yield* harness.runTurn(request(1, { _tag: "New", id: "sess-1" }))
        expect(first.exitCode).toBe(1)
        expect(first.failure).toEqual({ class: "rate-limited", retryAfterMs: 30000, evidence: "API Error: 429 slow down" })
        expect(first.error).toBe("API Error: 429 slow down")
        const second = yield* harness.runTurn(request(2, { _tag: "Resume", id: "sess-1" }))
        expect(second.failure).toEqual({
          class: "rate-limited",
          resetsAt: "2026-12-03T04:00:00.000Z",
          evidence: "mock: scripted rate-limited failure"
        })
        const third = yield* harness.runTurn(request(3, { _tag: "Resume", id: "sess-1" }))
        expect(third.exitCode).toBe(3)
        expect(third.failure?.class).toBe("auth")
        const fourth = yield* harness.runTurn(request(4, { _tag: "Resume", id: "sess-1" }))
        expect(fourth.exitCode).toBe(0)
        expect(fourth.text).toBe("fine again")
        expect(fourth.failure).toBeUndefined()
      }).pipe(Effect.provide(Layer.mergeAll(ProcessRunnerLive, NodeContext.layer)))
    )
  }

  it.live("the swarm records a failed turn's class and reason in the cycle file", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 1 }] },
        tasks: makeTasks(1),
        // Not a limit: a rate-limited turn is waited out and run again (test/engine/rateLimits.test.ts).
        scenario: { turns: { "*": [{ fail: { class: "context-too-long", message: "API Error: prompt is too long" } }] } }
      })
      const result = yield* runSwarm(config, { print: () => Effect.void }).pipe(
        Effect.either,
        Effect.provide(engineTestLayer({ baseDir: repo.path }))
      )
      const runsDir = path.join(repo.path, ".oompa", "runs")
      const runDir = path.join(runsDir, fs.readdirSync(runsDir).filter((name) => !name.startsWith("."))[0]!)
      validateRunFiles(runDir)
      const cycle = JSON.parse(fs.readFileSync(path.join(runDir, "cycles", "w0-c1.json"), "utf8"))
      expect(cycle.turns[0].failure).toEqual({ class: "context-too-long", evidence: "API Error: prompt is too long" })
      // The reason in the CLI's words stays the cycle's detail; the terminal line names the class.
      expect(cycle.detail).toMatch(/agent exited with 1: API Error: prompt is too long \(log: .*w0-c1-t1\.log\)/)
      const events = fs.readFileSync(path.join(runDir, "events.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line))
      expect(events.find((e) => e.type === "turn-ended")?.message).toBe("turn 1 failed: exit 1 (context-too-long)")
      expect(cycle.outcome).toBe("error")
      expect(result._tag).toBe("Left")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})
