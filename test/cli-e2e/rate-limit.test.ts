/**
 * A rate limit in a real `oompa swarm` (the built binary), on each real CLI
 * against the fake model server: the worker's first request is answered 429
 * (in the form the CLI passes a wait on, where it has one), with the CLI's own
 * retries turned low. The governor holds the provider, the same turn runs again
 * in the same cycle, and the task lands in that cycle: no error counted, the
 * wait in the turn record, the limit in the run's events.
 */
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { CycleFile } from "../../src/domain/RunFiles.js"
import * as FakeModelServer from "../fake-model-server/server.js"
import { type CliName, CLIS, cliBinDir, cliEnv, git, initProject, lowRetries, MODEL, repoRoot, runProcess, requireSetup, tempDir } from "./support.js"
import { workerScript } from "./swarmScripts.js"

interface Limit {
  /** How many of the worker's requests get the 429: the CLI's own retries see it too. */
  readonly times: number
  readonly step: FakeModelServer.Step
  /** How the governor timed the hold (RateLimitedData.source). */
  readonly source: "retry-after" | "backoff"
}

const limits: Readonly<Partial<Record<CliName, Limit>>> = {
  // claude does not pass a retry-after on: the governor's back-off (30 s + up to 20%).
  claude: { times: 1, step: { error: 429, message: "rate limited for tests", headers: { "retry-after": "2" } }, source: "backoff" },
  // codex drops the retry-after of an HTTP 429 but prints the wait of an in-stream rate limit.
  codex: {
    times: 1,
    step: { streamError: { type: "rate_limit_exceeded", message: "Rate limit reached for tests on tokens per min (TPM). Please try again in 2s." } },
    source: "retry-after"
  },
  gemini: {
    times: 1,
    step: {
      error: 429,
      body: {
        error: {
          code: 429,
          message: "Quota exceeded for metric: generate_content_free_tier_requests, limit: 2. Please retry in 2s.",
          status: "RESOURCE_EXHAUSTED",
          details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "2s" }]
        }
      }
    },
    source: "retry-after"
  },
  // opencode retries five times whatever its config says (honouring retry-after-ms): the sixth answer ends its turn.
  opencode: { times: 6, step: { error: 429, message: "Rate limit reached", headers: { "retry-after-ms": "50" } }, source: "retry-after" },
  // kilo, an opencode fork, retries as opencode does.
  kilo: { times: 6, step: { error: 429, message: "Rate limit reached", headers: { "retry-after-ms": "50" } }, source: "retry-after" },
  // pi (its retries off) exits 0 with the SDK's "429 <message>": no header passed on, the wait the message names is.
  pi: {
    times: 1,
    step: { error: 429, message: "Rate limit reached for tests on tokens per min (TPM). Please try again in 2s.", headers: { "retry-after": "2" } },
    source: "retry-after"
  },
  // copilot retries five times whatever it is told (honouring retry-after-ms): the sixth answer ends its turn,
  // with the SDK's "429 <message>" and no header: the wait the message names is.
  copilot: {
    times: 6,
    step: {
      error: 429,
      message: "Rate limit reached for tests on tokens per min (TPM). Please try again in 2s.",
      headers: { "retry-after-ms": "50" }
    },
    source: "retry-after"
  },
  // qwen: its rate-limit retries are off (lowRetries), but its stream call is still tried 7 times (no setting
  // for that; each waits at least the retry-after); then it prints the SDK's "429 <message>": the wait the message names.
  qwen: {
    times: 7,
    step: { error: 429, message: "Rate limit reached for tests on tokens per min (TPM). Please try again in 2s.", headers: { "retry-after": "2" } },
    source: "retry-after"
  }
}

const TASK = "task-01"

