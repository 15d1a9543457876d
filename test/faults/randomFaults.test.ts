/**
 * Randomized fault injection against the built binary (SPEC §8): a swarm of
 * mock agents (real processes) whose every turn commits a unique marker, while
 * the user commits on the target, is hit by SIGINT, a second SIGINT, SIGKILL at
 * a random moment or SIGKILL at the instant the target moves. Afterwards (and
 * after `oompa cleanup` where oompa could not record its ending):
 *   - no process of the run is alive;
 *   - every task file is in exactly one queue folder, none in current/;
 *   - every marker an agent committed is reachable from the target or a kept ref;
 *   - no worktree and no oompa/* branch is left, the run has its stopped.json;
 * and a new swarm then merges every task exactly once.
 *
 * `OOMPA_FAULT_TRIALS` sets the number of trials (default 5, one of each fault,
 * what the suite runs); `npm run bench:faults` runs many. `OOMPA_FAULT_SEED` (and
 * `OOMPA_FAULT_KIND`) replay one trial.
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { git, listDir, makeProject } from "../support/cliProject.js"
import { binPath, ensureBuilt, runCli } from "../support/runCli.js"

const TASKS = 6
const trials = Number(process.env["OOMPA_FAULT_TRIALS"] ?? 5)
const fixedSeed = process.env["OOMPA_FAULT_SEED"]

/** mulberry32: a small seeded generator, so a failing trial can be replayed from its seed. */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

type Fault = "sigint" | "double-sigint" | "sigkill" | "sigkill-at-advance" | "sigkill-at-complete"
const faults: ReadonlyArray<Fault> = ["sigint", "double-sigint", "sigkill", "sigkill-at-advance", "sigkill-at-complete"]
/** The worst instants (src/services/faultPoint.ts): oompa SIGKILLs itself at the first time it reaches one. */
const faultPointOf: Partial<Record<Fault, string>> = { "sigkill-at-advance": "after-advance", "sigkill-at-complete": "after-complete" }

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"))

/** Pids of live processes whose environment carries a turn marker of `swarm`. */
const processesOfSwarm = (swarm: string): Array<number> =>
  fs.readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      if (/^\S+ \(.*\) [ZX]/s.test(stat)) return []
      const env = fs.readFileSync(`/proc/${entry}/environ`, "utf8").split("\0")
      return env.some((v) => v.startsWith(`OOMPA_TURN=${swarm}/`)) ? [Number(entry)] : []
    } catch {
      return []
    }
  })

/** Waits (up to 5 s) for the condition; its last value. Processes sent SIGKILL take a moment to go. */
const eventually = async <A>(read: () => A, ok: (a: A) => boolean): Promise<A> => {
  const deadline = Date.now() + 5_000
  let value = read()
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    value = read()
  }
  return value
}

/** Every merged cycle file of every run, as "<task> <run>/<cycle>". */
const mergedCycles = (dir: string): Array<string> => {
  const runs = path.join(dir, ".oompa", "runs")
  return listDir(runs).flatMap((swarm) =>
    listDir(path.join(runs, swarm, "cycles")).flatMap((file) => {
      const cycle = readJson(path.join(runs, swarm, "cycles", file))
      return cycle.outcome === "merged" ? cycle.claims.map((id: string) => `${id} ${swarm}/${file}`) : []
    })
  )
}

/** The last lines of every run's events.jsonl and oompa.log, for a failure message. */
const runTails = (dir: string): string => {
  const runs = path.join(dir, ".oompa", "runs")
  if (!fs.existsSync(runs)) return "(no runs)"
  return listDir(runs)
    .flatMap((run) =>
      ["events.jsonl", "oompa.log"].map((file) => {
        const at = path.join(runs, run, file)
        const lines = fs.existsSync(at) ? fs.readFileSync(at, "utf8").trim().split("\n").slice(-15) : ["(none)"]
        return `-- ${run}/${file}:\n${lines.join("\n")}`
      })
    )
    .join("\n")
}

