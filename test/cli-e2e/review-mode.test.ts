/**
 * Review mode (SPEC §6, docs/harnesses.md) against the real CLIs and the fake
 * model server: the reviewer's model asks to write a file with the shell tool;
 * the CLI, run read-only by the adapter, must not let it (or not offer a shell
 * at all), and the turn must still end normally. Also checks the reasoning flags are accepted and
 * that a review session resumes.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { makeCliHarness } from "../../src/harness/cliAdapter.js"
import { cliSpecs } from "../../src/harness/cliHarnesses.js"
import type { TurnRequest } from "../../src/harness/Harness.js"
import { ProcessRunnerLive } from "../../src/services/ProcessRunner.js"
import * as FakeModelServer from "../fake-model-server/server.js"
import { binOf, CLIS, cliEnv, clisInstalled, initRepo, MODEL, tempDir } from "./support.js"
import { profiles } from "./clis/index.js"

const layer = Layer.mergeAll(ProcessRunnerLive, NodeContext.layer)

describe.skipIf(!clisInstalled())("review mode (read-only) against the real CLIs", () => {
  for (const cli of CLIS) {
    it.scopedLive(`${cli}: the reviewer cannot write, still answers, and resumes`, () =>
      Effect.gen(function* () {
        const server = yield* FakeModelServer.make({
          scripts: [
            {
              name: "review",
              match: "\\[oompa:rev00001:r0\\]",
              rules: [
                { afterToolResult: true, step: { text: "VERDICT: APPROVED" } },
                { lastUser: "second look", step: { text: "still VERDICT: APPROVED" } }
              ],
              steps: [{ shell: "echo hacked > reviewer-wrote.txt" }],
              fallback: { text: "VERDICT: APPROVED" }
            }
          ]
        })
        const tmp = yield* tempDir(`oompa-review-${cli}-`)
        const repo = path.join(tmp, "repo")
        yield* initRepo(repo)
        // No IS_SANDBOX from the test: review mode must not need it, even as root.
        const { IS_SANDBOX: _unused, ...env } = cliEnv(cli, server, path.join(tmp, "home"))
        const spec = cliSpecs[cli]
        const harness = yield* makeCliHarness(spec)
        const config = ConfigProvider.fromJson({ [spec.binEnv]: binOf(cli), PATH: process.env.PATH ?? "" })
        const request = (n: number, session: TurnRequest["session"], text: string): TurnRequest => ({
          prompt: `[oompa:rev00001:r0]\n${text}`,
          cwd: repo,
          model: { harness: cli, model: MODEL[cli], reasoning: "high" },
          session,
          mode: "review",
          timeout: Duration.minutes(3),
          logPath: path.join(tmp, "logs", `r0-t${n}.log`),
          env
        })
        const runTurn = (r: TurnRequest) => harness.runTurn(r).pipe(Effect.withConfigProvider(config))
        const first = yield* runTurn(request(1, { _tag: "New" }, "Review this change."))
        const log = () => fs.readFileSync(first.logPath, "utf8") + fs.readFileSync(first.logPath.replace(/\.log$/, ".stderr.log"), "utf8")
        expect(first.exitCode, log()).toBe(0)
        // claude (plan mode), codex (read-only sandbox) offer a shell that cannot write; gemini (plan), opencode (bash denied) offer none.
        if (profiles[cli].reviewOffersShell) {
          // The verdict only comes after a tool result: the write was attempted and refused.
          expect(first.text).toBe("VERDICT: APPROVED")
        } else {
          // Read-only by construction: the CLI does not even offer the model a shell.
          expect(first.text).toContain("no shell tool")
        }
        expect(fs.existsSync(path.join(repo, "reviewer-wrote.txt"))).toBe(false)
        const second = yield* runTurn(request(2, { _tag: "Resume", id: Option.getOrThrow(first.sessionId) }, "Take a second look."))
        expect(second.exitCode).toBe(0)
        expect(second.text).toBe("still VERDICT: APPROVED")
        expect(second.sessionId).toEqual(first.sessionId)
        expect(fs.existsSync(path.join(repo, "reviewer-wrote.txt"))).toBe(false)
      }).pipe(Effect.provide(layer))
    )
  }
})
