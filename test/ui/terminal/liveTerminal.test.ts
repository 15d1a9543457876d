import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { listDir, makeProject } from "../../support/cliProject.js"
import { ensureBuilt } from "../../support/runCli.js"
import { saveScreenshot, startTmux, tmuxAvailable, type Tmux } from "../../support/tmux.js"
import { shell, slowScenario, statesOf } from "./swarmPane.js"

/**
 * The live terminal view in a real terminal (issue 10): the built binary runs
 * a mock swarm in a detached tmux session of a fixed size; the test reads the
 * pane as a person would see it, watches the rows change, presses the stop
 * key and checks the swarm stopped cleanly and the terminal was given back.
 * Captures (text, and PNG when chromium is installed) go to artifacts/screenshots/.
 */

const COLUMNS = 100
const ROWS = 30

const slowProject = (workers: number, tasks: number) =>
  makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 4, count: workers }], reviewer: "mock:scenario.json" }, tasks, slowScenario)

const runDirOf = (dir: string) => path.join(dir, ".oompa", "runs", listDir(path.join(dir, ".oompa", "runs"))[0]!)

describe.skipIf(!tmuxAvailable())("the live terminal view in a real terminal (tmux, built binary)", () => {
  beforeAll(() => ensureBuilt(), 300_000)
  let term: Tmux | undefined
  afterEach(async () => {
    await term?.kill()
    term = undefined
  })

  it("`oompa swarm` redraws one screen as workers move through their states; q stops the swarm cleanly and gives the terminal back", async () => {
    const dir = slowProject(2, 6)
    term = await startTmux({ name: "swarm", columns: COLUMNS, rows: ROWS, cwd: dir, command: shell("swarm") })
    const first = await term.waitFor((pane) => /^oompa [0-9a-f]{8} → main  running/.test(pane) && statesOf(pane).size === 2, "the header and both worker rows")
    expect(await term.display("#{alternate_on} #{cursor_flag}")).toBe("1 0")
    const lines = first.split("\n")
    expect(lines[1]).toMatch(/^tasks \d+ merged · \d+ claimed · \d+ pending   tokens \S+ in\/\S+ out   \$\S+ · \S+\/task/)
    expect(lines[2]).toMatch(/^worker\s+model\s+state\s+task\s+c\/t\s+time\s+tokens\s+cost\s+activity/)
    expect(lines.some((l) => /^── events ─+$/.test(l))).toBe(true)
    expect(lines[ROWS - 1]).toMatch(/^q stop the swarm/)
    await saveScreenshot(term, "swarm-1-started", { columns: COLUMNS, rows: ROWS })

    // Rows change in place: each worker is seen working, and then in another state of its cycle.
    const seen = new Map<string, Set<string>>()
    const moved = (pane: string) => {
      for (const [worker, state] of statesOf(pane)) seen.set(worker, (seen.get(worker) ?? new Set()).add(state.split(":")[0]!))
      return [...seen.values()].some((states) => states.has("working") && [...states].some((s) => s === "reviewing" || s === "merging"))
    }
    await term.waitFor(moved, "a worker going from working to reviewing or merging")
    // The agent's latest activity, read from its turn log (the mock agent says what each step does).
    await term.waitFor((pane) => /^w\d+\s.*\s(Think: for 1500 ms|Write: )/m.test(pane), "an agent's activity in its row")
    const merged = await term.waitFor((pane) => /^tasks [1-9]\d* merged/m.test(pane), "a merged task in the header")
    expect(merged.replace(/\n$/, "").split("\n")).toHaveLength(ROWS)
    await saveScreenshot(term, "swarm-2-merging", { columns: COLUMNS, rows: ROWS })

    await term.sendKeys("q")
    await term.waitFor((pane) => pane.includes("oompa exited with"), "the swarm's exit after q", 90_000)
    const after = await term.capture()
    await saveScreenshot(term, "swarm-3-stopped", { columns: COLUMNS, rows: ROWS })
    expect(after).toContain("oompa exited with 130")
    // The normal screen holds the record: the last event lines, then the summary table.
    expect(after).toMatch(/^\[oompa\] swarm [0-9a-f]{8} interrupted: \d+ cycle\(s\) merged into main$/m)
    expect(after).toMatch(/^worker\s+model\s+cycles\s+merged/m)
    expect(after).not.toContain("q stop the swarm")
    // Said while the view was up, kept and written after it.
    expect(after).toContain("oompa: stopping")
    // The terminal given back: normal screen, cursor shown.
    expect(await term.display("#{alternate_on} #{cursor_flag}")).toBe("0 1")
    const stopped = JSON.parse(fs.readFileSync(path.join(runDirOf(dir), "stopped.json"), "utf8")) as { reason: string; exitCode: number }
    expect(stopped).toMatchObject({ reason: "interrupted", exitCode: 130 })
    // The run files are as without the view: every event is in events.jsonl, the last being swarm-stopped.
    const events = fs.readFileSync(path.join(runDirOf(dir), "events.jsonl"), "utf8").trim().split("\n")
    expect(JSON.parse(events.at(-1)!)).toMatchObject({ type: "swarm-stopped" })
  }, 180_000)

  it("a swarm that ends by itself leaves the view and prints its summary; a resize redraws the frame at the new size", async () => {
    const dir = makeProject(
      { workers: [{ model: "mock:scenario.json", max_cycle: 1, count: 2 }], reviewer: "mock:scenario.json" },
      2,
      slowScenario
    )
    term = await startTmux({ name: "ends", columns: 80, rows: 24, cwd: dir, command: shell("swarm") })
    await term.waitFor((pane) => statesOf(pane).size === 2, "both worker rows")
    await term.resize(120, 40)
    const wide = await term.waitFor((pane) => pane.split("\n").some((l) => l.startsWith("── events ") && l.length === 120), "the events rule across 120 columns")
    expect(wide.split("\n")[39]).toMatch(/^q stop the swarm/)
    const after = await term.waitFor((pane) => pane.includes("oompa exited with"), "the swarm's own end", 90_000)
    expect(after).toContain("oompa exited with 0")
    expect(after).toMatch(/^\[oompa\] swarm [0-9a-f]{8} completed: 2 cycle\(s\) merged into main$/m)
    expect(after).toMatch(/^total\s/m)
    expect(await term.display("#{alternate_on} #{cursor_flag}")).toBe("0 1")
  }, 180_000)

  it("--ui: the dashboard's address stays on the screen above the keys while the view covers where it was printed", async () => {
    const dir = slowProject(1, 2)
    term = await startTmux({ name: "ui", columns: COLUMNS, rows: ROWS, cwd: dir, command: shell("swarm --ui") })
    const pane = await term.waitFor((text) => statesOf(text).size === 1, "the worker row")
    const lines = pane.replace(/\n$/, "").split("\n")
    const id = /^oompa ([0-9a-f]{8}) /.exec(lines[0]!)![1]!
    expect(lines[ROWS - 2]).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/\\?token=[\\w-]+#/run/${id} \\(web dashboard\\)$`))
    expect(lines[ROWS - 1]).toMatch(/^q stop the swarm/)
    await saveScreenshot(term, "swarm-ui-address", { columns: COLUMNS, rows: ROWS })
    await term.sendKeys("q")
    const after = await term.waitFor((text) => text.includes("oompa exited with"), "the swarm's exit after q", 90_000)
    expect(after).toContain("oompa exited with 130")
  }, 120_000)

  it("steering keys (docs/steering.md): p pauses and resumes, 2 then w stops w1 after its cycle; the header and footer say so", async () => {
    // The agents' turns hang: the swarm stays up while the keys steer it, and q ends it.
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 1, count: 2 }] }, 2, {
      turns: { w0: [{ hang: true }], w1: [{ hang: true }] }
    })
    term = await startTmux({ name: "steer", columns: COLUMNS, rows: ROWS, cwd: dir, command: shell("swarm") })
    await term.waitFor((pane) => [...statesOf(pane).values()].filter((s) => s === "working").length === 2, "both workers working")
    await term.sendKeys("p")
    const paused = await term.waitFor((pane) => /^oompa [0-9a-f]{8} → main  running \S+( \S+)? · PAUSED: no new turn starts$/m.test(pane), "PAUSED in the header")
    expect(paused).toMatch(/· p resume · .*─ paused: no new turn/)
    await saveScreenshot(term, "swarm-steer-paused", { columns: COLUMNS, rows: ROWS })
    await term.sendKeys("p")
    await term.waitFor((pane) => pane.includes("─ resumed: turns start again") && !pane.includes("PAUSED"), "the resume")
    await term.sendKeys("2")
    await term.waitFor((pane) => pane.includes("w stop w1 after its cycle"), "w1 picked")
    await term.sendKeys("w")
    const stopping = await term.waitFor((pane) => /^w1\s.*working, last cycle/m.test(pane), "w1 marked as in its last cycle")
    expect(stopping).toContain("─ worker w1 stops")
    expect(stopping).not.toMatch(/^w0\s.*last cycle/m)
    await term.sendKeys("q")
    const after = await term.waitFor((pane) => pane.includes("oompa exited with"), "the swarm's exit after q", 90_000)
    expect(after).toContain("oompa exited with 130")
    const steered = fs
      .readFileSync(path.join(runDirOf(dir), "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
      .filter((e) => e.type === "steered")
      .map((e) => [e.data.action, e.data.by])
    expect(steered).toEqual([["pause", "terminal"], ["resume", "terminal"], ["stop-worker", "terminal"]])
  }, 180_000)

  it("--plain on a terminal: today's line stream, no screen taken over", async () => {
    const dir = makeProject({ workers: [{ model: "mock", max_cycle: 1 }] }, 1)
    term = await startTmux({ name: "plain", columns: COLUMNS, rows: 50, cwd: dir, command: shell("swarm --plain") })
    const after = await term.waitFor((pane) => pane.includes("oompa exited with"), "the swarm's end", 90_000)
    expect(after).toMatch(/^\[oompa\] swarm [0-9a-f]{8} on main: 1 worker\(s\)/m)
    expect(after).toMatch(/^\[w0\] c1 turn 1 \(start\)$/m)
    expect(after).not.toContain("q stop the swarm")
  }, 120_000)
})