const runTrial = async (seed: number, fault: Fault) => {
  const random = rng(seed)
  const ledger = path.join(fs.mkdtempSync("/tmp/oompa-fault-ledger-"), "markers.txt")
  fs.writeFileSync(ledger, "")
  // Each turn commits a file named after a fresh marker, then records the marker: a marker
  // in the ledger is in a commit. The diligent behaviour then claims, works and asks to merge.
  const marker = `m=marker-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n'); mkdir -p markers && echo "$m" > "markers/$m" && git add -A && git commit -qm "$m" && echo "$m" >> ${ledger}`
  const step = { auto: true, run: [marker], delayMs: Math.floor(random() * 200) }
  // Every other seed lands through the merge train (a test_command): faults then hit workers
  // holding stacked candidates with other workers' unlanded work in them.
  const testCommand = seed % 2 === 0 ? { test_command: "sleep 0.2" } : {}
  const dir = makeProject(
    { workers: [{ model: "mock:scenario.json", count: 3, max_cycle: 4 }], reviewer: "mock", max_consecutive_errors: 10, ...testCommand },
    TASKS,
    { turns: { "*": Array.from({ length: 7 }, () => step) } }
  )
  const child = spawn(process.execPath, [binPath, "swarm"], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: "1", ...(faultPointOf[fault] !== undefined ? { OOMPA_FAULT: faultPointOf[fault] } : {}) },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout.on("data", (chunk) => (output += chunk))
  child.stderr.on("data", (chunk) => (output += chunk))
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )
  let running = true
  void exited.then(() => (running = false))

  // The user commits on main now and then; a commit that meets oompa's own use of the checkout just fails.
  let userCommits = 0
  const user = (async () => {
    while (running) {
      await new Promise((resolve) => setTimeout(resolve, 200 + random() * 400))
      if (!running) break
      try {
        fs.mkdirSync(path.join(dir, "user"), { recursive: true })
        fs.writeFileSync(path.join(dir, "user", `u${userCommits}.txt`), `${userCommits}\n`)
        execFileSync("git", ["add", "user"], { cwd: dir, stdio: "ignore" })
        execFileSync("git", ["commit", "-qm", `user commit ${userCommits}`, "--", "user"], { cwd: dir, stdio: "ignore" })
        userCommits++
      } catch {
        // index.lock held by a fast-forward of oompa's: the user tries again later.
      }
    }
  })()

  const at = 300 + random() * 6_000
  const timer = setTimeout(() => {
    if (fault === "sigint") child.kill("SIGINT")
    if (fault === "double-sigint") {
      child.kill("SIGINT")
      setTimeout(() => child.kill("SIGINT"), 50 + random() * 550)
    }
    if (fault === "sigkill") child.kill("SIGKILL")
    // At a fault point oompa kills itself when it first gets there; SIGINT in case it never does.
    if (faultPointOf[fault] !== undefined) child.kill("SIGINT")
  }, faultPointOf[fault] !== undefined ? 60_000 : at)
  const hardStop = setTimeout(() => child.kill("SIGKILL"), 150_000)
  const exit = await exited
  clearTimeout(timer)
  clearTimeout(hardStop)
  await user

  const label = `seed ${seed}, ${fault}${testCommand.test_command !== undefined ? " (test_command)" : ""}${faultPointOf[fault] !== undefined ? "" : ` at ${Math.round(at)} ms`}, exit ${exit.code ?? exit.signal}\n${output.slice(-3000)}`
  // Killed before it created its run folder (start-up takes a second or two): no run to check.
  const swarm = listDir(path.join(dir, ".oompa", "runs")).find((name) => !name.startsWith("."))
  if (exit.signal === "SIGKILL") {
    const cleanup = await runCli(["cleanup"], { cwd: dir, timeoutMs: 60_000 })
    expect(cleanup.code, `${label}\ncleanup: ${cleanup.stdout}${cleanup.stderr}`).toBe(0)
  } else if (exit.signal === "SIGINT") {
    // Interrupted while node was still loading oompa, before its handlers were installed: nothing was started.
    expect(swarm, label).toBeUndefined()
  } else {
    expect([0, 1, 130], label).toContain(exit.code)
  }

  if (swarm !== undefined) {
    expect(await eventually(() => processesOfSwarm(swarm), (pids) => pids.length === 0), label).toEqual([])
    expect(fs.existsSync(path.join(dir, ".oompa", "runs", swarm, "stopped.json")), label).toBe(true)
  }
  const folders = ["pending", "current", "complete", "invalid"]
  const misplaced = Array.from({ length: TASKS }, (_, i) => `t${i + 1}.json`)
    .map((file) => `${file} in ${folders.filter((f) => fs.existsSync(path.join(dir, "tasks", f, file))).join(" and ") || "no folder"}`)
    .filter((where) => !/ in (pending|complete)$/.test(where))
  expect(misplaced, label).toEqual([])
  for (const file of listDir(path.join(dir, "tasks", "complete"))) {
    const task = readJson(path.join(dir, "tasks", "complete", file))
    expect(git(dir, "merge-base", "--is-ancestor", task.merged_commit, "main"), `${label}\n${file}`).toBe("")
  }
  const kept = git(dir, "for-each-ref", "--format=%(refname)", "refs/oompa/kept/").split("\n").filter(Boolean)
  const reachable = new Set(git(dir, "log", "--format=%s", "main", ...kept).split("\n"))
  const markers = fs.readFileSync(ledger, "utf8").split("\n").filter(Boolean)
  expect(markers.filter((m) => !reachable.has(m)), `${label}\nmarkers lost of ${markers.length}`).toEqual([])
  expect(git(dir, "worktree", "list", "--porcelain").split("\n").filter((l) => l.startsWith("worktree "))).toHaveLength(1)
  expect(git(dir, "branch", "--list", "oompa/*"), label).toBe("")

  // A new swarm finishes the rest; nothing merged before is merged again.
  fs.writeFileSync(path.join(dir, "oompa.json"), JSON.stringify({ workers: [{ model: "mock", count: 2, max_cycle: 8 }] }))
  const next = await runCli(["swarm"], { cwd: dir, timeoutMs: 150_000 })
  // A failure here has to be diagnosable from the report alone (one in 40 timed out under load 20).
  expect(next.code, `${label}\nfollow-up: ${next.stdout.slice(-2000)}${next.stderr}\n${runTails(dir)}`).toBe(0)
  expect(listDir(path.join(dir, "tasks", "complete")).sort(), label).toEqual(
    Array.from({ length: TASKS }, (_, i) => `t${i + 1}.json`).sort()
  )
  const merges = mergedCycles(dir)
  for (let i = 1; i <= TASKS; i++) {
    expect(merges.filter((m) => m.startsWith(`t${i} `)), `${label}\nt${i} merged by`).toHaveLength(1)
  }
}

describe("randomized faults (built binary, mock agents as real processes)", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  // The faults in turn, so that even a small count meets each of them; the moments are random.
  const first = fixedSeed !== undefined ? Number(fixedSeed) : Date.now() % 2_147_483_647
  for (let i = 0; i < (fixedSeed !== undefined ? 1 : trials); i++) {
    const seed = first + i
    const fault = (process.env["OOMPA_FAULT_KIND"] as Fault | undefined) ?? faults[seed % faults.length]!
    it(`${fault}, seed ${seed}`, () => runTrial(seed, fault), 400_000)
  }
})
