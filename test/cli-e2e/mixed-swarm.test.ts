/**
 * One `oompa swarm` (the built binary) with a worker on every supported CLI and
 * a reviewer chain across them, against the fake model server. Worker wN runs
 * CLIS[N] and claims its own task (task-wN); its change is reviewed by a chain
 * of two other CLIs: CLIS[N+1] first, whose prompt asks the model for no
 * verdict (so the chain falls through, SPEC §6), then CLIS[N+2], which
 * approves. So every CLI works, and every CLI reviews twice, once first in a
 * chain and once second.
 */
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as FakeModelServer from "../fake-model-server/server.js"
import { CLIS, type CliName, cliBinDir, cliEnv, git, initProject, MODEL, repoRoot, requireSetup, runProcess, tempDir } from "./support.js"
import { workerScript } from "./swarmScripts.js"

const REVIEW_MARKER = "\\[oompa:[0-9a-f]+:w\\d+:review\\]"

/** The worker script, each worker claiming the task named after it (no race for the first task). */
const ownTaskWorker: FakeModelServer.Script = {
  ...workerScript,
  captures: { ...workerScript.captures, WORKER: "\\[oompa:[0-9a-f]+:(w\\d+)\\]" },
  rules: (workerScript.rules ?? []).map((rule) =>
    rule.lastUser === "^Available tasks:" ? { ...rule, step: { text: "I will take mine.\nCLAIM(task-{{WORKER}})" } } : rule
  )
}

/** The first reviewer of each chain: its prompt carries FIRST-IN-CHAIN; it answers without a verdict. */
const firstReviewer: FakeModelServer.Script = {
  name: "first-reviewer",
  match: `FIRST-IN-CHAIN[\\s\\S]*${REVIEW_MARKER}|${REVIEW_MARKER}[\\s\\S]*FIRST-IN-CHAIN`,
  toolless: true,
  steps: [{ text: "I read the diff but will not decide." }]
}

const secondReviewer: FakeModelServer.Script = {
  name: "second-reviewer",
  match: REVIEW_MARKER,
  toolless: true,
  steps: [{ text: "The file is there.\nVERDICT: APPROVED" }]
}

interface Review {
  readonly worker: string
  readonly attempt: number
  readonly reviewer: string
  readonly verdict: string | null
  readonly error?: string
}

const modelOf = (cli: CliName) => `${cli}:${MODEL[cli]}`
const nth = (n: number): CliName => CLIS[n % CLIS.length]!

describe("a mixed swarm on the real CLIs", () => {
  beforeAll(() => requireSetup({ dist: true }))
  it.scopedLive(
    `a worker on each of ${CLIS.join(", ")}, each change reviewed by a chain of two other CLIs: all merged`,
    () =>
      Effect.gen(function* () {
        const server = yield* FakeModelServer.make({ scripts: [firstReviewer, secondReviewer, ownTaskWorker] })
        const tmp = yield* tempDir("oompa-mixed-")
        const project = path.join(tmp, "project")
        const tasks = CLIS.map((_, n) => `task-w${n}`)
        yield* initProject(project, tasks.map((id) => ({ id, summary: `Write out/${id}.txt` })))
        const bundled = fs.readFileSync(path.join(repoRoot, "config", "prompts", "reviewer.md"), "utf8")
        fs.writeFileSync(path.join(tmp, "first-reviewer.md"), `${bundled}\n(You are FIRST-IN-CHAIN.)\n`)
        const workers = CLIS.map((cli, n) => ({
          model: modelOf(cli),
          max_cycle: 1,
          reviewers: [{ model: modelOf(nth(n + 1)), prompt: "first-reviewer.md" }, modelOf(nth(n + 2))]
        }))
        fs.writeFileSync(path.join(tmp, "oompa.json"), JSON.stringify({ workers }, null, 2))
        // One HOME holds every CLI's config; their variables do not overlap.
        const home = path.join(tmp, "home")
        const env = Object.assign({}, ...CLIS.map((cli) => cliEnv(cli, server, home)), {
          PATH: `${cliBinDir}:${process.env.PATH ?? ""}`
        }) as Record<string, string>
        const run = yield* runProcess(
          process.execPath,
          [path.join(repoRoot, "dist", "bin.js"), "swarm", "--config", path.join(tmp, "oompa.json")],
          { cwd: project, env }
        ).pipe(Effect.timeoutFail({ duration: Duration.minutes(12), onTimeout: () => new Error("mixed swarm: no exit after 12 minutes") }))

        const runs = path.join(project, ".oompa", "runs")
        const [swarm] = fs.readdirSync(runs)
        const reviewsDir = path.join(runs, swarm!, "reviews")
        const reviews = (fs.existsSync(reviewsDir) ? fs.readdirSync(reviewsDir) : []).map(
          (file) => JSON.parse(fs.readFileSync(path.join(reviewsDir, file), "utf8")) as Review
        )
        const cycles = fs
          .readdirSync(path.join(runs, swarm!, "cycles"))
          .map((file) => JSON.parse(fs.readFileSync(path.join(runs, swarm!, "cycles", file), "utf8")) as { worker: string; outcome: string; claims: Array<string>; detail: string })
        const why = [run.stdout, run.stderr, ...cycles.map((c) => `${c.worker} ${c.outcome} [${c.claims}] ${c.detail}`), ...reviews.map((r) => JSON.stringify(r))].join("\n")
        expect(run.exitCode, why).toBe(0)

        // Every worker's task merged, its file on main.
        expect(fs.readdirSync(path.join(project, "tasks", "complete")).sort(), why).toEqual(tasks.map((t) => `${t}.json`).sort())
        for (const [n, id] of tasks.entries()) {
          expect(yield* git(project, "show", `main:out/${id}.txt`), `${nth(n)}: ${why}`).toBe(`${id} done`)
        }
        expect(cycles.filter((c) => c.claims.length > 0).map((c) => `${c.worker} ${c.outcome}`).sort(), why).toEqual(
          CLIS.map((_, n) => `w${n} merged`).sort()
        )
        // Each change: first the next CLI (no verdict, so the chain went on), then the one after it approved.
        for (const n of CLIS.keys()) {
          const chain = reviews
            .filter((r) => r.worker === `w${n}`)
            .sort((a, b) => a.attempt - b.attempt)
            .map((r) => `${r.attempt} ${r.reviewer} ${r.verdict ?? "none"}`)
          expect(chain, `w${n} (${nth(n)}): ${why}`).toEqual([`1 ${modelOf(nth(n + 1))} none`, `2 ${modelOf(nth(n + 2))} APPROVED`])
        }
        // Nothing left behind.
        const worktrees = path.join(project, ".oompa", "worktrees")
        expect(fs.existsSync(worktrees) ? fs.readdirSync(worktrees) : []).toEqual([])
        expect(yield* git(project, "branch", "--list", "oompa/*")).toBe("")
        expect(yield* git(repoRoot, "log", "-30", "--author=e2e@oompa.invalid", "--format=%h %s")).toBe("")
        console.log(`mixed swarm of ${CLIS.length} CLIs: ${run.durationMs} ms, ${(yield* server.requests).length} requests`)
      }).pipe(Effect.provide(NodeContext.layer)),
    900_000
  )
})
