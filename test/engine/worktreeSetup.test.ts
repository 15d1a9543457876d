/**
 * Worktree setup end to end (docs/worktree-setup.md): real git, real setup
 * processes, the in-process mock agent whose `run` commands check what the
 * setup left in the worktree and what its environment holds. What is asserted
 * is what a user sees: files, events.jsonl, the cycle records, the queue, and
 * which processes are left.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { beforeAll } from "vitest"
import { NodeContext } from "@effect/platform-node"
import { Effect, Exit, Fiber, PubSub, TestClock } from "effect"
import type { RunEvent } from "../../src/domain/RunEvent.js"
import { runSwarm } from "../../src/engine/swarm.js"
import { processAlive } from "../../src/services/processTree.js"
import { makeProcessMockHarness } from "../../src/harness/mock.js"
import { ProcessRunnerLive } from "../../src/services/ProcessRunner.js"
import { makeGitRepo, type GitRepo } from "../support/gitRepo.js"
import { waitUntil } from "../support/waitUntil.js"
import { ensureBuilt } from "../support/runCli.js"

// One test runs the mock agent executable (dist/mock-agent.js).
beforeAll(() => ensureBuilt(), 300_000)
import { engineTestLayer, expectMergedNothing, makeTasks, readTasks, setupProject, validateRunFiles } from "../support/swarmProject.js"
import { awaitSleepUntil, nextEvent } from "../support/clockedSwarm.js"

const quiet = () => Effect.void

/** The queue leaves files younger than 2 s alone: date the tasks in the past. */
const backdateTasks = (repo: GitRepo) => {
  const dir = path.join(repo.path, "tasks", "pending")
  const past = new Date(Date.now() - 60_000)
  for (const name of fs.readdirSync(dir)) fs.utimesSync(path.join(dir, name), past, past)
}

interface Event {
  readonly type: string
  readonly message: string
  readonly worker?: string
  readonly cycle?: number
  readonly data?: Record<string, unknown>
}
const events = (runDir: string): ReadonlyArray<Event> =>
  fs
    .readFileSync(path.join(runDir, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line))

/** A repo whose .gitignore keeps the copied files and what the setup writes out of the agents' commits. */
const makeRepo = () =>
  makeGitRepo({ files: { "README.md": "# test repo\n", ".gitignore": ".env\n.setup-done\nconfig/local.json\nfixtures/\n" } })

const read = (file: string) => fs.readFileSync(file, "utf8")