describe("a rate limit in a real swarm", () => {
  beforeAll(() => requireSetup({ dist: true }))
  for (const [cli, limit] of CLIS.flatMap((c) => (limits[c] !== undefined ? [[c, limits[c]] as const] : []))) {
    it.scopedLive(`${cli}: the first request answered 429, the turn waits for the limit and runs again, the task lands in the same cycle`, () =>
      Effect.gen(function* () {
        const script: FakeModelServer.Script = { ...workerScript, rules: [{ times: limit.times, step: limit.step }, ...(workerScript.rules ?? [])] }
        const server = yield* FakeModelServer.make({ scripts: [script] })
        const tmp = yield* tempDir(`oompa-limit-${cli}-`)
        const project = path.join(tmp, "project")
        yield* initProject(project, [{ id: TASK, summary: `Write out/${TASK}.txt` }])
        fs.writeFileSync(
          path.join(tmp, "oompa.json"),
          JSON.stringify({ workers: [{ model: `${cli}:${MODEL[cli]}`, max_cycle: 2, max_wait_for_tasks: 5 }] }, null, 2)
        )
        const home = path.join(tmp, "home")
        const env = { ...cliEnv(cli, server, home), PATH: `${cliBinDir}:${process.env.PATH ?? ""}` }
        Object.assign(env, lowRetries(cli, home))
        const run = yield* runProcess(
          process.execPath,
          [path.join(repoRoot, "dist", "bin.js"), "swarm", "--config", path.join(tmp, "oompa.json")],
          { cwd: project, env }
        ).pipe(Effect.timeoutFail({ duration: Duration.minutes(5), onTimeout: () => new Error(`${cli} swarm: no exit after 5 minutes`) }))
        const requests = yield* server.requests
        const summary = requests
          .filter((r) => r.script !== undefined)
          .map((r) => `${r.script}:${r.step}:${r.conversation?.assistantTurns}:${JSON.stringify(r.reply).slice(0, 80)}`)
        const why = `${run.stdout}\n${run.stderr}\n${summary.join("\n")}`
        expect(run.exitCode, why).toBe(0)
        expect(requests.filter((r) => r.step === "rules[0]"), why).toHaveLength(limit.times)

        // The task landed, in the cycle that met the limit.
        expect(fs.readdirSync(path.join(project, "tasks", "complete")), why).toEqual([`${TASK}.json`])
        expect(yield* git(project, "show", `main:out/${TASK}.txt`)).toBe(`${TASK} done`)
        const runs = path.join(project, ".oompa", "runs")
        const [swarm] = fs.readdirSync(runs)
        const dir = path.join(runs, swarm!)
        const cycles = fs.readdirSync(path.join(dir, "cycles")).sort().map(
          (file) => JSON.parse(fs.readFileSync(path.join(dir, "cycles", file), "utf8")) as CycleFile
        )
        const records = JSON.stringify(cycles.map((c) => ({ cycle: c.cycle, outcome: c.outcome, detail: c.detail, turns: c.turns })), null, 1)
        const first = cycles[0]!
        expect(first.outcome, records).toBe("merged")
        // The limited turn, classed from the CLI's output; the same prompt again after the wait.
        expect(first.turns[0]?.failure?.class, records).toBe("rate-limited")
        expect(first.turns[1]?.kind, records).toBe(first.turns[0]?.kind)
        expect(first.turns.slice(1).every((t) => t.failure === undefined), records).toBe(true)

        const events = fs
          .readFileSync(path.join(dir, "events.jsonl"), "utf8")
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as { type: string; data?: { source?: string; class?: string; waitMs?: number }; message: string })
        const limited = events.filter((e) => e.type === "rate-limited")
        expect(limited.map((e) => [e.data?.class, e.data?.source]), records).toEqual([["rate-limited", limit.source]])
        // The hold is at least a second; the turn waited it out (less the moments between the failure and the retry's admission).
        const holdMs = limited[0]?.data?.waitMs ?? 0
        expect(holdMs).toBeGreaterThanOrEqual(1000)
        expect(first.turns[1]?.limitWaitMs ?? 0, records).toBeGreaterThan(holdMs - 1000)
        expect(events.filter((e) => e.type === "backing-off" || e.type === "worker-stopped" && /error/.test(e.message)), records).toEqual([])
        console.log(`${cli} rate limit: held ${holdMs} ms, waited ${first.turns[1]?.limitWaitMs} ms (${limit.source}), swarm ${run.durationMs} ms, ${requests.length} requests`)
      }).pipe(Effect.provide(NodeContext.layer)),
      360_000
    )
  }
})
