/**
 * What only pi does, through its adapter against the real CLI and the fake
 * model server: `--session <id>` naming a session made in another folder makes
 * pi ask on stdin whether to fork it; with stdin closed it exits 0 without
 * calling the model. The adapter must report that turn failed, in pi's words.
 */
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { makeCliHarness } from "../../src/harness/cliAdapter.js"
import { type TurnRequest, turnFailed } from "../../src/harness/Harness.js"
import { piSpec } from "../../src/harness/pi.js"
import { ProcessRunnerLive } from "../../src/services/ProcessRunner.js"
import * as FakeModelServer from "../fake-model-server/server.js"
import { binOf, cliEnv, initRepo, MODEL, requireSetup, tempDir } from "./support.js"

const layer = Layer.mergeAll(ProcessRunnerLive, NodeContext.layer)

describe("pi only", () => {
  beforeAll(() => requireSetup())
  it.scopedLive("pi: a resume in another folder (pi exits 0 asking whether to fork the session) is a failed turn with pi's question", () =>
    Effect.gen(function* () {
      const server = yield* FakeModelServer.make({
        scripts: [{ name: "hello", match: "SAY-HELLO", steps: [{ text: "hello one" }], fallback: { text: "hello again" } }]
      })
      const tmp = yield* tempDir("oompa-pi-")
      const [first, other] = [path.join(tmp, "first"), path.join(tmp, "other")]
      yield* initRepo(first)
      yield* initRepo(other)
      fs.mkdirSync(path.join(tmp, "logs"))
      const env = cliEnv("pi", server, path.join(tmp, "home"))
      const harness = yield* makeCliHarness(piSpec)
      const config = ConfigProvider.fromJson({ [piSpec.binEnv]: binOf("pi"), PATH: process.env.PATH ?? "" })
      const request = (n: number, cwd: string, session: TurnRequest["session"]): TurnRequest => ({
        prompt: "SAY-HELLO please",
        cwd,
        model: { harness: "pi", model: MODEL.pi },
        session,
        mode: "work",
        timeout: Duration.minutes(2),
        logPath: path.join(tmp, "logs", `t${n}.log`),
        env: { ...env, PWD: cwd }
      })
      const runTurn = (r: TurnRequest) => harness.runTurn(r).pipe(Effect.withConfigProvider(config))

      const made = yield* runTurn(request(1, first, { _tag: "New" }))
      expect(turnFailed(made), made.error).toBe(false)
      expect(made.text).toBe("hello one")
      const sessionId = Option.getOrThrow(made.sessionId)
      const asked = (yield* server.requests).length

      const elsewhere = yield* runTurn(request(2, other, { _tag: "Resume", id: sessionId }))
      expect(elsewhere.exitCode).toBe(0)
      expect(elsewhere.reportedFailure).toBe(true)
      expect(turnFailed(elsewhere)).toBe(true)
      expect(elsewhere.text).toBe("")
      expect(elsewhere.error).toContain("Session found in different project")
      // pi did not call the model.
      expect((yield* server.requests).length).toBe(asked)

      // In its own folder the same id resumes.
      const resumed = yield* runTurn(request(3, first, { _tag: "Resume", id: sessionId }))
      expect(turnFailed(resumed), resumed.error).toBe(false)
      expect(resumed.text).toBe("hello again")
      expect(resumed.sessionId).toEqual(Option.some(sessionId))
    }).pipe(Effect.provide(layer))
  )
})
