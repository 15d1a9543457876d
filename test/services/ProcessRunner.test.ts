import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Clock, Duration, Effect, Exit, Fiber } from "effect"
import { liveChildGroups } from "../../src/services/childGroups.js"
import { liveGroupMembers, ProcessRunner, ProcessRunnerLive } from "../../src/services/ProcessRunner.js"

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "fake-clis")
const node = process.execPath

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "oompa-pr-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A process that is gone or a zombie (an orphan the container's init never reaps). */
const isDead = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]
    return state === "Z" || state === "X"
  } catch {
    try {
      process.kill(pid, 0)
      return false
    } catch {
      return true
    }
  }
}

/** Waits (on a condition, with a deadline) for the fake CLI to write its pids. */
const awaitPids = (file: string) =>
  Effect.gen(function* () {
    const deadline = (yield* Clock.currentTimeMillis) + 20_000
    while (!fs.existsSync(file)) {
      if ((yield* Clock.currentTimeMillis) > deadline) return yield* Effect.dieMessage(`no ${file}`)
      yield* Effect.sleep(Duration.millis(20))
    }
    const [leader, grandchild] = fs.readFileSync(file, "utf8").split(" ").map(Number)
    return { leader: leader!, grandchild: grandchild! }
  })

describe("ProcessRunner", () => {
  it.scoped("passes argv, env and stdin, streams output to the log files, reports the exit code", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const runner = yield* ProcessRunner
      const stdoutPath = path.join(dir, "logs", "t1.log")
      const stderrPath = path.join(dir, "logs", "t1.stderr.log")
      const result = yield* runner.run({
        command: node,
        args: [path.join(fixtures, "echo-exit.mjs"), "3", "a b", "$HOME;`x`"],
        cwd: dir,
        env: { FAKE_EXTRA: "yes" },
        stdin: "the prompt\nline 2",
        stdoutPath,
        stderrPath,
        stderrHeader: "# oompa: a note",
        timeout: Duration.seconds(20)
      })
      expect(result.exitCode).toBe(3)
      expect(result.signal).toBeNull()
      expect(result.timedOut).toBe(false)
      expect(JSON.parse(fs.readFileSync(stdoutPath, "utf8"))).toEqual({
        argv: ["3", "a b", "$HOME;`x`"],
        stdin: "the prompt\nline 2",
        extra: "yes",
        // PWD follows cwd, as a shell would set it (opencode works in $PWD).
        pwd: dir
      })
      expect(fs.readFileSync(stderrPath, "utf8")).toBe("# oompa: a note\nsome stderr\n")
      expect(liveChildGroups()).not.toContain(result.pid)
    }).pipe(Effect.provide(ProcessRunnerLive))
  )

  it.scoped("without stdin the child sees a closed stdin and exits 0", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const runner = yield* ProcessRunner
      const result = yield* runner.run({
        command: node,
        args: [path.join(fixtures, "echo-exit.mjs"), "0"],
        cwd: dir,
        stdoutPath: path.join(dir, "o.log"),
        stderrPath: path.join(dir, "e.log"),
        timeout: Duration.seconds(20)
      })
      expect(result.exitCode).toBe(0)
      expect(JSON.parse(fs.readFileSync(path.join(dir, "o.log"), "utf8")).stdin).toBe("")
    }).pipe(Effect.provide(ProcessRunnerLive))
  )

  it.scoped("a missing executable is a ProcessError", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const runner = yield* ProcessRunner
      const exit = yield* runner
        .run({
          command: path.join(dir, "no-such-cli"),
          args: [],
          cwd: dir,
          stdoutPath: path.join(dir, "o.log"),
          stderrPath: path.join(dir, "e.log"),
          timeout: Duration.seconds(5)
        })
        .pipe(Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("ENOENT")
    }).pipe(Effect.provide(ProcessRunnerLive))
  )

  it.live(
    "200 MB of output goes to the log file while memory stays flat",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const dir = yield* tempDir
          const runner = yield* ProcessRunner
          const stdoutPath = path.join(dir, "big.log")
          const before = process.memoryUsage().rss
          let peak = before
          const sampler = yield* Effect.fork(
            Effect.forever(
              Effect.sync(() => {
                peak = Math.max(peak, process.memoryUsage().rss)
              }).pipe(Effect.zipRight(Effect.sleep(Duration.millis(20))))
            )
          )
          const result = yield* runner.run({
            command: node,
            args: [path.join(fixtures, "flood.mjs"), "200"],
            cwd: dir,
            stdoutPath,
            stderrPath: path.join(dir, "big.stderr.log"),
            timeout: Duration.seconds(120)
          })
          yield* Fiber.interrupt(sampler)
          expect(result.exitCode).toBe(0)
          expect(fs.statSync(stdoutPath).size).toBe(200 * 1024 * 1024)
          expect(peak - before).toBeLessThan(100 * 1024 * 1024)
        }).pipe(Effect.provide(ProcessRunnerLive))
      ),
    120_000
  )

  it.live("on timeout the whole group ends, including a grandchild that ignores SIGTERM", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const runner = yield* ProcessRunner
        const pidsFile = path.join(dir, "pids")
        const result = yield* runner.run({
          command: node,
          args: [path.join(fixtures, "stubborn.mjs")],
          cwd: dir,
          env: { PIDS_FILE: pidsFile },
          stdoutPath: path.join(dir, "o.log"),
          stderrPath: path.join(dir, "e.log"),
          timeout: Duration.seconds(3),
          killGrace: Duration.millis(500)
        })
        const pids = yield* awaitPids(pidsFile)
        expect(result.timedOut).toBe(true)
        expect(result.exitCode).toBeNull()
        expect(result.signal).toBe("SIGTERM")
        expect(pids.leader).toBe(result.pid)
        expect(isDead(pids.grandchild)).toBe(true)
        expect(liveGroupMembers(result.pid)).toEqual([])
        expect(liveChildGroups()).not.toContain(result.pid)
        expect(fs.readFileSync(path.join(dir, "o.log"), "utf8")).toBe("ready\n")
      }).pipe(Effect.provide(ProcessRunnerLive))
    )
  )

  it.live("stall: output then silence ends the whole group as stalled, not timed out, the output kept", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const runner = yield* ProcessRunner
        const pidsFile = path.join(dir, "pids")
        // stubborn.mjs prints "ready" once its SIGTERM-ignoring grandchild is up, then says nothing.
        const result = yield* runner.run({
          command: node,
          args: [path.join(fixtures, "stubborn.mjs")],
          cwd: dir,
          env: { PIDS_FILE: pidsFile },
          stdoutPath: path.join(dir, "o.log"),
          stderrPath: path.join(dir, "e.log"),
          stderrHeader: "# oompa: the header is not the agent's output",
          timeout: Duration.minutes(2),
          stallTimeout: Duration.seconds(3),
          killGrace: Duration.millis(500)
        })
        const pids = yield* awaitPids(pidsFile)
        expect(result.stalled).toBe(true)
        expect(result.timedOut).toBe(false)
        expect(result.exitCode).toBeNull()
        expect(result.signal).toBe("SIGTERM")
        expect(result.durationMs).toBeGreaterThanOrEqual(3000)
        expect(result.durationMs).toBeLessThan(60_000)
        expect(isDead(pids.grandchild)).toBe(true)
        expect(liveGroupMembers(result.pid)).toEqual([])
        expect(liveChildGroups()).not.toContain(result.pid)
        expect(fs.readFileSync(path.join(dir, "o.log"), "utf8")).toBe("ready\n")
      }).pipe(Effect.provide(ProcessRunnerLive))
    )
  )

  it.live("stall: an agent that keeps writing (to stderr only) more often than stallTimeout is not stalled", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const runner = yield* ProcessRunner
        // 12 lines 250 ms apart: 3 s in all, three times the stall timeout, never 1 s silent.
        const result = yield* runner.run({
          command: node,
          args: [path.join(fixtures, "drip.mjs"), "250", "12"],
          cwd: dir,
          stdoutPath: path.join(dir, "o.log"),
          stderrPath: path.join(dir, "e.log"),
          timeout: Duration.minutes(2),
          stallTimeout: Duration.seconds(1)
        })
        expect(result.stalled).toBe(false)
        expect(result.timedOut).toBe(false)
        expect(result.exitCode).toBe(0)
        expect(result.durationMs).toBeGreaterThan(2500)
        expect(fs.readFileSync(path.join(dir, "e.log"), "utf8").split("\n").filter((l) => l.startsWith("still thinking"))).toHaveLength(12)
        expect(fs.readFileSync(path.join(dir, "o.log"), "utf8")).toBe("")
      }).pipe(Effect.provide(ProcessRunnerLive))
    )
  )

  it.live("interrupting the fiber mid-run ends the whole group", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const runner = yield* ProcessRunner
        const pidsFile = path.join(dir, "pids")
        const fiber = yield* Effect.fork(
          runner.run({
            command: node,
            args: [path.join(fixtures, "stubborn.mjs")],
            cwd: dir,
            env: { PIDS_FILE: pidsFile },
            stdoutPath: path.join(dir, "o.log"),
            stderrPath: path.join(dir, "e.log"),
            timeout: Duration.minutes(5),
            killGrace: Duration.millis(500)
          })
        )
        const pids = yield* awaitPids(pidsFile)
        expect([...liveGroupMembers(pids.leader)].sort()).toEqual([pids.leader, pids.grandchild].sort())
        expect(liveChildGroups()).toContain(pids.leader)
        const exit = yield* Fiber.interrupt(fiber)
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(isDead(pids.leader)).toBe(true)
        expect(isDead(pids.grandchild)).toBe(true)
        expect(liveGroupMembers(pids.leader)).toEqual([])
        expect(liveChildGroups()).not.toContain(pids.leader)
      }).pipe(Effect.provide(ProcessRunnerLive))
    )
  )

  it.live("a member left behind after the leader exits 0 is ended too", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const dir = yield* tempDir
        const runner = yield* ProcessRunner
        const pidsFile = path.join(dir, "pids")
        const result = yield* runner.run({
          command: node,
          args: [path.join(fixtures, "stubborn.mjs"), "exit"],
          cwd: dir,
          env: { PIDS_FILE: pidsFile },
          stdoutPath: path.join(dir, "o.log"),
          stderrPath: path.join(dir, "e.log"),
          timeout: Duration.seconds(30),
          killGrace: Duration.millis(500)
        })
        const pids = yield* awaitPids(pidsFile)
        expect(result.exitCode).toBe(0)
        expect(result.timedOut).toBe(false)
        expect(isDead(pids.grandchild)).toBe(true)
        expect(liveGroupMembers(result.pid)).toEqual([])
      }).pipe(Effect.provide(ProcessRunnerLive))
    )
  )

  describe("startDetached (oompa swarm --detach)", () => {
    it.live("starts a process in its own session, stdout and stderr appended to the log, and returns its pid", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const dir = yield* tempDir
          const runner = yield* ProcessRunner
          const log = path.join(dir, ".oompa", "swarm.log")
          fs.mkdirSync(path.dirname(log))
          fs.writeFileSync(log, "earlier run\n")
          const script = [
            `const s = require("fs").readFileSync("/proc/self/stat", "utf8")`,
            `const f = s.slice(s.lastIndexOf(")") + 2).split(" ")`,
            `console.log("pid " + process.pid + " group " + f[2] + " session " + f[3])`,
            `console.error("to stderr")`
          ].join("\n")
          const child = yield* runner.startDetached({ command: node, args: ["-e", script], cwd: dir, logPath: log })
          expect(child.pid).toBeGreaterThan(0)
          const deadline = (yield* Clock.currentTimeMillis) + 20_000
          while (!fs.readFileSync(log, "utf8").includes("to stderr")) {
            if ((yield* Clock.currentTimeMillis) > deadline) return yield* Effect.dieMessage(`nothing in ${log}`)
            yield* Effect.sleep(Duration.millis(20))
          }
          const text = fs.readFileSync(log, "utf8")
          expect(text.startsWith("earlier run\n")).toBe(true)
          // Its own group and session: a Ctrl-C in the terminal that started it does not reach it.
          expect(text).toContain(`pid ${child.pid} group ${child.pid} session ${child.pid}\n`)
        }).pipe(Effect.provide(ProcessRunnerLive))
      )
    )

    it.scoped("a missing executable is a ProcessError", () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const runner = yield* ProcessRunner
        const exit = yield* runner
          .startDetached({ command: path.join(dir, "no-such-cli"), args: [], cwd: dir, logPath: path.join(dir, "d.log") })
          .pipe(Effect.exit)
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("ENOENT")
      }).pipe(Effect.provide(ProcessRunnerLive))
    )
  })
})
