import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { git, listDir, makeProject } from "../support/cliProject.js"
import { ensureBuilt, runCli } from "../support/runCli.js"

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"))

/** Every merged cycle file of every run under the project, as "task: run/cycle". */
const mergedCycles = (dir: string): Array<string> => {
  const runs = path.join(dir, ".oompa", "runs")
  return listDir(runs).flatMap((swarm) =>
    listDir(path.join(runs, swarm, "cycles")).flatMap((file) => {
      const cycle = readJson(path.join(runs, swarm, "cycles", file))
      return cycle.outcome === "merged" ? cycle.claims.map((id: string) => `${id}: ${swarm}/${file}`) : []
    })
  )
}

describe("crashes at the worst instants (built binary, fault injection)", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it("SIGKILL right after the fast-forward, then cleanup and a new swarm: every task merged exactly once", async () => {
    const dir = makeProject({ workers: [{ model: "mock", max_cycle: 4 }], reviewer: "mock" }, 2)
    // The test-only fault point kills oompa after the target moved, before anything recorded it.
    const crashed = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000, env: { OOMPA_FAULT: "after-advance" } })
    expect(crashed.code).toBe(128 + 9)
    const [swarm] = listDir(path.join(dir, ".oompa", "runs"))
    // The target moved: the first task's work is on main, its claim still in current/.
    const landed = git(dir, "rev-parse", "main")
    expect(git(dir, "ls-tree", "--name-only", "main", "work/")).toBe("work/t1.md")
    expect(listDir(path.join(dir, "tasks", "current"))).toEqual(["t1.json"])

    const cleanup = await runCli(["cleanup"], { cwd: dir, timeoutMs: 60_000 })
    expect(cleanup.code).toBe(0)
    expect(cleanup.stdout).toContain("1 merged claim(s) completed (t1)")
    const t1 = readJson(path.join(dir, "tasks", "complete", "t1.json"))
    expect(t1.merged_commit).toBe(landed)
    expect(t1.completed_by).toBe(`w0@${swarm}`)
    expect(listDir(path.join(dir, "tasks", "pending"))).toEqual(["t2.json"])
    expect(listDir(path.join(dir, ".oompa", "worktrees"))).toEqual([])
    expect(git(dir, "branch", "--list", "oompa/*")).toBe("")
    // The dead run's record now holds the merge it could not write.
    expect(mergedCycles(dir)).toEqual([`t1: ${swarm}/w0-c1.json`])

    const next = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000 })
    expect(next.code).toBe(0)
    expect(listDir(path.join(dir, "tasks", "complete")).sort()).toEqual(["t1.json", "t2.json"])
    const merges = mergedCycles(dir)
    expect(merges.filter((m) => m.startsWith("t1:"))).toHaveLength(1)
    expect(merges.filter((m) => m.startsWith("t2:"))).toHaveLength(1)
    // t1's file was written once: by the crashed run's cycle, never again.
    expect(git(dir, "log", "--format=%H", "main", "--", "work/t1.md").split("\n")).toHaveLength(1)
  }, 240_000)

  it("SIGKILL after the merged claims moved to complete/, before the cycle file: cleanup writes the cycle with its claims; merged exactly once", async () => {
    const dir = makeProject({ workers: [{ model: "mock", max_cycle: 4 }], reviewer: "mock" }, 2)
    const crashed = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000, env: { OOMPA_FAULT: "after-complete" } })
    expect(crashed.code).toBe(128 + 9)
    const [swarm] = listDir(path.join(dir, ".oompa", "runs"))
    // t1 is complete, stamped with its merge; the cycle that merged it left no record.
    const landed = git(dir, "rev-parse", "main")
    expect(listDir(path.join(dir, "tasks", "complete"))).toEqual(["t1.json"])
    expect(readJson(path.join(dir, "tasks", "complete", "t1.json")).merged_commit).toBe(landed)
    expect(mergedCycles(dir)).toEqual([])

    const cleanup = await runCli(["cleanup"], { cwd: dir, timeoutMs: 60_000 })
    expect(cleanup.code).toBe(0)
    expect(git(dir, "branch", "--list", "oompa/*")).toBe("")
    // The dead run's record now holds the merge and the task it landed.
    expect(mergedCycles(dir)).toEqual([`t1: ${swarm}/w0-c1.json`])

    const next = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000 })
    expect(next.code).toBe(0)
    expect(listDir(path.join(dir, "tasks", "complete")).sort()).toEqual(["t1.json", "t2.json"])
    const merges = mergedCycles(dir)
    expect(merges.filter((m) => m.startsWith("t1:"))).toHaveLength(1)
    expect(merges.filter((m) => m.startsWith("t2:"))).toHaveLength(1)
  }, 240_000)

  it("a task left in current/ without a claim stamp (a run killed between the claim's rename and its stamp) goes back to pending", async () => {
    const dir = makeProject({ workers: [{ model: "mock", max_cycle: 2 }] }, 2)
    // What a SIGKILL between the two steps of a claim leaves: the file moved, no claimed_by.
    fs.renameSync(path.join(dir, "tasks", "pending", "t2.json"), path.join(dir, "tasks", "current", "t2.json"))
    const cleanup = await runCli(["cleanup"], { cwd: dir, timeoutMs: 60_000 })
    expect(cleanup.code).toBe(0)
    expect(cleanup.stdout).toContain("1 unclaimed task(s) left in current/ by a stopped run back to pending: t2")
    expect(listDir(path.join(dir, "tasks", "current"))).toEqual([])
    const t2 = readJson(path.join(dir, "tasks", "pending", "t2.json"))
    expect(t2.attempts).toMatchObject([{ outcome: "crashed" }])
    const swarm = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000 })
    expect(swarm.code).toBe(0)
    expect(listDir(path.join(dir, "tasks", "complete")).sort()).toEqual(["t1.json", "t2.json"])
  }, 240_000)
})
