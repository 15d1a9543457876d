/**
 * SPEC §7 under a moving target and a blocked checkout (issue 7): approved work
 * is merged again when the target moved before it could land, and held (never
 * touching the user's files) while the user's checkout blocks the fast forward.
 * Real git in temp repos, in-process mock agents.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Layer, Ref } from "effect"
import { blockedRetryDelay } from "../../src/engine/deliver.js"
import { runSwarm } from "../../src/engine/swarm.js"
import { Harnesses } from "../../src/harness/Harness.js"
import { GitLive } from "../../src/services/Git.js"
import { MergeLock, MergeLockLive } from "../../src/services/MergeLock.js"
import { ProcessRunnerLive } from "../../src/services/ProcessRunner.js"
import { makeGitRepo, type GitRepo } from "../support/gitRepo.js"
import { engineTestLayer, expectMergedNothing, inProcessMock, makeTasks, readTasks, setupProject, validateRunFiles } from "../support/swarmProject.js"
import { builtinHarnessNames } from "../../src/harness/registry.js"

const quiet = () => Effect.void

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
const retryEvents = (runDir: string) => readEvents(runDir).filter((e) => e.type === "merge" && e.data?.["retry"] !== undefined)

/**
 * The user commits a line to user.txt on main in their own checkout (only that file:
 * the task queue stays untracked). Some of the user's git calls may meet oompa's index
 * lock, as a real user's would; those report undefined.
 */
const userCommit = (repo: GitRepo, line: string) =>
  Effect.gen(function* () {
    fs.appendFileSync(path.join(repo.path, "user.txt"), `${line}\n`)
    const add = yield* repo.gitRaw(repo.path, "add", "user.txt")
    if (add.exitCode !== 0) return undefined
    const commit = yield* repo.gitRaw(repo.path, "commit", "-q", "--no-verify", "-m", `user: ${line}`)
    if (commit.exitCode !== 0) return undefined
    return (yield* repo.gitRaw(repo.path, "rev-parse", "HEAD")).stdout.trim()
  })

/**
 * Engine layers whose merge lock runs `beforeLanding` each time a worker holds it,
 * before the fast forward: the target moves exactly between a worker's merge (and
 * its tests) and its advance.
 */
const layerWithLockHook = (repo: GitRepo, beforeLanding: (attempt: number) => Effect.Effect<void>) => {
  const hooked = Layer.effect(
    MergeLock,
    Effect.gen(function* () {
      const live = yield* MergeLock
      const attempts = yield* Ref.make(0)
      return MergeLock.of({
        ...live,
        withLock: (root, effect, options) =>
          live.withLock(
            root,
            Ref.updateAndGet(attempts, (n) => n + 1).pipe(Effect.flatMap(beforeLanding), Effect.zipRight(effect)),
            options
          )
      })
    })
  ).pipe(Layer.provide(MergeLockLive.pipe(Layer.provide(GitLive))))
  const mock = inProcessMock(repo.path)
  return Layer.mergeAll(
    GitLive,
    hooked,
    ProcessRunnerLive,
    Layer.succeed(Harnesses, { names: builtinHarnessNames, get: () => mock })
  ).pipe(Layer.provideMerge(NodeContext.layer))
}

/** The user commits one file they changed (never the untracked queue or config). */
const commitFile = (repo: GitRepo, file: string, message: string) =>
  repo.git("add", "--", file).pipe(Effect.zipRight(repo.git("commit", "-q", "--no-verify", "-m", message)), Effect.asVoid)

const isAncestor = (repo: GitRepo, commit: string, of: string) =>
  repo.gitRaw(repo.path, "merge-base", "--is-ancestor", commit, of).pipe(Effect.map((r) => r.exitCode === 0))

