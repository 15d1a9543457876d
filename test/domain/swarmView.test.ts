import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Schema } from "effect"
import { make, RunEvent, type RunEventDraft } from "../../src/domain/RunEvent.js"
import { applyActivity, applyEvent, emptyView, FAILED_STOPS, viewOf, type SwarmView } from "../../src/domain/swarmView.js"
import { failedStopReasons } from "../../src/domain/WorkerState.js"
import { runSwarm } from "../../src/engine/swarm.js"
import { makeGitRepo } from "../support/gitRepo.js"
import { engineTestLayer, makeTasks, readTasks, setupProject } from "../support/swarmProject.js"

const decode = Schema.decodeUnknownSync(Schema.parseJson(RunEvent))

/** Events one second apart from a fixed start, as the run log stamps them. */
const stamp = (drafts: ReadonlyArray<RunEventDraft>): Array<RunEvent> =>
  drafts.map((d, i) => ({ at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), ...d }) as RunEvent)

const usage = (n: number) => ({ inputTokens: n, outputTokens: n / 10, cachedInputTokens: 0 })
const turnEnded = (worker: string, cycle: number, turn: number, cost: number) =>
  make.turnEnded(
    { worker, cycle },
    { turn, kind: "start", exitCode: 0, timedOut: false, signals: [], durationMs: 1000, usage: usage(1000), costUsd: cost, log: "l", cycleName: `${worker}-c${cycle}` }
  )

const phaseOf = (view: SwarmView, worker: string) => view.workers.find((w) => w.id === worker)?.phase

