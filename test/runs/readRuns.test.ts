import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import type { CycleFile, StoppedFile } from "../../src/domain/RunFiles.js"
import {
  decodeEventLines,
  findRuns,
  listRuns,
  readReviews,
  readRun,
  selectRun,
  totalsOf,
  workerSummaries
} from "../../src/runs/readRuns.js"
import { GitLive } from "../../src/services/Git.js"

const TestLayer = Layer.mergeAll(GitLive, NodeContext.layer).pipe(Layer.provide(NodeContext.layer))

const deadPid = 2 ** 22 + 7
const usage = (input: number, output: number) => ({ inputTokens: input, outputTokens: output, cachedInputTokens: 0 })

const started = (swarm: string, pid: number, startedAt: string) => ({
  swarm,
  pid,
  host: os.hostname(),
  startedAt,
  projectRoot: "/x",
  configPath: "/x/oompa.json",
  targetBranch: "main",
  tasksDir: "/x/tasks",
  versions: { oompa: "0", node: "v20" },
  workers: [
    { id: "w0", model: "mock", canPlan: true },
    { id: "w1", model: "mock", canPlan: true },
    { id: "w2", model: "mock", canPlan: false }
  ],
  config: null
})

const cycle = (worker: string, n: number, outcome: CycleFile["outcome"], cost?: number): CycleFile => ({
  swarm: "s",
  worker,
  cycle: n,
  model: "mock",
  outcome,
  detail: "",
  branch: `oompa/s/${worker}-c${n}`,
  claims: [],
  turns: [
    {
      turn: 1,
      kind: "start",
      exitCode: 0,
      timedOut: false,
      signals: [],
      durationMs: 100,
      usage: usage(10, 1),
      log: "x.log"
    }
  ],
  signals: [],
  reviewRounds: 0,
  startedAt: "2026-01-01T00:00:00.000Z",
  endedAt: "2026-01-01T00:00:01.000Z",
  durationMs: 1000,
  usage: usage(10, 1),
  ...(cost === undefined ? {} : { costUsd: cost })
})

/** A runs folder with fabricated run files; returns its path. */
const makeRuns = (runs: Record<string, Record<string, unknown>>): string => {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-readruns-"))
  for (const [id, files] of Object.entries(runs)) {
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(runsDir, id, name)
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content))
    }
  }
  return runsDir
}

const stopped = (reason: StoppedFile["reason"]): StoppedFile => ({
  swarm: "s",
  reason,
  stoppedAt: "2026-01-01T01:00:00.000Z",
  exitCode: reason === "completed" ? 0 : 130,
  workers: []
})