describe("worktree setup (real git, real processes, in-process mock agent)", () => {
  it.live("copies a file, a nested path and a folder, runs the setup commands before the first turn, and its env reaches the turns and test_command", () =>
    Effect.gen(function* () {
      const repo = yield* makeRepo()
      const probe = yield* repo.tempDir()
      yield* repo.write(".env", "SECRET=1\n")
      yield* repo.write("config/local.json", '{"db": "local"}\n')
      yield* repo.write("fixtures/deep/data.txt", "fixture data\n")
      const config = yield* setupProject(repo, {
        config: {
          workers: [{ model: "mock:scenario.json", max_cycle: 1 }],
          test_command: 'echo "$PORT $WORKER_INDEX" > "$PROBE/test-$WID"',
          worktree: {
            copy: [".env", "config/local.json", "fixtures"],
            setup: ["cat .env config/local.json > .setup-done", 'echo "port=$PORT index={{WORKER_INDEX}}" >> .setup-done'],
            env: { PORT: "{{PORT}}", WORKER_INDEX: "{{WORKER_INDEX}}", WID: "{{WORKER_ID}}", PROBE: probe }
          }
        },
        tasks: makeTasks(1),
        // The agent's first turn checks the worktree before it does anything: a missing file fails the turn.
        scenario: {
          turns: {
            "*": [
              {
                run: [
                  "test -f .setup-done",
                  "test -f fixtures/deep/data.txt",
                  'cp .setup-done "$PROBE/seen-by-turn-$WID"',
                  'echo "$PORT" > "$PROBE/turn-$WID"'
                ],
                auto: true
              }
            ]
          }
        }
      })
      backdateTasks(repo)
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))

      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome, cycle.detail).toBe("merged")
      const port = read(path.join(probe, "turn-w0")).trim()
      expect(Number(port)).toBeGreaterThan(0)
      // What the setup wrote was in the worktree when the first turn ran: the copies, then the env.
      expect(read(path.join(probe, "seen-by-turn-w0"))).toBe(`SECRET=1\n{"db": "local"}\nport=${port} index=0\n`)
      // test_command ran with the same env.
      expect(read(path.join(probe, "test-w0"))).toBe(`${port} 0\n`)
      const all = events(result.runDir)
      const types = all.map((e) => e.type)
      expect(types.indexOf("cycle-started")).toBeLessThan(types.indexOf("setup-started"))
      expect(types.indexOf("setup-ended")).toBeLessThan(types.indexOf("turn-started"))
      const started = all.find((e) => e.type === "setup-started")!
      expect(started.message).toBe(
        `setting up the worktree: copying .env, config/local.json, fixtures, then running cat .env config/local.json > .setup-done, echo "port=$PORT index=0" >> .setup-done`
      )
      const ended = all.find((e) => e.type === "setup-ended")!
      expect(ended.data).toMatchObject({ ok: true, commands: [{ exitCode: 0, timedOut: false }, { exitCode: 0, timedOut: false }] })
      expect(ended.message).toMatch(/^worktree set up in /)
      expect(fs.existsSync(path.join(result.runDir, "logs", "w0-c1-setup1.log"))).toBe(true)
      // Ignored by git, the copies stayed out of the merged work; nothing was warned about.
      const merged = yield* repo.git("ls-tree", "-r", "--name-only", "HEAD")
      expect(merged.split("\n")).toContain("work/task-01.md")
      expect(merged).not.toContain(".env")
      expect(all.filter((e) => e.type === "warning")).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("the env reaches an agent that is a real child process (the mock agent executable), and what it starts", () =>
    Effect.gen(function* () {
      const repo = yield* makeRepo()
      const probe = yield* repo.tempDir()
      const config = yield* setupProject(repo, {
        config: {
          workers: [{ model: "mock:scenario.json", max_cycle: 1 }],
          worktree: { setup: ["touch .setup-done"], env: { PORT: "{{PORT}}", WID: "{{WORKER_ID}}", PROBE: probe } }
        },
        tasks: makeTasks(1),
        scenario: { turns: { "*": [{ run: ["test -f .setup-done", 'echo "$PORT $WID" > "$PROBE/agent"'], auto: true }] } }
      })
      backdateTasks(repo)
      const harness = yield* makeProcessMockHarness({ baseDir: repo.path, stateDir: yield* repo.tempDir() }).pipe(
        Effect.provide(ProcessRunnerLive)
      )
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path, harness })))
      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome, cycle.detail).toBe("merged")
      expect(read(path.join(probe, "agent"))).toMatch(/^\d+ w0\n$/)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a setup that leaves files git does not ignore is warned about: the agent's commit takes them", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 1 }], worktree: { setup: ["echo built > generated.txt"] } },
        tasks: makeTasks(1),
        scenario: {}
      })
      backdateTasks(repo)
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))
      const warnings = events(result.runDir).filter((e) => e.type === "warning")
      expect(warnings.map((e) => e.message)).toEqual([
        "the worktree setup left files git does not ignore (generated.txt): the agent's commit will include them; add them to .gitignore if they are not part of the work"
      ])
      // What the warning said: the file landed with the work.
      expect(yield* repo.git("show", "HEAD:generated.txt")).toBe("built")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a failing setup command ends the cycle as an error with its output tail; no turn runs, the task stays pending, no process is left", () =>
    Effect.gen(function* () {
      const repo = yield* makeRepo()
      const probe = yield* repo.tempDir()
      const config = yield* setupProject(repo, {
        config: {
          workers: [{ model: "mock:scenario.json", max_cycle: 1 }],
          worktree: {
            setup: [
              'sleep 300 & echo $! > "$PROBE/bg"; echo preparing; echo "npm ERR! missing lockfile" >&2; exit 3',
              'touch "$PROBE/second-ran"'
            ],
            env: { PROBE: probe }
          }
        },
        tasks: makeTasks(1),
        scenario: {}
      })
      backdateTasks(repo)
      const result = yield* expectMergedNothing(
        runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))
      )

      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome).toBe("error")
      const log = path.join(result.runDir, "logs", "w0-c1-setup1.log")
      expect(cycle.detail).toBe(
        `worktree setup failed: \`sleep 300 & echo $! > "$PROBE/bg"; echo preparing; echo "npm ERR! missing lockfile" >&2; exit 3\` exited with 3 ` +
          `(log: ${log}); the end of its output:\npreparing\nnpm ERR! missing lockfile`
      )
      expect(cycle.turns).toEqual([])
      const all = events(result.runDir)
      expect(all.filter((e) => e.type === "turn-started")).toEqual([])
      const ended = all.find((e) => e.type === "setup-ended")!
      expect(ended.message).toContain("npm ERR! missing lockfile")
      expect(ended.data).toMatchObject({ ok: false, commands: [{ exitCode: 3, timedOut: false, log }] })
      expect(all.find((e) => e.type === "cycle-ended")!.message).toContain("cycle 1 error: worktree setup failed:")
      // The setup stopped at the failure; the task is where it was; the background process was ended with the command.
      expect(fs.existsSync(path.join(probe, "second-ran"))).toBe(false)
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
      expect(Object.keys(readTasks(repo.path, "current"))).toEqual([])
      expect(processAlive(Number(read(path.join(probe, "bg")).trim()))).toBe(false)
      // The worktree is gone like any cycle's.
      expect(yield* repo.git("worktree", "list", "--porcelain")).not.toContain("w0-c1")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a setup command that runs past the worker's timeout is ended with its whole process tree, and the cycle ends as an error", () =>
    Effect.gen(function* () {
      const repo = yield* makeRepo()
      const probe = yield* repo.tempDir()
      const config = yield* setupProject(repo, {
        config: {
          workers: [{ model: "mock:scenario.json", max_cycle: 1, timeout: 1 }],
          worktree: {
            // A child in the background and one in the foreground: both outlive the timeout unless ended.
            setup: ['sleep 300 & echo $! > "$PROBE/bg"; sh -c \'echo $$ > "$PROBE/fg"; exec sleep 300\''],
            env: { PROBE: probe }
          }
        },
        tasks: makeTasks(1),
        scenario: {}
      })
      backdateTasks(repo)
      const result = yield* expectMergedNothing(
        runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))
      )
      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome).toBe("error")
      expect(cycle.detail).toContain("timed out after 1s (the worker's timeout)")
      const ended = events(result.runDir).find((e) => e.type === "setup-ended")!
      expect(ended.data).toMatchObject({ ok: false, commands: [{ exitCode: null, timedOut: true }] })
      for (const file of ["bg", "fg"]) expect(processAlive(Number(read(path.join(probe, file)).trim())), file).toBe(false)
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a swarm stopped (Ctrl-C) during a setup command ends its process tree; the cycle is recorded interrupted", () =>
    Effect.gen(function* () {
      const repo = yield* makeRepo()
      const probe = yield* repo.tempDir()
      const config = yield* setupProject(repo, {
        config: {
          workers: [{ model: "mock:scenario.json", max_cycle: 1 }],
          worktree: { setup: ['sleep 300 & echo $! > "$PROBE/bg.tmp"; mv "$PROBE/bg.tmp" "$PROBE/bg"; sleep 300'], env: { PROBE: probe } }
        },
        tasks: makeTasks(1),
        scenario: {}
      })
      backdateTasks(repo)
      const fiber = yield* Effect.fork(runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path }))))
      yield* Effect.promise(() => waitUntil(probe, () => fs.existsSync(path.join(probe, "bg")), "the setup's background process"))
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(processAlive(Number(read(path.join(probe, "bg")).trim()))).toBe(false)
      const runs = path.join(repo.path, ".oompa", "runs")
      const [runDir] = fs.readdirSync(runs).map((name) => path.join(runs, name))
      const [cycle] = validateRunFiles(runDir!).cycles
      expect(cycle.outcome).toBe("interrupted")
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.scoped("failed setups count as consecutive errors (TestClock): backed off 10 s, then the worker stops on too many errors", () =>
    Effect.gen(function* () {
      const repo = yield* makeRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 5 }], max_consecutive_errors: 2, worktree: { setup: ["exit 1"] } },
        tasks: makeTasks(1),
        scenario: {}
      })
      backdateTasks(repo)
      const pubsub = yield* PubSub.unbounded<RunEvent>()
      const events = yield* PubSub.subscribe(pubsub)
      const swarm = yield* runSwarm(config, { print: quiet, events: pubsub }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path })),
        Effect.exit,
        Effect.fork
      )
      const first = yield* nextEvent(events, "cycle-ended")
      expect([first.cycle, first.data.outcome]).toEqual([1, "error"])
      expect(first.data.detail).toContain("worktree setup failed: `exit 1` exited with 1")
      const wakeAt = (yield* TestClock.currentTimeMillis) + 10_000
      yield* awaitSleepUntil(wakeAt)
      yield* TestClock.adjust(10_000)
      expect((yield* nextEvent(events, "cycle-started")).cycle).toBe(2)
      expect((yield* nextEvent(events, "cycle-ended")).data.outcome).toBe("error")
      expect((yield* nextEvent(events, "worker-stopped")).data).toMatchObject({ reason: "too-many-errors", errors: 2, turns: 0 })
      const exit = yield* Fiber.join(swarm)
      expect(Exit.isFailure(exit)).toBe(true)
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("{{PORT}} is distinct per worker, free on 127.0.0.1, and the same in every cycle of a worker; {{WORKER_INDEX}} is its index", () =>
    Effect.gen(function* () {
      const repo = yield* makeRepo()
      const probe = yield* repo.tempDir()
      // The setup binds the port on 127.0.0.1 (it must be free), then records it with the index.
      const bind = `"${process.execPath}" -e "const s=require('net').createServer();s.listen($PORT,'127.0.0.1',()=>s.close())"`
      const config = yield* setupProject(repo, {
        config: {
          workers: [{ model: "mock:scenario.json", max_cycle: 2, count: 2 }],
          worktree: {
            setup: [bind, 'echo "$PORT {{WORKER_INDEX}}" >> "$PROBE/setup-{{WORKER_ID}}"'],
            env: { PORT: "{{PORT}}", PROBE: probe }
          }
        },
        tasks: makeTasks(4),
        scenario: {}
      })
      backdateTasks(repo)
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))
      const cycles = validateRunFiles(result.runDir).cycles
      expect(cycles.every((c: { outcome: string }) => c.outcome !== "error"), JSON.stringify(cycles.map((c: { detail: string }) => c.detail))).toBe(true)
      const lines = (worker: string) => read(path.join(probe, `setup-${worker}`)).trim().split("\n")
      const [w0, w1] = [lines("w0"), lines("w1")]
      // One line per cycle the worker ran, all with its one port and its index.
      expect(w0.length).toBe(cycles.filter((c: { worker: string }) => c.worker === "w0").length)
      expect(w1.length).toBe(cycles.filter((c: { worker: string }) => c.worker === "w1").length)
      expect(new Set(w0).size).toBe(1)
      expect(new Set(w1).size).toBe(1)
      const [port0, index0] = w0[0]!.split(" ")
      const [port1, index1] = w1[0]!.split(" ")
      expect([index0, index1]).toEqual(["0", "1"])
      expect(Number(port0)).toBeGreaterThan(0)
      expect(Number(port1)).toBeGreaterThan(0)
      expect(port0).not.toBe(port1)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})
