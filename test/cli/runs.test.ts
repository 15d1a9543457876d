import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { git, listDir, makeProject } from "../support/cliProject.js"
import { binPath, ensureBuilt, runCli } from "../support/runCli.js"
import { waitUntil } from "../support/waitUntil.js"

/**
 * Binary-level tests of the run-inspection commands (SPEC §10, §11, §8):
 * `list`, `view`, `logs`, `stop`, `cleanup`, against run files written by a
 * real swarm of mock agents, or fabricated leftovers of dead and live runs.
 */

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"))


/** started.json of a run that is not (or no longer) a live process, as a crashed swarm leaves it. */
const startedJson = (swarm: string, root: string, pid: number) => ({
  swarm,
  pid,
  host: os.hostname(),
  startedAt: "2026-01-01T00:00:00.000Z",
  projectRoot: root,
  configPath: path.join(root, "oompa.json"),
  targetBranch: "main",
  tasksDir: path.join(root, "tasks"),
  versions: { oompa: "0", node: "v20" },
  workers: [{ id: "w0", model: "mock", canPlan: true }],
  config: null
})

/** Leftovers of a run: started.json, a worktree on its branch with an uncommitted file, one claimed task. */
const fabricateRun = (dir: string, swarm: string, pid: number) => {
  const runDir = path.join(dir, ".oompa", "runs", swarm)
  fs.mkdirSync(runDir, { recursive: true })
  fs.writeFileSync(path.join(runDir, "started.json"), JSON.stringify(startedJson(swarm, dir, pid)))
  const worktree = path.join(dir, ".oompa", "worktrees", `${swarm}-w0-c1`)
  git(dir, "worktree", "add", "-q", "-b", `oompa/${swarm}/w0-c1`, worktree, "main")
  fs.writeFileSync(path.join(worktree, "orphan.txt"), "unsaved work\n")
  fs.rmSync(path.join(dir, "tasks", "pending", "t1.json"))
  fs.writeFileSync(path.join(dir, "tasks", "current", "t1.json"), JSON.stringify({ id: "t1", claimed_by: `w0@${swarm}` }))
  return { runDir, worktree }
}

/** A pid no process has: beyond Linux's largest pid_max (2^22). */
const deadPid = 2 ** 22 + 7

