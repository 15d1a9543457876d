import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { listDir, makeProject } from "../support/cliProject.js"
import { binPath, ensureBuilt, runCli } from "../support/runCli.js"
import { waitUntil } from "../support/waitUntil.js"

/**
 * SPEC §11, binary level: for a completed, an interrupted (SIGINT) and a
 * crashed (kill -9, then `oompa cleanup`) run, the per-worker numbers —
 * cycles, merged, turns, tokens, cost — in stopped.json, in the summary table
 * the swarm prints at its end, in `oompa view` and summed over the cycle files
 * are the same.
 */

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"))

interface Numbers {
  readonly cycles: number
  readonly merged: number
  readonly turns: number
  readonly tokens: string
  readonly cost: string
}

/** The cycle files of one worker, summed. */
const fromCycleFiles = (cycles: ReadonlyArray<any>, worker: string): Numbers => {
  const own = cycles.filter((c) => c.worker === worker)
  return {
    cycles: own.length,
    merged: own.filter((c) => c.outcome === "merged").length,
    turns: own.reduce((n, c) => n + c.turns.length, 0),
    tokens: `${own.reduce((n, c) => n + c.usage.inputTokens, 0)}/${own.reduce((n, c) => n + c.usage.outputTokens, 0)}`,
    cost: `$${own.reduce((n, c) => n + (c.costUsd ?? 0), 0).toFixed(4)}`
  }
}

const fromStopped = (w: any): Numbers => ({
  cycles: w.cycles,
  merged: w.merged,
  turns: w.turns,
  tokens: `${w.usage.inputTokens}/${w.usage.outputTokens}`,
  cost: `$${w.costUsd.toFixed(4)}`
})

/** A worker's row of a printed summary table (the swarm's last output, or view's). */
const fromTable = (output: string, worker: string): Numbers => {
  const cells = output
    .split("\n")
    .find((line) => line.startsWith(`${worker} `))
    ?.split(/\s{2,}/)
  if (cells === undefined) throw new Error(`no row for ${worker} in:\n${output}`)
  if (worker === "total") cells.splice(1, 0, "") // its model cell is empty
  return { cycles: Number(cells[2]), merged: Number(cells[3]), turns: Number(cells[9]), tokens: cells[10]!, cost: cells[11]! }
}

/** Checks every source against the cycle files; returns the cycle files for further checks. */
const expectAgreement = async (dir: string, swarm: string, printedTable: string | undefined) => {
  const runDir = path.join(dir, ".oompa", "runs", swarm)
  const cycles = listDir(path.join(runDir, "cycles")).map((name) => readJson(path.join(runDir, "cycles", name)))
  const stopped = readJson(path.join(runDir, "stopped.json"))
  const view = await runCli(["view", swarm], { cwd: dir })
  expect(view.code).toBe(0)
  expect(view.stderr).toBe("")
  const workers = stopped.workers.map((w: any) => w.id as string)
  expect(workers).toEqual(readJson(path.join(runDir, "started.json")).workers.map((w: any) => w.id))
  for (const worker of workers) {
    const truth = fromCycleFiles(cycles, worker)
    expect(fromStopped(stopped.workers.find((w: any) => w.id === worker)), `stopped.json ${worker}`).toEqual(truth)
    expect(fromTable(view.stdout, worker), `oompa view ${worker}`).toEqual(truth)
    if (printedTable !== undefined) expect(fromTable(printedTable, worker), `summary table ${worker}`).toEqual(truth)
  }
  // The totals row of view's table is the sum of the cycle files.
  const all = { cycles: cycles.length, merged: cycles.filter((c) => c.outcome === "merged").length }
  const total = fromTable(view.stdout, "total")
  expect([total.cycles, total.merged]).toEqual([all.cycles, all.merged])
  return { cycles, stopped }
}

/**
 * Resolves once the run's events.jsonl has an event matching `predicate`,
 * re-checking on every change of the folders on the way (watched before each
 * check, no polling).
 */
