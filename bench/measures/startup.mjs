// oompa as a light process (issue 13): how long `oompa --version` takes beside a bare
// `node -e 0` (interleaved pairs), how many files it loads, and the peak resident set
// of `--version` and of an idle swarm of 16 workers (no tasks, no planning: every
// worker starts, finds nothing and ends), read from VmHWM just before the process exits.
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { bin, median, mib, modulesLoadedHook, peakRssHook, readModulesLoaded, readPeakRss, tempRepo } from "../lib.mjs"

export const title = "start-up: `oompa --version` beside `node -e 0`, files loaded, peak RSS of --version and of an idle 16-worker swarm"

const PAIRS = 5
const WORKERS = 16

/** Runs node with `args` in `cwd`; resolves with its wall time in ms. Throws on a non-zero exit. */
const timed = (args, cwd) =>
  new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    child.on("error", reject)
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`node ${args.join(" ")} exited ${code}:\n${output}`))
      else resolve(Number(process.hrtime.bigint() - started) / 1e6)
    })
  })

export const sample = async () => {
  const { dir, repo, remove } = tempRepo("oompa-bench-startup-")
  try {
    // Interleaved: the baseline, then oompa, PAIRS times; this sample's figure is the median of each.
    const bare = []
    const version = []
    for (let i = 0; i < PAIRS; i++) {
      bare.push(await timed(["-e", "0"], repo))
      version.push(await timed([bin, "--version"], repo))
    }
    const loadedFile = path.join(dir, "loaded.txt")
    await timed(["--import", modulesLoadedHook(loadedFile), bin, "--version"], repo)
    const versionRssFile = path.join(dir, "version-rss")
    await timed(["--import", peakRssHook(versionRssFile), bin, "--version"], repo)

    fs.mkdirSync(path.join(repo, "tasks", "pending"), { recursive: true })
    fs.writeFileSync(
      path.join(repo, "oompa.json"),
      JSON.stringify({ workers: [{ model: "mock", count: WORKERS, can_plan: false }], reviewer: "mock" })
    )
    const swarmRssFile = path.join(dir, "swarm-rss")
    await timed(["--import", peakRssHook(swarmRssFile), bin, "swarm"], repo)
    return {
      bareMs: median(bare),
      versionMs: median(version),
      filesLoaded: readModulesLoaded(loadedFile),
      versionRss: readPeakRss(versionRssFile),
      swarmRss: readPeakRss(swarmRssFile)
    }
  } finally {
    remove()
  }
}

const ms = (x) => `${Math.round(x)} ms`

export const rows = (samples) => {
  const m = (f) => median(samples.map(f))
  const ratio = m((s) => s.versionMs / s.bareMs)
  const swarmRss = m((s) => s.swarmRss)
  return [
    {
      measure: "`oompa --version` ÷ `node -e 0`",
      now: `${ratio.toFixed(1)} (${ms(m((s) => s.versionMs))} ÷ ${ms(m((s) => s.bareMs))})`,
      target: "≤ 3",
      met: ratio <= 3
    },
    { measure: "files loaded by `oompa --version`", now: `${m((s) => s.filesLoaded)}` },
    { measure: "peak RSS, `oompa --version`", now: mib(m((s) => s.versionRss)) },
    {
      measure: `peak RSS, idle swarm of ${WORKERS} workers`,
      now: mib(swarmRss),
      target: "≤ 100 MiB",
      met: swarmRss <= 100 * 1024 * 1024
    }
  ]
}
