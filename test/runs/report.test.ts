import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import type { CycleFile, RunEventLine, StartedFile } from "../../src/domain/RunFiles.js"
import type { QueueListing } from "../../src/domain/queue.js"
import type { TaskId } from "../../src/domain/Task.js"
import type { RunInfo } from "../../src/runs/readRuns.js"
import { buildReport } from "../../src/runs/report.js"
import { reportMarkdown } from "../../src/runs/reportMarkdown.js"

/**
 * The pure builder of `oompa report` on fabricated run files: what each
 * section takes from which file, for the cases a real mock swarm does not
 * easily produce (a failed merge, a blocked landing, a rejection redone later,
 * test_command failures, a run with no started.json).
 */

const usage = (n: number) => ({ inputTokens: n, outputTokens: n / 10, cachedInputTokens: 0 })

const cycle = (worker: string, n: number, fields: Partial<CycleFile>): CycleFile => ({
  swarm: "s1",
  worker,
  cycle: n,
  model: "mock",
  outcome: "merged",
  detail: "",
  branch: `oompa/s1/${worker}-c${n}`,
  claims: [],
  turns: [],
  signals: [],
  reviewRounds: 1,
  startedAt: `2026-01-01T00:0${n}:00.000Z`,
  endedAt: `2026-01-01T00:0${n}:30.000Z`,
  durationMs: 30_000,
  usage: usage(100),
  costUsd: 0.5,
  ...fields
})

const started = (config: unknown): StartedFile => ({
  swarm: "s1",
  pid: 1,
  host: "h",
  startedAt: "2026-01-01T00:00:00.000Z",
  projectRoot: "/p",
  configPath: "/p/oompa.json",
  targetBranch: "main",
  tasksDir: "/p/tasks",
  versions: { oompa: "0", node: "v20" },
  workers: [{ id: "w0", model: "mock", canPlan: true }, { id: "w1", model: "mock", canPlan: true }],
  config
})

const run = (cycles: ReadonlyArray<CycleFile>, withStarted: Option.Option<StartedFile>): RunInfo => ({
  id: "s1",
  dir: "/p/.oompa/runs/s1",
  started: withStarted,
  stopped: Option.none(),
  status: "running",
  cycles,
  problems: [],
  sortKey: 0
})

const event = (type: RunEventLine["type"], worker: string, cycleNumber: number | undefined, data: Record<string, unknown>, message: string = type): RunEventLine => ({
  at: "2026-01-01T00:09:00.000Z",
  type,
  worker,
  ...(cycleNumber === undefined ? {} : { cycle: cycleNumber }),
  message,
  data
})

const task = (id: string, summary: string) => ({ id: id as TaskId, task: { id: id as TaskId, summary }, state: "pending" as const, file: `/p/tasks/pending/${id}.json` })

