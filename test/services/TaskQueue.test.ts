import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Ref, TestClock } from "effect"
import { MAX_ATTEMPT_REASON, type Task, type TaskAttempt, type TaskId } from "../../src/domain/Task.js"
import { ClaimResult, makeTaskQueue, TaskExistsError, TaskQueue, TaskQueueTag } from "../../src/services/TaskQueue.js"

/** A temp folder holding `tasks/`, removed with the scope. */
const tempRoot = Effect.acquireRelease(
  Effect.sync(() => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "oompa-tq-")))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A fresh queue under a temp dir, with its folders made. Invalid files are swept at once (no grace). */
const setup = Effect.gen(function* () {
  const root = yield* tempRoot
  const tasksDir = path.join(root, "tasks")
  const queue = yield* makeTaskQueue(tasksDir, { invalidGrace: 0 })
  yield* queue.ensureDirs
  return { root, tasksDir, queue }
}).pipe(Effect.provide(NodeContext.layer))

const write = (tasksDir: string, rel: string, content: unknown) => {
  const file = path.join(tasksDir, rel)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content))
  return file
}
const readJson = (tasksDir: string, rel: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(path.join(tasksDir, rel), "utf8")) as Record<string, unknown>
const ls = (tasksDir: string, state: string) => fs.readdirSync(path.join(tasksDir, state)).sort()

const task = (id: string, fields: Partial<Omit<Task, "id">> = {}): Task => ({ id: id as TaskId, ...fields })

