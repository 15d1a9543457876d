// Agent output must not cost oompa memory (SPEC §9: output goes to log files, never held
// whole): 16 mock workers whose first turn prints 200 MB each (1 KiB lines, then its
// usual work on one task each), beside the same swarm printing nothing; oompa's peak
// resident set (VmHWM just before it exits) for both.
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { bin, median, mib, peakRssHook, readPeakRss, seconds, tempRepo, writeTasks } from "../lib.mjs"

export const title = "agent output: peak RSS of a swarm of 16 mock workers printing 200 MB each, beside the same swarm printing nothing"

const WORKERS = 16
const NOISE_BYTES = 200_000_000

const once = async (noiseBytes) => {
  const { dir, repo, remove } = tempRepo("oompa-bench-output-")
  try {
    writeTasks(repo, WORKERS)
    fs.writeFileSync(path.join(repo, "noisy.json"), JSON.stringify({ turns: { "*": [{ noiseBytes, auto: true }] } }))
    fs.writeFileSync(
      path.join(repo, "oompa.json"),
      JSON.stringify({ workers: [{ model: "mock:noisy.json", count: WORKERS, can_plan: false, max_cycle: 1 }], reviewer: "mock" })
    )
    const rssFile = path.join(dir, "rss")
    const started = process.hrtime.bigint()
    const child = spawn(process.execPath, ["--import", peakRssHook(rssFile), bin, "swarm"], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    const status = await new Promise((resolve) => child.on("close", resolve))
    if (status !== 0) throw new Error(`swarm failed (${status}):\n${output}`)
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6
    const logsDir = path.join(repo, ".oompa", "runs", fs.readdirSync(path.join(repo, ".oompa", "runs"))[0], "logs")
    const logBytes = fs.readdirSync(logsDir).reduce((n, f) => n + fs.statSync(path.join(logsDir, f)).size, 0)
    return { peakRss: readPeakRss(rssFile), wallMs, logBytes }
  } finally {
    remove()
  }
}

/** The noisy swarm, then the quiet one. */
export const sample = async () => ({ noisy: await once(NOISE_BYTES), quiet: await once(0) })

export const rows = (samples) => {
  const m = (f) => median(samples.map(f))
  const noisy = m((s) => s.noisy.peakRss)
  return [
    {
      measure: `peak RSS, ${WORKERS} agents printing ${NOISE_BYTES / 1e6} MB each`,
      now: `${mib(noisy)} (logs ${mib(m((s) => s.noisy.logBytes))}; wall ${seconds(m((s) => s.noisy.wallMs))})`,
      target: "≤ 150 MiB",
      met: noisy <= 150 * 1024 * 1024
    },
    { measure: "peak RSS, the same swarm printing nothing", now: `${mib(m((s) => s.quiet.peakRss))} (wall ${seconds(m((s) => s.quiet.wallMs))})` }
  ]
}