describe("readRuns", () => {
  it.effect("status: stopped.json's reason, else running (pid alive) or crashed (pid dead); newest first", () =>
    Effect.gen(function* () {
      const runsDir = makeRuns({
        aaaa0001: { "started.json": started("aaaa0001", deadPid, "2026-01-01T00:00:00Z") },
        aaaa0002: { "started.json": started("aaaa0002", process.pid, "2026-01-03T00:00:00Z") },
        bbbb0003: {
          "started.json": started("bbbb0003", process.pid, "2026-01-02T00:00:00Z"),
          "stopped.json": stopped("interrupted")
        }
      })
      const runs = yield* listRuns(runsDir)
      expect(runs.map((r) => [r.id, r.status])).toEqual([
        ["aaaa0002", "running"],
        ["bbbb0003", "interrupted"],
        ["aaaa0001", "crashed"]
      ])
      expect(runs.every((r) => r.problems.length === 0)).toBe(true)
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("a file that does not decode is a problem beside the rest, not a failure", () =>
    Effect.gen(function* () {
      const runsDir = makeRuns({
        cccc0001: {
          "started.json": "{not json",
          "cycles/w0-c1.json": cycle("w0", 1, "merged", 0.5),
          "cycles/w0-c2.json": { worker: "w0" }
        }
      })
      const run = yield* readRun(path.join(runsDir, "cccc0001"))
      expect(run.status).toBe("starting")
      expect(Option.isNone(run.started)).toBe(true)
      expect(run.cycles.map((c) => c.cycle)).toEqual([1])
      expect(run.problems.map((p) => p.file)).toEqual(["started.json", "cycles/w0-c2.json"])
      expect(run.problems[1]!.message).toContain("outcome")
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("worker summaries are computed from the cycle files when stopped.json has none; totals sum usage and cost", () =>
    Effect.gen(function* () {
      const runsDir = makeRuns({
        dddd0001: {
          "started.json": started("dddd0001", deadPid, "2026-01-01T00:00:00Z"),
          "cycles/w1-c1.json": cycle("w1", 1, "error"),
          "cycles/w0-c2.json": cycle("w0", 2, "stuck", 0.25),
          "cycles/w0-c1.json": cycle("w0", 1, "merged", 0.5)
        }
      })
      const run = yield* readRun(path.join(runsDir, "dddd0001"))
      expect(run.cycles.map((c) => `${c.worker}-c${c.cycle}`)).toEqual(["w0-c1", "w0-c2", "w1-c1"])
      const summaries = workerSummaries(run)
      expect(summaries.map((s) => [s.id, s.cycles, s.merged, s.errors, s.stuck, s.other, s.costUsd, s.stopReason])).toEqual([
        ["w0", 2, 1, 0, 1, 0, 0.75, "crashed"],
        ["w1", 1, 0, 1, 0, 0, 0, "crashed"],
        ["w2", 0, 0, 0, 0, 0, 0, "crashed"]
      ])
      expect(totalsOf(run.cycles)).toEqual({ cycles: 3, merged: 1, inputTokens: 30, outputTokens: 3, costUsd: 0.75 })
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("worker summaries always count the cycle files: stopped.json gives only the stop reason and time (0.8 wrote zeros for interrupted runs)", () =>
    Effect.gen(function* () {
      const zero = { cycles: 0, merged: 0, rejected: 0, errors: 0, other: 0, turns: 0, usage: usage(0, 0), costUsd: 0 }
      const runsDir = makeRuns({
        eeee0001: {
          "started.json": started("eeee0001", deadPid, "2026-01-01T00:00:00Z"),
          "stopped.json": {
            ...stopped("interrupted"),
            workers: [
              { id: "planner", model: "mock", ...zero, durationMs: 5000, stopReason: "done" },
              { id: "w0", model: "mock", ...zero, durationMs: 7000, stopReason: "interrupted" }
            ]
          },
          "cycles/planner-c1.json": cycle("planner", 1, "merged", 0.125),
          "cycles/w0-c1.json": cycle("w0", 1, "interrupted", 0.5),
          "cycles/w1-c1.json": cycle("w1", 1, "error")
        }
      })
      const summaries = workerSummaries(yield* readRun(path.join(runsDir, "eeee0001")))
      expect(summaries.map((s) => [s.id, s.cycles, s.merged, s.other, s.errors, s.turns, s.usage.inputTokens, s.costUsd, s.durationMs, s.stopReason])).toEqual([
        ["planner", 1, 1, 0, 0, 1, 10, 0.125, 5000, "done"],
        ["w0", 1, 0, 1, 0, 1, 10, 0.5, 7000, "interrupted"],
        // Not in stopped.json: its time is the sum of its cycles, its stop reason the run's status.
        ["w1", 1, 0, 0, 1, 1, 10, 0, 1000, "interrupted"],
        ["w2", 0, 0, 0, 0, 0, 0, 0, 0, "interrupted"]
      ])
      expect(summaries[2]!.lastFailure).toBe("c1 error: ")
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("readReviews: every attempt in order of worker, cycle, round and attempt; a 0.8 round file is attempt 1", () =>
    Effect.gen(function* () {
      const review = (cycleN: number, round: number, attempt: number | undefined, verdict: string | null, error?: string) => ({
        swarm: "s",
        worker: "w0",
        cycle: cycleN,
        round,
        ...(attempt === undefined ? {} : { attempt }),
        reviewer: `mock:r${attempt ?? 1}`,
        verdict,
        text: "",
        ...(error === undefined ? {} : { error }),
        diffTruncated: false,
        files: [],
        startedAt: "2026-01-01T00:00:00.000Z",
        durationMs: 10,
        usage: usage(1, 1),
        log: "x.log"
      })
      const runsDir = makeRuns({
        ffff0001: {
          "started.json": started("ffff0001", deadPid, "2026-01-01T00:00:00Z"),
          "cycles/w0-c1.json": cycle("w0", 1, "merged"),
          "reviews/w0-c1-r1.json": review(1, 1, undefined, "NEEDS_CHANGES"),
          "reviews/w0-c1-r2-2.json": review(1, 2, 2, "APPROVED"),
          "reviews/w0-c1-r2-1.json": review(1, 2, 1, null, "reviewer exited with 1: overloaded"),
          "reviews/w0-c1-r3-1.json": { worker: "w0" }
        }
      })
      const { reviews, problems } = yield* readReviews(yield* readRun(path.join(runsDir, "ffff0001")))
      expect(reviews.map((r) => [r.round, r.attempt, r.verdict, r.error])).toEqual([
        [1, 1, "NEEDS_CHANGES", undefined],
        [2, 1, null, "reviewer exited with 1: overloaded"],
        [2, 2, "APPROVED", undefined]
      ])
      expect(problems.map((p) => p.file)).toEqual(["reviews/w0-c1-r3-1.json"])
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("selectRun: newest by default, exact id, unique prefix; unknown and ambiguous fail with the ids", () =>
    Effect.gen(function* () {
      const runsDir = makeRuns({
        abcd0001: { "started.json": started("abcd0001", deadPid, "2026-01-01T00:00:00Z") },
        abcd0002: { "started.json": started("abcd0002", deadPid, "2026-01-02T00:00:00Z") },
        ef000003: { "started.json": started("ef000003", deadPid, "2025-12-01T00:00:00Z") }
      })
      const runs = yield* listRuns(runsDir)
      expect((yield* selectRun(runs, Option.none())).id).toBe("abcd0002")
      expect((yield* selectRun(runs, Option.some("abcd0001"))).id).toBe("abcd0001")
      expect((yield* selectRun(runs, Option.some("ef"))).id).toBe("ef000003")
      const ambiguous = yield* Effect.flip(selectRun(runs, Option.some("abcd")))
      expect(ambiguous.message).toBe(`"abcd" matches several runs: abcd0002, abcd0001`)
      expect(ambiguous.exitCode).toBe(2)
      const unknown = yield* Effect.flip(selectRun(runs, Option.some("99")))
      expect(unknown.message).toBe(`no run "99"; known runs: abcd0002, abcd0001, ef000003`)
      expect((yield* Effect.flip(selectRun([], Option.none()))).message).toBe("No runs yet")
    }).pipe(Effect.provide(TestLayer))
  )

  it("decodeEventLines: good lines decoded, bad ones reported with their line number", () => {
    const text = [
      JSON.stringify({ at: "2026-01-01T00:00:00Z", type: "claim", worker: "w0", cycle: 1, message: "claim t1" }),
      "",
      JSON.stringify({ at: "2026-01-01T00:00:00Z", type: "no-such-type", message: "x" }),
      "{",
      ""
    ].join("\n")
    const { events, problems } = decodeEventLines(text, 10)
    expect(events.map((e) => e.message)).toEqual(["claim t1"])
    expect(problems.map((p) => p.file)).toEqual(["events.jsonl:12", "events.jsonl:13"])
  })

  it.effect("findRuns: <git toplevel>/.oompa/runs from a subfolder; outside a repository, NotInRepository (exit 2)", () =>
    Effect.gen(function* () {
      const repo = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "oompa-readruns-git-")))
      fs.mkdirSync(path.join(repo, "sub", "deeper"), { recursive: true })
      execFileSync("git", ["init", "-q"], { cwd: repo })
      const found = yield* findRuns(path.join(repo, "sub", "deeper"))
      expect(found).toEqual({ root: repo, runsDir: path.join(repo, ".oompa", "runs") })
      const outside = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-readruns-nogit-"))
      const error = yield* Effect.flip(findRuns(outside))
      expect(error._tag).toBe("NotInRepository")
      expect(error.exitCode).toBe(2)
    }).pipe(Effect.provide(TestLayer))
  )
})
