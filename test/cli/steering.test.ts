import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { listDir, makeProject } from "../support/cliProject.js"
import { ensureBuilt, runCli } from "../support/runCli.js"
import { waitUntil } from "../support/waitUntil.js"

/**
 * Steering through the built binary (docs/steering.md): a detached mock
 * swarm whose agents hang, steered with `oompa pause / resume / stop
 * [--worker] / tasks requeue` from another process, as a user would.
 */

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"))


describe("steering a detached swarm from the command line", () => {
  beforeAll(() => ensureBuilt(), 300_000)
  let livePid: number | undefined

  afterEach(() => {
    // Only if the test failed half-way: do not leave the swarm running.
    if (livePid !== undefined) {
      try {
        process.kill(livePid, "SIGKILL")
      } catch {
        // already gone
      }
    }
  })

  it("pause, resume, stop --worker, tasks requeue, stop: each prints the swarm's answer; a finished run is refused", async () => {
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", count: 2, max_cycle: 1 }] }, 2, {
      turns: { w0: [{ hang: true }], w1: [{ hang: true }] }
    })
    fs.writeFileSync(path.join(dir, "tasks", "complete", "old.json"), JSON.stringify({ id: "old", summary: "done before", completed_by: "x:w0" }))
    const swarm = "57ee0001"
    const started = await runCli(["swarm", "--detach", "--swarm-id", swarm], { cwd: dir })
    expect(started.code).toBe(0)
    const oompaDir = path.join(dir, ".oompa")
    const runsDir = path.join(oompaDir, "runs")
    const runDir = path.join(runsDir, swarm)
    await waitUntil(oompaDir, () => fs.existsSync(runsDir), "the runs folder")
    await waitUntil(runsDir, () => fs.existsSync(runDir), "the run folder")
    const turnsStarted = () =>
      fs.existsSync(path.join(runDir, "events.jsonl"))
        ? fs.readFileSync(path.join(runDir, "events.jsonl"), "utf8").split('"type":"turn-started"').length - 1
        : 0
    await waitUntil(runDir, () => fs.existsSync(path.join(runDir, "started.json")) && turnsStarted() === 2, "both turns to start")
    livePid = readJson(path.join(runDir, "started.json")).pid as number
    // Only the owner may write requests.
    expect(fs.statSync(path.join(runDir, "control")).mode & 0o777).toBe(0o700)

    const pause = await runCli(["pause"], { cwd: dir })
    expect(pause).toMatchObject({ code: 0, stderr: "" })
    expect(pause.stdout).toBe(`swarm ${swarm}: paused: no new turn starts (running turns go on) until resume\n`)
    expect((await runCli(["pause", swarm], { cwd: dir })).stdout).toBe(`swarm ${swarm}: already paused\n`)
    const resume = await runCli(["resume", swarm.slice(0, 4)], { cwd: dir })
    expect(resume).toMatchObject({ code: 0, stdout: `swarm ${swarm}: resumed: turns start again\n` })

    const worker = await runCli(["stop", "--worker", "w0"], { cwd: dir })
    expect(worker).toMatchObject({ code: 0, stdout: `swarm ${swarm}: worker w0 stops after its current cycle (it claims nothing more)\n` })
    const ghost = await runCli(["stop", "--worker", "w7"], { cwd: dir })
    expect(ghost.code).toBe(1)
    expect(ghost.stderr).toContain(`swarm ${swarm}: no worker "w7" in this swarm (workers: w0, w1)`)

    // While the swarm runs, tasks requeue goes through it.
    const requeue = await runCli(["tasks", "requeue", "old"], { cwd: dir })
    expect(requeue).toMatchObject({ code: 0, stdout: `swarm ${swarm}: task old requeued: moved from complete/ to pending/\n` })
    expect(readJson(path.join(dir, "tasks", "pending", "old.json"))).toEqual({ id: "old", summary: "done before" })
    const again = await runCli(["tasks", "requeue", "old"], { cwd: dir })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain("cannot requeue: task old is already pending")

    const stop = await runCli(["stop"], { cwd: dir, timeoutMs: 90_000 })
    expect(stop.stderr).toBe("")
    expect(stop.code).toBe(0)
    expect(stop.stdout).toContain(`swarm ${swarm}: stopping the swarm: agents get 5 s to exit, their work is kept, claims go back to pending; waiting for it to stop…`)
    expect(stop.stdout).toContain(`swarm ${swarm} stopped: stopped-by-user (exit 130)`)
    expect(readJson(path.join(runDir, "stopped.json"))).toMatchObject({ reason: "stopped-by-user", exitCode: 130 })
    expect(listDir(path.join(dir, "tasks", "current"))).toEqual([])
    expect(listDir(path.join(oompaDir, "worktrees"))).toEqual([])
    livePid = undefined
    const steered = fs
      .readFileSync(path.join(runDir, "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
      .filter((e) => e.type === "steered")
      .map((e) => `${e.data.action}:${e.data.ok}`)
    expect(steered).toEqual(["pause:true", "pause:true", "resume:true", "stop-worker:true", "stop-worker:false", "requeue:true", "requeue:false", "stop:true"])

    // Against the finished run: a clear refusal, exit 2.
    for (const args of [["pause", swarm], ["resume", swarm], ["stop", swarm], ["stop", swarm, "--worker", "w1"]]) {
      const refused = await runCli(args, { cwd: dir })
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain(`swarm ${swarm} is not running: stopped-by-user`)
    }
    const none = await runCli(["pause"], { cwd: dir })
    expect(none.code).toBe(2)
    expect(none.stderr).toContain("no swarm is running")
  }, 180_000)
})