describe("merging under a moving target (SPEC §7)", () => {
  it.live("the user commits on main twice a second during a 4-worker, 12-task swarm: all 12 merge, every commit stays on main", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "README.md": "# test repo\n", "user.txt": "the user's log\n" } })
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:diligent", count: 4, max_cycle: 10 }], reviewer: "mock:diligent" },
        tasks: makeTasks(12)
      })
      // The user's pace, not synchronisation: one commit on main about every half second until the swarm ends
      // (every second was too slow once the swarm got faster: the run ended after 3 commits).
      const stop = yield* Ref.make(false)
      const userCommits = yield* Ref.make<ReadonlyArray<string>>([])
      const user = yield* Effect.gen(function* () {
        for (let n = 1; !(yield* Ref.get(stop)); n++) {
          const sha = yield* userCommit(repo, `user commit ${n}`)
          if (sha !== undefined) yield* Ref.update(userCommits, (list) => [...list, sha])
          yield* Effect.sleep(Duration.millis(500))
        }
      }).pipe(Effect.fork)
      const result = yield* runSwarm(config, { print: quiet }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path })),
        Effect.ensuring(Ref.set(stop, true))
      )
      yield* Fiber.join(user)

      const files = validateRunFiles(result.runDir)
      const notMerged = files.cycles
        .filter((c) => c.outcome !== "merged")
        .map((c) => `${c.worker}-c${c.cycle} ${c.outcome}: ${c.detail}`)
      const complete = readTasks(repo.path, "complete")
      const commits = yield* Ref.get(userCommits)
      // For the record: how often the target moved under a landing, and what came of it.
      console.log(
        `4x12, the user committing twice a second: ${Object.keys(complete).length} of 12 tasks merged; ` +
          `${files.cycles.filter((c) => c.outcome === "merge-failed").length} of ${files.cycles.length} cycles merge-failed; ` +
          `${commits.length} user commits, ${retryEvents(result.runDir).length} re-merges ` +
          `(at most ${Math.max(0, ...retryEvents(result.runDir).map((e) => Number(e.data?.["retry"])))} for one delivery)`
      )
      expect(Object.keys(complete).sort(), notMerged.join("\n")).toEqual(makeTasks(12).map((t) => t["id"]))
      expect(notMerged.filter((line) => / (error|merge-failed|rejected|interrupted):/.test(line))).toEqual([])
      expect(readTasks(repo.path, "pending")).toEqual({})
      expect(readTasks(repo.path, "current")).toEqual({})
      for (const [id, task] of Object.entries(complete)) {
        expect(yield* isAncestor(repo, String(task["merged_commit"]), "main")).toBe(true)
        expect(yield* repo.git("show", `main:work/${id}.md`)).toContain(`# ${id}`)
      }
      expect(commits.length).toBeGreaterThan(3)
      for (const sha of commits) expect(yield* isAncestor(repo, sha, "main")).toBe(true)
      expect(yield* repo.git("show", "main:user.txt")).toContain(`user commit ${commits.length}`)
      // The user's checkout follows main: clean, not mid-merge.
      expect(yield* repo.git("status", "--porcelain", "--untracked-files=no")).toBe("")
      expect(fs.existsSync(path.join(repo.path, ".git", "MERGE_HEAD"))).toBe(false)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("the target moves between the merge and the advance, twice: merged in again, tested again, the work lands", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "README.md": "# test repo\n", "user.txt": "the user's log\n" } })
      const testRuns = path.join(yield* repo.tempDir(), "test-runs.txt")
      const config = yield* setupProject(repo, {
        config: {
          workers: [{ model: "mock:diligent", max_cycle: 1 }],
          reviewer: "mock:diligent",
          // Records the tree it tested: the user's latest line must be in it.
          test_command: `tail -n 1 user.txt >> '${testRuns}'`
        },
        tasks: makeTasks(1)
      })
      const userCommits: Array<string> = []
      const layer = layerWithLockHook(repo, (attempt) =>
        attempt <= 2
          ? userCommit(repo, `moved at landing ${attempt}`).pipe(
              Effect.flatMap((sha) => (sha === undefined ? Effect.dieMessage("the user's commit failed") : Effect.sync(() => userCommits.push(sha))))
            )
          : Effect.void
      )
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(layer))

      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome, cycle.detail).toBe("merged")
      expect(retryEvents(result.runDir).map((e) => e.data?.["retry"])).toEqual([1, 2])
      // The tests ran on each merged tree: before the moves, then with each of the user's commits in.
      expect(fs.readFileSync(testRuns, "utf8")).toBe("the user's log\nmoved at landing 1\nmoved at landing 2\n")
      expect(fs.readdirSync(path.join(result.runDir, "logs")).filter((f) => /-test.*\.log$/.test(f) && !f.includes("stderr")).sort()).toEqual([
        "w0-c1-test1-2.log",
        "w0-c1-test1-3.log",
        "w0-c1-test1.log"
      ])
      expect(yield* repo.git("show", "main:user.txt")).toBe("the user's log\nmoved at landing 1\nmoved at landing 2")
      expect(yield* repo.git("show", "main:work/task-01.md")).toContain("# task-01")
      for (const sha of userCommits) expect(yield* isAncestor(repo, sha, "main")).toBe(true)
      const task = readTasks(repo.path, "complete")["task-01"]
      expect(task?.["merged_commit"]).toBe(yield* repo.revParse("main"))
      // A clean re-merge is no new change: reviewed once.
      expect(cycle.reviewRounds).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("without test_command the re-merge happens in the same hold of the lock, so no other landing can overtake it", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "README.md": "# test repo\n", "user.txt": "the user's log\n" } })
      const config = yield* setupProject(repo, { config: { workers: [{ model: "mock:diligent", max_cycle: 1 }] }, tasks: makeTasks(1) })
      const holds: Array<number> = []
      const layer = layerWithLockHook(repo, (attempt) =>
        Effect.sync(() => holds.push(attempt)).pipe(
          Effect.zipRight(attempt === 1 ? userCommit(repo, "moved at landing 1") : Effect.void),
          Effect.asVoid
        )
      )
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(layer))
      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome, cycle.detail).toBe("merged")
      expect(retryEvents(result.runDir).map((e) => e.data?.["retry"])).toEqual([1])
      expect(holds).toEqual([1])
      expect(yield* repo.git("show", "main:user.txt")).toBe("the user's log\nmoved at landing 1")
      expect(yield* repo.git("show", "main:work/task-01.md")).toContain("# task-01")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("max_merge_retries: the target moves at every landing, so after 1 retry the cycle ends merge-failed with the work kept", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "README.md": "# test repo\n", "user.txt": "the user's log\n" } })
      const config = yield* setupProject(repo, {
        // With a test_command every re-merge is tested outside the lock, so the hook meets each landing.
        config: { workers: [{ model: "mock:diligent", max_cycle: 1 }], max_merge_retries: 1, test_command: "true" },
        tasks: makeTasks(1)
      })
      const layer = layerWithLockHook(repo, (attempt) => userCommit(repo, `moved at landing ${attempt}`).pipe(Effect.asVoid))
      const result = yield* expectMergedNothing(runSwarm(config, { print: quiet }).pipe(Effect.provide(layer)))

      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome).toBe("merge-failed")
      expect(cycle.detail).toContain("max_merge_retries 1")
      expect(retryEvents(result.runDir)).toHaveLength(1)
      expect(cycle.keptRef).toBe(`refs/oompa/kept/${result.swarm}/w0-c1`)
      expect(yield* repo.git("show", `${cycle.keptRef}:work/task-01.md`)).toContain("# task-01")
      expect(yield* repo.git("show", "main:user.txt")).toBe("the user's log\nmoved at landing 1\nmoved at landing 2")
      expect(yield* repo.gitRaw(repo.path, "cat-file", "-e", "main:work/task-01.md").pipe(Effect.map((r) => r.exitCode))).not.toBe(0)
      expect(Object.keys(readTasks(repo.path, "pending"))).toEqual(["task-01"])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a re-merge that conflicts goes back to the agent, and the resolution is reviewed before it lands", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "shared.txt": "base\n" } })
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 1 }], reviewer: "mock:diligent" },
        tasks: makeTasks(1),
        scenario: { turns: { w0: [{ auto: true }, { write: { "shared.txt": "base\nfrom the agent\n" }, auto: true }] } }
      })
      // The user commits a conflicting line just as the approved work is about to land.
      const layer = layerWithLockHook(repo, (attempt) =>
        attempt === 1
          ? repo.write("shared.txt", "base\nfrom the user\n").pipe(Effect.zipRight(commitFile(repo, "shared.txt", "user edit")))
          : Effect.void
      )
      const result = yield* runSwarm(config, { print: quiet }).pipe(Effect.provide(layer))

      const files = validateRunFiles(result.runDir)
      const [cycle] = files.cycles
      expect(cycle.outcome, cycle.detail).toBe("merged")
      expect(cycle.turns.map((t: { kind: string }) => t.kind)).toEqual(["start", "claimresults", "conflict-feedback"])
      // One review of the work, one of the conflict resolution (SPEC §7), both before landing.
      expect(files.reviews).toBe(2)
      const reviews = readEvents(result.runDir).filter((e) => e.type === "review").map((e) => e.message)
      expect(reviews).toEqual([expect.stringContaining("round 1"), expect.stringContaining("round 2")])
      const merged = yield* repo.git("show", "main:shared.txt")
      expect(merged).toContain("from the user")
      expect(merged).toContain("from the agent")
      expect(merged).not.toMatch(/^(<<<<<<<|=======|>>>>>>>)/m)
      expect(Object.keys(readTasks(repo.path, "complete"))).toEqual(["task-01"])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})

