#!/usr/bin/env node
// Benchmarks (not part of `npm test`): `npm run bench`.
//
// swarm-4x12: 4 mock workers (real child processes) and a mock reviewer do 12
// tasks in a temp repository through the built binary. Reports the wall time
// and splits it roughly into git, agent turns and the rest (oompa itself):
// a `git` shim on PATH records every git call's duration; the cycle files give
// each agent turn's duration. Sums of concurrent work can exceed the wall time,
// so the split is given as busy-seconds next to the wall time.
// The same swarm, interleaved, with the user committing on main every second:
// every task must still merge and no cycle end merge-failed (SPEC §7).
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const bin = path.join(root, "dist", "bin.js")
const runs = Number(process.env.BENCH_RUNS ?? 3)
const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim()

const once = async ({ userCommits }) => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "oompa-bench-")))
  const repo = path.join(dir, "repo")
  fs.mkdirSync(repo)
  const git = (...args) => execFileSync(realGit, args, { cwd: repo, stdio: "ignore" })
  git("init", "-q", "-b", "main")
  git("config", "user.name", "bench")
  git("config", "user.email", "bench@oompa.invalid")
  fs.writeFileSync(path.join(repo, "README.md"), "# bench\n")
  git("add", ".")
  git("commit", "-q", "-m", "init")
  fs.mkdirSync(path.join(repo, "tasks", "pending"), { recursive: true })
  for (let i = 1; i <= 12; i++) {
    fs.writeFileSync(path.join(repo, "tasks", "pending", `t${i}.json`), JSON.stringify({ id: `t${i}`, summary: `task ${i}` }))
  }
  fs.writeFileSync(
    path.join(repo, "oompa.json"),
    JSON.stringify({ workers: [{ model: "mock", count: 4, max_cycle: 6, can_plan: false }], reviewer: "mock" })
  )
  // The git shim: time every call in nanoseconds.
  const shimDir = path.join(dir, "shim")
  const gitLog = path.join(dir, "git-times.log")
  fs.mkdirSync(shimDir)
  fs.writeFileSync(
    path.join(shimDir, "git"),
    `#!/bin/sh\ns=$(date +%s%N)\n"${realGit}" "$@"\nrc=$?\necho "$(( $(date +%s%N) - s )) $1" >> "${gitLog}"\nexit $rc\n`,
    { mode: 0o755 }
  )
  // oompa's own CPU time (children excluded), written at exit by a preloaded hook.
  const cpuFile = path.join(dir, "oompa-cpu.json")
  const hook = `import fs from "node:fs"; process.on("exit", () => fs.writeFileSync(${JSON.stringify(cpuFile)}, JSON.stringify(process.cpuUsage())))`
  const started = process.hrtime.bigint()
  const child = spawn(process.execPath, ["--import", `data:text/javascript,${encodeURIComponent(hook)}`, bin, "swarm"], {
    cwd: repo,
    env: { ...process.env, PATH: `${shimDir}:${process.env.PATH}` },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout.on("data", (chunk) => (output += chunk))
  child.stderr.on("data", (chunk) => (output += chunk))
  // The user commits on the target every second (SPEC §7: a moving target must not discard work).
  let commits = 0
  const user = userCommits
    ? setInterval(() => {
        try {
          fs.writeFileSync(path.join(repo, `user-${commits}.txt`), `${commits}\n`)
          execFileSync(realGit, ["add", `user-${commits}.txt`], { cwd: repo, stdio: "ignore" })
          execFileSync(realGit, ["commit", "-qm", `user ${commits}`], { cwd: repo, stdio: "ignore" })
          commits++
        } catch {
          // The checkout's index is busy with a landing: the user tries again next second.
        }
      }, 1000)
    : undefined
  const status = await new Promise((resolve) => child.on("close", (code) => resolve(code)))
  if (user) clearInterval(user)
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6
  if (status !== 0) throw new Error(`swarm failed (${status}):\n${output}`)
  const complete = fs.readdirSync(path.join(repo, "tasks", "complete")).length
  const gitCalls = fs.readFileSync(gitLog, "utf8").trim().split("\n").map((l) => l.split(" "))
  const gitMs = gitCalls.reduce((n, [ns]) => n + Number(ns) / 1e6, 0)
  const byCommand = {}
  for (const [ns, cmd] of gitCalls) byCommand[cmd] = (byCommand[cmd] ?? 0) + Number(ns) / 1e6
  const runDir = path.join(repo, ".oompa", "runs", fs.readdirSync(path.join(repo, ".oompa", "runs"))[0])
  let agentMs = 0
  let turns = 0
  let mergeFailed = 0
  for (const name of fs.readdirSync(path.join(runDir, "cycles"))) {
    const cycle = JSON.parse(fs.readFileSync(path.join(runDir, "cycles", name), "utf8"))
    if (cycle.outcome === "merge-failed") mergeFailed += 1
    for (const turn of cycle.turns) {
      agentMs += turn.durationMs
      turns += 1
    }
  }
  for (const name of fs.readdirSync(path.join(runDir, "reviews"))) {
    agentMs += JSON.parse(fs.readFileSync(path.join(runDir, "reviews", name), "utf8")).durationMs
    turns += 1
  }
  const cpu = JSON.parse(fs.readFileSync(cpuFile, "utf8"))
  const oompaCpuMs = (cpu.user + cpu.system) / 1000
  fs.rmSync(dir, { recursive: true, force: true })
  return { wallMs, complete, gitCalls: gitCalls.length, gitMs, agentMs, turns, byCommand, oompaCpuMs, mergeFailed, commits }
}

// Interleaved: a plain run, then one with the user committing, and so on.
const results = []
const moving = []
for (let i = 0; i < runs; i++) {
  results.push(await once({ userCommits: false }))
  moving.push(await once({ userCommits: true }))
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const s = (ms) => `${(ms / 1000).toFixed(1)} s`
const wall = median(results.map((r) => r.wallMs))
const gitMs = median(results.map((r) => r.gitMs))
const agentMs = median(results.map((r) => r.agentMs))
console.log(`swarm-4x12 (${runs} runs, median; ${os.cpus().length} cores, node ${process.version})`)
console.log(`  wall time          ${s(wall)}   (all runs: ${results.map((r) => s(r.wallMs)).join(", ")})`)
console.log(`  tasks complete     ${results.map((r) => r.complete).join(", ")} of 12`)
console.log(`  git                ${median(results.map((r) => r.gitCalls))} calls, ${s(gitMs)} busy (${s(gitMs / 4)} per worker if evenly spread)`)
console.log(`  agent turns        ${median(results.map((r) => r.turns))} turns (mock agent processes), ${s(agentMs)} busy`)
const top = Object.entries(results[0].byCommand).sort((a, b) => b[1] - a[1]).slice(0, 6)
console.log(`  git by command     ${top.map(([c, ms]) => `${c} ${s(ms)}`).join(", ")}`)
console.log(`  oompa process CPU  ${s(median(results.map((r) => r.oompaCpuMs)))} (user+system, its children excluded)`)
console.log(`  per worker: wall ${s(wall)} ≈ git ${s(gitMs / 4)} + agents ${s(agentMs / 4)} + oompa/waiting ${s(Math.max(0, wall - gitMs / 4 - agentMs / 4))}`)
console.log(`swarm-4x12, the user committing on main every second (${runs} runs, interleaved with the above)`)
console.log(`  tasks complete     ${moving.map((r) => r.complete).join(", ")} of 12   (target: 12)`)
console.log(`  merge-failed       ${moving.map((r) => r.mergeFailed).join(", ")} cycles   (target: 0)`)
console.log(`  user commits       ${moving.map((r) => r.commits).join(", ")}; wall ${s(median(moving.map((r) => r.wallMs)))} median`)
console.log(`load average: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`)