describe("buildReport", () => {
  const cycles = [
    cycle("w0", 1, { outcome: "rejected", detail: "rejected by mock in round 1", claims: ["t1"], keptRef: "refs/oompa/kept/s1/w0-c1" }),
    cycle("w0", 2, { outcome: "merged", claims: ["t1", "t2"], mergedCommit: "a".repeat(40), reviewRounds: 2 }),
    cycle("w1", 1, { outcome: "merge-failed", detail: "main is at 123, not 456", claims: ["t3"], keptRef: "refs/oompa/kept/s1/w1-c1", costUsd: 0.25 }),
    cycle("w1", 2, { outcome: "done", claims: [], costUsd: 0.1, usage: usage(10) })
  ]
  const events = [
    event("merge", "w0", 2, { step: "tests-failed" }),
    event("merge", "w0", 2, { step: "tests-failed" }),
    event("merge", "w0", 2, { step: "merged", target: "main", commit: "a".repeat(40), retries: 0, held: { ms: 5000, what: "local changes" } }),
    event("attention", "w1", 3, { target: "main", worktree: "/p", files: ["README.md"], reason: "local changes", mergeWaitSeconds: 60 }, "README.md is in the way"),
    event("backing-off", "w1", undefined, { ms: 1000, consecutiveErrors: 1 })
  ]
  const listing: QueueListing = { pending: [task("t3", "third")], current: [], complete: [task("t1", "first"), task("t2", "second")], invalid: [] }

  it("merged cycles with their test_command runs; unmerged ones with their kept ref and command; needs a human", () => {
    const report = buildReport({
      run: run(cycles, Option.some(started({ test_command: "npm test" }))),
      events,
      queue: Option.some({ root: "/p/tasks", listing }),
      keptRefs: Option.some(new Set(["refs/oompa/kept/s1/w0-c1", "refs/oompa/kept/s1/w1-c1"])),
      problems: []
    })
    expect(report.merged).toEqual([
      expect.objectContaining({
        cycle: "w0-c2",
        tasks: [{ id: "t1", summary: "first" }, { id: "t2", summary: "second" }],
        reviewRounds: 2,
        testCommand: "passed",
        testFailures: 2
      })
    ])
    expect(report.notMerged.map((c) => [c.cycle, c.outcome, c.keptRefPresent, c.gitCommand, c.laterMerged])).toEqual([
      ["w0-c1", "rejected", true, "git log -p main..refs/oompa/kept/s1/w0-c1", ["w0-c2"]],
      ["w1-c1", "merge-failed", true, "git log -p main..refs/oompa/kept/s1/w1-c1", []],
      ["w1-c2", "done", null, null, []]
    ])
    // The rejection was redone and merged: nothing for a human. The failed merge and the blocked landing are.
    expect(report.needsHuman.map((n) => [n.kind, n.cycle, n.command])).toEqual([
      ["merge-failed", "w1-c1", "git log -p main..refs/oompa/kept/s1/w1-c1"],
      ["blocked-merge", "w1-c3", null]
    ])
    expect(report.needsHuman[1]!.text).toBe("w1-c3: README.md is in the way")
    expect(report.waiting).toEqual({
      backOffs: [{ worker: "w1", count: 1, ms: 1000 }],
      backOffMs: 1000,
      mergeHolds: [{ cycle: "w0-c2", ms: 5000, what: "local changes" }],
      mergeHoldMs: 5000,
      rateLimits: [],
      rateLimitMs: 0,
      providers: []
    })
    // A task's cost is its cycles'; a cycle of two tasks counts in each.
    expect(report.spend.tasks.map((t) => [t.id, t.cycles, t.costUsd])).toEqual([
      ["t1", 2, 1],
      ["t2", 1, 0.5],
      ["t3", 1, 0.25]
    ])
    expect(report.spend.unclaimed).toEqual({ cycles: 1, usage: usage(10), costUsd: 0.1 })
    expect(report.spend.total.costUsd).toBeCloseTo(1.35, 10)
    expect(report.spend.workers.map((w) => [w.id, w.cycles, w.merged, w.costUsd])).toEqual([
      ["w0", 2, 1, 1],
      ["w1", 2, 0, 0.35]
    ])
    expect(report.queue!.pending).toEqual([{ id: "t3", summary: "third", waitingOn: [] }])

    const md = reportMarkdown(report)
    expect(md).toContain("- w0-c2: `t1` first; `t2` second — merged `aaaaaaaaaaaa`, 2 review round(s), test_command passed (after 2 failed run(s)), $0.5000")
    expect(md).toContain("  - its task(s) merged later in w0-c2")
    expect(md).toContain("- w1-c2: done, no task claimed, nothing kept")
    expect(md).toContain("- w0-c2: 5s waiting for local changes")
    expect(md).toContain("- **blocked-merge** w1-c3: README.md is in the way")
  })

  it("without started.json: test_command unknown, git show for kept work, no queue, nothing invented", () => {
    const report = buildReport({ run: run(cycles, Option.none()), events: [], queue: Option.none(), keptRefs: Option.none(), problems: [] })
    expect(report.targetBranch).toBeNull()
    expect(report.merged[0]!.testCommand).toBe("unknown")
    expect(report.merged[0]!.tasks).toEqual([{ id: "t1", summary: null }, { id: "t2", summary: null }])
    expect(report.notMerged[1]!.gitCommand).toBe("git show refs/oompa/kept/s1/w1-c1")
    expect(report.queue).toBeNull()
    const md = reportMarkdown(report)
    expect(md.split("\n")[0]).toBe("# oompa report: swarm s1 → ?, ? – now, still running")
    expect(md).toContain("test_command unknown")
    expect(md).toContain("Unknown: the run has no started.json naming its queue")
  })

  it("kept work whose ref was deleted since: no command, said gone, not for a human any more", () => {
    const report = buildReport({
      run: run(cycles, Option.some(started({}))),
      events: [],
      queue: Option.none(),
      keptRefs: Option.some(new Set(["refs/oompa/kept/s1/w0-c1"])),
      problems: []
    })
    const failed = report.notMerged.find((c) => c.cycle === "w1-c1")!
    expect([failed.keptRefPresent, failed.gitCommand]).toEqual([false, null])
    expect(report.needsHuman).toEqual([])
    expect(reportMarkdown(report)).toContain("  - was kept as `refs/oompa/kept/s1/w1-c1`, no longer in the repository")
  })

  it("a run folder with nothing readable: no cycle has ended, no table, the files that did not decode listed", () => {
    const report = buildReport({
      run: { ...run([], Option.none()), status: "starting" },
      events: [],
      queue: Option.none(),
      keptRefs: Option.none(),
      problems: [{ file: "started.json", message: "not JSON" }]
    })
    const md = reportMarkdown(report)
    expect(md.split("\n")[0]).toBe("# oompa report: swarm s1 → ?, ? – ?, starting (no readable started.json)")
    expect(md).toContain("Nothing merged.")
    expect(md).toContain("No cycle has ended.")
    expect(md).not.toContain("| worker |")
    expect(md).toContain("## Files that did not decode\n\n- `started.json`: not JSON")
    expect(report.problems).toEqual([{ file: "started.json", message: "not JSON" }])
  })

  it("a config without test_command says so", () => {
    const report = buildReport({ run: run(cycles, Option.some(started({ workers: [] }))), events: [], queue: Option.none(), keptRefs: Option.none(), problems: [] })
    expect(report.merged[0]!.testCommand).toBe("none")
    expect(reportMarkdown(report)).toContain("no test_command")
  })

  it("time spent waiting on rate limits, per worker and per provider, from the turn records and rate-limited events", () => {
    const turn = (n: number, fields: Record<string, unknown>) => ({
      turn: n, kind: "start", exitCode: 0, timedOut: false, signals: [], durationMs: 1000, usage: usage(1), log: "l", ...fields
    })
    const limitedCycles = [
      cycle("w0", 1, { turns: [turn(1, { exitCode: 1, failure: { class: "rate-limited", retryAfterMs: 60000 } }), turn(2, { limitWaitMs: 61_000 })] }),
      cycle("w1", 1, { turns: [turn(1, { limitWaitMs: 30_000 }), turn(2, { exitCode: 1, failure: { class: "overloaded" } }), turn(3, { limitWaitMs: 45_000 })] }),
      cycle("w1", 2, { turns: [turn(1, { exitCode: 1, failure: { class: "auth" } })] })
    ]
    const limitEvents = [
      event("rate-limited", "w0", 1, { provider: "claude", class: "rate-limited", waitMs: 61_000, until: "x", source: "retry-after", strike: 1 }),
      event("rate-limited", "w1", 1, { provider: "claude", class: "overloaded", waitMs: 45_000, until: "x", source: "backoff", strike: 1 })
    ]
    const report = buildReport({ run: run(limitedCycles, Option.some(started({}))), events: limitEvents, queue: Option.none(), keptRefs: Option.none(), problems: [] })
    expect(report.waiting.rateLimits).toEqual([
      { worker: "w0", limitedTurns: 1, waits: 1, ms: 61_000 },
      { worker: "w1", limitedTurns: 1, waits: 2, ms: 75_000 }
    ])
    expect(report.waiting.rateLimitMs).toBe(136_000)
    expect(report.waiting.providers).toEqual([{ provider: "claude", limits: 2, longestHoldMs: 61_000 }])
    const md = reportMarkdown(report)
    expect(md).toContain("Waiting for providers' rate limits to lift: 2m 16s in all")
    expect(md).toContain("- w1: 1 turn(s) cut short by a limit, 2 turn(s) waited 1m 15s")
    expect(md).toContain("- provider claude: 2 limit(s), longest hold 1m 1s")
  })

  it("budgets: a task this run stamped budget_reached needs a human, with its kept work; estimated costs are marked", () => {
    const stamped = {
      id: "big" as TaskId,
      task: {
        id: "big" as TaskId,
        summary: "big one",
        budget_reached: { limit: "max_tokens" as const, value: 2000, spent: 2200, estimated: false, swarm: "s1", at: "2026-01-01T00:02:00.000Z" },
        attempts: [
          { worker: "w0", swarm: "s1", cycle: "w0-c1", outcome: "interrupted", reason: "budget", kept_ref: "refs/oompa/kept/s1/w0-c1", ended_at: "2026-01-01T00:02:00.000Z" }
        ]
      },
      state: "pending" as const,
      file: "/p/tasks/pending/big.json"
    }
    // Stamped by another run: that run's report says so, not this one's.
    const older = { ...stamped, id: "old" as TaskId, task: { ...stamped.task, id: "old" as TaskId, budget_reached: { ...stamped.task.budget_reached, swarm: "s0" } } }
    const budgetCycles = [
      cycle("w0", 1, { outcome: "interrupted", detail: "task big's budget max_tokens 2000 tokens reached: 2200 tokens spent; no new turns", claims: ["big"], keptRef: "refs/oompa/kept/s1/w0-c1", costUsd: 0.2, costEstimated: true }),
      cycle("w0", 2, { outcome: "merged", claims: ["small"], mergedCommit: "b".repeat(40), costUsd: 0.3 })
    ]
    const report = buildReport({
      run: run(budgetCycles, Option.some(started({}))),
      events: [],
      queue: Option.some({ root: "/p/tasks", listing: { pending: [stamped, older], current: [], complete: [task("small", "small one")], invalid: [] } }),
      keptRefs: Option.some(new Set(["refs/oompa/kept/s1/w0-c1"])),
      problems: []
    })
    expect(report.needsHuman.map((n) => [n.kind, n.ref, n.command])).toEqual([
      ["budget-reached", "refs/oompa/kept/s1/w0-c1", "git log -p main..refs/oompa/kept/s1/w0-c1"]
    ])
    expect(report.needsHuman[0]!.text).toBe(
      'task big: its budget max_tokens 2000 tokens was reached (2200 tokens spent); it waits in pending, claimed by nobody until "budget_reached" is removed from its file (raise its budget or split it first)'
    )
    expect(report.spend.total).toMatchObject({ costUsd: 0.5, costEstimated: true })
    expect(report.spend.tasks.map((t) => [t.id, t.costEstimated])).toEqual([["big", true], ["small", undefined]])
    expect(report.notMerged[0]!.costEstimated).toBe(true)
    const md = reportMarkdown(report)
    expect(md).toContain("Total: ~$0.5000 (~: estimated from the price table, the CLI reported no cost)")
    expect(md).toContain("| big | 1 | 100/10 | ~$0.2000 |")
    expect(md).toContain("task big: its budget max_tokens 2000 tokens was reached")
  })
})