describe("oompa list / view / logs after a real swarm (built binary, mock agents)", () => {
  let dir = ""
  let swarm = ""

  beforeAll(async () => {
    await ensureBuilt()
    dir = makeProject({ workers: [{ model: "mock", count: 2, max_cycle: 2 }], reviewer: "mock" }, 2)
    const result = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code).toBe(0)
    swarm = listDir(path.join(dir, ".oompa", "runs"))[0]!
  }, 300_000)

  it("list: one line for the run with status, workers, merged/total cycles, tokens, cost, target", async () => {
    const result = await runCli(["list"], { cwd: dir })
    expect(result.code).toBe(0)
    expect(result.stderr).toBe("")
    const lines = result.stdout.trim().split("\n")
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^swarm\s+started\s+status\s+workers\s+merged\/cycles\s+tokens in\/out\s+cost\s+target$/)
    const cycles = listDir(path.join(dir, ".oompa", "runs", swarm, "cycles"))
    const merged = cycles.filter((f) => readJson(path.join(dir, ".oompa", "runs", swarm, "cycles", f)).outcome === "merged")
    expect(merged).toHaveLength(2)
    expect(lines[1]).toMatch(
      new RegExp(`^${swarm}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+completed\\s+2\\s+2/${cycles.length}\\s+[1-9]\\d*/[1-9]\\d*\\s+\\$0\\.\\d{4}\\s+main$`)
    )
  })

  it("list works from a subfolder of the repository (runs found through git's toplevel)", async () => {
    const result = await runCli(["list"], { cwd: path.join(dir, "tasks") })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(swarm)
  })

  it("view (newest run by default, or a prefix of its id): header, summary table, cycles, last events", async () => {
    const byDefault = await runCli(["view"], { cwd: dir })
    expect(byDefault.code).toBe(0)
    const out = byDefault.stdout
    expect(out).toMatch(new RegExp(`^swarm\\s+${swarm}$`, "m"))
    expect(out).toMatch(/^status\s+completed \(exit 0\)$/m)
    expect(out).toMatch(/^target\s+main$/m)
    expect(out).toContain(`config   ${path.join(dir, "oompa.json")}`)
    // The per-worker table of stopped.json.
    expect(out).toMatch(/^w0\s+mock\s+\d+\s+\d+/m)
    expect(out).toMatch(/^total\s+\d+\s+2\s+0\s+0/m)
    // One line per cycle; a merged one names its commit, which is on main.
    const mergedLine = out.split("\n").find((line) => /^w[01]-c1\s+merged\s+claims t[12]\s+review rounds 1\s+merged [0-9a-f]{12}/.test(line))
    expect(mergedLine).toBeDefined()
    const commit = /merged ([0-9a-f]{12})/.exec(mergedLine!)![1]!
    expect(git(dir, "merge-base", "--is-ancestor", commit, "main")).toBe("")
    // The last 15 events, the swarm's ending last.
    const events = out.slice(out.indexOf("events:")).trim().split("\n").slice(1)
    expect(events).toHaveLength(15)
    expect(events.at(-1)).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d \\[oompa\\] swarm ${swarm} completed`))

    const byPrefix = await runCli(["view", swarm.slice(0, 3)], { cwd: dir })
    expect(byPrefix.code).toBe(0)
    expect(byPrefix.stdout).toBe(out)
  })

  it("view with an unknown id exits 2 naming the known runs", async () => {
    const result = await runCli(["view", "zzzz"], { cwd: dir })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`no run "zzzz"; known runs: ${swarm}`)
    expect(result.stdout).toBe("")
  })

  it("logs: every event as a terminal line; --worker filters; --follow on a stopped run prints all and ends", async () => {
    const all = await runCli(["logs"], { cwd: dir })
    expect(all.code).toBe(0)
    const lines = all.stdout.trim().split("\n")
    const eventCount = fs.readFileSync(path.join(dir, ".oompa", "runs", swarm, "events.jsonl"), "utf8").trim().split("\n").length
    expect(lines).toHaveLength(eventCount)
    expect(lines.every((line) => /^\d\d:\d\d:\d\d \[(w0|w1|oompa)\]( c\d+)? /.test(line))).toBe(true)
    expect(all.stdout).toMatch(/\[w0\] c1 turn 1 \(start\)/)

    const w1 = await runCli(["logs", swarm, "--worker", "w1"], { cwd: dir })
    expect(w1.code).toBe(0)
    const w1Lines = w1.stdout.trim().split("\n")
    expect(w1Lines.length).toBeGreaterThan(0)
    expect(w1Lines.every((line) => line.includes(" [w1]"))).toBe(true)

    const followed = await runCli(["logs", "--follow"], { cwd: dir, timeoutMs: 30_000 })
    expect(followed.code).toBe(0)
    expect(followed.stdout).toBe(all.stdout)

    const badWorker = await runCli(["logs", "--worker", "w7"], { cwd: dir })
    expect(badWorker.code).toBe(2)
    expect(badWorker.stderr).toContain("its workers: w0, w1")
  })

  it("logs --turn prints that turn's raw agent output; an unknown turn exits 2 listing the logs", async () => {
    const raw = fs.readFileSync(path.join(dir, ".oompa", "runs", swarm, "logs", "w0-c1-t1.log"), "utf8")
    expect(raw.length).toBeGreaterThan(0)
    const result = await runCli(["logs", "--turn", "w0-c1-t1"], { cwd: dir })
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(raw)
    const unknown = await runCli(["logs", "--turn", "w0-c9-t9"], { cwd: dir })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("w0-c1-t1")
  })

  it("stop on a run that has stopped exits 2 with its status", async () => {
    const result = await runCli(["stop", swarm], { cwd: dir })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`swarm ${swarm} is not running: completed`)
    const none = await runCli(["stop"], { cwd: dir })
    expect(none.code).toBe(2)
    expect(none.stderr).toContain("no swarm is running")
  })
})

describe("oompa list / view with no runs, outside a repository, and with a file that does not decode", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it("list says No runs yet; view exits 2", async () => {
    const dir = makeProject({ workers: [{ model: "mock" }] }, 0)
    const list = await runCli(["list"], { cwd: dir })
    expect(list.code).toBe(0)
    expect(list.stdout.trim()).toBe("No runs yet")
    const view = await runCli(["view"], { cwd: dir })
    expect(view.code).toBe(2)
    expect(view.stderr).toContain("No runs yet")
  })

  it("outside a git repository: exit 2", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-cli-norepo-"))
    const result = await runCli(["list"], { cwd: dir })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("not inside a git repository")
  })

  it("a run file that does not decode is reported on stderr, and the rest is still shown", async () => {
    const dir = makeProject({ workers: [{ model: "mock" }] }, 0)
    const runDir = path.join(dir, ".oompa", "runs", "0badf11e")
    fs.mkdirSync(path.join(runDir, "cycles"), { recursive: true })
    fs.writeFileSync(path.join(runDir, "started.json"), JSON.stringify(startedJson("0badf11e", dir, deadPid)))
    fs.writeFileSync(path.join(runDir, "cycles", "w0-c1.json"), JSON.stringify({ swarm: "0badf11e", worker: "w0" }))
    fs.writeFileSync(path.join(runDir, "events.jsonl"), '{"at":"2026-01-01T00:00:00Z","type":"swarm-started","message":"hello"}\nnot json\n')
    const list = await runCli(["list"], { cwd: dir })
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/^0badf11e\s+\S+ \S+\s+crashed\s+1\s+0\/0/m)
    expect(list.stderr).toContain("cycles/w0-c1.json does not decode")
    const logs = await runCli(["logs"], { cwd: dir })
    expect(logs.code).toBe(0)
    expect(logs.stdout).toMatch(/\[oompa\] hello/)
    expect(logs.stderr).toContain("events.jsonl:2 does not decode")
  })
})

describe("oompa stop on a live detached swarm", () => {
  beforeAll(() => ensureBuilt(), 300_000)
  let livePid: number | undefined
  let followerPid: number | undefined
  let allFollowerPid: number | undefined

  afterEach(() => {
    for (const pid of [followerPid, allFollowerPid]) {
      if (pid === undefined) continue
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
    // Only if the test failed half-way: do not leave the swarm running.
    if (livePid !== undefined) {
      try {
        process.kill(livePid, "SIGKILL")
      } catch {
        // already gone
      }
    }
  })

  it("asks the swarm to stop (a steering request, the same clean stop as Ctrl-C), waits for stopped.json (reason stopped-by-user), exit 0", async () => {
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 1 }] }, 1, {
      turns: { w0: [{ hang: true }] }
    })
    const swarm = "5709abcd"
    const started = await runCli(["swarm", "--detach", "--swarm-id", swarm], { cwd: dir })
    expect(started.code).toBe(0)
    const oompaDir = path.join(dir, ".oompa")
    const runsDir = path.join(oompaDir, "runs")
    const runDir = path.join(runsDir, swarm)
    // Watch our way down to the run's events until its first turn has started.
    await waitUntil(oompaDir, () => fs.existsSync(runsDir), "the runs folder")
    await waitUntil(runsDir, () => fs.existsSync(runDir), "the run folder")
    await waitUntil(
      runDir,
      () =>
        fs.existsSync(path.join(runDir, "started.json")) &&
        fs.existsSync(path.join(runDir, "events.jsonl")) &&
        fs.readFileSync(path.join(runDir, "events.jsonl"), "utf8").includes('"type":"turn-started"'),
      "the first turn to start"
    )
    livePid = readJson(path.join(runDir, "started.json")).pid as number

    const list = await runCli(["list"], { cwd: dir })
    expect(list.stdout).toMatch(new RegExp(`^${swarm}\\s+\\S+ \\S+\\s+running\\s`, "m"))

    // `logs --follow` is live: it has printed the turn's start before the swarm is stopped,
    // then prints the lines appended while it stops, and ends by itself.
    const follower = spawn(process.execPath, [binPath, "logs", "--follow", "--worker", "w0"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"]
    })
    followerPid = follower.pid
    let followed = ""
    const followerExit = new Promise<number | null>((resolve) => follower.on("exit", (code) => resolve(code)))
    await new Promise<void>((resolve) =>
      follower.stdout.on("data", (chunk: Buffer) => {
        followed += chunk.toString("utf8")
        if (followed.includes("[w0] c1 turn 1 (start)")) resolve()
      })
    )
    expect(followed).not.toContain("interrupted")
    // And one that follows every line: it must end with the swarm's last one.
    const allFollower = spawn(process.execPath, [binPath, "logs", "--follow"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
    allFollowerPid = allFollower.pid
    let allFollowed = ""
    const allFollowerExit = new Promise<number | null>((resolve) => allFollower.on("exit", (code) => resolve(code)))
    await new Promise<void>((resolve) =>
      allFollower.stdout.on("data", (chunk: Buffer) => {
        allFollowed += chunk.toString("utf8")
        if (allFollowed.includes("[w0] c1 turn 1 (start)")) resolve()
      })
    )

    const stop = await runCli(["stop"], { cwd: dir, timeoutMs: 90_000 })
    expect(stop.stderr).toBe("")
    expect(stop.code).toBe(0)
    expect(stop.stdout).toContain(`swarm ${swarm}: stopping the swarm`)
    expect(stop.stdout).toContain(`swarm ${swarm} stopped: stopped-by-user (exit 130)`)
    expect(readJson(path.join(runDir, "stopped.json")).reason).toBe("stopped-by-user")
    // The claim went back and nothing is left behind.
    expect(listDir(path.join(dir, "tasks", "current"))).toEqual([])
    expect(listDir(path.join(oompaDir, "worktrees"))).toEqual([])
    expect((await runCli(["view", swarm], { cwd: dir })).stdout).toMatch(/^status\s+stopped-by-user \(exit 130\)$/m)
    expect(await followerExit).toBe(0)
    expect(followed).toMatch(/\[w0\] c1 cycle 1 interrupted/)
    expect(followed).not.toContain("[oompa]")
    expect(await allFollowerExit).toBe(0)
    expect(allFollowed.trimEnd().split("\n").at(-1)).toMatch(new RegExp(`\\[oompa\\] swarm ${swarm} stopped-by-user: `))
    livePid = undefined
    followerPid = undefined
    allFollowerPid = undefined
  }, 120_000)
})

describe("oompa cleanup", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it("recovers a dead run: work kept under refs/oompa/kept, worktree and branch gone, claim back, stopped.json", async () => {
    const dir = makeProject({ workers: [{ model: "mock" }] }, 1)
    const dead = "deadbeef"
    const { runDir, worktree } = fabricateRun(dir, dead, deadPid)
    expect((await runCli(["list"], { cwd: dir })).stdout).toMatch(/^deadbeef\s+\S+ \S+\s+crashed\s/m)

    const result = await runCli(["cleanup"], { cwd: dir })
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`recovered crashed run ${dead}: 1 branch(es) kept (refs/oompa/kept/${dead}/w0-c1), 1 claim(s) back to pending`)
    expect(result.stdout).toMatch(new RegExp(`^  refs/oompa/kept/${dead}/w0-c1  [0-9a-f]{12}$`, "m"))
    expect(result.stdout).toContain("git log <ref>")
    expect(git(dir, "show", `refs/oompa/kept/${dead}/w0-c1:orphan.txt`)).toBe("unsaved work")
    expect(fs.existsSync(worktree)).toBe(false)
    expect(git(dir, "branch", "--list", "oompa/*")).toBe("")
    expect(listDir(path.join(dir, "tasks", "pending"))).toEqual(["t1.json"])
    const stopped = readJson(path.join(runDir, "stopped.json"))
    expect(stopped.reason).toBe("error")
    expect(stopped.detail).toContain("recovered by oompa cleanup")

    // A second cleanup finds nothing left to recover, and still lists the kept work.
    const again = await runCli(["cleanup"], { cwd: dir })
    expect(again.code).toBe(0)
    expect(again.stdout).toContain("nothing to recover")
    expect(again.stdout).toContain(`refs/oompa/kept/${dead}/w0-c1`)
  })

  it("leaves a live run alone (its owner pid is alive): worktree, branch, claim and run files untouched", async () => {
    const dir = makeProject({ workers: [{ model: "mock" }] }, 1)
    const live = "1a5e0000"
    const { runDir, worktree } = fabricateRun(dir, live, process.pid)
    const result = await runCli(["cleanup"], { cwd: dir })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`left alone: swarm ${live} is running (pid ${process.pid})`)
    expect(result.stdout).toContain("nothing to recover")
    expect(fs.existsSync(path.join(runDir, "stopped.json"))).toBe(false)
    expect(fs.readFileSync(path.join(worktree, "orphan.txt"), "utf8")).toBe("unsaved work\n")
    expect(git(dir, "for-each-ref", "--format=%(refname)", "refs/heads/oompa/")).toBe(`refs/heads/oompa/${live}/w0-c1`)
    expect(git(dir, "for-each-ref", "refs/oompa/kept/")).toBe("")
    expect(listDir(path.join(dir, "tasks", "current"))).toEqual(["t1.json"])
    expect((await runCli(["list"], { cwd: dir })).stdout).toMatch(new RegExp(`^${live}\\s+\\S+ \\S+\\s+running\\s`, "m"))
  })
})
