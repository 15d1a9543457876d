/**
 * The merge train (SPEC §7, issue 13): with a test_command, workers landing at
 * once test stacked candidates in parallel and land one after another, instead
 * of re-testing each time a landing moves the target. Real git in temp repos,
 * in-process mock agents. Each worker claims its own task (distinct files).
 *
 * The test command is a barrier: every run records which worker ran it and
 * whether the tree held the broken work, then waits until `arrivals` runs have
 * started (or a bound passes), so the workers are all testing at the same time:
 * the case the train is for, made certain rather than left to timing.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Ref } from "effect"
import { runSwarm } from "../../src/engine/swarm.js"
import { markHolding } from "../../src/engine/train.js"
import { MERGE_SIGNAL } from "../../src/domain/Signal.js"
import { Harnesses } from "../../src/harness/Harness.js"
import { builtinHarnessNames } from "../../src/harness/registry.js"
import { GitLive } from "../../src/services/Git.js"
import { MergeLock, MergeLockLive } from "../../src/services/MergeLock.js"
import { ProcessRunnerLive } from "../../src/services/ProcessRunner.js"
import { makeGitRepo, type GitRepo } from "../support/gitRepo.js"
import { engineTestLayer, inProcessMock, makeTasks, readTasks, setupProject, validateRunFiles } from "../support/swarmProject.js"
import { waitUntil } from "../support/waitUntil.js"

const quiet = () => Effect.void
const WORKERS = 8

interface Event {
  readonly type: string
  readonly message: string
  readonly worker?: string
  readonly data?: Record<string, unknown>
}
const readEvents = (runDir: string): ReadonlyArray<Event> =>
  fs
    .readFileSync(path.join(runDir, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Event)
const mergeSteps = (runDir: string, step: string) => readEvents(runDir).filter((e) => e.type === "merge" && e.data?.["step"] === step)

/** The test_command: record "<worker> <files holding BROKEN>", wait for `arrivals` runs (at most `bound` s), then `then`. */
const barrier = (runs: string, arrivals: number, bound: number, then = "true") =>
  `echo "$(basename "$PWD" | sed -E 's/.*-(w[0-9]+)-c[0-9]+$/\\1/') $(grep -rls BROKEN work | wc -l)" >> '${runs}'; ` +
  `i=0; while [ "$(wc -l < '${runs}')" -lt ${arrivals} ] && [ $i -lt ${bound * 20} ]; do sleep 0.05; i=$((i+1)); done; ${then}`

interface TestRun {
  readonly worker: string
  readonly broken: boolean
}
const readRuns = (runs: string): ReadonlyArray<TestRun> =>
  fs
    .readFileSync(runs, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [worker, broken] = line.split(" ")
      return { worker: worker!, broken: Number(broken) > 0 }
    })

/** Worker wK claims task K+1 on its first turn, then does it (the diligent behaviour); `override` replaces a worker's steps. */
const ownTasks = (override: Record<string, ReadonlyArray<Record<string, unknown>>> = {}) => ({
  turns: Object.fromEntries(
    Array.from({ length: WORKERS }, (_, i) => [
      `w${i}`,
      override[`w${i}`] ?? [{ say: `CLAIM(task-${String(i + 1).padStart(2, "0")})` }, { auto: true }]
    ])
  )
})

const project = (repo: GitRepo, testCommand: string, scenario = ownTasks()) =>
  setupProject(repo, {
    config: { workers: [{ model: "mock:scenario.json", count: WORKERS, max_cycle: 1 }], test_command: testCommand },
    tasks: makeTasks(WORKERS),
    scenario
  })

const isAncestor = (repo: GitRepo, commit: string, of: string) =>
  repo.gitRaw(repo.path, "merge-base", "--is-ancestor", commit, of).pipe(Effect.map((r) => r.exitCode === 0))

/** Subjects of the commits `ref` holds that the target does not (a merge of landed work is no one's work). */
const unlandedSubjects = (repo: GitRepo, ref: string) =>
  repo.git("log", "--no-merges", "--format=%s", ref, "^main").pipe(Effect.map((out) => out.split("\n").filter(Boolean)))

/** Every task merged by exactly one merged cycle, its work on main. */
const expectAllLanded = (repo: GitRepo, cycles: ReadonlyArray<{ outcome: string; claims: ReadonlyArray<string>; worker: string; detail: string }>, ids: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const merged = cycles.filter((c) => c.outcome === "merged")
    expect(merged.flatMap((c) => c.claims).sort(), cycles.map((c) => `${c.worker} ${c.outcome}: ${c.detail}`).join("\n")).toEqual([...ids].sort())
    const complete = readTasks(repo.path, "complete")
    expect(Object.keys(complete).sort()).toEqual([...ids].sort())
    for (const id of ids) {
      expect(yield* isAncestor(repo, String(complete[id]!["merged_commit"]), "main")).toBe(true)
      expect(yield* repo.git("show", `main:work/${id}.md`)).toContain(`# ${id}`)
    }
    expect(readTasks(repo.path, "current")).toEqual({})
    // The user's checkout follows main: clean, not mid-merge.
    expect(yield* repo.git("status", "--porcelain", "--untracked-files=no")).toBe("")
  })

