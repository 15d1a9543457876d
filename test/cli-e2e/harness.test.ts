/**
 * The product's adapters (src/harness/<cli>.ts) driving the real CLIs against
 * the fake model server: a new turn whose shell call commits a file, then a
 * resumed turn; the adapter must return the final text, the session id and
 * usage, and the server must see the first turn's history on the resume.
 */
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { cliSpecs } from "../../src/harness/cliHarnesses.js"
import { makeCliHarness } from "../../src/harness/cliAdapter.js"
import type { TurnRequest } from "../../src/harness/Harness.js"
import { ProcessRunnerLive } from "../../src/services/ProcessRunner.js"
import * as FakeModelServer from "../fake-model-server/server.js"
import { binOf, CLIS, cliEnv, git, initRepo, MODEL, repoRoot, requireSetup, tempDir } from "./support.js"
import { profiles } from "./clis/index.js"

const script = (cli: string): FakeModelServer.Script => ({
  name: "harness",
  match: "\\[oompa:e2e0000[0-9]:w0\\]",
  steps: [
    { shell: `echo ${cli} > turn1.txt && git add turn1.txt && git commit -qm "turn 1 by ${cli}" && echo committed` },
    { text: "Turn one is done.\nCOMPLETE_AND_READY_FOR_MERGE" },
    { text: "Resumed after {{TURN}} turns." }
  ]
})

const layer = Layer.mergeAll(ProcessRunnerLive, NodeContext.layer)

describe("adapters (src/harness) against the real CLIs", () => {
  beforeAll(() => requireSetup())
  for (const cli of CLIS) {
    it.scopedLive(`${cli}: new turn (text, session id, usage), then a resumed turn the server sees the history of`, () =>
      Effect.gen(function* () {
        const server = yield* FakeModelServer.make({ scripts: [script(cli)] })
        const tmp = yield* tempDir(`oompa-harness-${cli}-`)
        const repo = path.join(tmp, "repo")
        yield* initRepo(repo)
        fs.mkdirSync(path.join(tmp, "logs"))
        // PWD: opencode works in $PWD, and this test process's PWD is the checkout.
        const env = { ...cliEnv(cli, server, path.join(tmp, "home")), PWD: repo }
        const spec = cliSpecs[cli]
        const harness = yield* makeCliHarness(spec)
        // The adapter finds its binary through Config: $OOMPA_<CLI>_BIN, then PATH.
        const config = ConfigProvider.fromJson({ [spec.binEnv]: binOf(cli), PATH: process.env.PATH ?? "" })
        const runTurn = (r: TurnRequest) => harness.runTurn(r).pipe(Effect.withConfigProvider(config))
        const request = (n: number, session: TurnRequest["session"], prompt: string): TurnRequest => ({
          prompt: `[oompa:e2e00001:w0]\n${prompt}`,
          cwd: repo,
          model: { harness: cli, model: MODEL[cli] },
          session,
          mode: "work",
          timeout: Duration.minutes(3),
          logPath: path.join(tmp, "logs", `w0-c1-t${n}.log`),
          env
        })
        const first = yield* runTurn(request(1, { _tag: "New" }, "Write turn1.txt and commit it."))
        expect(first.exitCode, fs.readFileSync(first.logPath, "utf8")).toBe(0)
        expect(first.timedOut).toBe(false)
        expect(first.text).toBe("Turn one is done.\nCOMPLETE_AND_READY_FOR_MERGE")
        expect(Option.isSome(first.sessionId)).toBe(true)
        expect(first.usage.inputTokens).toBeGreaterThan(0)
        expect(first.usage.outputTokens).toBeGreaterThan(0)
        if (profiles[cli].reportsCost === true) expect(Option.getOrElse(first.costUsd, () => 0)).toBeGreaterThan(0)
        expect(yield* git(repo, "log", "-1", "--format=%s")).toBe(`turn 1 by ${cli}`)

        const sessionId = Option.getOrThrow(first.sessionId)
        const second = yield* runTurn(request(2, { _tag: "Resume", id: sessionId }, "Carry on."))
        expect(second.exitCode, fs.readFileSync(second.logPath, "utf8")).toBe(0)
        expect(second.text).toBe("Resumed after 2 turns.")
        expect(Option.getOrUndefined(second.sessionId)).toBe(sessionId)
        const last = FakeModelServer.requestsOf(yield* server.requests, "harness").at(-1)!
        expect(last.step).toBe("steps[2]")
        expect(last.conversation?.userTexts.join("\n")).toContain("Write turn1.txt and commit it.")
        expect(last.conversation?.toolResults.join("\n")).toContain("committed")
        if (cli === "claude") {
          // claude reports the session's cumulative cost: the adapter's per-turn cost must not repeat turn 1's.
          const sessionTotal = (log: string): number =>
            fs
              .readFileSync(log, "utf8")
              .split("\n")
              .filter((l) => l.includes('"type":"result"'))
              .map((l) => JSON.parse(l).total_cost_usd as number)[0] ?? NaN
          const turnCost = sessionTotal(second.logPath) - sessionTotal(first.logPath)
          expect(turnCost).toBeGreaterThan(0)
          expect(Option.getOrElse(second.costUsd, () => NaN)).toBeCloseTo(turnCost, 6)
        }
        console.log(`${cli} adapter: turn 1 ${first.durationMs} ms, turn 2 ${second.durationMs} ms`)
        expect(yield* git(repoRoot, "log", "-30", "--author=e2e@oompa.invalid", "--format=%h %s")).toBe("")
      }).pipe(Effect.provide(layer))
    )
  }
})
