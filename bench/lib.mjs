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