describe("a blocked fast-forward waits (SPEC §7)", () => {
  it("the pause between retries grows to 30 s and stays under a quarter of merge_wait", () => {
    const seconds = (wait: number, attempt: number) => Duration.toMillis(blockedRetryDelay(Duration.seconds(wait), attempt)) / 1000
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => seconds(600, n))).toEqual([1, 2, 4, 8, 16, 30, 30, 30])
    expect(seconds(1, 1)).toBe(0.25)
    expect(seconds(0, 1)).toBe(0)
  })

  /** One worker whose work changes notes.txt, while the user has an uncommitted edit to it. */
  const blockedProject = (mergeWait: number) =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo({ files: { "notes.txt": "original\n" } })
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:scenario.json", max_cycle: 1 }], merge_wait: mergeWait },
        tasks: makeTasks(1),
        scenario: { turns: { w0: [{ auto: true }, { write: { "notes.txt": "original\nagent version\n" }, auto: true }] } }
      })
      yield* repo.write("notes.txt", "user's uncommitted edit\n")
      return { repo, config }
    })

  /** Runs the swarm; `whenHeld` runs once the attention event is out, then the swarm is awaited. */
  const runUntilHeld = (
    repo: GitRepo,
    config: Parameters<typeof runSwarm>[0],
    whenHeld: (attention: Event) => Effect.Effect<void>
  ) =>
    Effect.gen(function* () {
      const held = yield* Deferred.make<void>()
      const print = (line: string) => (line.includes("cannot move") ? Deferred.succeed(held, undefined) : Effect.void)
      const fiber = yield* runSwarm(config, { print }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })), Effect.fork)
      yield* Effect.raceFirst(
        Deferred.await(held),
        Fiber.await(fiber).pipe(Effect.zipRight(Effect.dieMessage("the swarm ended without holding the work")))
      )
      const runs = path.join(repo.path, ".oompa", "runs")
      const runDir = path.join(runs, fs.readdirSync(runs)[0]!)
      const attention = readEvents(runDir).filter((e) => e.type === "attention")
      expect(attention).toHaveLength(1)
      yield* whenHeld(attention[0]!)
      return yield* Fiber.join(fiber)
    })

  it.live("local changes in the way: the work is held, an attention event names the file; once the user reverts it the work lands", () =>
    Effect.gen(function* () {
      const { repo, config } = yield* blockedProject(60)
      const result = yield* runUntilHeld(repo, config, (attention) =>
        Effect.gen(function* () {
          expect(attention.data?.["files"]).toEqual(["notes.txt"])
          expect(attention.message).toContain("notes.txt")
          // Held, not failed: the user's edit is untouched, main has not moved, the task is still claimed.
          expect(yield* repo.read("notes.txt")).toBe("user's uncommitted edit\n")
          expect(yield* repo.git("show", "main:notes.txt")).toBe("original")
          expect(Object.keys(readTasks(repo.path, "current"))).toEqual(["task-01"])
          yield* repo.git("checkout", "--", "notes.txt")
        })
      )
      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome, cycle.detail).toBe("merged")
      expect(yield* repo.git("show", "main:notes.txt")).toBe("original\nagent version")
      expect(yield* repo.read("notes.txt")).toBe("original\nagent version\n")
      expect(Object.keys(readTasks(repo.path, "complete"))).toEqual(["task-01"])
      expect(readEvents(result.runDir).find((e) => e.type === "merge" && e.message.startsWith("merged into"))?.message).toContain(
        "after waiting"
      )
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("local changes in the way: the user commits them instead, the agent resolves the conflict and the work lands with both", () =>
    Effect.gen(function* () {
      const { repo, config } = yield* blockedProject(60)
      const result = yield* runUntilHeld(repo, config, () => commitFile(repo, "notes.txt", "the user's edit"))
      const [cycle] = validateRunFiles(result.runDir).cycles
      expect(cycle.outcome, cycle.detail).toBe("merged")
      expect(cycle.turns.map((t: { kind: string }) => t.kind)).toContain("conflict-feedback")
      const merged = yield* repo.git("show", "main:notes.txt")
      expect(merged).toContain("user's uncommitted edit")
      expect(merged).toContain("agent version")
      expect(Object.keys(readTasks(repo.path, "complete"))).toEqual(["task-01"])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})