describe("the live view of a swarm (one fold of its events)", () => {
  it("steering: paused between pause and resume; a worker asked to stop after its cycle is marked until it stops; refusals change nothing", () => {
    const steered = (action: "pause" | "resume" | "stop-worker", ok = true, worker?: string) =>
      make.steered({}, { action, ...(worker !== undefined ? { worker } : {}), by: "cli", ok, message: action })
    const c = { worker: "w1", cycle: 1 }
    const views: Array<SwarmView> = []
    let view = emptyView
    for (const event of stamp([
      make.swarmStarted({}, { swarm: "abcd1234", targetBranch: "main", workers: 2, pending: 2, runFiles: ".oompa/runs/abcd1234" }),
      make.workerStarted({ worker: "w1" }, { model: "claude:opus", canPlan: false, maxCycle: 3 }),
      make.turnStarted(c, { turn: 1, kind: "start", log: "/logs/w1-c1-t1.log" }),
      steered("pause"),
      steered("stop-worker", false, "w1"),
      steered("stop-worker", true, "w9"),
      steered("stop-worker", true, "w1"),
      steered("resume")
    ])) {
      view = applyEvent(view, event)
      views.push(view)
    }
    expect(views.map((v) => v.paused)).toEqual([false, false, false, true, true, true, true, false])
    expect(views.map((v) => v.workers.find((w) => w.id === "w1")?.stopping)).toEqual([undefined, false, false, false, false, false, true, true])
    // The unknown worker gets no row.
    expect(view.workers.map((w) => w.id)).toEqual(["w1"])
    const stopped = applyEvent(view, stamp([make.workerStopped({ worker: "w1" }, { reason: "stopped-by-user", cycles: 1, merged: 1, rejected: 0, mergeFailed: 0, stuck: 0, noChanges: 0, errors: 0, other: 0, turns: 1, usage: usage(0), costUsd: 0 })])[0]!)
    expect(stopped.workers[0]).toMatchObject({ phase: "stopped", stopping: false, stopReason: "stopped-by-user" })
    expect(applyEvent(views[3]!, stamp([make.swarmStopped({}, { swarm: "abcd1234", reason: "stopped-by-user", exitCode: 130, targetBranch: "main", merged: 0 })])[0]!).paused).toBe(false)
  })

  it("a swarm stopped at once (a stop, Ctrl-C): its workers with no worker-stopped of their own stop with it, for its reason", () => {
    const view = viewOf(
      stamp([
        make.swarmStarted({}, { swarm: "abcd1234", targetBranch: "main", workers: 2, pending: 2, runFiles: ".oompa/runs/abcd1234" }),
        make.workerStarted({ worker: "w0" }, { model: "claude:opus", canPlan: false, maxCycle: 3 }),
        make.workerStarted({ worker: "w1" }, { model: "claude:opus", canPlan: false, maxCycle: 3 }),
        make.turnStarted({ worker: "w0", cycle: 1 }, { turn: 1, kind: "start", log: "/logs/w0-c1-t1.log" }),
        make.workerStopped({ worker: "w1" }, { reason: "max-cycles", cycles: 3, merged: 3, rejected: 0, mergeFailed: 0, stuck: 0, noChanges: 0, errors: 0, other: 0, turns: 3, usage: usage(0), costUsd: 0 }),
        make.cycleEnded({ worker: "w0", cycle: 1 }, { outcome: "interrupted", detail: "the swarm was stopped", claims: [] }),
        make.swarmStopped({}, { swarm: "abcd1234", reason: "stopped-by-user", exitCode: 130, targetBranch: "main", merged: 0 })
      ])
    )
    expect(view.workers.map((w) => [w.id, w.phase, w.stopReason])).toEqual([
      ["w0", "stopped", "stopped-by-user"],
      ["w1", "stopped", "max-cycles"]
    ])
    expect(view.workers[0]!.since).toBe(Date.UTC(2026, 0, 1, 0, 0, 6))
  })

  it("follows a worker through a cycle: each event moves it to the state a person would name", () => {
    const w = { worker: "w0" }
    const c = { worker: "w0", cycle: 1 }
    const steps: ReadonlyArray<readonly [RunEventDraft, string | undefined]> = [
      [make.swarmStarted({}, { swarm: "abcd1234", targetBranch: "main", workers: 1, pending: 2, runFiles: ".oompa/runs/abcd1234" }), undefined],
      [make.workerStarted(w, { model: "claude:opus", canPlan: true, maxCycle: 3 }), "starting"],
      [make.cycleStarted(c, { branch: "oompa/x/w0-c1", worktree: "/wt", base: "abc" }), "starting"],
      [make.turnStarted(c, { turn: 1, kind: "start", log: "/logs/w0-c1-t1.log" }), "working"],
      [turnEnded("w0", 1, 1, 0.5), "working"],
      [make.claim(c, { results: [{ id: "t1", result: "Claimed" }, { id: "t2", result: "AlreadyTaken" }] }), "claiming"],
      [make.turnStarted(c, { turn: 2, kind: "claimresults", log: "/logs/w0-c1-t2.log" }), "working"],
      [make.merge(c, { step: "committed", commit: "a".repeat(40) }), "reviewing"],
      [make.reviewStarted(c, { round: 1, attempt: 1, reviewer: "codex", log: "/reviews/r1.log" }), "reviewing"],
      [make.review(c, { round: 1, attempt: 1, reviewer: "codex", verdict: "NEEDS_CHANGES", usage: usage(500), costUsd: 0.25 }), "fixing"],
      [make.turnStarted(c, { turn: 3, kind: "review-feedback", log: "/logs/w0-c1-t3.log" }), "fixing"],
      [make.review(c, { round: 2, attempt: 1, reviewer: "codex", verdict: "APPROVED" }), "merging"],
      [make.merge(c, { step: "merged", target: "main", commit: "b".repeat(40), retries: 0 }), "merging"],
      [make.cycleEnded(c, { outcome: "merged", detail: "merged", claims: ["t1"] }), "merging"],
      [make.waitingForTasks(w, { waitMs: 60_000 }), "waiting for tasks"]
    ]
    let view = emptyView
    for (const [i, [draft, phase]] of steps.entries()) {
      view = applyEvent(view, stamp([draft]).map((e) => ({ ...e, at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }))[0]!)
      if (phase !== undefined) expect([i, phaseOf(view, "w0")]).toEqual([i, phase])
    }
    const row = view.workers[0]!
    expect(row).toMatchObject({ model: "claude:opus", cycles: 1, merged: 1, costUsd: 0.75, inputTokens: 1500, tasks: [] })
    expect(view).toMatchObject({ swarm: "abcd1234", status: "running", tasksMerged: 1, tasksClaimed: 0, tasksPending: 1, mergedCycles: 1, costUsd: 0.75 })
    // The time in a state restarts when the state changes: waiting began with the last event.
    expect(row.since).toBe(Date.UTC(2026, 0, 1, 0, 0, steps.length - 1))
    expect(view.recent.at(-1)?.message).toBe("waiting up to 1m for a task")
  })

  it("a rate-limited worker is shown waiting until its hold ends, listed for a person, and back at work with its next turn", () => {
    const c = { worker: "w0", cycle: 1 }
    const events = stamp([
      make.workerStarted({ worker: "w0" }, { model: "claude", canPlan: true, maxCycle: 5 }),
      make.rateLimited(c, { provider: "claude", class: "rate-limited", waitMs: 90_000, until: "2026-01-01T00:01:31.000Z", source: "retry-after", strike: 1 }),
      make.turnStarted(c, { turn: 2, kind: "start", log: "l2" }),
      make.budgetReached({}, { scope: "swarm", limit: "max_tokens", value: 10, spent: 12, estimated: false })
    ])
    const limited = viewOf(events.slice(0, 2))
    expect(limited.workers[0]).toMatchObject({ phase: "rate-limited", until: Date.parse(events[1]!.at) + 90_000 })
    expect(limited.attention.map((a) => a.kind)).toEqual(["rate-limited"])
    const view = viewOf(events)
    expect(phaseOf(view, "w0")).toBe("working")
    expect(view.attention.map((a) => a.kind)).toEqual(["budget reached"])
  })

  it("a worker whose new worktree is being set up is shown setting up, then at work with its first turn", () => {
    const c = { worker: "w0", cycle: 1 }
    const events = stamp([
      make.workerStarted({ worker: "w0" }, { model: "mock", canPlan: true, maxCycle: 5 }),
      make.cycleStarted(c, { branch: "b", worktree: "/w", base: "0" }),
      make.setupStarted(c, { copy: [".env"], commands: ["npm ci"] }),
      make.setupEnded(c, { ok: true, durationMs: 10, commands: [] }),
      make.turnStarted(c, { turn: 1, kind: "start", log: "l1" })
    ])
    expect(phaseOf(viewOf(events.slice(0, 3)), "w0")).toBe("setting up")
    expect(phaseOf(viewOf(events.slice(0, 4)), "w0")).toBe("starting")
    expect(phaseOf(viewOf(events), "w0")).toBe("working")
  })

  it("lists what needs a person, and drops an item once what it was about is over", () => {
    const c = { worker: "w1", cycle: 2 }
    const events = stamp([
      make.workerStarted({ worker: "w1" }, { model: "gemini", canPlan: true, maxCycle: 5 }),
      make.attention(c, { target: "main", worktree: "/repo", files: ["README.md"], reason: "would be overwritten", mergeWaitSeconds: 600 }),
      make.merge(c, { step: "merged", target: "main", commit: "c".repeat(40), retries: 0, held: { ms: 4000, what: "local changes" } }),
      make.cycleEnded({ worker: "w1", cycle: 3 }, { outcome: "rejected", detail: "the reviewer rejected it", claims: ["t9"] }),
      make.workKept({ worker: "w1", cycle: 3 }, { ref: "refs/oompa/kept/x/w1-c3", commit: "d".repeat(40) }),
      make.backingOff({ worker: "w1" }, { ms: 20_000, consecutiveErrors: 2 })
    ])
    const afterAttention = viewOf(events.slice(0, 2))
    expect(afterAttention.attention.map((a) => a.kind)).toEqual(["blocked merge"])
    expect(afterAttention.attention[0]!.text).toContain("README.md")
    const view = viewOf(events)
    expect(view.attention.map((a) => [a.kind, a.ref])).toEqual([
      ["rejected", "refs/oompa/kept/x/w1-c3"],
      ["backing off", undefined]
    ])
    expect(view.workers[0]).toMatchObject({ phase: "backing off", until: Date.parse(events[5]!.at) + 20_000 })
    const stopped = viewOf(
      stamp([
        make.workerStopped(
          { worker: "w1" },
          { reason: "too-many-errors", cycles: 3, merged: 0, rejected: 0, mergeFailed: 0, stuck: 0, noChanges: 0, errors: 3, other: 0, turns: 3, usage: usage(0), costUsd: 0, lastFailure: "exit 1" }
        )
      ]),
      view
    )
    expect(stopped.attention.map((a) => a.kind)).toEqual(["rejected", "stopped on errors"])
    expect(stopped.attention[1]!.text).toBe("w1 stopped after 3 error cycle(s): exit 1")
    expect(stopped.workers[0]).toMatchObject({ phase: "stopped", stopReason: "too-many-errors" })
  })

  it("takes an agent's activity only from the log it writes now", () => {
    const c = { worker: "w0", cycle: 1 }
    const view = viewOf(stamp([make.turnStarted(c, { turn: 1, kind: "start", log: "/l/t1.log" }), make.turnStarted(c, { turn: 2, kind: "resume", log: "/l/t2.log" })]))
    expect(applyActivity(view, "w0", "/l/t1.log", "Bash: ls", 5).workers[0]!.activity).toBeUndefined()
    expect(applyActivity(view, "w0", "/l/t2.log", "Edit src/a.ts", 5).workers[0]).toMatchObject({ activity: "Edit src/a.ts", activityAt: 5 })
  })

  it("never counts below zero nor gives a worker two rows, whatever order events come in (property)", () => {
    const worker = fc.constantFrom("w0", "w1", "w2")
    const draft: fc.Arbitrary<RunEventDraft> = fc.oneof(
      fc.tuple(worker, fc.nat(3)).map(([w, c]) => make.cycleStarted({ worker: w, cycle: c }, { branch: "b", worktree: "t", base: "x" })),
      fc.tuple(worker, fc.array(fc.constantFrom("t1", "t2", "t3"), { maxLength: 3 })).map(([w, ids]) =>
        make.claim({ worker: w, cycle: 1 }, { results: ids.map((id) => ({ id, result: "Claimed" as const })) })
      ),
      fc.tuple(worker, fc.constantFrom("merged" as const, "rejected" as const, "error" as const, "stuck" as const, "interrupted" as const), fc.array(fc.constantFrom("t1", "t2"), { maxLength: 2 })).map(
        ([w, outcome, claims]) => make.cycleEnded({ worker: w, cycle: 1 }, { outcome, detail: "d", claims })
      ),
      fc.tuple(worker, fc.nat(5)).map(([w, t]) => make.turnStarted({ worker: w, cycle: 1 }, { turn: t, kind: "start", log: `l${t}` })),
      fc.tuple(worker, fc.nat(100)).map(([w, cost]) => turnEnded(w, 1, 1, cost / 100)),
      worker.map((w) => make.backingOff({ worker: w }, { ms: 10, consecutiveErrors: 1 })),
      worker.map((w) => make.waitingForTasks({ worker: w }, { waitMs: 10 }))
    )
    fc.assert(
      fc.property(fc.array(draft, { maxLength: 60 }), (drafts) => {
        const view = viewOf(stamp(drafts))
        expect(view.tasksClaimed).toBeGreaterThanOrEqual(0)
        expect(view.tasksPending).toBeGreaterThanOrEqual(0)
        expect(new Set(view.workers.map((w) => w.id)).size).toBe(view.workers.length)
        expect(view.events).toBe(drafts.length)
        expect(view.recent.length).toBeLessThanOrEqual(50)
        const sum = view.workers.reduce((s, w) => s + w.costUsd, 0)
        expect(sum).toBeCloseTo(view.costUsd, 9)
      })
    )
  })

  it.live("a real mock swarm's events.jsonl folds into what its run files and queue say", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:diligent", max_cycle: 3, count: 2 }], reviewer: "mock:diligent" },
        tasks: makeTasks(3)
      })
      const result = yield* runSwarm(config, { print: () => Effect.void }).pipe(Effect.provide(engineTestLayer({ baseDir: repo.path })))
      const lines = fs.readFileSync(path.join(result.runDir, "events.jsonl"), "utf8").trim().split("\n")
      const view = viewOf(lines.map((line) => decode(line)))
      const stopped = JSON.parse(fs.readFileSync(path.join(result.runDir, "stopped.json"), "utf8")) as {
        workers: ReadonlyArray<{ id: string; costUsd: number; merged: number; cycles: number }>
      }
      expect(view.status).toBe("stopped")
      expect(view.tasksMerged).toBe(Object.keys(readTasks(repo.path, "complete")).length)
      expect(view.tasksMerged).toBe(3)
      expect(view.tasksClaimed).toBe(0)
      expect(view.tasksPending).toBe(0)
      expect(view.workers.map((w) => [w.id, w.phase, w.merged, w.cycles])).toEqual(
        stopped.workers.map((w) => [w.id, "stopped", w.merged, w.cycles])
      )
      expect(view.costUsd).toBeCloseTo(stopped.workers.reduce((s, w) => s + w.costUsd, 0), 9)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})

describe("swarmView's copy of the failed stop reasons", () => {
  it("is WorkerState's (the browser's fold cannot import it)", () => {
    expect([...FAILED_STOPS].sort()).toEqual([...failedStopReasons].sort())
  })
})
