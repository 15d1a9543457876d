import { describe, expect, it } from "vitest"
import { make } from "../../../src/domain/RunEvent.js"
import { applyEvent, emptyView, type SwarmView, type WorkerPhase, type WorkerView } from "../../../src/domain/swarmView.js"
import { visibleWidth } from "../../../src/ui/terminal/ansi.js"
import { compactCount, money, renderFrame, type FrameOptions } from "../../../src/ui/terminal/render.js"
import { busySwarm, lastAt, stamp, T0, viewAt } from "./fixtures.js"

const frame = (view: SwarmView, size: Partial<FrameOptions> = {}) =>
  renderFrame(view, { now: T0 + 90_000, columns: 80, rows: 24, colour: false, footer: "q stop the swarm", ...size })

const ESCAPE = /\u001b/

/** A row per phase, as the fold leaves them; the render test needs every word, not the events that lead there. */
const phases: ReadonlyArray<WorkerPhase> = [
  "starting",
  "working",
  "claiming",
  "reviewing",
  "fixing",
  "merging",
  "waiting for tasks",
  "backing off",
  "rate-limited",
  "stopped"
]
const row = (id: string, phase: WorkerPhase, extra: Partial<WorkerView> = {}): WorkerView => ({
  id,
  model: "claude:opus",
  phase,
  since: T0,
  tasks: [],
  cycle: 1,
  turn: 1,
  log: undefined,
  activity: undefined,
  activityAt: undefined,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
  costEstimated: false,
  cycles: 0,
  merged: 0,
  stopReason: undefined,
  until: undefined,
  stopping: false,
  ...extra
})
const withWorkers = (view: SwarmView, workers: ReadonlyArray<WorkerView>): SwarmView => ({ ...view, workers })

