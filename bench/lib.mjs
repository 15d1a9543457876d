// Shared by the measure modules under bench/measures/: the built binary, temp repos, medians.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
export const bin = path.join(root, "dist", "bin.js")
export const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim()

/** The median of a list of numbers (the upper one of an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

export const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`
export const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`

/** A temp folder with a git repository `repo` in it (branch main, one commit); `remove()` deletes it all. */
export const tempRepo = (prefix = "oompa-bench-") => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)))
  const repo = path.join(dir, "repo")
  fs.mkdirSync(repo)
  const git = (...args) => execFileSync(realGit, args, { cwd: repo, stdio: "ignore" })
  git("init", "-q", "-b", "main")
  git("config", "user.name", "bench")
  git("config", "user.email", "bench@oompa.invalid")
  fs.writeFileSync(path.join(repo, "README.md"), "# bench\n")
  git("add", ".")
  git("commit", "-q", "-m", "init")
  return { dir, repo, git, remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/** Writes `count` pending tasks t1…t<count> into repo/tasks/pending. */
export const writeTasks = (repo, count) => {
  fs.mkdirSync(path.join(repo, "tasks", "pending"), { recursive: true })
  for (let i = 1; i <= count; i++) {
    fs.writeFileSync(path.join(repo, "tasks", "pending", `t${i}.json`), JSON.stringify({ id: `t${i}`, summary: `task ${i}` }))
  }
}

/** The run folder of the (only) run in repo. */
export const runDirOf = (repo) => path.join(repo, ".oompa", "runs", fs.readdirSync(path.join(repo, ".oompa", "runs"))[0])

/** `--import` argument of a hook that writes the process's own CPU time (children excluded) to `file` at exit. */
export const cpuHook = (file) =>
  `data:text/javascript,${encodeURIComponent(
    `import fs from "node:fs"; process.on("exit", () => fs.writeFileSync(${JSON.stringify(file)}, JSON.stringify(process.cpuUsage())))`
  )}`

/** Reads what `cpuHook` wrote: user + system milliseconds. */
export const readCpuMs = (file) => {
  const cpu = JSON.parse(fs.readFileSync(file, "utf8"))
  return (cpu.user + cpu.system) / 1000
}

/**
 * `--import` argument of a hook that writes the process's peak resident set (VmHWM of
 * /proc/self/status, bytes) to `file` as it exits: the figure just before it ends.
 */
export const peakRssHook = (file) =>
  `data:text/javascript,${encodeURIComponent(
    `import fs from "node:fs"; process.on("exit", () => { const kb = /VmHWM:\\s*(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]; fs.writeFileSync(${JSON.stringify(file)}, String(Number(kb) * 1024)) })`
  )}`

/** Reads what `peakRssHook` wrote: bytes. */
export const readPeakRss = (file) => Number(fs.readFileSync(file, "utf8"))

/**
 * `--import` argument of a hook listing the files a process loads, node: builtins aside:
 * the ESM loader thread appends each URL to `file` as it loads (so the list is complete
 * however the process exits), and at exit the process adds its CommonJS modules
 * (`require.cache`), which that loader does not see. For counting runs only: the writes cost time.
 */
export const modulesLoadedHook = (file) => {
  const hooks = `import fs from "node:fs"; export async function load(url, context, next) { if (!url.startsWith("node:")) fs.appendFileSync(${JSON.stringify(file)}, url + "\\n"); return next(url, context) }`
  return `data:text/javascript,${encodeURIComponent(`
import fs from "node:fs"
import { createRequire, register } from "node:module"
import { pathToFileURL } from "node:url"
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)})
const require = createRequire(process.cwd() + "/")
process.on("exit", () => fs.appendFileSync(${JSON.stringify(file)}, Object.keys(require.cache).map((f) => pathToFileURL(f).href + "\\n").join("")))
`)}`
}

/** Reads what `modulesLoadedHook` wrote: how many distinct files. */
export const readModulesLoaded = (file) => new Set(fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "")).size
