/**
 * What only kilo needs checked, through its adapter against the real CLI and
 * the fake model server: its review mode (the plan agent, KILO_PERMISSION
 * denying edit, bash and webfetch) still offers the reviewer kilo's `task`
 * tool, which starts a subagent. The plan agent's own rules deny the task
 * tool's `general` subagent and allow the rest: `explore` (kilo 7.7.7's other
 * subagent) must be as read-only as the reviewer, offered no shell and no edits.
 */
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { makeCliHarness } from "../../src/harness/cliAdapter.js"
import type { TurnRequest } from "../../src/harness/Harness.js"
import { kiloSpec } from "../../src/harness/kilo.js"
import { ProcessRunnerLive } from "../../src/services/ProcessRunner.js"
import * as FakeModelServer from "../fake-model-server/server.js"
import { binOf, cliEnv, initRepo, MODEL, requireSetup, tempDir } from "./support.js"

const layer = Layer.mergeAll(ProcessRunnerLive, NodeContext.layer)

/** The tools that could change the worktree, by the names kilo gives them. */
const WRITING_TOOLS = ["bash", "edit", "write", "patch", "multiedit", "apply_patch"]

describe("kilo only", () => {
  beforeAll(() => requireSetup())
  it.scopedLive("kilo: a reviewer's task subagent is read-only too (no shell or edit offered, nothing written)", () =>
    Effect.gen(function* () {
      const server = yield* FakeModelServer.make({
        scripts: [
          {
            name: "review",
            match: "\\[oompa:rev00001:r0\\]",
            rules: [{ afterToolResult: true, step: { text: "VERDICT: APPROVED" } }],
            steps: [
              {
                call: {
                  name: "task",
                  args: { description: "Write a file", prompt: "SCRIPT:subagent write reviewer-wrote.txt", subagent_type: "explore" }
                }
              }
            ],
            fallback: { text: "VERDICT: APPROVED" }
          },
          {
            name: "subagent",
            match: "SCRIPT:subagent",
            rules: [{ afterToolResult: true, step: { text: "subagent done" } }],
            steps: [{ shell: "echo hacked > reviewer-wrote.txt" }],
            fallback: { text: "subagent done" }
          }
        ]
      })
      const tmp = yield* tempDir("oompa-kilo-")
      const repo = path.join(tmp, "repo")
      yield* initRepo(repo)
      const harness = yield* makeCliHarness(kiloSpec)
      const config = ConfigProvider.fromJson({ [kiloSpec.binEnv]: binOf("kilo"), PATH: process.env.PATH ?? "" })
      const request: TurnRequest = {
        prompt: "[oompa:rev00001:r0]\nReview this change.",
        cwd: repo,
        model: { harness: "kilo", model: MODEL.kilo },
        session: { _tag: "New" },
        mode: "review",
        timeout: Duration.minutes(3),
        logPath: path.join(tmp, "logs", "r0-t1.log"),
        env: { ...cliEnv("kilo", server, path.join(tmp, "home")), PWD: repo }
      }
      const result = yield* harness.runTurn(request).pipe(Effect.withConfigProvider(config))
      const requests = yield* server.requests
      const why = `${fs.readFileSync(result.logPath, "utf8").slice(-3000)}\n${requests.map((r) => `${r.script} ${r.step} [${r.conversation?.tools.join(",")}] ${JSON.stringify(r.reply)}`).join("\n")}`
      expect(result.exitCode, why).toBe(0)
      expect(result.text, why).toBe("VERDICT: APPROVED")
      // The reviewer called task, and kilo ran the subagent: its requests reached the server.
      expect(requests.filter((r) => r.script === "review").map((r) => r.reply?.tool), why).toContain("task")
      const subagent = requests.filter((r) => r.script === "subagent")
      expect(subagent.length, why).toBeGreaterThan(0)
      for (const r of [...subagent, ...requests.filter((r) => r.script === "review")]) {
        expect(r.conversation?.tools.filter((t) => WRITING_TOOLS.includes(t)), why).toEqual([])
      }
      expect(subagent[0]?.reply?.text, why).toMatch(/^fake model server: no shell tool among/)
      expect(fs.existsSync(path.join(repo, "reviewer-wrote.txt"))).toBe(false)
      console.log(`kilo review: reviewer offered [${requests.find((r) => r.script === "review")?.conversation?.tools.join(", ")}], its explore subagent [${subagent[0]?.conversation?.tools.join(", ")}] (${result.durationMs} ms)`)
    }).pipe(Effect.provide(layer))
  )
})
