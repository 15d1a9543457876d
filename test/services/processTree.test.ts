/**
 * No process outlives its turn (SPEC §8 "Processes"), with real processes: a
 * fake CLI (fixtures/fake-clis/escaper.mjs) starts `setsid sleep 300` and a
 * double-forked daemon — both out of its process group, as claude, gemini and
 * opencode run tool commands — and the checks read /proc: no process carrying
 * the run's OOMPA_TURN marker may be alive once the run is over.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Clock, Duration, Effect, Exit, Fiber } from "effect"
import { killAllChildGroups, liveChildGroups } from "../../src/services/childGroups.js"
import { ProcessRunner, ProcessRunnerLive, type RunOptions } from "../../src/services/ProcessRunner.js"
import * as child_process from "node:child_process"
import {
  findProcesses,
  markerOfProcess,
  processAlive,
  selfStartTime,
  terminateSwarmProcesses
} from "../../src/services/processTree.js"

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "fake-clis")
const escaper = path.join(fixtures, "escaper.mjs")

let counter = 0
/** A marker no other test (or engineer) uses. */
const freshMarker = (swarm = "feedc0de") => `${swarm}/w0-c${process.pid}-t${++counter}`

const readStatFields = (pid: number): ReadonlyArray<string> => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")
}

/** Live processes carrying exactly `marker`, read straight from /proc. */
const marked = (marker: string): ReadonlyArray<number> =>
  fs
    .readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      try {
        const environ = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")
        const state = readStatFields(pid)[0]
        return environ.includes(`OOMPA_TURN=${marker}`) && state !== "Z" && state !== "X"
      } catch {
        return false
      }
    })

/** Whatever a failing test left behind is killed, so a failure leaks nothing. */
const reaper = (marker: string) =>
  Effect.addFinalizer(() =>
    Effect.sync(() => {
      for (const pid of marked(marker)) {
        try {
          process.kill(pid, "SIGKILL")
        } catch {
          // gone
        }
      }
    })
  )

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "oompa-tree-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const escaperRun = (dir: string, marker: string, args: ReadonlyArray<string>, extra: Partial<RunOptions> = {}): RunOptions => ({
  command: process.execPath,
  args: [escaper, ...args],
  cwd: dir,
  stdoutPath: path.join(dir, "o.log"),
  stderrPath: path.join(dir, "e.log"),
  timeout: Duration.minutes(5),
  killGrace: Duration.millis(500),
  marker,
  ...extra
})

/** The sleeps the fake CLI reported, once it reported them (deadline 20 s). */
const awaitSleeps = (logFile: string) =>
  Effect.gen(function* () {
    const deadline = (yield* Clock.currentTimeMillis) + 20_000
    for (;;) {
      const line = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").split("\n").find((l) => l.startsWith("sleeps ")) : undefined
      if (line !== undefined) return line.slice("sleeps ".length).split(" ").map(Number)
      if ((yield* Clock.currentTimeMillis) > deadline) return yield* Effect.dieMessage(`no sleeps in ${logFile}`)
      yield* Effect.sleep(Duration.millis(20))
    }
  })