describe("TaskQueue", () => {
  it.scoped("reopen (a steering requeue): complete → pending without its stamps, invalid → pending without its reason; pending, current and unknown ids stay", () =>
    Effect.gen(function* () {
      const { tasksDir, queue } = yield* setup
      write(tasksDir, "complete/done.json", { id: "done", summary: "s", extra: 1, completed_by: "x:w0", completed_at: "t", merged_commit: "abc", review_rounds: 2, claimed_by: "x:w0", claimed_at: "t" })
      write(tasksDir, "invalid/fixed.json", { id: "fixed", summary: "fixed by hand" })
      write(tasksDir, "invalid/fixed.json.reason.txt", "pending/fixed.json was moved here by oompa: bad\n")
      write(tasksDir, "pending/waiting.json", { id: "waiting" })
      write(tasksDir, "current/busy.json", { id: "busy", claimed_by: "x:w1" })
      expect(yield* queue.reopen("done")).toEqual({ _tag: "Reopened", id: "done", from: "complete" })
      expect(readJson(tasksDir, "pending/done.json")).toEqual({ id: "done", summary: "s", extra: 1 })
      expect(yield* queue.reopen("fixed")).toEqual({ _tag: "Reopened", id: "fixed", from: "invalid" })
      expect(ls(tasksDir, "invalid")).toEqual([])
      expect(yield* queue.reopen("waiting")).toEqual({ _tag: "NotMoved", id: "waiting", reason: "task waiting is already pending" })
      expect(yield* queue.reopen("busy")).toMatchObject({ _tag: "NotMoved", reason: expect.stringContaining("in progress") })
      expect(yield* queue.reopen("ghost")).toEqual({ _tag: "NotMoved", id: "ghost", reason: "no task ghost in complete/ or invalid/" })
      expect(yield* queue.reopen("../x")).toMatchObject({ _tag: "NotMoved", reason: '"../x" is no task id' })
      expect(ls(tasksDir, "pending")).toEqual(["done.json", "fixed.json", "waiting.json"])
      expect(ls(tasksDir, "complete")).toEqual([])
    })
  )

  it.scoped("ensureDirs, add, list sorted by id, counts", () =>
    Effect.gen(function* () {
      const { tasksDir, queue } = yield* setup
      expect(ls(tasksDir, "")).toEqual(["complete", "current", "invalid", "pending"])
      yield* queue.add(task("b", { summary: "second" }))
      yield* queue.add(task("a", { summary: "first", files: ["x.ts"] }))
      write(tasksDir, "complete/c.json", { id: "c" })
      const listing = yield* queue.list
      expect(listing.pending.map((t) => [t.id, t.state, t.task.summary])).toEqual([
        ["a", "pending", "first"],
        ["b", "pending", "second"]
      ])
      expect(listing.pending[0]!.file).toBe(path.join(tasksDir, "pending", "a.json"))
      expect(readJson(tasksDir, "pending/a.json")).toEqual({ id: "a", summary: "first", files: ["x.ts"] })
      expect(yield* queue.counts).toEqual({ pending: 2, available: 2, current: 0, complete: 1, invalid: 0 })
      // No temp files left behind.
      expect(ls(tasksDir, "pending")).toEqual(["a.json", "b.json"])
    })
  )

  it.scoped("lists tasks in numeric-aware id order: t2 before t10 before t100", () =>
    Effect.gen(function* () {
      const { tasksDir, queue } = yield* setup
      for (const id of ["t100", "t10", "t2", "t1", "a", "t02"]) write(tasksDir, `pending/${id}.json`, { id })
      expect((yield* queue.list).pending.map((t) => t.id)).toEqual(["a", "t1", "t02", "t2", "t10", "t100"])
    })
  )

  it.scoped("a listing sees a task file edited since the last one (cached by name, size and mtime)", () =>
    Effect.gen(function* () {
      const { tasksDir, queue } = yield* setup
      const file = write(tasksDir, "pending/t1.json", { id: "t1", summary: "first words" })
      expect((yield* queue.list).pending.map((t) => t.task.summary)).toEqual(["first words"])
      // Same size, later mtime: an edit in place.
      fs.writeFileSync(file, JSON.stringify({ id: "t1", summary: "other words" }))
      fs.utimesSync(file, new Date(), new Date(Date.now() + 5_000))
      expect((yield* queue.list).pending.map((t) => t.task.summary)).toEqual(["other words"])
      // Replaced by rename (how agents' tools and the queue's stamps write): a new file.
      write(tasksDir, "pending/t1.json.new", { id: "t1", summary: "renamed in" })
      fs.renameSync(path.join(tasksDir, "pending/t1.json.new"), file)
      expect((yield* queue.list).pending.map((t) => t.task.summary)).toEqual(["renamed in"])
      // Made undecodable: no task any more, and the quarantine sees it too.
      fs.writeFileSync(file, "{ not json")
      expect((yield* queue.list).pending).toEqual([])
      expect((yield* queue.findInvalid).map((f) => f.name)).toEqual(["t1.json"])
    })
  )

  it.scoped("a missing queue folder lists as empty", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const queue = yield* makeTaskQueue(path.join(root, "nope"))
      expect(yield* queue.counts).toEqual({ pending: 0, available: 0, current: 0, complete: 0, invalid: 0 })
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("add refuses an id that exists in any folder", () =>
    Effect.gen(function* () {
      const { tasksDir, queue } = yield* setup
      write(tasksDir, "current/busy.json", { id: "busy" })
      write(tasksDir, "complete/done.edn", `{:id "done"}`)
      yield* queue.add(task("new"))
      for (const [id, state] of [["new", "pending"], ["busy", "current"], ["done", "complete"]] as const) {
        const error = yield* Effect.flip(queue.add(task(id, { summary: "again" })))
        expect(error).toBeInstanceOf(TaskExistsError)
        expect(error).toMatchObject({ id, state })
        expect(String(error)).toBe(`task ${id} already exists (in ${state}/)`)
      }
      expect(readJson(tasksDir, "pending/new.json")).toEqual({ id: "new" })
    })
  )

  it.scoped("two concurrent adds of one id: exactly one wins", () =>
    Effect.gen(function* () {
      const { tasksDir, queue } = yield* setup
      const exits = yield* Effect.forEach(
        Array.from({ length: 10 }, (_, i) => i),
        (i) => Effect.exit(queue.add(task("same", { summary: `writer ${i}` }))),
        { concurrency: "unbounded" }
      )
      expect(exits.filter(Exit.isSuccess)).toHaveLength(1)
      expect(ls(tasksDir, "pending")).toEqual(["same.json"])
    })
  )

  describe("claim", () => {
    it.scoped("Claimed: moves pending → current and stamps claimed_by / claimed_at from the Clock", () =>
      Effect.gen(function* () {
        const { tasksDir, queue } = yield* setup
        write(tasksDir, "pending/t1.json", { id: "t1", summary: "do it" })
        yield* TestClock.setTime(Date.UTC(2030, 0, 2, 3, 4, 5))
        const [result] = yield* queue.claim(["t1"], "abcd1234:w0")
        expect(result).toEqual(
          ClaimResult.Claimed({
            id: "t1",
            task: task("t1", { summary: "do it", claimed_by: "abcd1234:w0", claimed_at: "2030-01-02T03:04:05.000Z" })
          })
        )
        expect(ls(tasksDir, "pending")).toEqual([])
        expect(ls(tasksDir, "current")).toEqual(["t1.json"])
        expect(readJson(tasksDir, "current/t1.json")).toEqual({
          id: "t1",
          summary: "do it",
          claimed_by: "abcd1234:w0",
          claimed_at: "2030-01-02T03:04:05.000Z"
        })
      })
    )

    it.scoped("AlreadyTaken when the task is in current or complete; NotFound when it is nowhere", () =>
      Effect.gen(function* () {
        const { tasksDir, queue } = yield* setup
        write(tasksDir, "pending/t1.json", { id: "t1" })
        write(tasksDir, "complete/old.json", { id: "old" })
        const first = yield* queue.claim(["t1"], "w0")
        expect(first[0]?._tag).toBe("Claimed")
        const results = yield* queue.claim(["t1", "old", "ghost"], "w1")
        expect(results).toEqual([
          ClaimResult.AlreadyTaken({ id: "t1" }),
          ClaimResult.AlreadyTaken({ id: "old" }),
          ClaimResult.NotFound({ id: "ghost" })
        ])
        // The loser did not overwrite the winner's stamp.
        expect(readJson(tasksDir, "current/t1.json").claimed_by).toBe("w0")
        // A pending duplicate of a task in progress is not claimed over it.
        write(tasksDir, "pending/t1.json", { id: "t1", summary: "impostor" })
        expect(yield* queue.claim(["t1"], "w2")).toEqual([ClaimResult.AlreadyTaken({ id: "t1" })])
        expect(readJson(tasksDir, "current/t1.json")).toMatchObject({ claimed_by: "w0" })
      })
    )

    it.scoped("Blocked while depends_on are not all complete; nothing moves", () =>
      Effect.gen(function* () {
        const { tasksDir, queue } = yield* setup
        write(tasksDir, "pending/a.json", { id: "a" })
        write(tasksDir, "pending/b.json", { id: "b", depends_on: ["a", "z"] })
        write(tasksDir, "complete/z.json", { id: "z" })
        expect((yield* queue.available).map((t) => t.id)).toEqual(["a"])
        expect(yield* queue.claim(["b"], "w0")).toEqual([ClaimResult.Blocked({ id: "b", missing: ["a"] })])
        expect(ls(tasksDir, "pending")).toEqual(["a.json", "b.json"])
        // Finish a: b becomes available and claimable.
        yield* queue.claim(["a"], "w0")
        expect((yield* queue.available).map((t) => t.id)).toEqual([])
        expect(yield* queue.complete(["a"], { by: "w0", mergedCommit: "c0ffee", reviewRounds: 1 })).toEqual({
          moved: ["a"],
          missing: []
        })
        expect((yield* queue.available).map((t) => t.id)).toEqual(["b"])
        expect((yield* queue.claim(["b"], "w1"))[0]?._tag).toBe("Claimed")
      })
    )

    it.scoped("OverBudget: a task stamped budget_reached is not available and not claimed; recycle stamps it (docs/budgets.md)", () =>
      Effect.gen(function* () {
        const { tasksDir, queue } = yield* setup
        write(tasksDir, "pending/a.json", { id: "a" })
        yield* queue.claim(["a"], "w0")
        const stamp = { limit: "max_cost_usd", value: 1, spent: 1.2, estimated: true, swarm: "s1", at: "2026-01-01T00:00:00.000Z" }
        expect(yield* queue.recycle(["a"], undefined, { budget_reached: stamp })).toEqual({ moved: ["a"], missing: [] })
        expect(readJson(tasksDir, "pending/a.json")).toEqual({ id: "a", budget_reached: stamp })
        expect((yield* queue.available).map((t) => t.id)).toEqual([])
        expect(yield* queue.claim(["a"], "w1")).toEqual([ClaimResult.OverBudget({ id: "a", limit: "max_cost_usd" })])
        expect(ls(tasksDir, "pending")).toEqual(["a.json"])
      })
    )

    it.scoped("InvalidId: CLAIM(../../x) and ids with / never touch anything outside the queue", () =>
      Effect.gen(function* () {
        const { root, tasksDir, queue } = yield* setup
        // Files an attacker's id could reach if it were joined into a path.
        const outsideRoot = path.join(root, "x.json")
        const outsideTasks = path.join(tasksDir, "x.json")
        const sibling = path.join(root, "other", "pending", "y.json")
        fs.writeFileSync(outsideRoot, JSON.stringify({ id: "x" }))
        fs.writeFileSync(outsideTasks, JSON.stringify({ id: "x" }))
        fs.mkdirSync(path.dirname(sibling), { recursive: true })
        fs.writeFileSync(sibling, JSON.stringify({ id: "y" }))
        const bad = ["../../x", "../x", "../../other/pending/y", "a/b", "/etc/passwd", "..", ".", "", "x\0", "a\\b", "x y"]
        const results = yield* queue.claim(bad, "w0")
        expect(results).toEqual(bad.map((id) => ClaimResult.InvalidId({ id })))
        expect(yield* queue.complete(bad, { by: "w0" })).toEqual({ moved: [], missing: bad })
        expect(yield* queue.recycle(bad)).toEqual({ moved: [], missing: bad })
        for (const id of bad) expect(yield* queue.annotate(id, "pending", { hacked: true })).toBe(false)
        expect(fs.readFileSync(outsideRoot, "utf8")).toBe(JSON.stringify({ id: "x" }))
        expect(fs.readFileSync(outsideTasks, "utf8")).toBe(JSON.stringify({ id: "x" }))
        expect(fs.readFileSync(sibling, "utf8")).toBe(JSON.stringify({ id: "y" }))
        for (const state of ["pending", "current", "complete", "invalid"]) expect(ls(tasksDir, state)).toEqual([])
      })
    )

    it.scoped("an undecodable pending file is not claimable", () =>
      Effect.gen(function* () {
        const { tasksDir, queue } = yield* setup
        write(tasksDir, "pending/bad.json", "{ not json")
        expect(yield* queue.claim(["bad"], "w0")).toEqual([ClaimResult.NotFound({ id: "bad" })])
        expect(ls(tasksDir, "current")).toEqual([])
      })
    )

    it.scoped("race: 50 concurrent claimers over 20 tasks, every task claimed exactly once", () =>
      Effect.gen(function* () {
        const { tasksDir, queue } = yield* setup
        const ids = Array.from({ length: 20 }, (_, i) => `task-${String(i).padStart(2, "0")}`)
        for (const id of ids) write(tasksDir, `pending/${id}.json`, { id, note: `keep ${id}` })
        const perClaimer = yield* Effect.forEach(
          Array.from({ length: 50 }, (_, i) => i),
          (i) => {
            // Each claimer asks for every task, starting at a different one.
            const order = [...ids.slice(i % 20), ...ids.slice(0, i % 20)]
            return Effect.map(queue.claim(order, `c${i}`), (results) => ({ owner: `c${i}`, results }))
          },
          { concurrency: "unbounded" }
        )
        const wins = perClaimer.flatMap(({ owner, results }) =>
          results.filter((r) => r._tag === "Claimed").map((r) => ({ owner, id: r.id }))
        )
        expect(wins.map((w) => w.id).sort()).toEqual(ids)
        // Every other answer is "already taken": nothing lost, nothing not found.
        const others = perClaimer.flatMap(({ results }) => results.filter((r) => r._tag !== "Claimed"))
        expect(others).toHaveLength(50 * 20 - 20)
        expect(new Set(others.map((r) => r._tag))).toEqual(new Set(["AlreadyTaken"]))
        expect(ls(tasksDir, "pending")).toEqual([])
        expect(ls(tasksDir, "current")).toEqual(ids.map((id) => `${id}.json`))
        for (const { owner, id } of wins) {
          expect(readJson(tasksDir, `current/${id}.json`)).toMatchObject({ id, claimed_by: owner, note: `keep ${id}` })
        }
      })
    )
  })

  it.scoped("complete stamps completed_by / completed_at / merged_commit / review_rounds; unknown ids are reported", () =>
    Effect.gen(function* () {
      const { tasksDir, queue } = yield* setup
      write(tasksDir, "pending/t.json", { id: "t", summary: "s" })
      yield* queue.claim(["t"], "w0")
      yield* TestClock.setTime(Date.UTC(2031, 5, 6))
      const result = yield* queue.complete(["t", "nope"], { by: "sw:w0", mergedCommit: "abc123", reviewRounds: 2 })
      expect(result).toEqual({ moved: ["t"], missing: ["nope"] })
      expect(ls(tasksDir, "current")).toEqual([])
      expect(readJson(tasksDir, "complete/t.json")).toEqual({
        id: "t",
        summary: "s",
        claimed_by: "w0",
        claimed_at: "1970-01-01T00:00:00.000Z",
        completed_by: "sw:w0",
        completed_at: "2031-06-06T00:00:00.000Z",
        merged_commit: "abc123",
        review_rounds: 2
      })
    })
  )

  it.scoped("recycle: current → pending without the claim stamps; claimable again", () =>
    Effect.gen(function* () {
      const { tasksDir, queue } = yield* setup
      write(tasksDir, "pending/t.json", { id: "t" })
      yield* queue.claim(["t"], "w0")
      expect(yield* queue.recycle(["t", "ghost"])).toEqual({ moved: ["t"], missing: ["ghost"] })
      expect(ls(tasksDir, "current")).toEqual([])
      expect(readJson(tasksDir, "pending/t.json")).toEqual({ id: "t" })
      expect((yield* queue.claim(["t"], "w1"))[0]?._tag).toBe("Claimed")
    })
  )

  it.scoped("recycle with an attempt: appended to the task's attempts (oldest first), claim stamps gone, other keys kept", () =>
    Effect.gen(function* () {
      const { tasksDir, queue } = yield* setup
      write(tasksDir, "pending/t.json", { id: "t", summary: "s", agent_notes: { tried: 1 } })
      const first: TaskAttempt = {
        worker: "w0",
        swarm: "sw1",
        cycle: "w0-c1",
        outcome: "rejected",
        reason: "rejected by mock in review round 1: too small",
        kept_ref: "refs/oompa/kept/sw1/w0-c1",
        kept_commit: "a".repeat(40),
        ended_at: "2031-01-01T00:00:00.000Z"
      }
      yield* queue.claim(["t"], "w0@sw1")
      expect(yield* queue.recycle(["t"], first)).toEqual({ moved: ["t"], missing: [] })
      expect(readJson(tasksDir, "pending/t.json")).toEqual({ id: "t", summary: "s", agent_notes: { tried: 1 }, attempts: [first] })
      // A second failure appends; a reason past the cap is cut; no kept work means no kept keys.
      const second: TaskAttempt = {
        worker: "w1",
        swarm: "sw1",
        cycle: "w1-c3",
        outcome: "error",
        reason: "x".repeat(MAX_ATTEMPT_REASON + 50),
        ended_at: "2031-01-02T00:00:00.000Z"
      }
      const [claimed] = yield* queue.claim(["t"], "w1@sw1")
      expect(claimed?._tag === "Claimed" ? claimed.task.attempts : undefined).toEqual([first])
      yield* queue.recycle(["t"], second)
      const onDisk = readJson(tasksDir, "pending/t.json")
      expect(onDisk).not.toHaveProperty("claimed_by")
      expect(onDisk).not.toHaveProperty("claimed_at")
      const attempts = onDisk["attempts"] as ReadonlyArray<Record<string, unknown>>
      expect(attempts).toHaveLength(2)
      expect(attempts[0]).toEqual(first)
      expect(Object.keys(attempts[1]!).sort()).toEqual(["cycle", "ended_at", "outcome", "reason", "swarm", "worker"])
      expect(String(attempts[1]!["reason"])).toHaveLength(MAX_ATTEMPT_REASON)
      // The listing decodes it; completing keeps the history; no temp file was left anywhere.
      expect((yield* queue.list).pending[0]?.task.attempts?.map((a) => a.cycle)).toEqual(["w0-c1", "w1-c3"])
      yield* queue.claim(["t"], "w2@sw1")
      yield* queue.complete(["t"], { by: "w2@sw1" })
      expect(readJson(tasksDir, "complete/t.json")["attempts"]).toEqual(attempts)
      for (const state of ["pending", "current", "complete"]) expect(ls(tasksDir, state).filter((n) => n.includes(".tmp-"))).toEqual([])
      // Without an attempt, recycle stamps nothing (recovery, `oompa tasks requeue`).
      write(tasksDir, "current/u.json", { id: "u", claimed_by: "w0@sw1" })
      yield* queue.recycle(["u"])
      expect(readJson(tasksDir, "pending/u.json")).toEqual({ id: "u" })
    })
  )

  it.scoped("moves work when a target folder does not exist yet (rename would fail with ENOENT)", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const tasksDir = path.join(root, "tasks")
      const queue = yield* makeTaskQueue(tasksDir, { invalidGrace: 0 })
      write(tasksDir, "current/a.json", { id: "a", claimed_by: "w0" })
      write(tasksDir, "current/b.json", { id: "b" })
      expect(yield* queue.recycle(["a"])).toEqual({ moved: ["a"], missing: [] })
      expect(yield* queue.complete(["b"], { by: "w0" })).toEqual({ moved: ["b"], missing: [] })
      expect(ls(tasksDir, "pending")).toEqual(["a.json"])
      expect(ls(tasksDir, "complete")).toEqual(["b.json"])
      fs.rmSync(path.join(tasksDir, "current"), { recursive: true })
      expect((yield* queue.claim(["a"], "w1"))[0]?._tag).toBe("Claimed")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scoped("stamps edit the raw JSON: unknown keys agents wrote are preserved through claim, annotate, complete", () =>
    Effect.gen(function* () {
      const { tasksDir, queue } = yield* setup
      const original = { id: "t", summary: "s", agent_notes: { tried: ["a", "b"], score: 0.5 }, priority: "high" }
      write(tasksDir, "pending/t.json", original)
      yield* queue.claim(["t"], "w0")
      expect(yield* queue.annotate("t", "current", { progress: "half" })).toBe(true)
      expect(readJson(tasksDir, "current/t.json")).toMatchObject({ ...original, claimed_by: "w0", progress: "half" })
      yield* queue.complete(["t"], { by: "w0" })
      const done = readJson(tasksDir, "complete/t.json")
      expect(done).toMatchObject({ ...original, claimed_by: "w0", progress: "half", completed_by: "w0" })
      expect(done).not.toHaveProperty("merged_commit")
      expect(yield* queue.annotate("missing", "current", { x: 1 })).toBe(false)
      expect(ls(tasksDir, "complete")).toEqual(["t.json"])
    })
  )

  it.scoped("0.6 .edn tasks: listed, claimable, converted to <id>.json when stamped", () =>
    Effect.gen(function* () {
      const { tasksDir, queue } = yield* setup
      write(
        tasksDir,
        "pending/e1.edn",
        `;; from oompa 0.6\n{:id "e1" :summary "edn \\"task\\"" :depends-on ["dep"] :files ["a.clj"] :custom-key 7}`
      )
      write(tasksDir, "complete/dep.edn", `{:id "dep"}`)
      const listing = yield* queue.list
      expect(listing.pending.map((t) => t.task)).toEqual([
        task("e1", { summary: 'edn "task"', depends_on: ["dep"], files: ["a.clj"] })
      ])
      expect(listing.complete.map((t) => t.id)).toEqual(["dep"])
      expect((yield* queue.available).map((t) => t.id)).toEqual(["e1"])
      const [claimed] = yield* queue.claim(["e1"], "w0")
      expect(claimed?._tag).toBe("Claimed")
      expect(ls(tasksDir, "pending")).toEqual([])
      expect(ls(tasksDir, "current")).toEqual(["e1.json"])
      expect(readJson(tasksDir, "current/e1.json")).toEqual({
        id: "e1",
        summary: 'edn "task"',
        depends_on: ["dep"],
        files: ["a.clj"],
        custom_key: 7,
        claimed_by: "w0",
        claimed_at: "1970-01-01T00:00:00.000Z"
      })
      // An edn task claimed by 0.6 and recycled by us comes back as JSON.
      write(tasksDir, "current/e2.edn", `{:id "e2" :claimed-by "old"}`)
      expect(yield* queue.recycle(["e2"])).toEqual({ moved: ["e2"], missing: [] })
      expect(ls(tasksDir, "current")).toEqual(["e1.json"])
      expect(readJson(tasksDir, "pending/e2.json")).toEqual({ id: "e2" })
    })
  )

  describe("quarantineInvalid", () => {
    it.scoped("moves every undecodable pending file to invalid/ with a reason beside it", () =>
      Effect.gen(function* () {
        const { tasksDir, queue } = yield* setup
        write(tasksDir, "pending/good.json", { id: "good" })
        write(tasksDir, "pending/syntax.json", "{ nope")
        write(tasksDir, "pending/noid.json", { summary: "no id" })
        write(tasksDir, "pending/badid.json", { id: "../badid" })
        write(tasksDir, "pending/stem.json", { id: "other" })
        write(tasksDir, "pending/types.json", { id: "types", files: "a.ts" })
        write(tasksDir, "pending/good.edn", `{:id "good"}`)
        write(tasksDir, "pending/edn.edn", `{:id "edn"`)
        write(tasksDir, "pending/done.json", { id: "done", summary: "again" })
        write(tasksDir, "complete/done.json", { id: "done" })
        write(tasksDir, "pending/README.md", "not a task file: left alone")
        write(tasksDir, "invalid/syntax.json", "an older invalid file of the same name")
        const moved = yield* queue.quarantineInvalid
        expect(moved.map((m) => m.name).sort()).toEqual(
          ["badid.json", "done.json", "edn.edn", "good.edn", "noid.json", "stem.json", "syntax~1.json", "types.json"].sort()
        )
        expect(ls(tasksDir, "pending")).toEqual(["README.md", "good.json"])
        const reason = (name: string) => fs.readFileSync(path.join(tasksDir, "invalid", `${name}.reason.txt`), "utf8")
        expect(reason("syntax~1.json")).toContain("not valid JSON")
        expect(reason("noid.json")).toMatch(/id/)
        expect(reason("badid.json")).toContain('id: must match [A-Za-z0-9._-]+ and equal the file name, got "../badid"')
        expect(reason("stem.json")).toContain("does not match the file name")
        expect(reason("types.json")).toContain("files")
        expect(reason("edn.edn")).toContain("EDN syntax error")
        expect(reason("good.edn")).toContain("duplicate id good")
        expect(reason("done.json")).toContain("already in complete/")
        expect(fs.readFileSync(path.join(tasksDir, "invalid", "syntax.json"), "utf8")).toBe(
          "an older invalid file of the same name"
        )
        expect(fs.readFileSync(path.join(tasksDir, "invalid", "syntax~1.json"), "utf8")).toBe("{ nope")
        // list reports the invalid files with their reasons.
        const listing = yield* queue.list
        expect(listing.pending.map((t) => t.id)).toEqual(["good"])
        expect(listing.invalid.find((f) => f.name === "noid.json")?.reason).toContain("pending/noid.json was moved here")
        expect(listing.invalid).toHaveLength(9)
        expect(yield* queue.quarantineInvalid).toEqual([])
      })
    )

    it.scoped("list, counts, available and findInvalid are pure reads: the invalid file stays in pending/", () =>
      Effect.gen(function* () {
        const { tasksDir, queue } = yield* setup
        write(tasksDir, "pending/good.json", { id: "good" })
        write(tasksDir, "pending/syntax.json", "{ nope")
        write(tasksDir, "pending/done.json", { id: "done" })
        write(tasksDir, "complete/done.json", { id: "done" })
        const listing = yield* queue.list
        expect(listing.pending.map((t) => t.id)).toEqual(["done", "good"])
        expect(listing.invalid).toEqual([])
        expect((yield* queue.counts).invalid).toBe(0)
        expect((yield* queue.available).map((t) => t.id)).toEqual(["done", "good"])
        const found = yield* queue.findInvalid
        expect(found.map((f) => f.name)).toEqual(["done.json", "syntax.json"])
        expect(found.find((f) => f.name === "syntax.json")?.reason).toContain("not valid JSON")
        expect(found.find((f) => f.name === "done.json")?.reason).toContain("already in complete/")
        expect(ls(tasksDir, "pending")).toEqual(["done.json", "good.json", "syntax.json"])
        expect(ls(tasksDir, "invalid")).toEqual([])
        expect(yield* queue.takeQuarantined).toEqual([])
        // The explicit step moves what findInvalid found, and nothing else.
        expect((yield* queue.quarantineInvalid).map((m) => m.movedFrom)).toEqual(["pending/done.json", "pending/syntax.json"])
        expect(ls(tasksDir, "pending")).toEqual(["good.json"])
      })
    )

    it.scoped("leaves a freshly written undecodable file alone during the grace period", () =>
      Effect.gen(function* () {
        const root = yield* tempRoot
        const tasksDir = path.join(root, "tasks")
        const patient = yield* makeTaskQueue(tasksDir, { invalidGrace: "1 hour" })
        yield* patient.ensureDirs
        const file = write(tasksDir, "pending/half.json", `{"id": "half", "summ`)
        const mtime = fs.statSync(file).mtimeMs
        yield* TestClock.setTime(mtime + 1000)
        expect(yield* patient.quarantineInvalid).toEqual([])
        expect(ls(tasksDir, "pending")).toEqual(["half.json"])
        yield* TestClock.setTime(mtime + Duration.toMillis("1 hour") + 1)
        expect((yield* patient.quarantineInvalid).map((m) => m.name)).toEqual(["half.json"])
      }).pipe(Effect.provide(NodeContext.layer))
    )
  })

  describe("awaitAvailable", () => {
    /**
     * A queue whose FileSystem completes `checked` when a listing has read
     * invalid/ (the last folder it reads) for the second time: awaitAvailable
     * checks once, then registers its watch and its timeout and checks again.
     * After that a file added can only be seen through the watch, and the
     * timeout's sleep is registered with the TestClock.
     */
    const instrumented = Effect.gen(function* () {
      const root = yield* tempRoot
      const tasksDir = path.join(root, "tasks")
      const checked = yield* Deferred.make<void>()
      const invalidReads = yield* Ref.make(0)
      const real = yield* FileSystem.FileSystem
      const spy: FileSystem.FileSystem = {
        ...real,
        readDirectory: (dir, options) =>
          real.readDirectory(dir, options).pipe(
            Effect.tap(() =>
              path.basename(dir) === "invalid"
                ? Effect.flatMap(Ref.updateAndGet(invalidReads, (n) => n + 1), (n) =>
                    n === 2 ? Deferred.succeed(checked, undefined) : Effect.void
                  )
                : Effect.void
            )
          )
      }
      const queue = yield* makeTaskQueue(tasksDir, { invalidGrace: 0 }).pipe(
        Effect.provideService(FileSystem.FileSystem, spy)
      )
      yield* queue.ensureDirs
      return { tasksDir, queue, checked }
    }).pipe(Effect.provide(NodeContext.layer))

    it.scoped("returns at once when a task is already available (even with a zero timeout)", () =>
      Effect.gen(function* () {
        const { tasksDir, queue } = yield* setup
        expect(yield* queue.awaitAvailable(Duration.zero)).toBe(false)
        write(tasksDir, "pending/t.json", { id: "t" })
        expect(yield* queue.awaitAvailable("1 hour")).toBe(true)
        // A zero timeout still answers "is anything available now?".
        expect(yield* queue.awaitAvailable(Duration.zero)).toBe(true)
      })
    )

    it.live("wakes when another fiber adds a task after the first check", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { queue, checked } = yield* instrumented
          const waiter = yield* Effect.fork(queue.awaitAvailable("30 seconds"))
          yield* Deferred.await(checked)
          yield* Effect.fork(queue.add(task("late", { summary: "added while waiting" })))
          expect(yield* Fiber.join(waiter)).toBe(true)
        })
      )
    )

    it.live("wakes when a dependency completes (watches complete/ too)", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { tasksDir, queue, checked } = yield* instrumented
          write(tasksDir, "pending/dep.json", { id: "dep" })
          write(tasksDir, "pending/next.json", { id: "next", depends_on: ["dep"] })
          yield* queue.claim(["dep"], "w0")
          const waiter = yield* Effect.fork(queue.awaitAvailable("30 seconds"))
          yield* Deferred.await(checked)
          yield* queue.complete(["dep"], { by: "w0" })
          expect(yield* Fiber.join(waiter)).toBe(true)
        })
      )
    )

    it.scoped("times out with false when nothing becomes available", () =>
      Effect.gen(function* () {
        const { tasksDir, queue, checked } = yield* instrumented
        write(tasksDir, "pending/blocked.json", { id: "blocked", depends_on: ["never"] })
        const waiter = yield* Effect.fork(queue.awaitAvailable("10 minutes"))
        yield* Deferred.await(checked)
        yield* TestClock.adjust("10 minutes")
        expect(yield* Fiber.join(waiter)).toBe(false)
      })
    )
  })

  it.scoped("TaskQueue.layer provides the service under TaskQueueTag", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const layer = TaskQueue.layer(path.join(root, "tasks"), { invalidGrace: 0 }).pipe(
        Layer.provide(NodeContext.layer)
      )
      const counts = yield* Effect.gen(function* () {
        const queue = yield* TaskQueueTag
        yield* queue.add(task("via-layer"))
        return yield* queue.counts
      }).pipe(Effect.provide(layer))
      expect(counts.pending).toBe(1)
      expect(fs.existsSync(path.join(root, "tasks", "pending", "via-layer.json"))).toBe(true)
    })
  )
})
