// swarm-4x12: 4 mock workers (real child processes) and a mock reviewer do 12
// tasks in a temp repository through the built binary. Reports the wall time
// and splits it roughly into git, agent turns and the rest (oompa itself):
// a `git` shim on PATH records every git call's duration; the cycle files give
// each agent turn's duration. Sums of concurrent work can exceed the wall time,
// so the split is given as busy-seconds next to the wall time.
// The same swarm, interleaved, with the user committing on main every second:
// every task must still merge and no cycle end merge-failed (SPEC §7).
//
// oompa's own cost per task, against a floor measured in the same sample: a
// script running, per task, only the 11 git commands one cycle needs (see
// bareGitFloor) in a repository like the swarm's. Reported: git processes per
// task (the shim counts every call), oompa's CPU per task (user+system of the
// oompa process, its children excluded) and its ratio to the floor's wall time
// per task.
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { bin as builtBin, cpuHook, median, readCpuMs, realGit, runDirOf, seconds, tempRepo, writeTasks } from "../lib.mjs"

// BENCH_BIN: another build's dist/bin.js (to measure a "before" with the same script).
const bin = process.env.BENCH_BIN ?? builtBin

export const title = "swarm-4x12: 4 mock workers and a mock reviewer do 12 tasks (and again with the user committing every second)"

const TASKS = 12
const WORKERS = 4

