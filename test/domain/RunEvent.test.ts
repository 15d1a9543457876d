import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import * as fc from "fast-check"
import { make, NO_VERDICT_LINE, RunEvent, RunEventLine, terminalLine, type RunEventDraft } from "../../src/domain/RunEvent.js"

const encode = Schema.encodeSync(RunEvent)
const decode = Schema.decodeUnknownSync(RunEvent, { onExcessProperty: "error" })
const decodeLine = Schema.decodeUnknownSync(Schema.parseJson(RunEventLine), { onExcessProperty: "error" })
const lineOf = (event: RunEvent): string => JSON.stringify(encode(event))

/** JSON has no NaN, Infinity: no event oompa writes carries one (times, counts, costs). */
const finite = (value: unknown): boolean =>
  typeof value === "number"
    ? Number.isFinite(value)
    : Array.isArray(value)
      ? value.every(finite)
      : typeof value === "object" && value !== null
        ? Object.values(value).every(finite)
        : true
const writableEvents = Arbitrary.make(RunEvent).filter(finite)

const at = "2026-12-02T06:00:00.000Z"
const stamp = (draft: RunEventDraft): RunEvent => ({ at, ...draft }) as RunEvent

describe("RunEvent (the events.jsonl Schema)", () => {
  it.prop("every event encodes and decodes back to itself", [RunEvent], ([event]) => {
    expect(decode(encode(event))).toEqual(event)
  }, { fastCheck: { numRuns: 500 } })

  it.prop(
    "every line this version writes reads back to the same line, and reads as the line shape of earlier versions",
    [writableEvents],
    ([event]) => {
      const line = lineOf(event)
      // (Compared as read back: JSON has no -0.)
      const typed = decode(JSON.parse(line))
      expect(lineOf(typed)).toBe(line)
      const old = decodeLine(line)
      expect({ type: old.type, worker: old.worker, cycle: old.cycle, message: old.message }).toEqual({
        type: typed.type,
        worker: "worker" in typed ? typed.worker : undefined,
        cycle: "cycle" in typed ? typed.cycle : undefined,
        message: typed.message
      })
    },
    { fastCheck: { numRuns: 500 } }
  )

  it("a line of an earlier version (no payload) reads as a line, not as a typed event", () => {
    const old = '{"at":"2026-01-01T00:00:00Z","type":"worker-started","worker":"w0","message":"mock:diligent, up to 3 cycles"}'
    expect(terminalLine(decodeLine(old))).toBe("[w0] mock:diligent, up to 3 cycles")
    expect(() => decode(JSON.parse(old))).toThrow()
  })

  const cycle = { worker: "w0", cycle: 2 }
  const turn = {
    turn: 1,
    kind: "work",
    exitCode: 0,
    timedOut: false,
    signals: ["__DONE__"],
    durationMs: 2460,
    usage: { inputTokens: 1, outputTokens: 2, cachedInputTokens: 0 },
    log: "logs/w0-c2-t1.log",
    cycleName: "w0-c2"
  }
  const sha = "0123456789abcdef0123456789abcdef01234567"
  // The wording every kind had when its message was written at the emission site: unchanged.
  const wordings: ReadonlyArray<readonly [string, RunEventDraft, string]> = [
    [
      "swarm-started",
      make.swarmStarted({}, { swarm: "s1", targetBranch: "main", workers: 2, pending: 3, runFiles: ".oompa/runs/s1" }),
      "[oompa] swarm s1 on main: 2 worker(s), 3 pending task(s); run files in .oompa/runs/s1"
    ],
    ["worker-started", make.workerStarted({ worker: "w1" }, { model: "mock:x", canPlan: false, maxCycle: 4 }), "[w1] mock:x (executor), up to 4 cycles"],
    [
      "worker-started, planner first",
      make.workerStarted({ worker: "planner" }, { available: 0, maxPending: 2 }),
      "[planner] planner runs first: 0 available task(s) < max_pending 2"
    ],
    ["waiting-for-tasks", make.waitingForTasks({ worker: "w1" }, { waitMs: 90_000 }), "[w1] waiting up to 1m 30s for a task"],
    ["cycle-started", make.cycleStarted(cycle, { branch: "oompa/s1/w0-c2", worktree: "/wt", base: sha }), "[w0] c2 cycle 2 started on oompa/s1/w0-c2"],
    ["turn-started", make.turnStarted(cycle, { turn: 1, kind: "work", log: "l" }), "[w0] c2 turn 1 (work)"],
    ["turn-ended", make.turnEnded(cycle, { ...turn, costUsd: 0.5 }), "[w0] c2 turn 1 ended: __DONE__ (2.5s, $0.5000)"],
    ["turn-ended, no signal", make.turnEnded(cycle, { ...turn, signals: [] }), "[w0] c2 turn 1 ended: no signal (2.5s)"],
    ["turn-ended, timed out", make.turnEnded(cycle, { ...turn, exitCode: null, timedOut: true }), "[w0] c2 turn 1 timed out after 2.5s"],
    [
      "turn-ended, stalled",
      make.turnEnded(cycle, { ...turn, exitCode: null, stalled: true, silenceMs: 300_000, durationMs: 420_000 }),
      "[w0] c2 turn 1 stalled after 5m of silence"
    ],
    ["turn-ended, failed", make.turnEnded(cycle, { ...turn, exitCode: 3 }), "[w0] c2 turn 1 failed: exit 3"],
    [
      "turn-ended, failed with a class",
      make.turnEnded(cycle, { ...turn, exitCode: 1, failure: { class: "rate-limited", retryAfterMs: 20000 } }),
      "[w0] c2 turn 1 failed: exit 1 (rate-limited)"
    ],
    ["turn-ended, failed, other", make.turnEnded(cycle, { ...turn, exitCode: 1, failure: { class: "other" } }), "[w0] c2 turn 1 failed: exit 1"],
    [
      // pi exits 0 after a failed API call: the record's failure says the turn failed.
      "turn-ended, failed with exit 0 (the CLI reported the failure in its output)",
      make.turnEnded(cycle, { ...turn, exitCode: 0, signals: [], failure: { class: "auth", evidence: "401 Incorrect API key provided" } }),
      "[w0] c2 turn 1 failed: exit 0, error in its output (auth)"
    ],
    ["turn-ended, by signal", make.turnEnded(cycle, { ...turn, exitCode: null }), "[w0] c2 turn 1 failed: exit by signal"],
    [
      "turn-ended, could not run",
      make.turnEnded(cycle, { ...turn, exitCode: null, signals: [], durationMs: 0, error: "claude: not found" }),
      "[w0] c2 turn 1 could not run: claude: not found"
    ],
    [
      "claim",
      make.claim(cycle, { results: [{ id: "t1", result: "Claimed" }, { id: "t2", result: "AlreadyTaken" }] }),
      "[w0] c2 claim t1, t2: t1 Claimed, t2 AlreadyTaken"
    ],
    [
      "task-invalid",
      make.taskInvalid({}, { file: "x.json", movedTo: "x.json", reason: "id: bad" }),
      "[oompa] task file pending/x.json is invalid, moved to invalid/x.json: id: bad"
    ],
    ["review-started", make.reviewStarted(cycle, { round: 1, attempt: 1, reviewer: "r", log: "reviews/w0-c2-r1-0.log" }), "[w0] c2 review round 1: r reading the diff"],
    ["review", make.review(cycle, { round: 1, attempt: 1, reviewer: "r", verdict: "APPROVED" }), "[w0] c2 review round 1: r says APPROVED"],
    [
      "review, no verdict",
      make.review(cycle, { round: 2, attempt: 1, reviewer: "r", verdict: null, error: NO_VERDICT_LINE, nextReviewer: true }),
      "[w0] c2 review round 2: r gave no verdict (no VERDICT line), trying the next reviewer"
    ],
    [
      "review, failed reviewer",
      make.review(cycle, { round: 2, attempt: 2, reviewer: "r", verdict: null, error: "exited with 1:\n  rate   limited", nextReviewer: false }),
      "[w0] c2 review round 2: r gave no verdict (exited with 1: rate limited)"
    ],
    ["merge, committed", make.merge(cycle, { step: "committed", commit: sha }), "[w0] c2 committed the worktree as 0123456789ab"],
    [
      "merge, retry",
      make.merge(cycle, { step: "retry", target: "main", retry: 1, maxRetries: 3, targetTip: sha }),
      "[w0] c2 main moved to 0123456789ab before the work could land: merging it in again (retry 1 of 3)"
    ],
    ["merge, merged", make.merge(cycle, { step: "merged", target: "main", commit: sha, retries: 0 }), "[w0] c2 merged into main at 0123456789ab"],
    [
      "merge, merged after waiting",
      make.merge(cycle, { step: "merged", target: "main", commit: sha, retries: 2, held: { ms: 1234, what: "local changes to a.txt in /repo" } }),
      "[w0] c2 merged into main at 0123456789ab after 2 re-merges and waiting 1.2 s for local changes to a.txt in /repo"
    ],
    [
      "merge, conflict",
      make.merge(cycle, { step: "conflict", target: "main", conflict: ["a.txt", "b.txt"] }),
      "[w0] c2 merging main conflicted in a.txt, b.txt: back to the agent"
    ],
    ["merge, tests failed", make.merge(cycle, { step: "tests-failed" }), "[w0] c2 test_command failed: back to the agent"],
    [
      "attention, local changes",
      make.attention(cycle, { target: "main", worktree: "/repo", files: ["a.txt"], reason: "would be overwritten", mergeWaitSeconds: 30 }),
      "[w0] c2 main cannot move: landing the approved work would overwrite your local changes to a.txt in /repo. " +
        "Commit, stash or revert them; they are left alone and oompa holds the approved work and retries for up to 30 s (merge_wait)"
    ],
    [
      "attention, something else",
      make.attention(cycle, { target: "main", worktree: "/repo", files: [], reason: "\nfatal: index.lock exists\nmore", mergeWaitSeconds: 0 }),
      "[w0] c2 main cannot move in /repo: fatal: index.lock exists; merge_wait is 0, so the work is kept instead"
    ],
    [
      "cycle-ended",
      make.cycleEnded(cycle, { outcome: "merged", detail: "merged at 0123", claims: ["t1"] }),
      "[w0] c2 cycle 2 merged: merged at 0123 [t1 complete]"
    ],
    [
      "cycle-ended, claims back",
      make.cycleEnded(cycle, { outcome: "rejected", detail: "no", claims: ["t1", "t2"], keptRef: "refs/oompa/kept/s1/w0-c2" }),
      "[w0] c2 cycle 2 rejected: no [t1, t2 back to pending]"
    ],
    ["backing-off", make.backingOff({ worker: "w0" }, { ms: 20_000, consecutiveErrors: 2 }), "[w0] backing off 20s after 2 consecutive error(s)"],
    ["work-kept", make.workKept(cycle, { ref: "refs/oompa/kept/s1/w0-c2", commit: sha }), "[w0] c2 work kept at refs/oompa/kept/s1/w0-c2 (0123456789ab)"],
    [
      "work-carried",
      make.workCarried(cycle, { task: "t1", ref: "k", commit: sha, from: "w1-c1", into: "w0-c2", merged: true }),
      "[w0] c2 t1: work kept from w1-c1 (k, 0123456789ab) carried into w0-c2"
    ],
    [
      "work-carried, not merged",
      make.workCarried(cycle, { task: "t1", ref: "k", commit: sha, from: "w1-c1", into: "w0-c2", merged: false, why: "conflicts" }),
      "[w0] c2 t1: work kept from w1-c1 (k) not carried: conflicts; the agent is told where it is"
    ],
    [
      "worker-stopped",
      make.workerStopped(
        { worker: "w0" },
        {
          reason: "max-cycles",
          cycles: 3,
          merged: 2,
          rejected: 1,
          mergeFailed: 0,
          stuck: 0,
          noChanges: 0,
          errors: 0,
          other: 0,
          turns: 5,
          usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 },
          costUsd: 0
        }
      ),
      "[w0] stopped (max-cycles) after 3 cycle(s), 2 merged"
    ],
    [
      "swarm-stopped",
      make.swarmStopped({}, { swarm: "s1", reason: "completed", exitCode: 1, targetBranch: "main", merged: 0, failed: "1 error" }),
      "[oompa] swarm s1 completed: 0 cycle(s) merged into main (1 error)"
    ],
    [
      "recovered",
      make.recovered({}, { swarm: "s0", kept: ["w0-c1"], claims: ["t1"], completed: [] }),
      "[oompa] recovered crashed run s0: 1 branch(es) kept (w0-c1), 1 claim(s) back to pending"
    ],
    [
      "recovered, merged claims",
      make.recovered({}, { swarm: "s0", kept: [], claims: [], completed: ["t2"] }),
      "[oompa] recovered crashed run s0: 0 branch(es) kept, 1 merged claim(s) completed (t2), 0 claim(s) back to pending"
    ],
    [
      "recovered, orphans",
      make.recovered({}, { orphans: ["t3"] }),
      "[oompa] 1 unclaimed task(s) left in current/ by a stopped run back to pending: t3"
    ],
    [
      "steered, applied",
      make.steered({}, { action: "stop-worker", worker: "w1", by: "terminal", ok: true, message: "worker w1 stops after its current cycle (it claims nothing more)" }),
      "[oompa] worker w1 stops after its current cycle (it claims nothing more) (asked from the terminal view)"
    ],
    [
      "steered, refused",
      make.steered({}, { action: "requeue", task: "t9", by: "web", ok: false, message: "cannot requeue: no task t9 in complete/ or invalid/" }),
      "[oompa] refused: cannot requeue: no task t9 in complete/ or invalid/ (asked from the web page)"
    ],
    [
      "rate-limited, with the reset time",
      make.rateLimited(
        { worker: "w0", cycle: 2 },
        { provider: "claude", class: "rate-limited", waitMs: 720_000, until: "2026-12-02T21:14:03.000Z", source: "reset-time", strike: 1 }
      ),
      "[w0] c2 claude answered with a rate limit: no new turn of it starts for 12m (until 2026-12-02T21:14:03.000Z, the reset time it gave); the cycle resumes then"
    ],
    [
      "rate-limited, overloaded with back-off",
      make.rateLimited(
        { worker: "w1", cycle: 1 },
        { provider: "codex http://127.0.0.1:9/v1", class: "overloaded", waitMs: 20_000, until: "2026-12-02T21:00:20.000Z", source: "backoff", strike: 2 }
      ),
      "[w1] c1 codex http://127.0.0.1:9/v1 is overloaded: no new turn of it starts for 20s (until 2026-12-02T21:00:20.000Z, back-off, strike 2); the cycle resumes then"
    ],
    [
      "budget-reached, swarm cost estimated",
      make.budgetReached({}, { scope: "swarm", limit: "max_cost_usd", value: 5, spent: 5.0312, estimated: true }),
      "[oompa] the swarm's budget max_cost_usd $5.00 reached: $5.03 spent (estimated); no new turns"
    ],
    [
      "budget-reached, a worker's tokens",
      make.budgetReached({ worker: "w2" }, { scope: "worker", id: "w2", limit: "max_tokens", value: 100000, spent: 100412, estimated: false }),
      "[w2] worker w2's budget max_tokens 100000 tokens reached: 100412 tokens spent; no new turns"
    ],
    [
      "setup-started, copy and commands",
      make.setupStarted(cycle, { copy: [".env", "config/local.json"], commands: ["npm ci"] }),
      "[w0] c2 setting up the worktree: copying .env, config/local.json, then running npm ci"
    ],
    [
      "setup-ended, set up",
      make.setupEnded(cycle, { ok: true, durationMs: 4200, commands: [{ command: "npm ci", exitCode: 0, timedOut: false, durationMs: 4100, log: "l" }] }),
      "[w0] c2 worktree set up in 4.2s"
    ],
    [
      "setup-ended, failed",
      make.setupEnded(cycle, {
        ok: false,
        durationMs: 300,
        commands: [{ command: "npm ci", exitCode: 1, timedOut: false, durationMs: 300, log: "l" }],
        error: "`npm ci` exited with 1 (log: l); the end of its output:\nnpm ERR! missing lockfile"
      }),
      "[w0] c2 worktree setup failed: `npm ci` exited with 1 (log: l); the end of its output:\nnpm ERR! missing lockfile"
    ],
    ["warning", make.warning("disk slow", { worker: "w0", cycle: 2 }), "[w0] c2 disk slow"]
  ]

  it.each(wordings)("%s: the terminal line, from the payload", (_name, draft, line) => {
    const event = stamp(draft)
    expect(terminalLine(event)).toBe(line)
    // What the constructor built is a valid event, and its line decodes back to it.
    expect(decode(JSON.parse(lineOf(event)))).toEqual(event)
  })

  it("every kind of event has a wording above", () => {
    const kinds = new Set(wordings.map(([, draft]) => draft.type))
    expect([...kinds].sort()).toEqual(RunEvent.members.map((m) => m.fields.type.literals[0]).sort())
  })

  it("the arbitrary reaches every kind (the round-trip properties cover the whole union)", () => {
    const seen = new Set(fc.sample(writableEvents, 2000).map((e) => e.type))
    expect(seen.size).toBe(RunEvent.members.length)
  })
})
