import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { listDir, makeProject } from "../support/cliProject.js"
import { ensureBuilt, runCli } from "../support/runCli.js"

/**
 * The terminal (issue 8): a swarm prints oompa's event lines and its summary
 * table, never a raw logger line; its diagnostics go to the run's oompa.log,
 * and reach stderr only at `--log-level`. A note worth saying once (claude's
 * IS_SANDBOX=1 as root) is said once per swarm.
 */

const fakeAgent = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "fake-clis", "fake-agent.mjs")
const LOGGER_LINE = /timestamp=|level=[A-Z]|fiber=#/

/**
 * A project whose queue holds a task file that does not decode (quarantined, with a diagnostic).
 * The file is dated in the past: a file younger than the queue's grace may still be being
 * written, and the swarm leaves it alone at start.
 */
const projectWithBadTask = () => {
  const dir = makeProject({ workers: [{ model: "mock", max_cycle: 1 }], reviewer: "mock" }, 1)
  const bad = path.join(dir, "tasks", "pending", "bad.json")
  fs.writeFileSync(bad, JSON.stringify({ id: "bad", summary: 42 }))
  fs.utimesSync(bad, new Date(2000, 0, 1), new Date(2000, 0, 1))
  return dir
}

const onlyRun = (dir: string) => path.join(dir, ".oompa", "runs", listDir(path.join(dir, ".oompa", "runs"))[0]!)

/** Every stdout line is an event line, or the summary table after the blank line before it. */
const expectOnlyEventLines = (stdout: string) => {
  const [events, table] = stdout.split("\n\n")
  for (const line of events!.trim().split("\n")) expect(line).toMatch(/^\[(oompa|w\d+|planner)\]( c\d+)? /)
  expect(table).toMatch(/^worker\s+model\s+cycles/)
  expect(stdout).not.toMatch(LOGGER_LINE)
}

describe("the terminal shows oompa's event lines only (built binary)", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it("by default: no logger line on stdout or stderr; the diagnostic is in the run's oompa.log", async () => {
    const dir = projectWithBadTask()
    const result = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code).toBe(0)
    expectOnlyEventLines(result.stdout)
    expect(result.stderr).toBe("")
    const log = fs.readFileSync(path.join(onlyRun(dir), "oompa.log"), "utf8")
    expect(log).toMatch(/^\S+Z INFO task queue: .*bad\.json/m)
    expect(log).not.toMatch(/fiber=#/)
  }, 180_000)

  it("--log-level info: the same diagnostic on stderr too; stdout unchanged in kind", async () => {
    const dir = projectWithBadTask()
    const result = await runCli(["swarm", "--log-level", "info"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code).toBe(0)
    expectOnlyEventLines(result.stdout)
    expect(result.stderr).toMatch(/INFO task queue: .*bad\.json/)
    expect(fs.readFileSync(path.join(onlyRun(dir), "oompa.log"), "utf8")).toMatch(/INFO task queue: .*bad\.json/)
  }, 180_000)

  it.skipIf(process.getuid?.() !== 0)("claude as root: IS_SANDBOX=1 is noted once per swarm, not once per turn", async () => {
    const dir = makeProject({ workers: [{ model: "claude:sonnet", max_cycle: 3 }] }, 3)
    const result = await runCli(["swarm", "--log-level", "info"], {
      cwd: dir,
      timeoutMs: 120_000,
      env: { OOMPA_CLAUDE_BIN: fakeAgent, IS_SANDBOX: undefined, FAKE_TEXT: "nothing to do" }
    })
    const run = onlyRun(dir)
    const turns = listDir(path.join(run, "logs")).filter((f) => /-t\d+\.log$/.test(f))
    expect(turns.length).toBeGreaterThan(1)
    expect(result.stdout).not.toContain("IS_SANDBOX")
    expect(result.stderr.match(/IS_SANDBOX=1/g)).toHaveLength(1)
    expect(fs.readFileSync(path.join(run, "oompa.log"), "utf8").match(/IS_SANDBOX=1/g)).toHaveLength(1)
  }, 180_000)
})
