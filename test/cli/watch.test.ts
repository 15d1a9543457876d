import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeProject } from "../support/cliProject.js"
import { binPath, ensureBuilt, runCli } from "../support/runCli.js"

/**
 * `oompa watch` through the built binary, stdout a pipe (no terminal): the
 * frame of the live view printed, read from the run files of real mock
 * swarms. The full-screen view on a terminal is test/ui/terminal/watchTerminal.test.ts.
 */

const ESCAPE = /\u001b/
/** A pid no process has: beyond Linux's largest pid_max (2^22). */
const deadPid = 2 ** 22 + 7
const rowsOf = (out: string) => out.split("\n").filter((l) => /^w\d+\s/.test(l))

const waitFor = async (check: () => boolean, what: string, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe("oompa watch, not on a terminal (built binary, mock agents)", () => {
  let dir = ""
  let swarm = ""
  const runsDir = () => path.join(dir, ".oompa", "runs")

  beforeAll(async () => {
    await ensureBuilt()
    dir = makeProject({ workers: [{ model: "mock", count: 2, max_cycle: 2 }], reviewer: "mock" }, 2)
    const result = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code, result.stderr).toBe(0)
    swarm = fs.readdirSync(runsDir())[0]!
  }, 300_000)

  it("a finished run: its final frame printed once (header with the ending, a row per worker, the last events), exit 0, no escape", async () => {
    const result = await runCli(["watch"], { cwd: dir, env: { COLUMNS: "100" } })
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stdout.trimEnd().split("\n")
    expect(lines[0]).toBe(`oompa ${swarm} → main  swarm ${swarm} completed: 2 cycle(s) merged into main`)
    expect(lines[1]).toMatch(/^tasks 2 merged · 0 claimed · 0 pending/)
    expect(lines[2]).toMatch(/^worker\s+model\s+state\s+task\s+c\/t\s+time\s+tokens\s+cost\s+activity$/)
    const rows = rowsOf(result.stdout)
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(["w0", "w1"])
    for (const row of rows) expect(row).toMatch(/^w\d\s+mock\s+stopped: done\s/)
    expect(lines).toContain("── events " + "─".repeat(90))
    expect(lines.at(-1)).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d \\[oompa\\] swarm ${swarm} completed`))
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100)
    // No keys line: nothing to press.
    expect(result.stdout).not.toContain("q quits")
    expect(result.stdout).not.toMatch(ESCAPE)
    // Named by a prefix, and --plain: the same frame.
    const named = await runCli(["watch", swarm.slice(0, 4), "--plain"], { cwd: dir, env: { COLUMNS: "100" } })
    expect(named.code).toBe(0)
    expect(named.stdout).toBe(result.stdout)
  })

  it("80 columns without $COLUMNS; colour when forced, none under NO_COLOR", async () => {
    const plain = await runCli(["watch"], { cwd: dir, env: { COLUMNS: undefined } })
    expect(plain.code).toBe(0)
    for (const line of plain.stdout.trimEnd().split("\n")) expect(line.length).toBeLessThanOrEqual(80)
    expect(plain.stdout.split("\n")).toContain("── events " + "─".repeat(70))
    const forced = await runCli(["watch"], { cwd: dir, env: { NO_COLOR: undefined, FORCE_COLOR: "1" } })
    expect(forced.stdout).toMatch(ESCAPE)
  })

  it("an unknown swarm: a clear error naming the known runs, exit 2, nothing on stdout", async () => {
    const result = await runCli(["watch", "zzzz"], { cwd: dir })
    expect(result.code).toBe(2)
    expect(result.stdout).toBe("")
    expect(result.stderr).toContain(`no run "zzzz"; known runs: ${swarm}`)
  })

  it("no runs yet: exit 2", async () => {
    const empty = makeProject({ workers: [{ model: "mock" }] }, 0)
    const result = await runCli(["watch"], { cwd: empty })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("No runs yet")
  })

  it("a crashed run (process gone, no swarm-stopped): shown stopped as crashed, not running for ever", async () => {
    const crashed = "0badf11e"
    const from = path.join(runsDir(), swarm)
    const to = path.join(runsDir(), crashed)
    fs.cpSync(from, to, { recursive: true })
    try {
      const started = JSON.parse(fs.readFileSync(path.join(to, "started.json"), "utf8")) as Record<string, unknown>
      fs.writeFileSync(path.join(to, "started.json"), JSON.stringify({ ...started, swarm: crashed, pid: deadPid }))
      fs.rmSync(path.join(to, "stopped.json"))
      const events = fs.readFileSync(path.join(to, "events.jsonl"), "utf8").trimEnd().split("\n")
      fs.writeFileSync(path.join(to, "events.jsonl"), events.filter((l) => !l.includes('"swarm-stopped"')).join("\n") + "\n")
      const result = await runCli(["watch", crashed], { cwd: dir, env: { COLUMNS: "200" } })
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout.split("\n")[0]).toMatch(/^oompa \S+ → main  crashed: the swarm's process ended without recording its end/)
      expect(result.stdout).not.toMatch(/running \d/)
    } finally {
      fs.rmSync(to, { recursive: true, force: true })
    }
  })
})

describe("oompa watch of a running swarm, not on a terminal", () => {
  const dirs: Array<string> = []
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
  })
  beforeAll(() => ensureBuilt(), 300_000)

  it("its state now, then a line per new event as the swarm writes it, then its final state; exit 0 when it ends", async () => {
    const scenario = { turns: { "*": Array.from({ length: 4 }, () => ({ auto: true, delayMs: 700 })) } }
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 2, count: 2 }], reviewer: "mock:scenario.json" }, 2, scenario)
    dirs.push(dir)
    const detached = await runCli(["swarm", "--detach"], { cwd: dir })
    expect(detached.code, detached.stderr).toBe(0)
    const swarm = /^swarm ([0-9a-f]{8}) started in the background/.exec(detached.stdout)![1]!
    const events = path.join(dir, ".oompa", "runs", swarm, "events.jsonl")
    await waitFor(() => fs.existsSync(events) && fs.readFileSync(events, "utf8").includes('"worker-started"'), "the swarm's first events")
    const result = await runCli(["watch"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code, result.stderr).toBe(0)
    const out = result.stdout
    const marker = `── swarm ${swarm} runs: its new events until it ends (Ctrl-C leaves it running) ──`
    expect(out).toContain(marker)
    const [before, after] = out.split(marker) as [string, string]
    expect(before.split("\n")[0]).toMatch(new RegExp(`^oompa ${swarm} → main  running `))
    // The new events as lines, the swarm's end among them, then the final frame.
    expect(after).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d \\[oompa\\] swarm ${swarm} completed: 2 cycle\\(s\\) merged into main$`, "m"))
    const finalFrame = after.slice(after.lastIndexOf(`oompa ${swarm} → main`))
    expect(finalFrame.split("\n")[0]).toBe(`oompa ${swarm} → main  swarm ${swarm} completed: 2 cycle(s) merged into main`)
    expect(rowsOf(finalFrame).every((r) => /stopped: done/.test(r))).toBe(true)
    // New events came as lines after the first frame.
    const newLines = after.slice(0, after.lastIndexOf(`oompa ${swarm} → main`)).split("\n").filter((l) => /^\d\d:\d\d:\d\d /.test(l))
    expect(newLines.length).toBeGreaterThan(1)
    expect(fs.existsSync(path.join(dir, ".oompa", "runs", swarm, "stopped.json"))).toBe(true)
  }, 180_000)

  it("Ctrl-C (SIGINT) leaves the watch, says so, and the swarm keeps running", async () => {
    const scenario = { turns: { "*": Array.from({ length: 6 }, () => ({ auto: true, delayMs: 1500 })) } }
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 4, count: 1 }], reviewer: "mock:scenario.json" }, 4, scenario)
    dirs.push(dir)
    const detached = await runCli(["swarm", "--detach"], { cwd: dir })
    expect(detached.code, detached.stderr).toBe(0)
    const [, swarm, pidText] = /^swarm ([0-9a-f]{8}) started in the background \(pid (\d+)\)/.exec(detached.stdout)!
    const pid = Number(pidText)
    const runDir = path.join(dir, ".oompa", "runs", swarm!)
    try {
      await waitFor(() => fs.existsSync(path.join(runDir, "started.json")), "the swarm's started.json")
      const watch = spawn(process.execPath, [binPath, "watch"], { cwd: dir, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      watch.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
      watch.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
      const exited = new Promise<number | null>((resolve) => watch.on("close", (code) => resolve(code)))
      await waitFor(() => stdout.includes("its new events until it ends"), "the watch following the events")
      watch.kill("SIGINT")
      expect(await exited).toBe(130)
      expect(stderr).toContain("oompa watch: leaving (the swarm, if it runs, keeps running; oompa stop stops it)")
      expect(stderr).not.toContain("agents get 5 s")
      // The swarm went on.
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(() => process.kill(pid, 0)).not.toThrow()
      expect(fs.existsSync(path.join(runDir, "stopped.json"))).toBe(false)
    } finally {
      const stop = await runCli(["stop", swarm!], { cwd: dir, timeoutMs: 90_000 })
      expect(stop.stdout).toContain(`swarm ${swarm} stopped: stopped-by-user`)
    }
  }, 180_000)
})
