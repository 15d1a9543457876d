import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import type { CycleFile, StoppedFile } from "../../src/domain/RunFiles.js"
import { listDir, makeProject } from "../support/cliProject.js"
import { ensureBuilt, runCli } from "../support/runCli.js"

/**
 * Budgets through the built binary (docs/budgets.md), the mock agent as a real
 * process reporting no cost, so oompa estimates it from oompa.json's `prices`:
 * the swarm's max_cost_usd stops the run with exit 3, stopped.json says budget
 * and which one, and every figure shown is marked as an estimate.
 */

const runDirOf = (dir: string) => {
  const runs = path.join(dir, ".oompa", "runs")
  return path.join(runs, listDir(runs).filter((d) => !d.startsWith("."))[0]!)
}

/** Task files older than the queue's 2 s settling time, as a user's would be. */
const backdateTasks = (dir: string) => {
  const past = new Date(Date.now() - 60_000)
  for (const name of listDir(path.join(dir, "tasks", "pending"))) fs.utimesSync(path.join(dir, "tasks", "pending", name), past, past)
}

describe("oompa swarm with a budget (built binary)", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it("the swarm's max_cost_usd, estimated: exit 3, stopped.json reason budget with the budget, estimates marked in view and report", async () => {
    // Every turn reports no cost; priced at $1000 per million tokens, a prompt of a few thousand characters costs dollars.
    const noCost = { auto: true, costUsd: null }
    const dir = makeProject(
      {
        workers: [{ model: "mock:scenario.json", max_cycle: 3 }],
        reviewer: "mock:scenario.json",
        budget: { max_cost_usd: 1 },
        prices: { "mock:scenario.json": { input_per_mtok: 1000, output_per_mtok: 1000 } }
      },
      2,
      { turns: { "*": [noCost, noCost, noCost, noCost] } }
    )
    backdateTasks(dir)
    const result = await runCli(["swarm", "--plain"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code).toBe(3)
    expect(result.stdout).toMatch(/the swarm's budget max_cost_usd \$1\.00 reached: \$\d+\.\d\d spent \(estimated\); no new turns/)
    expect(result.stderr).toContain("stopped by its budget")
    const stopped = JSON.parse(fs.readFileSync(path.join(runDirOf(dir), "stopped.json"), "utf8")) as StoppedFile
    expect({ reason: stopped.reason, exitCode: stopped.exitCode }).toEqual({ reason: "budget", exitCode: 3 })
    expect(stopped.budgets).toMatchObject([{ scope: "swarm", limit: "max_cost_usd", value: 1, estimated: true }])
    expect(stopped.workers[0]!.costEstimated).toBe(true)
    const cycle = JSON.parse(fs.readFileSync(path.join(runDirOf(dir), "cycles", "w0-c1.json"), "utf8")) as CycleFile
    expect(cycle.outcome).toBe("interrupted")
    expect(cycle.turns).toHaveLength(1)
    expect(cycle.turns[0]!.costEstimated).toBe(true)
    // Nothing left claimed; the summary table marks the estimate.
    expect(listDir(path.join(dir, "tasks", "current"))).toEqual([])
    expect(listDir(path.join(dir, "tasks", "pending")).sort()).toEqual(["t1.json", "t2.json"])
    expect(result.stdout).toMatch(/~\$\d+\.\d{4}/)

    const view = await runCli(["view"], { cwd: dir, timeoutMs: 60_000 })
    expect(view.stdout).toMatch(/w0-c1\s+interrupted[^\n]*~\$\d/)
    const report = await runCli(["report"], { cwd: dir, timeoutMs: 60_000 })
    expect(report.code).toBe(0)
    expect(report.stdout).toMatch(/Total: ~\$\d+\.\d{4} \(~: estimated/)
  }, 240_000)

  it("a task's own budget: the run goes on and exits 0, the task waits in pending stamped, oompa report lists it for a human", async () => {
    const dir = makeProject({ workers: [{ model: "mock", max_cycle: 3 }], reviewer: "mock" }, 2)
    // One token: the claiming turn's own tokens, charged to it when it is claimed, reach it.
    fs.writeFileSync(path.join(dir, "tasks", "pending", "t1.json"), JSON.stringify({ id: "t1", summary: "task 1", budget: { max_tokens: 1 } }))
    backdateTasks(dir)
    const result = await runCli(["swarm", "--plain"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/task t1's budget max_tokens 1 tokens reached: \d+ tokens spent; no new turns/)
    const t1 = JSON.parse(fs.readFileSync(path.join(dir, "tasks", "pending", "t1.json"), "utf8"))
    expect(t1.budget_reached).toMatchObject({ limit: "max_tokens", value: 1 })
    expect(listDir(path.join(dir, "tasks", "complete"))).toEqual(["t2.json"])
    const stopped = JSON.parse(fs.readFileSync(path.join(runDirOf(dir), "stopped.json"), "utf8")) as StoppedFile
    expect({ reason: stopped.reason, budgets: stopped.budgets?.map((b) => `${b.scope}:${b.id}:${b.limit}`) }).toEqual({
      reason: "completed",
      budgets: ["task:t1:max_tokens"]
    })
    const report = await runCli(["report", "--json"], { cwd: dir, timeoutMs: 60_000 })
    const json = JSON.parse(report.stdout)
    expect(json.needsHuman.map((n: { kind: string }) => n.kind)).toEqual(["budget-reached"])
    expect(json.needsHuman[0].text).toContain("task t1: its budget max_tokens 1 tokens was reached")
  }, 240_000)
})