const taskIds = makeTasks(WORKERS).map((t) => String(t["id"]))

describe("the merge train (SPEC §7)", () => {
  it.live("8 workers landing at once: every task lands once, each tested once, in parallel, with no retry", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "README.md": "# test repo\n" } })
      const runs = path.join(yield* repo.tempDir(), "runs.txt")
      const config = yield* project(repo, barrier(runs, WORKERS, 30))
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))

      const files = validateRunFiles(result.runDir)
      yield* expectAllLanded(repo, files.cycles, taskIds)
      // Serial re-testing would take 8 + 7 + … + 1 = 36 runs (and exceed max_merge_retries).
      expect(readRuns(runs).map((r) => r.worker).sort()).toEqual(Array.from({ length: WORKERS }, (_, i) => `w${i}`).sort())
      expect(mergeSteps(result.runDir, "retry")).toEqual([])
      expect(mergeSteps(result.runDir, "merged").map((e) => e.data?.["retries"])).toEqual(Array(WORKERS).fill(0))
      expect(fs.readdirSync(path.join(result.runDir, "logs")).filter((f) => /-test.*\.log$/.test(f) && !f.includes("stderr")).sort()).toEqual(
        Array.from({ length: WORKERS }, (_, i) => `w${i}-c1-test0.log`).sort()
      )
      expect(yield* repo.git("for-each-ref", "refs/oompa/")).toBe("")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a worker whose tests fail drops out: the others land, its work is on no other ref, candidates built on it are tested again", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "README.md": "# test repo\n" } })
      const runs = path.join(yield* repo.tempDir(), "runs.txt")
      const broken = [
        { say: "CLAIM(task-04)" },
        { write: { "work/task-04.md": "# task-04\nBROKEN\n" }, say: `Done.\n${MERGE_SIGNAL}` },
        // Told its tests failed, the agent gives up: an error cycle, its work kept.
        { exit: 1 }
      ]
      const config = yield* project(repo, barrier(runs, WORKERS, 30, "! grep -rqs BROKEN work"), ownTasks({ w3: broken }))
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))

      const files = validateRunFiles(result.runDir)
      const others = taskIds.filter((id) => id !== "task-04")
      yield* expectAllLanded(repo, files.cycles, others)
      const w3 = files.cycles.find((c) => c.worker === "w3")!
      expect(w3.outcome, w3.detail).toBe("error")
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-04"])
      expect(mergeSteps(result.runDir, "tests-failed").map((e) => e.worker)).toEqual(["w3"])
      // Its work: only under its own kept ref, which holds nothing of anyone else's but what landed.
      const own = (yield* repo.git("log", "--format=%H", "-1", `${w3.keptRef}`, "--", "work/task-04.md")).trim()
      expect(yield* isAncestor(repo, own, "main")).toBe(false)
      expect((yield* repo.git("for-each-ref", "--format=%(refname)", "--contains", own)).split("\n")).toEqual([w3.keptRef])
      for (const subject of yield* unlandedSubjects(repo, w3.keptRef)) expect(subject).toMatch(/^(w3: |oompa: work kept from w3-c1)/)
      // A worker that tested a candidate holding the broken work tested again without it.
      const all = readRuns(runs)
      for (const worker of new Set(all.filter((r) => r.broken && r.worker !== "w3").map((r) => r.worker))) {
        const mine = all.filter((r) => r.worker === worker)
        expect(mine.at(-1)?.broken, `${worker}: ${JSON.stringify(mine)}`).toBe(false)
      }
      expect(all.length).toBeLessThanOrEqual(WORKERS + WORKERS - 1)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("the user commits on main while the train tests: one retry, everything lands on top of the user's commit", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "README.md": "# test repo\n", "user.txt": "the user's log\n" } })
      const runs = path.join(yield* repo.tempDir(), "runs.txt")
      const config = yield* project(repo, barrier(runs, WORKERS, 30))
      // The first worker to hold the merge lock finds that the user has just committed on main.
      const userCommit = yield* Ref.make<string | undefined>(undefined)
      const hooked = Layer.effect(
        MergeLock,
        Effect.gen(function* () {
          const live = yield* MergeLock
          const holds = yield* Ref.make(0)
          const beforeLanding = Effect.gen(function* () {
            if ((yield* Ref.updateAndGet(holds, (n) => n + 1)) !== 1) return
            fs.appendFileSync(path.join(repo.path, "user.txt"), "the user's commit\n")
            yield* repo.git("commit", "-q", "--no-verify", "-m", "user: during the train", "--", "user.txt")
            yield* Ref.set(userCommit, yield* repo.revParse("main"))
          })
          return MergeLock.of({ ...live, withLock: (root, effect, options) => live.withLock(root, Effect.zipRight(beforeLanding, effect), options) })
        })
      ).pipe(Layer.provide(MergeLockLive.pipe(Layer.provide(GitLive))))
      const mock = inProcessMock(repo.path)
      const layer = Layer.mergeAll(GitLive, hooked, ProcessRunnerLive, Layer.succeed(Harnesses, { names: builtinHarnessNames, get: () => mock })).pipe(
        Layer.provideMerge(NodeContext.layer)
      )
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(layer))

      const files = validateRunFiles(result.runDir)
      yield* expectAllLanded(repo, files.cycles, taskIds)
      const user = yield* Ref.get(userCommit)
      expect(user).toBeDefined()
      expect(yield* isAncestor(repo, user!, "main")).toBe(true)
      expect(yield* repo.git("show", "main:user.txt")).toBe("the user's log\nthe user's commit")
      // Only the worker whose landing met the moved target counts a retry; those voided behind it do not.
      expect(mergeSteps(result.runDir, "retry").map((e) => e.data?.["retry"])).toEqual([1])
      // Each worker tested at most twice: its first candidate, and one on top of the user's commit.
      const perWorker = new Map<string, number>()
      for (const run of readRuns(runs)) perWorker.set(run.worker, (perWorker.get(run.worker) ?? 0) + 1)
      expect([...perWorker.values()].every((n) => n <= 2), JSON.stringify([...perWorker])).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("interrupted while the whole train tests: every worker's kept ref holds its own work only, nothing lands", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "README.md": "# test repo\n" } })
      const dir = yield* repo.tempDir()
      const runs = path.join(dir, "runs.txt")
      // One arrival more than there are workers: the tests wait until the interruption ends them.
      const config = yield* project(repo, barrier(runs, WORKERS + 1, 120))
      const fiber = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })), Effect.fork)
      const started = () => fs.existsSync(runs) && readRuns(runs).length === WORKERS
      yield* Effect.raceFirst(
        Effect.promise(() => waitUntil(dir, started, `${WORKERS} test runs`)),
        Fiber.await(fiber).pipe(Effect.zipRight(Effect.dieMessage("the swarm ended before the train was testing")))
      )
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)

      const runDir = fs.readdirSync(path.join(repo.path, ".oompa", "runs")).map((d) => path.join(repo.path, ".oompa", "runs", d))[0]!
      const files = validateRunFiles(runDir)
      expect(files.cycles.map((c) => c.outcome)).toEqual(Array(WORKERS).fill("interrupted"))
      expect(yield* repo.git("log", "--format=%s", "main")).toBe("initial commit")
      for (const cycle of files.cycles) {
        expect(cycle.keptRef).toBeDefined()
        const subjects = yield* unlandedSubjects(repo, cycle.keptRef)
        for (const subject of subjects) expect(subject).toMatch(new RegExp(`^(${cycle.worker}: |oompa: work kept from ${cycle.worker}-c1)`))
        expect(yield* repo.git("show", `${cycle.keptRef}:work/${cycle.claims[0]}.md`)).toContain(`# ${cycle.claims[0]}`)
      }
      expect(Object.keys(readTasks(repo.path, "pending")).sort()).toEqual(taskIds)
      expect(yield* repo.git("worktree", "list", "--porcelain").pipe(Effect.map((out) => out.split("\n").filter((l) => l.startsWith("worktree ")).length))).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a run killed while a worktree held a candidate: recovery keeps the worker's own work, not the candidate", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, { config: { workers: [{ model: "mock:diligent", max_cycle: 1 }] }, tasks: makeTasks(1) })
      // Leftovers of a run killed with SIGKILL mid-train: started.json with a dead pid, and w0's
      // worktree holding its own commit with another worker's unlanded commit merged on top.
      const dead = "deadbeef"
      const runDir = path.join(repo.path, ".oompa", "runs", dead)
      fs.mkdirSync(runDir, { recursive: true })
      fs.writeFileSync(
        path.join(runDir, "started.json"),
        JSON.stringify({
          swarm: dead, pid: 2 ** 22 + 7, host: "x", startedAt: "2026-01-01T00:00:00Z", projectRoot: repo.path,
          configPath: "oompa.json", targetBranch: "main", tasksDir: "tasks",
          versions: { oompa: "0", node: "v20" }, workers: [], config: null
        })
      )
      const other = path.join(repo.path, ".oompa", "worktrees", `${dead}-w1-c1`)
      yield* repo.git("worktree", "add", "-q", "-b", `oompa/${dead}/w1-c1`, other, "main")
      fs.writeFileSync(path.join(other, "theirs.txt"), "w1's work\n")
      yield* repo.gitIn(other, "add", "theirs.txt")
      yield* repo.gitIn(other, "commit", "-q", "-m", "w1: theirs")
      const wt = path.join(repo.path, ".oompa", "worktrees", `${dead}-w0-c1`)
      yield* repo.git("worktree", "add", "-q", "-b", `oompa/${dead}/w0-c1`, wt, "main")
      fs.writeFileSync(path.join(wt, "own.txt"), "w0's work\n")
      yield* repo.gitIn(wt, "add", "own.txt")
      yield* repo.gitIn(wt, "commit", "-q", "-m", "w0: own")
      yield* markHolding(wt, (yield* repo.gitIn(wt, "rev-parse", "HEAD")).trim())
      yield* repo.gitIn(wt, "merge", "-q", "--no-ff", "--no-edit", `oompa/${dead}/w1-c1`)

      yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))
      expect(yield* unlandedSubjects(repo, `refs/oompa/kept/${dead}/w0-c1`)).toEqual(["w0: own"])
      expect(yield* unlandedSubjects(repo, `refs/oompa/kept/${dead}/w1-c1`)).toEqual(["w1: theirs"])
      expect(fs.existsSync(wt)).toBe(false)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("two workers changing one file: the conflict reaches an agent only against work that has landed, and both land", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "shared.txt": "base\n" } })
      const runs = path.join(yield* repo.tempDir(), "runs.txt")
      const edit = (worker: string, task: string) => [
        { say: `CLAIM(${task})` },
        { write: { "shared.txt": `base\nfrom ${worker}\n` }, auto: true }
      ]
      const config = yield* setupProject(repo, {
        // The first test waits (at most 3 s) for the other's, so that the second usually meets the first in the train.
        config: { workers: [{ model: "mock:scenario.json", count: 2, max_cycle: 1 }], test_command: barrier(runs, 2, 3) },
        tasks: makeTasks(2),
        scenario: { turns: { w0: edit("w0", "task-01"), w1: edit("w1", "task-02") } }
      })
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))

      const files = validateRunFiles(result.runDir)
      yield* expectAllLanded(repo, files.cycles, ["task-01", "task-02"])
      const shared = yield* repo.git("show", "main:shared.txt")
      expect(shared).toContain("from w0")
      expect(shared).toContain("from w1")
      expect(shared).not.toMatch(/^(<<<<<<<|=======|>>>>>>>)/m)
      // One conflict for one agent, met only once the other's work was on main.
      const merges = readEvents(result.runDir).filter((e) => e.type === "merge")
      const conflicts = merges.filter((e) => e.data?.["step"] === "conflict")
      expect(conflicts).toHaveLength(1)
      expect(merges.findIndex((e) => e.data?.["step"] === "merged")).toBeLessThan(merges.indexOf(conflicts[0]!))
      const resolver = files.cycles.find((c) => c.worker === conflicts[0]!.worker)!
      expect(resolver.turns.map((t: { kind: string }) => t.kind)).toContain("conflict-feedback")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a landing the user's checkout blocks is tried again with the candidate already tested: it lands once the file is reverted, tested once", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "notes.txt": "original\n" } })
      const runs = path.join(yield* repo.tempDir(), "runs.txt")
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 1 }], merge_wait: 60, test_command: barrier(runs, 1, 1) },
        tasks: makeTasks(1),
        scenario: { turns: { w0: [{ auto: true }, { write: { "notes.txt": "original\nagent version\n" }, auto: true }] } }
      })
      yield* repo.write("notes.txt", "user's uncommitted edit\n")
      const held = yield* Deferred.make<void>()
      const print = (line: string) => (line.includes("cannot move") ? Deferred.succeed(held, undefined) : Effect.void)
      const fiber = yield* runSwarm(config, { print }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })), Effect.fork)
      yield* Effect.raceFirst(
        Deferred.await(held),
        Fiber.await(fiber).pipe(Effect.zipRight(Effect.dieMessage("the swarm ended without holding the work")))
      )
      yield* repo.git("checkout", "--", "notes.txt")
      const result = yield* Fiber.join(fiber)

      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome, cycle.detail).toBe("merged")
      expect(yield* repo.git("show", "main:notes.txt")).toBe("original\nagent version")
      expect(readRuns(runs).map((r) => r.worker)).toEqual(["w0"])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})
