import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { makeProject } from "../../support/cliProject.js"
import { ensureBuilt, runCli } from "../../support/runCli.js"
import { saveScreenshot, startTmux, tmuxAvailable, type Tmux } from "../../support/tmux.js"
import { shell, slowScenario, statesOf } from "./swarmPane.js"

/**
 * `oompa watch` in a real terminal (issue 10): a mock swarm started with
 * `oompa swarm --detach` (its own process, no terminal), and the built
 * binary's watch of it in a tmux pane of a fixed size. The test reads the
 * pane as a person would, leaves the watch with q, checks the swarm went on
 * running, then stops it with `oompa stop` and checks no process is left.
 * Captures go to artifacts/screenshots/ (watch-*).
 */

const COLUMNS = 100
const ROWS = 30

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Processes of this swarm: its own (by its --swarm-id) and any whose folder is in the project's .oompa (its agents). */
const processesOf = (dir: string, swarm: string): Array<number> => {
  const found: Array<number> = []
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    try {
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").join(" ")
      const cwd = fs.readlinkSync(`/proc/${name}/cwd`)
      if (cmdline.includes(`--swarm-id ${swarm}`) || cwd.startsWith(path.join(dir, ".oompa"))) found.push(Number(name))
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found
}

const waitUntil = async (check: () => boolean, what: string, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** `oompa swarm --detach` in `dir`; resolves once its run has started. */
const detach = async (dir: string) => {
  const result = await runCli(["swarm", "--detach"], { cwd: dir })
  expect(result.code, result.stderr).toBe(0)
  const [, swarm, pid] = /^swarm ([0-9a-f]{8}) started in the background \(pid (\d+)\)/.exec(result.stdout)!
  const runDir = path.join(dir, ".oompa", "runs", swarm!)
  await waitUntil(() => fs.existsSync(path.join(runDir, "started.json")), "the detached swarm's started.json")
  return { swarm: swarm!, pid: Number(pid), runDir }
}

describe.skipIf(!tmuxAvailable())("oompa watch in a real terminal (tmux, built binary, a detached swarm)", () => {
  beforeAll(() => ensureBuilt(), 300_000)
  let term: Tmux | undefined
  const swarms: Array<number> = []
  afterEach(async () => {
    await term?.kill()
    term = undefined
    // A failed test must not leave its swarm running: SIGINT ends it as Ctrl-C would.
    for (const pid of swarms.splice(0)) if (alive(pid)) process.kill(pid, "SIGINT")
  })

  it("shows the detached swarm's rows changing; q leaves the watch and the swarm keeps running; oompa stop then leaves no process", async () => {
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 4, count: 2 }], reviewer: "mock:scenario.json" }, 6, slowScenario)
    const { swarm, pid, runDir } = await detach(dir)
    swarms.push(pid)
    term = await startTmux({ name: "watch", columns: COLUMNS, rows: ROWS, cwd: dir, command: shell("watch") })
    const first = await term.waitFor(
      (pane) => new RegExp(`^oompa ${swarm} → main  running`).test(pane) && statesOf(pane).size === 2,
      "the header and both worker rows"
    )
    expect(await term.display("#{alternate_on} #{cursor_flag}")).toBe("1 0")
    const lines = first.split("\n")
    expect(lines[1]).toMatch(/^tasks \d+ merged · \d+ claimed · \d+ pending/)
    expect(lines[2]).toMatch(/^worker\s+model\s+state\s+task\s+c\/t\s+time\s+tokens\s+cost\s+activity/)
    expect(lines[ROWS - 1]).toMatch(/^q quits the watch \(the swarm keeps running\) · oompa stop stops the swarm\s*$/)
    await saveScreenshot(term, "watch-1-running", { columns: COLUMNS, rows: ROWS })

    // The rows change as the other process works: a worker seen working, then reviewing or merging.
    const seen = new Map<string, Set<string>>()
    await term.waitFor((pane) => {
      for (const [worker, state] of statesOf(pane)) seen.set(worker, (seen.get(worker) ?? new Set()).add(state.split(":")[0]!))
      return [...seen.values()].some((states) => states.has("working") && [...states].some((s) => s === "reviewing" || s === "merging"))
    }, "a worker going from working to reviewing or merging")
    // The agents' activity, read from the turn logs the detached swarm writes.
    await term.waitFor((pane) => /^w\d+\s.*\s(Think: for 1500 ms|Write: )/m.test(pane), "an agent's activity in its row")
    await term.waitFor((pane) => /^tasks [1-9]\d* merged/m.test(pane), "a merged task in the header")
    await saveScreenshot(term, "watch-2-merging", { columns: COLUMNS, rows: ROWS })

    await term.sendKeys("q")
    const after = await term.waitFor((pane) => pane.includes("oompa exited with"), "the watch's exit after q", 30_000)
    await saveScreenshot(term, "watch-3-left", { columns: COLUMNS, rows: ROWS })
    expect(after).toContain("oompa exited with 0")
    expect(after).toContain(`left the watch; swarm ${swarm} keeps running (oompa stop stops it)`)
    expect(await term.display("#{alternate_on} #{cursor_flag}")).toBe("0 1")
    // The swarm did not notice: still running, nothing recorded as its end.
    expect(alive(pid)).toBe(true)
    expect(fs.existsSync(path.join(runDir, "stopped.json"))).toBe(false)
    const list = await runCli(["list"], { cwd: dir })
    expect(list.stdout).toMatch(new RegExp(`^${swarm}\\s+\\S+ \\S+\\s+running\\s`, "m"))

    expect(processesOf(dir, swarm)).toContain(pid)
    const stop = await runCli(["stop"], { cwd: dir, timeoutMs: 90_000 })
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toContain(`swarm ${swarm} stopped: stopped-by-user`)
    await waitUntil(() => !alive(pid), "the swarm's process to exit", 30_000)
    await term.kill()
    term = undefined
    await waitUntil(() => processesOf(dir, swarm).length === 0, "no process of the swarm left", 30_000)
  }, 180_000)

  it("a swarm that ends while watched: the view keeps its final state and says it ended; q then quits", async () => {
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 1, count: 2 }], reviewer: "mock:scenario.json" }, 2, slowScenario)
    const { swarm, pid } = await detach(dir)
    swarms.push(pid)
    term = await startTmux({ name: "watch-ends", columns: COLUMNS, rows: ROWS, cwd: dir, command: shell(`watch ${swarm.slice(0, 5)}`) })
    await term.waitFor((pane) => statesOf(pane).size === 2 && /running/.test(pane.split("\n")[0]!), "both rows of the running swarm")
    const ended = await term.waitFor((pane) => pane.split("\n")[ROWS - 1]!.startsWith("swarm ended: completed · q quits"), "the footer saying the swarm ended", 90_000)
    const lines = ended.split("\n")
    expect(lines[0]).toBe(`oompa ${swarm} → main  swarm ${swarm} completed: 2 cycle(s) merged into main`)
    // Each worker stopped after its one cycle.
    expect([...statesOf(ended).values()]).toEqual(["stopped: max-cycle", "stopped: max-cycle"])
    await saveScreenshot(term, "watch-4-ended", { columns: COLUMNS, rows: ROWS })
    // It stays: the final state is there to read until q.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(await term.display("#{alternate_on}")).toBe("1")
    expect((await term.capture()).split("\n")[0]).toBe(lines[0])
    await term.sendKeys("q")
    const after = await term.waitFor((pane) => pane.includes("oompa exited with"), "the watch's exit after q", 30_000)
    expect(after).toContain(`swarm ${swarm} ended: completed`)
    expect(after).toContain("oompa exited with 0")
    expect(await term.display("#{alternate_on} #{cursor_flag}")).toBe("0 1")
  }, 180_000)
})