const once = async ({ userCommits }) => {
  const { dir, repo, remove } = tempRepo()
  writeTasks(repo, TASKS)
  fs.writeFileSync(
    path.join(repo, "oompa.json"),
    JSON.stringify({ workers: [{ model: "mock", count: WORKERS, max_cycle: 6, can_plan: false }], reviewer: "mock" })
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
  const cpuFile = path.join(dir, "oompa-cpu.json")
  const started = process.hrtime.bigint()
  const child = spawn(process.execPath, ["--import", cpuHook(cpuFile), bin, "swarm"], {
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
  const runDir = runDirOf(repo)
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
  const oompaCpuMs = readCpuMs(cpuFile)
  remove()
  return { wallMs, complete, gitCalls: gitCalls.length, gitMs, agentMs, turns, byCommand, oompaCpuMs, mergeFailed, commits }
}

/**
 * The bare-git floor: what one cycle of one task needs from git and nothing else,
 * timed for TASKS tasks done one after another in a fresh repository:
 *   1 worktree add -b <branch> <path> main     a fresh worktree from the target
 *   2 add -A                                   stage the agent's work
 *   3 commit                                   record it
 *   4 merge-base main HEAD                     the review's base
 *   5 diff <base>...HEAD                       the review's diff
 *   6 merge --no-ff main                       merge the target's tip into the work
 *   7 rev-parse HEAD                           the tip to land
 *   8 merge-base --is-ancestor main <tip>      the fast forward is one (SPEC §7)
 *   9 merge --ff-only <tip>  (user's checkout) land: the target and its checkout move
 *  10 worktree remove --force <path>           the cycle's end
 *  11 branch -D <branch>                       its branch, now contained in main
 * Returns the wall milliseconds per task.
 */
const bareGitFloor = () => {
  const { dir, repo, remove } = tempRepo("oompa-bench-floor-")
  const git = (cwd, ...args) => execFileSync(realGit, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
  const started = process.hrtime.bigint()
  for (let i = 1; i <= TASKS; i++) {
    const branch = `oompa/floor/w0-c${i}`
    const wt = path.join(dir, `wt-${i}`)
    git(repo, "worktree", "add", "-q", "-b", branch, wt, "main")
    fs.mkdirSync(path.join(wt, "work"), { recursive: true })
    fs.writeFileSync(path.join(wt, "work", `t${i}.md`), `# t${i}\n\ndone\n`)
    git(wt, "add", "-A")
    git(wt, "commit", "-q", "--no-verify", "-m", `t${i}`)
    const base = git(wt, "merge-base", "main", "HEAD").trim()
    git(wt, "diff", `${base}...HEAD`)
    git(wt, "merge", "-q", "--no-ff", "--no-edit", "main")
    const tip = git(wt, "rev-parse", "HEAD").trim()
    git(repo, "merge-base", "--is-ancestor", "main", tip)
    git(repo, "merge", "-q", "--ff-only", tip)
    git(repo, "worktree", "remove", "--force", wt)
    git(repo, "branch", "-q", "-D", branch)
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  remove()
  return ms / TASKS
}

/** A plain run, the bare-git floor, then a run with the user committing. */
export const sample = async () => {
  const still = await once({ userCommits: false })
  const floorMsPerTask = bareGitFloor()
  return { still, floorMsPerTask, moving: await once({ userCommits: true }) }
}

export const rows = (samples) => {
  const still = samples.map((s) => s.still)
  const moving = samples.map((s) => s.moving)
  const m = (f, xs = still) => median(xs.map(f))
  const wall = m((r) => r.wallMs)
  const gitMs = m((r) => r.gitMs)
  const agentMs = m((r) => r.agentMs)
  const top = Object.entries(still[0].byCommand).sort((a, b) => b[1] - a[1]).slice(0, 6)
  const gitPerTask = m((r) => r.gitCalls / r.complete)
  const cpuPerTask = m((r) => r.oompaCpuMs / r.complete)
  const floor = median(samples.map((s) => s.floorMsPerTask))
  return [
    {
      measure: "git processes per task",
      now: `${gitPerTask.toFixed(1)} (runs: ${still.map((r) => (r.gitCalls / r.complete).toFixed(1)).join(", ")}; the bare git a cycle needs: 11)`,
      target: "≤ 15",
      met: gitPerTask <= 15
    },
    {
      measure: "oompa CPU per task ÷ bare-git floor per task",
      now: `${(cpuPerTask / 1000).toFixed(2)} s ÷ ${(floor / 1000).toFixed(3)} s ≈ ${(cpuPerTask / floor).toFixed(1)}`,
      target: "≤ 2",
      met: cpuPerTask / floor <= 2
    },
    { measure: "wall time", now: `${seconds(wall)} (runs: ${still.map((r) => seconds(r.wallMs)).join(", ")})` },
    { measure: "tasks complete", now: still.map((r) => r.complete).join(", "), target: `${TASKS}`, met: still.every((r) => r.complete === TASKS) },
    { measure: "git calls", now: `${m((r) => r.gitCalls)} calls, ${seconds(gitMs)} busy` },
    { measure: "git by command", now: top.map(([c, ms]) => `${c} ${seconds(ms)}`).join(", ") },
    { measure: "agent turns", now: `${m((r) => r.turns)} (mock agent processes), ${seconds(agentMs)} busy` },
    { measure: "oompa process CPU", now: `${seconds(m((r) => r.oompaCpuMs))} (user+system, its children excluded)` },
    {
      measure: "per worker",
      now: `wall ${seconds(wall)} ≈ git ${seconds(gitMs / WORKERS)} + agents ${seconds(agentMs / WORKERS)} + oompa/waiting ${seconds(Math.max(0, wall - gitMs / WORKERS - agentMs / WORKERS))}`
    },
    {
      measure: "user committing: tasks complete",
      now: moving.map((r) => r.complete).join(", "),
      target: `${TASKS}`,
      met: moving.every((r) => r.complete === TASKS)
    },
    {
      measure: "user committing: merge-failed cycles",
      now: moving.map((r) => r.mergeFailed).join(", "),
      target: "0",
      met: moving.every((r) => r.mergeFailed === 0)
    },
    { measure: "user committing: commits, wall", now: `${moving.map((r) => r.commits).join(", ")}; ${seconds(m((r) => r.wallMs, moving))}` }
  ]
}
