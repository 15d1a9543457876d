import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { git, listDir, makeProject } from "../support/cliProject.js"
import { binPath, ensureBuilt, runCli } from "../support/runCli.js"


/**
 * Whether a process is alive (a zombie is not: this machine's init does not
 * reap orphans, so kill(pid, 0) alone would say yes). Waits up to 3 s for a
 * process that was just sent SIGKILL to be gone.
 */
const aliveAfterKill = async (pid: number): Promise<boolean> => {
  const alive = () => {
    try {
      return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))
    } catch {
      return false
    }
  }
  for (let waited = 0; waited < 3000 && alive(); waited += 50) await new Promise((r) => setTimeout(r, 50))
  return alive()
}


describe("oompa swarm (built binary, mock agents as real processes)", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it("runs a swarm to completion: tasks complete, work merged, exit 0", async () => {
    const dir = makeProject({ workers: [{ model: "mock", count: 2, max_cycle: 3 }], reviewer: "mock" }, 3)
    const result = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/\[w[01]\] c1 cycle 1 merged/)
    expect(result.stdout).toContain("worker  model")
    expect(listDir(path.join(dir, "tasks", "complete")).sort()).toEqual(["t1.json", "t2.json", "t3.json"])
    for (const id of ["t1", "t2", "t3"]) expect(git(dir, "show", `main:work/${id}.md`)).toContain(`task ${id.slice(1)}`)
    expect(listDir(path.join(dir, ".oompa", "worktrees"))).toEqual([])
    expect(git(dir, "branch", "--list", "oompa/*")).toBe("")
  }, 180_000)

  it("two swarms on one repository share the queue and serialise their merges: every task merged once", async () => {
    const dir = makeProject({ workers: [{ model: "mock", count: 2, max_cycle: 4, can_plan: false }], reviewer: "mock" }, 6)
    const [a, b] = await Promise.all([
      runCli(["swarm"], { cwd: dir, timeoutMs: 150_000 }),
      runCli(["swarm"], { cwd: dir, timeoutMs: 150_000 })
    ])
    expect([a!.code, b!.code]).toEqual([0, 0])
    const complete = listDir(path.join(dir, "tasks", "complete")).sort()
    expect(complete).toEqual(["t1.json", "t2.json", "t3.json", "t4.json", "t5.json", "t6.json"])
    for (const file of complete) {
      const task = JSON.parse(fs.readFileSync(path.join(dir, "tasks", "complete", file), "utf8"))
      // Each merge commit is on main: no fast-forward overwrote another swarm's merge.
      expect(git(dir, "merge-base", "--is-ancestor", task.merged_commit, "main")).toBe("")
    }
    expect(git(dir, "ls-tree", "--name-only", "main", "work/").split("\n")).toHaveLength(6)
    expect(listDir(path.join(dir, ".oompa", "runs"))).toHaveLength(2)
    expect(listDir(path.join(dir, ".oompa", "worktrees"))).toEqual([])
  }, 180_000)

  it("a bad config exits 2 with the file and JSON path, and touches nothing", async () => {
    const dir = makeProject({ workers: [{ model: "opus" }] }, 1)
    const result = await runCli(["run"], { cwd: dir })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("workers[0].model")
    expect(listDir(path.join(dir, ".oompa"))).toEqual([])
    expect(listDir(path.join(dir, "tasks", "pending"))).toEqual(["t1.json"])
  })

  it("a configured agent CLI that is not installed stops the swarm before anything is touched (exit 2)", async () => {
    const dir = makeProject({ workers: [{ model: "mock" }], reviewer: "claude:opus" }, 1)
    const emptyBin = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-empty-bin-"))
    const result = await runCli(["swarm"], {
      cwd: dir,
      env: { PATH: `${emptyBin}:/usr/bin:/bin`, OOMPA_CLAUDE_BIN: undefined }
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("claude CLI not found on PATH; install @anthropic-ai/claude-code")
    expect(listDir(path.join(dir, ".oompa"))).toEqual([])
    expect(listDir(path.join(dir, "tasks", "pending"))).toEqual(["t1.json"])
  })

  it("a worker that keeps failing makes the swarm exit 1", async () => {
    const dir = makeProject(
      { workers: [{ model: "mock:scenario.json", max_cycle: 3 }], max_consecutive_errors: 1 },
      1,
      { turns: { w0: [{ exit: 7 }] } }
    )
    const result = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code).toBe(1)
    expect(result.stdout).toContain("too-many-errors")
    expect(result.stderr).toContain("stopped after too many consecutive errors")
    expect(listDir(path.join(dir, "tasks", "pending"))).toEqual(["t1.json"])
  }, 180_000)

  it.each(["SIGINT", "SIGHUP"] as const)("%s mid-turn (Ctrl-C; the terminal closing): exit 130, agent process gone, work kept, claim back, no worktree, stopped.json interrupted", async (signal) => {
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 1 }] }, 1, undefined)
    const fifo = path.join(dir, "..", `${path.basename(dir)}.fifo`)
    execFileSync("mkfifo", [fifo])
    fs.writeFileSync(
      path.join(dir, "scenario.json"),
      JSON.stringify({
        turns: {
          // Turn 2 writes work, reports the agent's pid through the FIFO, then never ends.
          w0: [{ auto: true }, { write: { "wip.txt": "half done\n" }, run: [`echo $PPID > ${fifo}`], hang: true }]
        }
      })
    )
    const child = spawn(process.execPath, [binPath, "swarm"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    // Blocks until the agent has written to the FIFO: the turn is running.
    const agentPid = Number(await fs.promises.readFile(fifo, "utf8"))
    expect(agentPid).toBeGreaterThan(0)
    child.kill(signal)
    expect(await exited).toBe(130)

    expect(await aliveAfterKill(agentPid)).toBe(false)
    expect(listDir(path.join(dir, ".oompa", "worktrees"))).toEqual([])
    expect(git(dir, "branch", "--list", "oompa/*")).toBe("")
    expect(listDir(path.join(dir, "tasks", "pending"))).toEqual(["t1.json"])
    expect(listDir(path.join(dir, "tasks", "current"))).toEqual([])
    const [swarm] = listDir(path.join(dir, ".oompa", "runs"))
    const stopped = JSON.parse(fs.readFileSync(path.join(dir, ".oompa", "runs", swarm!, "stopped.json"), "utf8"))
    expect(stopped.reason).toBe("interrupted")
    expect(stopped.exitCode).toBe(130)
    expect(git(dir, "show", `refs/oompa/kept/${swarm}/w0-c1:wip.txt`)).toBe("half done")
    expect(stdout).toContain("cycle 1 interrupted")
  }, 180_000)

  /** A swarm whose agent hangs in turn 2 after starting a grandchild that ignores SIGTERM; resolves once it runs. */
  const startStubbornSwarm = async () => {
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 1 }] }, 1, undefined)
    const fifo = path.join(dir, "..", `${path.basename(dir)}.fifo`)
    execFileSync("mkfifo", [fifo])
    const stubborn = `trap '' TERM; sh -c 'echo $$ > ${fifo}; exec sleep 1000' >/dev/null 2>&1 &`
    fs.writeFileSync(
      path.join(dir, "scenario.json"),
      JSON.stringify({ turns: { w0: [{ auto: true }, { write: { "wip.txt": "half done\n" }, run: [stubborn], hang: true }] } })
    )
    const child = spawn(process.execPath, [binPath, "swarm"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
    let stderr = ""
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    const stderrShows = (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => stderr.includes(text) && resolve()
        child.stderr.on("data", (chunk) => {
          stderr += chunk
          check()
        })
        check()
      })
    const sleeperPid = Number(await fs.promises.readFile(fifo, "utf8"))
    return { dir, child, exited, stderrShows, sleeperPid, stderr: () => stderr }
  }

  it("a second SIGINT kills the agents at once (even one ignoring SIGTERM) and still records the ending", async () => {
    const run = await startStubbornSwarm()
    run.child.kill("SIGINT")
    await run.stderrShows("oompa: stopping")
    const second = Date.now()
    run.child.kill("SIGINT")
    expect(await run.exited).toBe(130)
    const tookMs = Date.now() - second
    expect(run.stderr()).toContain("killed agent processes")
    expect(await aliveAfterKill(run.sleeperPid)).toBe(false)

    // The ending is recorded as for a first Ctrl-C: nothing is left for a later run to recover.
    const [swarm] = listDir(path.join(run.dir, ".oompa", "runs"))
    const stopped = JSON.parse(fs.readFileSync(path.join(run.dir, ".oompa", "runs", swarm!, "stopped.json"), "utf8"))
    expect(stopped.reason).toBe("interrupted")
    expect(listDir(path.join(run.dir, "tasks", "current"))).toEqual([])
    expect(listDir(path.join(run.dir, "tasks", "pending"))).toEqual(["t1.json"])
    expect(listDir(path.join(run.dir, ".oompa", "worktrees"))).toEqual([])
    expect(git(run.dir, "branch", "--list", "oompa/*")).toBe("")
    expect(git(run.dir, "show", `refs/oompa/kept/${swarm}/w0-c1:wip.txt`)).toBe("half done")
    // Not a timed assertion of speed, a bound: without the kill the stubborn child would hold the ending for the 5 s grace.
    expect(tookMs).toBeLessThan(5_000)
  }, 180_000)

  it("a third SIGINT exits without recording the ending; the next run recovers the leftovers", async () => {
    const run = await startStubbornSwarm()
    run.child.kill("SIGINT")
    await run.stderrShows("oompa: stopping")
    run.child.kill("SIGINT")
    await run.stderrShows("killed agent processes")
    run.child.kill("SIGINT")
    expect(await run.exited).toBe(130)
    expect(await aliveAfterKill(run.sleeperPid)).toBe(false)
    const [swarm] = listDir(path.join(run.dir, ".oompa", "runs"))
    fs.writeFileSync(path.join(run.dir, "oompa.json"), JSON.stringify({ workers: [{ model: "mock", max_cycle: 1 }] }))
    const next = await runCli(["swarm"], { cwd: run.dir, timeoutMs: 120_000 })
    expect(next.code).toBe(0)
    // Whatever the third signal cut short, the task ends merged exactly once and nothing is left behind.
    expect(listDir(path.join(run.dir, "tasks", "complete"))).toEqual(["t1.json"])
    expect(listDir(path.join(run.dir, "tasks", "current"))).toEqual([])
    expect(listDir(path.join(run.dir, ".oompa", "worktrees"))).toEqual([])
    expect(fs.existsSync(path.join(run.dir, ".oompa", "runs", swarm!, "stopped.json"))).toBe(true)
  }, 180_000)

  it("SIGINT the moment the run folder appears: it has started.json, and gets its stopped.json", async () => {
    // Before this, a run folder existed before its started.json, and an interruption then left it "starting" for ever.
    const dir = makeProject({ workers: [{ model: "mock", max_cycle: 1 }] }, 1)
    const runs = path.join(dir, ".oompa", "runs")
    const child = spawn(process.execPath, [binPath, "swarm"], { cwd: dir, stdio: ["ignore", "ignore", "ignore"] })
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    // Watch for the first entry in the runs folder, checking every few ms (it does not exist yet at spawn).
    let seen: Array<string> = []
    for (let waited = 0; waited < 60_000 && seen.length === 0; waited += 5) {
      await new Promise((resolve) => setTimeout(resolve, 5))
      seen = listDir(runs)
    }
    child.kill("SIGINT")
    const code = await exited
    // Whether the signal met the hidden staging folder or the finished one, one run folder is left.
    const [swarm, ...others] = listDir(runs)
    expect(swarm).toMatch(/^[0-9a-f]{8}$/)
    expect(others).toEqual([])
    expect(fs.existsSync(path.join(runs, swarm!, "started.json"))).toBe(true)
    const stopped = JSON.parse(fs.readFileSync(path.join(runs, swarm!, "stopped.json"), "utf8"))
    expect([stopped.reason, code]).toEqual(stopped.reason === "completed" ? ["completed", 0] : ["interrupted", 130])
    expect(listDir(path.join(dir, "tasks", "current"))).toEqual([])
  }, 180_000)

  it("a swarm whose every cycle fails and that merges nothing exits 1 and says what failed", async () => {
    const dir = makeProject(
      { workers: [{ model: "mock:scenario.json", max_cycle: 2 }], max_consecutive_errors: 5 },
      1,
      { turns: { w0: [{ exit: 7 }] } }
    )
    const result = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/merged nothing: 2 error cycle\(s\)/)
    expect(result.stderr).toMatch(/w0: c2 error: agent exited with 7/)
    expect(result.stdout).toMatch(/merge-failed\s+stuck\s+no-changes\s+errors/)
    const [swarm] = listDir(path.join(dir, ".oompa", "runs"))
    const stopped = JSON.parse(fs.readFileSync(path.join(dir, ".oompa", "runs", swarm!, "stopped.json"), "utf8"))
    expect(stopped.exitCode).toBe(1)
    expect(stopped.detail).toBe("nothing merged: 2 error")
  }, 180_000)

  it("stall_timeout: a mock agent that goes silent (with a setsid'd sleep) is ended stalled, nothing of it left; resumed with the nudge, it merges", async () => {
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 1, timeout: 120 }], stall_timeout: 2 }, 1, undefined)
    const agentPidFile = path.join(dir, "..", `${path.basename(dir)}.agent.pid`)
    const sleepPidFile = path.join(dir, "..", `${path.basename(dir)}.sleep.pid`)
    // The queue leaves files younger than 2 s alone.
    const past = new Date(Date.now() - 60_000)
    fs.utimesSync(path.join(dir, "tasks", "pending", "t1.json"), past, past)
    fs.writeFileSync(
      path.join(dir, "scenario.json"),
      JSON.stringify({
        turns: {
          w0: [
            { auto: true },
            // Writes work, starts a sleep in a session of its own (out of the agent's group), then says nothing.
            {
              write: { "wip.txt": "half done\n" },
              run: [`echo $PPID > ${agentPidFile}`, `setsid sleep 300 >/dev/null 2>&1 & echo $! > ${sleepPidFile}`],
              say: "never said",
              hang: true
            },
            { append: { "wip.txt": "and the rest" }, say: "Continuing after the nudge.\nCOMPLETE_AND_READY_FOR_MERGE" }
          ]
        }
      })
    )
    const result = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain("turn 2 stalled after 2s of silence")
    expect(result.stdout).toMatch(/\[w0\] c1 cycle 1 merged/)
    expect(await aliveAfterKill(Number(fs.readFileSync(agentPidFile, "utf8")))).toBe(false)
    expect(await aliveAfterKill(Number(fs.readFileSync(sleepPidFile, "utf8")))).toBe(false)
    expect(git(dir, "show", "main:wip.txt")).toBe("half done\nand the rest")
    const [swarm] = listDir(path.join(dir, ".oompa", "runs"))
    const cycle = JSON.parse(fs.readFileSync(path.join(dir, ".oompa", "runs", swarm!, "cycles", "w0-c1.json"), "utf8"))
    expect(cycle.turns.map((t: { kind: string; stalled?: boolean }) => [t.kind, t.stalled ?? false])).toEqual([
      ["start", false],
      ["claimresults", true],
      ["stall-nudge", false]
    ])
    expect(fs.readFileSync(path.join(dir, ".oompa", "runs", swarm!, "logs", "w0-c1-t3.prompt.txt"), "utf8")).toContain(
      "printed nothing for 2s"
    )
  }, 180_000)

  it("oompa demo builds a repository whose history shows the merged work", async () => {
    const dir = path.join(fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "oompa-demo-test-"))), "demo")
    const result = await runCli(["demo", "--dir", dir], { cwd: os.tmpdir(), timeoutMs: 170_000 })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("says NEEDS_CHANGES")
    const complete = listDir(path.join(dir, "tasks", "complete"))
    expect(complete).toHaveLength(8)
    const work = git(dir, "ls-tree", "--name-only", "main", "work/").split("\n")
    expect(work).toHaveLength(8)
    expect(git(dir, "log", "--oneline", "main")).toContain("slugify")
    expect(listDir(path.join(dir, ".oompa", "worktrees"))).toEqual([])
  }, 180_000)
})
