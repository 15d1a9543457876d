// herding: do parallel workers race for the same task? 16 mock executors and 64
// tasks, then 1 executor and the same 64 (the baseline: a lone worker never
// loses a claim). Reported: agent turns per merged task, from the cycle files
// (every worker turn: the claim, the work, and any turn spent on a lost claim).
// No reviewer, so the figure is the workers' own turns.
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { bin as builtBin, median, runDirOf, seconds, tempRepo, writeTasks } from "../lib.mjs"

// BENCH_BIN: another build's dist/bin.js (to measure a "before" with the same script).
const bin = process.env.BENCH_BIN ?? builtBin

export const title = "agent turns per merged task, 16 mock executors × 64 tasks (1 × 64 the baseline)"

const TASKS = 64

const once = async (workers) => {
  const { repo, remove } = tempRepo("oompa-bench-herding-")
  writeTasks(repo, TASKS)
  fs.writeFileSync(
    path.join(repo, "oompa.json"),
    JSON.stringify({ workers: [{ model: "mock", count: workers, max_cycle: TASKS, can_plan: false }] })
  )
  const started = process.hrtime.bigint()
  const child = spawn(process.execPath, [bin, "swarm"], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout.on("data", (chunk) => (output += chunk))
  child.stderr.on("data", (chunk) => (output += chunk))
  const status = await new Promise((resolve) => child.on("close", (code) => resolve(code)))
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6
  if (status !== 0) throw new Error(`swarm failed (${status}):\n${output}`)
  const runDir = runDirOf(repo)
  let turns = 0
  let cycles = 0
  let merged = 0
  for (const name of fs.readdirSync(path.join(runDir, "cycles"))) {
    const cycle = JSON.parse(fs.readFileSync(path.join(runDir, "cycles", name), "utf8"))
    cycles += 1
    turns += cycle.turns.length
    if (cycle.outcome === "merged") merged += cycle.claims.length
  }
  const complete = fs.readdirSync(path.join(repo, "tasks", "complete")).length
  remove()
  return { turns, cycles, merged, complete, wallMs }
}

/** 16 executors, then the lone one. */
export const sample = async () => ({ many: await once(16), one: await once(1) })

export const rows = (samples) => {
  const perTask = (r) => r.turns / Math.max(1, r.merged)
  const many = median(samples.map((s) => perTask(s.many)))
  const one = median(samples.map((s) => perTask(s.one)))
  return [
    {
      measure: "turns per merged task, 16 × 64",
      now: `${many.toFixed(1)} (runs: ${samples.map((s) => perTask(s.many).toFixed(1)).join(", ")}; cycles ${samples.map((s) => s.many.cycles).join(", ")})`,
      target: "≤ 2.5",
      met: many <= 2.5
    },
    { measure: "turns per merged task, 1 × 64", now: `${one.toFixed(1)} (the baseline)` },
    {
      measure: "tasks complete",
      now: samples.map((s) => `${s.many.complete}/${s.one.complete}`).join(", "),
      target: `${TASKS}`,
      met: samples.every((s) => s.many.complete === TASKS && s.one.complete === TASKS)
    },
    { measure: "wall, 16 × 64 / 1 × 64", now: `${seconds(median(samples.map((s) => s.many.wallMs)))} / ${seconds(median(samples.map((s) => s.one.wallMs)))}` }
  ]
}