describe("turn marker kill (real processes)", () => {
  it.live("(a) the leader exits 0 leaving setsid'd and double-forked sleeps: none lives after run()", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const marker = freshMarker()
        yield* reaper(marker)
        const runner = yield* ProcessRunner
        const result = yield* runner.run(escaperRun(dir, marker, ["exit"]))
        const sleeps = yield* awaitSleeps(path.join(dir, "o.log"))
        expect(result.exitCode).toBe(0)
        expect(sleeps).toHaveLength(2)
        expect(sleeps.filter(processAlive)).toEqual([])
        expect(marked(marker)).toEqual([])
        expect(liveChildGroups()).not.toContain(result.pid)
      }).pipe(Effect.provide(ProcessRunnerLive))
    )
  )

  it.live("(b) timeout: every marked process ends", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const marker = freshMarker()
        yield* reaper(marker)
        const runner = yield* ProcessRunner
        const fiber = yield* Effect.fork(runner.run(escaperRun(dir, marker, [], { timeout: Duration.seconds(4) })))
        const sleeps = yield* awaitSleeps(path.join(dir, "o.log"))
        const groups = sleeps.map((pid) => readStatFields(pid).slice(2, 4).map(Number))
        const result = yield* Fiber.join(fiber)
        expect(result.timedOut).toBe(true)
        // They really left the leader's group and session: a group kill alone misses them.
        for (const [pgid, sid] of groups) {
          expect(pgid).not.toBe(result.pid)
          expect(sid).not.toBe(result.pid)
        }
        expect(sleeps.filter(processAlive)).toEqual([])
        expect(marked(marker)).toEqual([])
      }).pipe(Effect.provide(ProcessRunnerLive))
    )
  )

  it.live("(b') stall: the CLI goes silent after starting setsid'd sleeps; the run ends stalled and every marked process ends", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const marker = freshMarker()
        yield* reaper(marker)
        const runner = yield* ProcessRunner
        // The escaper prints its sleeps' pids once, then is silent: only the stall rule ends it.
        const fiber = yield* Effect.fork(
          runner.run(escaperRun(dir, marker, ["stubborn"], { timeout: Duration.minutes(5), stallTimeout: Duration.seconds(3) }))
        )
        const sleeps = yield* awaitSleeps(path.join(dir, "o.log"))
        const result = yield* Fiber.join(fiber)
        expect(result.stalled).toBe(true)
        expect(result.timedOut).toBe(false)
        expect(sleeps).toHaveLength(3)
        expect(sleeps.filter(processAlive)).toEqual([])
        expect(marked(marker)).toEqual([])
        expect(liveChildGroups()).not.toContain(result.pid)
      }).pipe(Effect.provide(ProcessRunnerLive))
    )
  )

  it.live("(c) interrupting the run fiber ends every marked process", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const marker = freshMarker()
        yield* reaper(marker)
        const runner = yield* ProcessRunner
        const fiber = yield* Effect.fork(runner.run(escaperRun(dir, marker, [])))
        const sleeps = yield* awaitSleeps(path.join(dir, "o.log"))
        expect(marked(marker).length).toBeGreaterThanOrEqual(3)
        const exit = yield* Fiber.interrupt(fiber)
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(sleeps.filter(processAlive)).toEqual([])
        expect(marked(marker)).toEqual([])
      }).pipe(Effect.provide(ProcessRunnerLive))
    )
  )

  it.live("(d) a grandchild ignoring SIGTERM in its own session is SIGKILLed after the grace", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const marker = freshMarker()
        yield* reaper(marker)
        const runner = yield* ProcessRunner
        const started = yield* Clock.currentTimeMillis
        const result = yield* runner.run(escaperRun(dir, marker, ["stubborn", "exit"], { killGrace: Duration.seconds(1) }))
        const ended = yield* Clock.currentTimeMillis
        const sleeps = yield* awaitSleeps(path.join(dir, "o.log"))
        expect(result.exitCode).toBe(0)
        expect(sleeps).toHaveLength(3)
        expect(sleeps.filter(processAlive)).toEqual([])
        expect(marked(marker)).toEqual([])
        // It survived SIGTERM, so the run waited out the grace before SIGKILL.
        expect(ended - started).toBeGreaterThanOrEqual(1000)
      }).pipe(Effect.provide(ProcessRunnerLive))
    )
  )

  it.live("killAllChildGroups (the second Ctrl-C) kills setsid'd descendants at once, synchronously", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const marker = freshMarker()
        yield* reaper(marker)
        const runner = yield* ProcessRunner
        const fiber = yield* Effect.fork(runner.run(escaperRun(dir, marker, ["stubborn"], { killGrace: Duration.minutes(1) })))
        const sleeps = yield* awaitSleeps(path.join(dir, "o.log"))
        // One synchronous block: the run's own finalizer cannot run before the check.
        const left = yield* Effect.sync(() => {
          killAllChildGroups("SIGKILL")
          const deadline = Date.now() + 3000
          let alive = marked(marker)
          while (alive.length > 0 && Date.now() < deadline) alive = marked(marker)
          return alive
        })
        expect(left).toEqual([])
        expect(sleeps.filter(processAlive)).toEqual([])
        const result = yield* Fiber.join(fiber)
        expect(result.signal).toBe("SIGKILL")
      }).pipe(Effect.provide(ProcessRunnerLive))
    )
  )

  it.live("terminateSwarmProcesses ends every process of one swarm and nothing of another", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const dead = freshMarker("dead0001")
        const live = freshMarker("dead00012")
        yield* reaper(dead)
        yield* reaper(live)
        const runner = yield* ProcessRunner
        const deadDir = path.join(dir, "dead")
        const liveDir = path.join(dir, "live")
        fs.mkdirSync(deadDir)
        fs.mkdirSync(liveDir)
        const deadFiber = yield* Effect.fork(runner.run(escaperRun(deadDir, dead, ["stubborn"])))
        const liveFiber = yield* Effect.fork(runner.run(escaperRun(liveDir, live, [])))
        const deadSleeps = yield* awaitSleeps(path.join(deadDir, "o.log"))
        yield* awaitSleeps(path.join(liveDir, "o.log"))
        const liveBefore = [...marked(live)].sort()
        yield* terminateSwarmProcesses("dead0001", Duration.millis(500))
        expect(marked(dead)).toEqual([])
        expect(deadSleeps.filter(processAlive)).toEqual([])
        // "dead00012/…" starts with "dead0001" but not with "dead0001/": untouched.
        expect([...marked(live)].sort()).toEqual(liveBefore)
        expect(markerOfProcess(liveBefore[0]!)).toBe(live)
        yield* Fiber.join(deadFiber)
        yield* Fiber.interrupt(liveFiber)
        expect(marked(live)).toEqual([])
      }).pipe(Effect.provide(ProcessRunnerLive))
    )
  )

  it("bornSince: a marked process out of the group, started after this one, is found; the bound skips only older ones", () => {
    const marker = freshMarker()
    // Its own session (setsid), so only the marker can find it.
    const sleeper = child_process.spawn("setsid", ["sleep", "30"], { env: { ...process.env, OOMPA_TURN: marker }, stdio: "ignore" })
    try {
      const deadline = Date.now() + 5_000
      let found: ReadonlyArray<number> = []
      while (found.length === 0 && Date.now() < deadline) {
        found = findProcesses({ marker: (m) => m === marker, bornSince: selfStartTime() })
      }
      expect(found).toHaveLength(1)
      const started = Number(readStatFields(found[0]!)[19])
      expect(findProcesses({ marker: (m) => m === marker, bornSince: started })).toEqual(found)
      expect(findProcesses({ marker: (m) => m === marker, bornSince: started + 1 })).toEqual([])
      process.kill(found[0]!, "SIGKILL")
    } finally {
      sleeper.kill("SIGKILL")
    }
  })
})