describe("the live view's frame (pure: view + now + size → lines)", () => {
  it("steering: the header says PAUSED while paused; a worker asked to stop after its cycle says so in its state", () => {
    const drafts = busySwarm(2)
    const view = viewAt(drafts)
    const paused = frame({ ...view, paused: true }, { now: lastAt(drafts) + 65_000 })
    expect(paused[0]).toBe("oompa 3fa2b1c9 → main  running 1m 17s · PAUSED: no new turn starts")
    expect(frame(view, { now: lastAt(drafts) + 65_000 })[0]).not.toContain("PAUSED")
    const stopping = withWorkers(view, [row("w0", "working", { stopping: true }), row("w1", "waiting for tasks")])
    const lines = frame(stopping, { columns: 120 })
    expect(lines.find((l) => l.startsWith("w0"))).toContain("working, last cycle")
    expect(lines.find((l) => l.startsWith("w1"))).not.toContain("last cycle")
  })

  it("80×24: exactly 24 lines, none wider than 80; the header's figures; a row per worker; the last events; the keys", () => {
    const drafts = busySwarm(4)
    const lines = frame(viewAt(drafts), { now: lastAt(drafts) + 65_000 })
    expect(lines).toHaveLength(24)
    for (const line of lines) expect(visibleWidth(line)).toBeLessThanOrEqual(80)
    expect(lines[0]).toBe("oompa 3fa2b1c9 → main  running 1m 29s")
    expect(lines[1]).toContain("tasks 0 merged · 4 claimed · 8 pending")
    expect(lines[1]).toContain("tokens 120k in/12k out")
    expect(lines[1]).toContain("$1.25 · –/task")
    expect(lines[2]).toMatch(/^worker\s+model\s+state\s+task\s+c\/t\s+time\s+cost\s+activity$/)
    // Tokens are the first column to give way at 80 columns; the activity keeps its room.
    expect(lines[2]).not.toContain("tokens")
    expect(lines[3]).toMatch(/^w0\s+claude:…\s+working\s+task-0\s+c1 t2\s+1m 24s\s+\$0\.125\s+turn 2 ended: no sign…$/)
    expect(lines.slice(3, 7).map((l) => l.split(/\s+/)[0])).toEqual(["w0", "w1", "w2", "w3"])
    expect(lines[7]).toMatch(/^── events ─+$/)
    expect(lines[22]).toMatch(/^\d\d:\d\d:\d\d \[w3\] c1 turn 2 ended: no signal/)
    expect(lines[23]).toBe("q stop the swarm".padEnd(80))
    expect(lines.join("\n")).not.toMatch(ESCAPE)
  })

  it("grows with the terminal: at 120×40 the model and tokens come back and more events show", () => {
    const drafts = busySwarm(4)
    const view = viewAt(drafts)
    const small = frame(view, { now: lastAt(drafts) })
    const big = frame(view, { now: lastAt(drafts), columns: 120, rows: 40 })
    expect(big).toHaveLength(40)
    expect(big[2]).toMatch(/^worker\s+model\s+state\s+task\s+c\/t\s+time\s+tokens\s+cost\s+activity$/)
    expect(big[4]).toMatch(/^w1\s+codex:gpt-5\.3-codex:m…\s+working\s+task-1\s+c1 t2\s+\d+s\s+26k\s+\$0\.250\s+turn 2 ended: no signal \(1s, \$0\.2500\)$/)
    const events = (lines: ReadonlyArray<string>) => lines.filter((l) => /^\d\d:\d\d:\d\d /.test(l)).length
    expect(events(big)).toBeGreaterThan(events(small))
    expect(events(big)).toBe(Math.min(view.recent.length, 40 - 3 - 4 - 1 - 1 - 1))
  })

  it("every state word shows whole at 80 columns, in its row", () => {
    const view = withWorkers(
      viewAt(busySwarm(0)),
      phases.map((phase, i) => row(`w${i}`, phase, phase === "stopped" ? { stopReason: "max-cycle" } : {}))
    )
    const lines = frame(view)
    for (const [i, phase] of phases.entries()) {
      const line = lines.find((l) => l.startsWith(`w${i} `))!
      expect(line).toContain(phase === "stopped" ? "stopped: max-cycle" : ` ${phase} `)
    }
  })

  it("a back-off and a rate limit show the time they have left; a worker stopped on errors says why", () => {
    const view = withWorkers(viewAt(busySwarm(0)), [
      row("w0", "backing off", { until: T0 + 90_000 + 20_000 }),
      row("w1", "stopped", { stopReason: "too-many-errors" }),
      row("w2", "rate-limited", { until: T0 + 90_000 + 125_000 })
    ])
    const lines = frame(view)
    expect(lines.find((l) => l.startsWith("w0"))).toContain("backing off 20s")
    expect(lines.find((l) => l.startsWith("w2"))).toContain("rate-limited 2m 5s")
    expect(lines.find((l) => l.startsWith("w1"))).toContain("stopped: too-many-errors")
    // Narrower than 80, the state is cut, and never below the longest phase word.
    expect(frame(view, { columns: 60 }).find((l) => l.startsWith("w1"))).toMatch(/^w1\s+stopped: too-man… /)
  })

  it("the agent's own activity, cut to the width, stands in the row; control characters never reach the screen", () => {
    const view = withWorkers(viewAt(busySwarm(0)), [
      row("w0", "working", { activity: "Bash: npm test -- --run test/some/very/long/path/of/a/test/file.test.ts\u001b[2J and more\nlines" })
    ])
    const line = frame(view).find((l) => l.startsWith("w0"))!
    expect(visibleWidth(line)).toBe(80)
    expect(line).toMatch(/  Bash: npm test -- --run.*…$/)
    expect(line).not.toMatch(ESCAPE)
  })

  it("more workers than rows: as many as fit and a count of the rest, the events keep their title and latest line", () => {
    const drafts = busySwarm(30)
    const lines = frame(viewAt(drafts), { now: lastAt(drafts) })
    expect(lines).toHaveLength(24)
    const more = lines.findIndex((l) => /^… \d+ more workers$/.test(l))
    expect(lines[more]).toBe(`… ${30 - (more - 3)} more workers`)
    expect(lines[more + 1]).toMatch(/^── events/)
    expect(lines[more + 2]).toMatch(/\[w29\] c1 turn 2 ended/)
  })

  it("the attention list: rejected work with its kept ref, stuck cycles, workers stopped on errors; newest kept when cut", () => {
    const c = (worker: string) => ({ worker, cycle: 1 })
    const drafts = [
      ...busySwarm(2),
      make.cycleEnded(c("w0"), { outcome: "rejected", detail: "reviewer rejected it", claims: ["task-0"], keptRef: "refs/oompa/kept/3fa2b1c9/w0-c1" }),
      make.cycleEnded(c("w1"), { outcome: "stuck", detail: "no signal after 5 turns", claims: ["task-1"], keptRef: "refs/oompa/kept/3fa2b1c9/w1-c1" }),
      make.workerStopped({ worker: "w1" }, { reason: "too-many-errors", cycles: 3, merged: 0, rejected: 0, mergeFailed: 0, stuck: 1, noChanges: 0, errors: 3 } as never),
      make.backingOff({ worker: "w0" }, { ms: 40_000, consecutiveErrors: 1 })
    ]
    const view = stamp(drafts).reduce(applyEvent, emptyView)
    const lines = frame(view, { now: lastAt(drafts), columns: 120 })
    const start = lines.findIndex((l) => l.startsWith("── attention (4, newest 3)"))
    expect(start).toBeGreaterThan(0)
    expect(lines.slice(start + 1, start + 4)).toEqual([
      expect.stringMatching(/^! w1 c1 stuck: .*\(kept: refs\/oompa\/kept\/3fa2b1c9\/w1-c1\)$/),
      expect.stringMatching(/^! w1 stopped on errors: w1 stopped after 3 error cycle\(s\)/),
      expect.stringMatching(/^! w0 backing off: /)
    ])
    // Taller: all four, the rejected one with its ref first.
    const tall = frame(view, { now: lastAt(drafts), columns: 120, rows: 40 })
    expect(tall.find((l) => l.startsWith("! w0 c1 rejected"))).toMatch(/\(kept: refs\/oompa\/kept\/3fa2b1c9\/w0-c1\)$/)
  })

  it("colour: state words and titles styled, the visible width unchanged; NO colour: not one escape", () => {
    const drafts = busySwarm(3)
    const plain = frame(viewAt(drafts), { now: lastAt(drafts) })
    const coloured = frame(viewAt(drafts), { now: lastAt(drafts), colour: true })
    expect(coloured.join("\n")).toMatch(/\u001b\[32mworking/)
    expect(coloured.map((l) => l.replace(/\u001b\[[0-9;]*m/g, ""))).toEqual(plain)
    expect(plain.join("\n")).not.toMatch(ESCAPE)
  })

  it("printed once (no height): every worker, every attention item, the last 10 events, no keys", () => {
    const drafts = busySwarm(30)
    const lines = renderFrame(viewAt(drafts), { now: lastAt(drafts), columns: 100, rows: undefined, colour: false, footer: "" })
    expect(lines.filter((l) => /^w\d+ /.test(l))).toHaveLength(30)
    expect(lines.filter((l) => /^\d\d:\d\d:\d\d /.test(l))).toHaveLength(10)
    expect(lines.at(-1)).toMatch(/\[w29\] c1 turn 2 ended/)
  })

  it("notes (the dashboard's address) stay above the keys line at any height, cut to the width, never scrolled off by workers", () => {
    const drafts = busySwarm(30)
    const url = "http://127.0.0.1:54321/?token=0123456789abcdefghijklmnopqrstuv#/run/3fa2b1c9"
    const lines = frame(viewAt(drafts), { notes: [`${url} (web dashboard)`] })
    expect(lines).toHaveLength(24)
    expect(lines[22]).toBe(`${url} (w…`)
    expect(lines[23]).toBe("q stop the swarm".padEnd(80))
    expect(lines.some((l) => /more workers$/.test(l))).toBe(true)
    for (const line of lines) expect(visibleWidth(line)).toBeLessThanOrEqual(80)
  })

  it("numbers as a glance wants them", () => {
    expect([950, 1_234, 12_345, 120_000, 4_200_000].map(compactCount)).toEqual(["950", "1.2k", "12k", "120k", "4.2M"])
    expect([0, 0.0042, 3.456, 1234].map((usd) => money(usd))).toEqual(["$0.000", "$0.004", "$3.46", "$1234"])
  })
})
