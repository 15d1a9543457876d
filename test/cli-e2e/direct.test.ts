/**
 * Each real CLI run directly (no oompa) against the fake model server:
 * a new session whose shell tool call writes a file and commits it, then a
 * final text; a resume of that session (the server must see the first turn's
 * history); and a scripted API error. With UPDATE_CLI_FIXTURES=1 the CLIs'
 * stdout is saved under test/fixtures/cli-output/<cli>/ for the adapters' tests.
 */
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as FakeModelServer from "../fake-model-server/server.js"
import {
  binOf,
  CLIS,
  type CliName,
  cliEnv,
  directArgs,
  finalTextOf,
  fixturesDir,
  git,
  initRepo,
  repoRoot,
  runProcess,
  sessionIdOf,
  requireSetup,
  tempDir
} from "./support.js"
import { profiles } from "./clis/index.js"

const UPDATE = process.env.UPDATE_CLI_FIXTURES === "1"

const scripts = (cli: CliName): ReadonlyArray<FakeModelServer.Script> => [
  {
    name: "direct",
    match: "SCRIPT:direct",
    steps: [
      { shell: `mkdir -p out && echo hello from ${cli} > out/hello.txt && git add out/hello.txt && git commit -qm "add out/hello.txt" && echo committed` },
      { text: "I wrote out/hello.txt and committed it.\nCOMPLETE_AND_READY_FOR_MERGE" },
      { text: "Resumed after {{TURN}} turns: I remember writing out/hello.txt." }
    ]
  },
  { name: "error", match: "SCRIPT:error", steps: [{ error: 400, message: "scripted failure for tests" }] }
]

/** Stable fixture text: the temp root and the server port replaced by placeholders. */
const sanitize = (text: string, tmp: string, server: FakeModelServer.FakeModelServer): string =>
  text.split(tmp).join("<TMP>").split(server.url).join("http://127.0.0.1:<PORT>")

describe("real CLIs, run directly against the fake model server", () => {
  beforeAll(() => requireSetup())
  for (const cli of CLIS) {
    it.scopedLive(`${cli}: new session (shell tool call + commit + final text), resume with history, API error`, () =>
      Effect.gen(function* () {
        const server = yield* FakeModelServer.make({ scripts: scripts(cli) })
        const tmp = yield* tempDir(`oompa-direct-${cli}-`)
        const repo = path.join(tmp, "repo")
        yield* initRepo(repo)
        const env = cliEnv(cli, server, path.join(tmp, "home"))
        const run = (session: Parameters<typeof directArgs>[1], prompt: string) => {
          const d = directArgs(cli, session, prompt, repo)
          return runProcess(binOf(cli), d.args, { cwd: repo, env, stdin: d.stdin })
        }
        const saved: Record<string, unknown> = {}
        const save = (scenario: string, r: { stdout: string; stderr: string; exitCode: number; durationMs: number }, args: ReadonlyArray<string>) => {
          saved[scenario] = { argv: args.map((a) => sanitize(a, tmp, server)), exitCode: r.exitCode, durationMs: r.durationMs }
          if (!UPDATE) return
          const dir = path.join(fixturesDir, cli)
          fs.mkdirSync(dir, { recursive: true })
          fs.writeFileSync(path.join(dir, `${scenario}.jsonl`), sanitize(r.stdout, tmp, server))
          fs.writeFileSync(path.join(dir, `${scenario}.stderr.txt`), sanitize(r.stderr, tmp, server))
        }

        // 1. New session.
        const chosenId = profiles[cli].choosesSessionId ? crypto.randomUUID() : undefined
        const newSession = chosenId === undefined ? { _tag: "New" as const } : { _tag: "New" as const, id: chosenId }
        const first = yield* run(newSession, "SCRIPT:direct Write out/hello.txt and commit it.")
        save("new-session", first, directArgs(cli, newSession, "<prompt>", repo).args)
        expect(first.exitCode, first.stderr).toBe(0)
        const sessionId = Option.getOrThrowWith(sessionIdOf(cli, first.stdout), () => new Error(`no session id in ${first.stdout}`))
        if (chosenId !== undefined) expect(sessionId).toBe(chosenId)
        expect(finalTextOf(cli, first.stdout)).toBe("I wrote out/hello.txt and committed it.\nCOMPLETE_AND_READY_FOR_MERGE")
        expect(fs.readFileSync(path.join(repo, "out/hello.txt"), "utf8")).toBe(`hello from ${cli}\n`)
        expect(yield* git(repo, "log", "-1", "--format=%s")).toBe("add out/hello.txt")
        const firstRequests = FakeModelServer.requestsOf(yield* server.requests, "direct")
        expect(firstRequests.map((r) => r.step)).toEqual(["steps[0]", "steps[1]"])
        expect(firstRequests[1]?.conversation?.toolResults.join("\n")).toContain("committed")

        // 2. Resume: the server sees the first turn (prompt, tool call and result, answer) and a new prompt.
        const resume = { _tag: "Resume" as const, id: sessionId }
        const second = yield* run(resume, "SCRIPT:direct Do you remember what you did?")
        save("resumed-session", second, directArgs(cli, resume, "<prompt>", repo).args)
        expect(second.exitCode, second.stderr).toBe(0)
        expect(Option.getOrUndefined(sessionIdOf(cli, second.stdout))).toBe(sessionId)
        expect(finalTextOf(cli, second.stdout)).toBe("Resumed after 2 turns: I remember writing out/hello.txt.")
        const resumed = FakeModelServer.requestsOf(yield* server.requests, "direct").slice(2)
        expect(resumed.map((r) => r.step)).toEqual(["steps[2]"])
        const conv = resumed[0]!.conversation!
        expect(conv.assistantTurns).toBe(2)
        expect(conv.userTexts.join("\n")).toContain("Write out/hello.txt and commit it.")
        expect(conv.userTexts[conv.userTexts.length - 1]).toContain("Do you remember what you did?")
        expect(conv.toolResults.join("\n")).toContain("committed")

        // 3. The API answers 400: the CLI reports it and fails (pi reports it in its output and still exits 0).
        const errorSession = profiles[cli].choosesSessionId ? { _tag: "New" as const, id: crypto.randomUUID() } : { _tag: "New" as const }
        const third = yield* run(errorSession, "SCRIPT:error This request fails.")
        save("api-error", third, directArgs(cli, errorSession, "<prompt>", repo).args)
        if (profiles[cli].apiErrorExitsZero === true) {
          expect(third.exitCode, third.stderr).toBe(0)
          expect(third.stdout).toContain("scripted failure for tests")
        } else {
          expect(third.exitCode).not.toBe(0)
          expect(third.stdout + third.stderr).toContain("scripted failure for tests")
        }

        // Nothing leaked into the checkout the tests run from (opencode once committed there through $PWD).
        expect(yield* git(repoRoot, "log", "-30", "--author=e2e@oompa.invalid", "--format=%h %s")).toBe("")

        if (UPDATE) fs.writeFileSync(path.join(fixturesDir, cli, "runs.json"), JSON.stringify(saved, null, 2) + "\n")
        console.log(`${cli}: ${JSON.stringify(saved)}`)
      }).pipe(Effect.provide(NodeContext.layer))
    )
  }
})
