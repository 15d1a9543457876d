import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Duration, Effect, Exit, Schema } from "effect"
import { Notification } from "../../src/domain/Notification.js"
import { runSwarm } from "../../src/engine/swarm.js"
import type { NotifierTimeouts } from "../../src/engine/notify.js"
import { makeGitRepo, type GitRepo } from "../support/gitRepo.js"
import { refusedUrl, startReceiver, type Receiver } from "../support/notifyReceiver.js"
import { engineTestLayer, makeTasks, setupProject, type ProjectSpec } from "../support/swarmProject.js"

/**
 * Notifications (issue 11, docs/notifications.md) from mock swarms to a
 * loopback HTTP receiver and a command: each kind arrives with its fields,
 * and a failing or silent receiver is a warning in events.jsonl, never a
 * change in how the swarm ends.
 */

const quiet = () => Effect.void
const decode = Schema.decodeUnknownSync(Notification, { onExcessProperty: "error" })

const runDirOf = (repoPath: string) => {
  const runs = path.join(repoPath, ".oompa", "runs")
  return path.join(runs, fs.readdirSync(runs).find((d) => !d.startsWith("."))!)
}
const eventsOf = (runDir: string): ReadonlyArray<{ type: string; message: string; data?: any }> =>
  fs.readFileSync(path.join(runDir, "events.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l))
const warnings = (runDir: string) => eventsOf(runDir).filter((e) => e.type === "warning").map((e) => e.message)

/** Runs a swarm with `notify` added to its config; the swarm's exit and its run folder. */
const swarmWith = (
  spec: ProjectSpec,
  notify: Record<string, unknown>,
  options: {
    readonly timeouts?: NotifierTimeouts
    readonly files?: Record<string, string>
    /** Done to the repo after the project is set up, before the swarm. */
    readonly before?: (repo: GitRepo) => Effect.Effect<unknown, unknown>
  } = {}
) =>
  Effect.gen(function* () {
    const repo = yield* makeGitRepo(options.files ? { files: options.files } : undefined)
    const config = yield* setupProject(repo, { ...spec, config: { ...spec.config, notify } })
    if (options.before) yield* Effect.orDie(options.before(repo))
    const started = Date.now()
    const exit = yield* runSwarm(config, { print: quiet, ...(options.timeouts ? { notifyTimeouts: options.timeouts } : {}) }).pipe(
      Effect.provide(engineTestLayer({ baseDir: repo.path })),
      Effect.exit
    )
    const runDir = runDirOf(repo.path)
    return { exit, runDir, repo, elapsedMs: Date.now() - started, stopped: JSON.parse(fs.readFileSync(path.join(runDir, "stopped.json"), "utf8")) }
  })

const byKind = (receiver: Receiver, kind: string) => {
  const found = receiver.received.filter((r) => (r.body as { kind: string }).kind === kind)
  expect(found, `${kind} notifications`).toHaveLength(1)
  return decode(found[0]!.body) as any
}

const diligent: ProjectSpec = { config: { workers: [{ model: "mock:diligent", max_cycle: 1 }] }, tasks: makeTasks(1) }

describe("notify: what is sent", () => {
  it.live("a stuck cycle and the swarm's end reach the webhook and the command, with the same payload", () =>
    Effect.gen(function* () {
      const receiver = yield* startReceiver(200)
      const out = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-notified-"))
      const { runDir, stopped } = yield* swarmWith(
        {
          config: { workers: [{ model: "mock:scenario.json", max_cycle: 1, can_plan: false }] },
          tasks: makeTasks(1),
          // A second NEEDS_FOLLOWUP in one cycle ends it stuck.
          scenario: { turns: { "w0-c1": [{ auto: true }, { write: { "half.txt": "half\n" }, say: "NEEDS_FOLLOWUP" }, { say: "NEEDS_FOLLOWUP" }] } }
        },
        // Run without a shell: the sh here is the user's own choice of program.
        { webhook: receiver.url, command: ["sh", "-c", 'cat > "$0/$OOMPA_NOTIFY_KIND.json"', out] }
      )
      expect([...receiver.kinds()].sort()).toEqual(["stuck", "swarm-ended"])
      for (const r of receiver.received) {
        expect(r.method).toBe("POST")
        expect(r.path).toBe("/hook?token=secret")
        expect(r.contentType).toBe("application/json")
      }
      const swarm = path.basename(runDir)
      const stuck = byKind(receiver, "stuck")
      const cycle = JSON.parse(fs.readFileSync(path.join(runDir, "cycles", "w0-c1.json"), "utf8"))
      expect(stuck).toMatchObject({ version: 1, kind: "stuck", swarm, worker: "w0", cycle: 1, task: "task-01", ref: cycle.keptRef })
      expect(stuck.ref).toMatch(new RegExp(`^refs/oompa/kept/${swarm}/w0-c1`))
      expect(stuck.details).toMatchObject({ outcome: "stuck", claims: ["task-01"], keptRef: cycle.keptRef })
      expect(stuck.message).toContain("[w0] c1 cycle 1 stuck")
      const ended = byKind(receiver, "swarm-ended")
      expect(ended).toMatchObject({
        version: 1,
        kind: "swarm-ended",
        swarm,
        details: { reason: stopped.reason, exitCode: stopped.exitCode, merged: 0, targetBranch: "main" }
      })
      expect(ended.details.reason).toBe("completed")
      expect(Date.parse(ended.at)).toBeLessThanOrEqual(Date.parse(stopped.stoppedAt))
      // The command got the very bytes the webhook got.
      expect(JSON.parse(fs.readFileSync(path.join(out, "stuck.json"), "utf8"))).toEqual(stuck)
      expect(JSON.parse(fs.readFileSync(path.join(out, "swarm-ended.json"), "utf8"))).toEqual(ended)
      expect(warnings(runDir)).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("the swarm's budget reached: budget-reached with the limit and the spend, then swarm-ended with reason budget and exit 3", () =>
    Effect.gen(function* () {
      const receiver = yield* startReceiver(200)
      const { exit, runDir, stopped } = yield* swarmWith(
        { config: { workers: [{ model: "mock:diligent", max_cycle: 3 }], budget: { max_tokens: 1 } }, tasks: makeTasks(2) },
        { webhook: receiver.url }
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect([...receiver.kinds()].sort()).toEqual(["budget-reached", "swarm-ended"])
      const reached = byKind(receiver, "budget-reached")
      const event = eventsOf(runDir).find((e) => e.type === "budget-reached")!
      expect(reached).toMatchObject({ version: 1, kind: "budget-reached", swarm: path.basename(runDir), message: `[oompa] ${event.message}` })
      expect(reached.details).toEqual(event.data)
      expect(reached.details).toMatchObject({ scope: "swarm", limit: "max_tokens", value: 1 })
      expect(reached.details.spent).toBeGreaterThan(1)
      const ended = byKind(receiver, "swarm-ended")
      expect(ended.details).toMatchObject({ reason: "budget", exitCode: 3 })
      expect({ reason: stopped.reason, exitCode: stopped.exitCode }).toEqual({ reason: "budget", exitCode: 3 })
      expect(warnings(runDir)).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a merge blocked by the user's checkout: merge-blocked with the task and the files in the way", () =>
    Effect.gen(function* () {
      const receiver = yield* startReceiver(200)
      const { runDir } = yield* swarmWith(
        {
          config: { workers: [{ model: "mock:scenario.json", max_cycle: 1 }], merge_wait: 0 },
          tasks: makeTasks(1),
          scenario: { turns: { w0: [{ auto: true }, { write: { "notes.txt": "agent version\n" }, auto: true }] } }
        },
        { webhook: receiver.url },
        // The user edits the same file in their checkout without committing.
        { files: { "notes.txt": "original\n" }, before: (repo) => repo.write("notes.txt", "user's uncommitted edit\n") }
      )
      expect([...receiver.kinds()].sort()).toEqual(["merge-blocked", "swarm-ended"])
      const attention = eventsOf(runDir).find((e) => e.type === "attention")!
      expect(byKind(receiver, "merge-blocked")).toMatchObject({
        kind: "merge-blocked",
        worker: "w0",
        cycle: 1,
        task: "task-01",
        message: `[w0] c1 ${attention.message}`,
        details: { files: ["notes.txt"], target: "main", mergeWaitSeconds: 0 }
      })
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a worker stopped on errors: worker-stopped with its reason and last failure; the swarm-ended exit code is 1", () =>
    Effect.gen(function* () {
      const receiver = yield* startReceiver(200)
      const { exit } = yield* swarmWith(
        { config: { workers: [{ model: "mock:scenario.json", max_cycle: 3 }], max_consecutive_errors: 1 }, tasks: makeTasks(1), scenario: { turns: { w0: [{ exit: 7 }] } } },
        { webhook: receiver.url }
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect([...receiver.kinds()].sort()).toEqual(["swarm-ended", "worker-stopped"])
      const stopped = byKind(receiver, "worker-stopped")
      expect(stopped).toMatchObject({ kind: "worker-stopped", worker: "w0", details: { reason: "too-many-errors", errors: 1 } })
      expect(stopped.details.lastFailure).toContain("error")
      expect(byKind(receiver, "swarm-ended").details).toMatchObject({ reason: "completed", exitCode: 1 })
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a provider held longer than rate_limited_after: one rate-limited notification with the hold", () =>
    Effect.gen(function* () {
      const receiver = yield* startReceiver(200)
      const { exit, runDir } = yield* swarmWith(
        {
          config: { workers: [{ model: "mock:scenario.json", max_cycle: 1 }] },
          tasks: makeTasks(1),
          scenario: { turns: { w0: [{ fail: { class: "rate-limited", retryAfterMs: 1500 } }] } }
        },
        { webhook: receiver.url, rate_limited_after: 1 }
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect([...receiver.kinds()].sort()).toEqual(["rate-limited", "swarm-ended"])
      const limited = eventsOf(runDir).find((e) => e.type === "rate-limited")!
      const note = byKind(receiver, "rate-limited")
      expect(note).toMatchObject({ kind: "rate-limited", worker: "w0", cycle: 1, at: (limited as any).at })
      expect(note.details).toMatchObject({ ...limited.data, thresholdMs: 1000 })
      expect(note.details.heldMs).toBeGreaterThan(1000)
      expect(note.message).toContain("more than rate_limited_after 1s")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})

describe("notify: a failing receiver is a warning, never fatal", () => {
  it.live("a webhook answering 500 and a command exiting 3: warnings with the reason, the swarm merged as without them", () =>
    Effect.gen(function* () {
      const receiver = yield* startReceiver(500)
      const { exit, runDir, stopped } = yield* swarmWith(diligent, {
        webhook: receiver.url,
        command: ["sh", "-c", "echo 'no route to pager' >&2; exit 3"]
      })
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(stopped).toMatchObject({ reason: "completed", exitCode: 0 })
      expect(receiver.kinds()).toEqual(["swarm-ended"])
      const port = new URL(receiver.url).port
      expect([...warnings(runDir)].sort()).toEqual([
        "notify: command sh: the swarm-ended notification was not delivered: exit 3: no route to pager",
        // Without the query: tokens often live there.
        `notify: webhook http://127.0.0.1:${port}/hook: the swarm-ended notification was not delivered: HTTP 500`
      ])
      // Both before stopped.json's writing: the warnings precede nothing but the ending.
      expect(eventsOf(runDir).at(-1)!.type).toBe("warning")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a refused connection: a warning naming it, the swarm unchanged", () =>
    Effect.gen(function* () {
      const url = yield* refusedUrl
      const { exit, runDir, stopped } = yield* swarmWith(diligent, { webhook: url })
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(stopped.exitCode).toBe(0)
      const [warning, ...more] = warnings(runDir)
      expect(more).toEqual([])
      expect(warning).toContain(`notify: webhook ${url}: the swarm-ended notification was not delivered:`)
      expect(warning).toContain("ECONNREFUSED")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a receiver that never answers: the send times out, the swarm still ends", () =>
    Effect.gen(function* () {
      const receiver = yield* startReceiver("hang")
      const { exit, runDir, elapsedMs } = yield* swarmWith(diligent, { webhook: receiver.url }, { timeouts: { webhook: Duration.millis(300) } })
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(receiver.kinds()).toEqual(["swarm-ended"])
      expect(warnings(runDir)).toEqual([
        `notify: webhook ${receiver.url.replace("?token=secret", "")}: the swarm-ended notification was not delivered: no answer within 300ms`
      ])
      expect(elapsedMs).toBeLessThan(30_000)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a send slower than the final wait: the swarm's end gives it up after the wait, with a warning", () =>
    Effect.gen(function* () {
      const receiver = yield* startReceiver("hang")
      const { exit, runDir, stopped } = yield* swarmWith(diligent, { webhook: receiver.url }, { timeouts: { final: Duration.millis(500) } })
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(stopped.exitCode).toBe(0)
      expect(warnings(runDir)).toEqual([
        "notify: the swarm's end waited 500ms for its notifications: any still being sent were given up"
      ])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )

  it.live("a command that outlives its timeout: ended with the processes it started, a warning, the swarm unchanged", () =>
    Effect.gen(function* () {
      const pidFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "oompa-notify-pid-")), "pid")
      const { exit, runDir } = yield* swarmWith(
        diligent,
        { command: ["sh", "-c", `sleep 100 & echo $! > ${pidFile}; wait`] },
        { timeouts: { command: Duration.millis(300) } }
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(warnings(runDir)).toEqual([
        "notify: command sh: the swarm-ended notification was not delivered: timed out after 300ms (its processes were ended)"
      ])
      const sleeper = Number(fs.readFileSync(pidFile, "utf8"))
      const alive = (() => {
        try {
          return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${sleeper}/stat`, "utf8"))
        } catch {
          return false
        }
      })()
      expect(alive).toBe(false)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})