const waitForEvent = async (dir: string, swarm: string, predicate: (event: any) => boolean, timeoutMs = 60_000) => {
  const runsDir = path.join(dir, ".oompa", "runs")
  const runDir = path.join(runsDir, swarm)
  fs.mkdirSync(runsDir, { recursive: true })
  await waitUntil(runsDir, () => fs.existsSync(runDir), "the run folder", timeoutMs)
  const eventsFile = path.join(runDir, "events.jsonl")
  await waitUntil(
    runDir,
    () =>
      fs.existsSync(eventsFile) &&
      fs
        .readFileSync(eventsFile, "utf8")
        .split("\n")
        .some((line) => {
          if (line.trim() === "") return false
          try {
            return predicate(JSON.parse(line))
          } catch {
            return false // a line still being written
          }
        }),
    "the event",
    timeoutMs
  )
}

/** The swarm as a child of the test, its output collected; resolves with it when it exits. */
const startSwarm = (dir: string, swarm: string) => {
  const child = spawn(process.execPath, [binPath, "swarm", "--swarm-id", swarm], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
  child.stderr!.resume()
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, stdout }))
  )
  return { child, exited }
}

/** The printed summary table: from its header line to the end of the output. */
const tableIn = (stdout: string): string => {
  const at = stdout.lastIndexOf("\nworker ")
  if (at === -1) throw new Error(`no summary table in:\n${stdout}`)
  return stdout.slice(at + 1)
}

/** Cycle 1 runs to its merge; cycle 2 claims a task and its second turn hangs. */
const hangInCycle2 = { turns: { "w0-c2": [{ auto: true }, { hang: true }] } }
const inCycle2Turn2 = (event: any) => event.type === "turn-started" && event.worker === "w0" && event.cycle === 2 && event.data?.turn === 2

describe("stopped.json, the summary table, view and the cycle files agree (built binary, mock agents)", () => {
  const children: Array<ChildProcess> = []
  beforeAll(() => ensureBuilt(), 300_000)
  afterEach(() => {
    // Only if a test failed half-way: do not leave a swarm running.
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  })

  it("a completed run", async () => {
    const dir = makeProject({ workers: [{ model: "mock", count: 2, max_cycle: 2 }], reviewer: "mock" }, 3)
    const result = await runCli(["swarm", "--swarm-id", "a9ee0001"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code).toBe(0)
    const { cycles, stopped } = await expectAgreement(dir, "a9ee0001", tableIn(result.stdout))
    expect(stopped.reason).toBe("completed")
    expect(cycles.filter((c) => c.outcome === "merged")).toHaveLength(3)
  }, 180_000)

  it("an interrupted run (SIGINT to the swarm): the interrupted cycle counts", async () => {
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 3 }], reviewer: "mock" }, 2, hangInCycle2)
    const swarm = "a9ee0002"
    const { child, exited } = startSwarm(dir, swarm)
    children.push(child)
    await waitForEvent(dir, swarm, inCycle2Turn2)
    child.kill("SIGINT")
    const result = await exited
    expect(result.code).toBe(130)
    const { cycles, stopped } = await expectAgreement(dir, swarm, tableIn(result.stdout))
    expect(stopped.reason).toBe("interrupted")
    expect(cycles.map((c) => c.outcome).sort()).toEqual(["interrupted", "merged"])
    expect(stopped.workers[0].cycles).toBe(2)
    expect(stopped.workers[0].stopReason).toBe("interrupted")
  }, 180_000)

  it("a crashed run (kill -9), recovered by oompa cleanup", async () => {
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 3 }], reviewer: "mock" }, 2, hangInCycle2)
    const swarm = "a9ee0003"
    const { child, exited } = startSwarm(dir, swarm)
    children.push(child)
    await waitForEvent(dir, swarm, inCycle2Turn2)
    child.kill("SIGKILL")
    expect((await exited).signal).toBe("SIGKILL")
    const cleanup = await runCli(["cleanup"], { cwd: dir, timeoutMs: 60_000 })
    expect(cleanup.code).toBe(0)
    const { cycles, stopped } = await expectAgreement(dir, swarm, undefined)
    expect(stopped.reason).toBe("error")
    // The cycle the crash cut short has no file: it ran no recorded turn to its end.
    expect(cycles.map((c) => `${c.worker}-c${c.cycle} ${c.outcome}`)).toEqual(["w0-c1 merged"])
    expect(stopped.workers[0]).toMatchObject({ id: "w0", cycles: 1, merged: 1, stopReason: "crashed" })
  }, 180_000)
})
