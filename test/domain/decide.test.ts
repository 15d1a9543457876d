import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import { noSignals, type Signals } from "../../src/domain/Signal.js"
import {
  decide,
  errorBackoff,
  initialWorkerState,
  type DecideConfig,
  type WorkerEvent,
  type WorkerState
} from "../../src/domain/WorkerState.js"

const config: DecideConfig = {
  canPlan: true,
  maxCycle: 10,
  maxResumes: 7,
  maxWorkingResumes: 5,
  maxReviewRounds: 3,
  maxConsecutiveErrors: 3,
  maxConflictTries: 3
}
const executor: DecideConfig = { ...config, canPlan: false }

const turn = (signals: Partial<Signals>, session = "s-1"): WorkerEvent => ({
  _tag: "TurnEnded",
  signals: { ...noSignals, ...signals },
  session
})
const state = (patch: Partial<WorkerState> = {}): WorkerState => ({ ...initialWorkerState, ...patch })

describe("decide: one row per line of SPEC §5", () => {
  const rows: ReadonlyArray<{
    readonly name: string
    readonly config?: DecideConfig
    readonly state?: Partial<WorkerState>
    readonly event: WorkerEvent
    readonly action: string
    readonly expect?: (next: WorkerState, action: any) => void
  }> = [
    {
      name: "failed turn ends the cycle as error, counts the error, backs off 10 s",
      event: { _tag: "TurnFailed", reason: "exit 1", session: "s-1" },
      action: "EndCycle",
      expect: (next, action) => {
        expect(action.outcome).toBe("error")
        expect(action.stop).toBeUndefined()
        expect(Duration.toMillis(action.backoff)).toBe(10_000)
        expect(next.consecutiveErrors).toBe(1)
        expect(next.session).toBeUndefined()
        expect(next.claims).toEqual([])
        expect(next.cycle).toBe(2)
      }
    },
    {
      name: "a rate-limited turn runs again (Retry): no error, no cycle end, the turn counted as limited",
      state: { turn: 2, consecutiveErrors: 2, session: "s-1", claims: ["t1"] },
      event: { _tag: "TurnLimited", failure: { class: "rate-limited", retryAfterMs: 1000 }, session: undefined },
      action: "Retry",
      expect: (next) => {
        expect(next).toMatchObject({ turn: 3, limitedTurns: 1, consecutiveErrors: 2, session: "s-1", claims: ["t1"], cycle: 1 })
      }
    },
    {
      name: "a limited turn that got somewhere is resumed in its own session",
      state: { turn: 0 },
      event: { _tag: "TurnLimited", failure: { class: "overloaded" }, session: "s-9" },
      action: "Retry",
      expect: (next) => expect(next.session).toBe("s-9")
    },
    {
      name: "limited turns do not count against max_resumes",
      state: { turn: 9, limitedTurns: 5, session: "s-1" },
      event: turn({}),
      action: "Resume"
    },
    {
      name: "an authentication failure ends the cycle as error and stops the worker at once (no back-off)",
      event: { _tag: "TurnFailed", reason: "401", session: "s-1", failure: { class: "auth" } },
      action: "EndCycle",
      expect: (next, action) => {
        expect(action.outcome).toBe("error")
        expect(action.stop).toBe("auth-failed")
        expect(Duration.toMillis(action.backoff)).toBe(0)
        expect(next.consecutiveErrors).toBe(1)
      }
    },
    {
      name: "the third consecutive error stops the worker",
      state: { consecutiveErrors: 2 },
      event: { _tag: "TurnFailed", reason: "timeout", session: undefined },
      action: "EndCycle",
      expect: (_next, action) => expect(action.stop).toBe("too-many-errors")
    },
    {
      name: "a stalled turn is resumed once with the stall nudge: not an error, session and claims kept",
      state: { turn: 2, claims: ["task-01"], session: "s-1", consecutiveErrors: 2 },
      event: { _tag: "TurnStalled", silence: Duration.minutes(5), session: "s-1" },
      action: "Resume",
      expect: (next, action) => {
        expect(action.prompt._tag).toBe("Stalled")
        expect(Duration.toMillis(action.prompt.silence)).toBe(300_000)
        expect(next.stalls).toBe(1)
        expect(next.turn).toBe(3)
        expect(next.session).toBe("s-1")
        expect(next.claims).toEqual(["task-01"])
        // Two errors before it, and the stall does not make a third: the worker is not stopped.
        expect(next.consecutiveErrors).toBe(2)
      }
    },
    {
      name: "a second stall in the same cycle ends it stuck (not error), the detail says stalled, errors reset",
      state: { turn: 3, stalls: 1, claims: ["task-01"], consecutiveErrors: 2 },
      event: { _tag: "TurnStalled", silence: Duration.seconds(90), session: "s-1" },
      action: "EndCycle",
      expect: (next, action) => {
        expect(action.outcome).toBe("stuck")
        expect(action.detail).toBe("stalled again after a nudge: no output for 1m 30s (turn 4, 2 stalls)")
        expect(action.stop).toBeUndefined()
        expect(Duration.toMillis(action.backoff)).toBe(0)
        expect(next.consecutiveErrors).toBe(0)
        expect(next.stalls).toBe(0)
        expect(next.cycle).toBe(2)
      }
    },
    {
      name: "a stall on the last turn max_resumes allows ends the cycle stuck on max_resumes",
      state: { turn: 6 },
      event: { _tag: "TurnStalled", silence: Duration.minutes(1), session: "s-1" },
      action: "EndCycle",
      expect: (_next, action) => {
        expect(action.outcome).toBe("stuck")
        expect(action.detail).toContain("max_resumes")
      }
    },
    {
      name: "failure outranks every signal in the same turn",
      // A planner that printed every signal and then exited 2: no delivery, no claim, no stop.
      state: { approved: true },
      event: {
        _tag: "TurnFailed",
        reason: "exit 2",
        session: "s",
        signals: { merge: true, done: true, claims: ["a"], followup: true }
      },
      action: "EndCycle",
      expect: (next, action) => {
        expect(action.outcome).toBe("error")
        expect(action.detail).toBe("exit 2")
        expect(action.stop).toBeUndefined()
        expect(next.doneAfterDelivery).toBe(false)
        expect(next.claims).toEqual([])
        expect(next.consecutiveErrors).toBe(1)
      }
    },
    {
      name: "MERGE delivers (commit, review, merge)",
      event: turn({ merge: true, done: true, claims: ["x"], followup: true }),
      action: "Deliver",
      expect: (next, action) => {
        expect(action.skipReview).toBe(false)
        expect(next.doneAfterDelivery).toBe(true)
        expect(next.session).toBe("s-1")
      }
    },
    {
      name: "MERGE with nothing changed ends the cycle no-changes and resets errors",
      state: { consecutiveErrors: 2 },
      event: { _tag: "NoChanges" },
      action: "EndCycle",
      expect: (next, action) => {
        expect(action.outcome).toBe("no-changes")
        expect(action.stop).toBeUndefined()
        expect(next.consecutiveErrors).toBe(0)
      }
    },
    {
      name: "approved work goes to merge without a second review",
      event: { _tag: "Approved" },
      action: "Deliver",
      expect: (next, action) => {
        expect(action.skipReview).toBe(true)
        expect(next.approved).toBe(true)
      }
    },
    {
      name: "merged ends the cycle merged and counts it",
      event: { _tag: "Merged", commit: "abcdef1234567890" },
      action: "EndCycle",
      expect: (next, action) => {
        expect(action.outcome).toBe("merged")
        expect(next.completedCycles).toBe(1)
      }
    },
    {
      name: "planner MERGE+DONE: merged, then the worker stops",
      state: { doneAfterDelivery: true },
      event: { _tag: "Merged", commit: "abc" },
      action: "EndCycle",
      expect: (_next, action) => expect(action.stop).toBe("done")
    },
    {
      name: "executor MERGE+DONE: DONE is not honoured",
      config: executor,
      event: turn({ merge: true, done: true }),
      action: "Deliver",
      expect: (next) => expect(next.doneAfterDelivery).toBe(false)
    },
    {
      name: "rejected ends the cycle rejected",
      event: { _tag: "Rejected", reason: "VERDICT: REJECTED" },
      action: "EndCycle",
      expect: (_n, action) => expect(action.outcome).toBe("rejected")
    },
    {
      name: "merge failure ends the cycle merge-failed",
      event: { _tag: "MergeFailed", reason: "target checkout dirty" },
      action: "EndCycle",
      expect: (_n, action) => expect(action.outcome).toBe("merge-failed")
    },
    {
      name: "NEEDS_CHANGES resumes with the feedback",
      event: { _tag: "Feedback", kind: "review", text: "add tests" },
      action: "Resume",
      expect: (next, action) => {
        expect(action.prompt).toEqual({ _tag: "Feedback", kind: "review", text: "add tests" })
        expect(next.reviewRounds).toBe(1)
      }
    },
    {
      name: "NEEDS_CHANGES at max_review_rounds rejects",
      state: { reviewRounds: 2 },
      event: { _tag: "Feedback", kind: "review", text: "still no tests" },
      action: "EndCycle",
      expect: (_n, action) => expect(action.outcome).toBe("rejected")
    },
    {
      name: "a merge conflict goes back to the agent",
      event: { _tag: "Feedback", kind: "conflict", text: "a.txt" },
      action: "Resume",
      expect: (next) => expect(next.conflictTries).toBe(1)
    },
    {
      // SPEC §7: a conflict resolution is reviewed like any other change.
      name: "a merge conflict of approved work: the resolution is reviewed again before it lands",
      state: { approved: true, reviewRounds: 1 },
      event: { _tag: "Feedback", kind: "conflict", text: "a.txt" },
      action: "Resume",
      expect: (next) => {
        expect(next.approved).toBe(false)
        // Not a review round: a conflict is not the reviewer asking for changes.
        expect(next.reviewRounds).toBe(1)
      }
    },
    {
      name: "MERGE after resolving a conflict of approved work goes to review, not straight to merge",
      state: { approved: false, conflictTries: 1, reviewRounds: 1 },
      event: turn({ merge: true }),
      action: "Deliver",
      expect: (_next, action) => expect(action.skipReview).toBe(false)
    },
    {
      name: "a fourth conflict ends the cycle merge-failed",
      state: { conflictTries: 3 },
      event: { _tag: "Feedback", kind: "conflict", text: "a.txt" },
      action: "EndCycle",
      expect: (_n, action) => expect(action.outcome).toBe("merge-failed")
    },
    {
      name: "failing test_command goes back to the agent and needs a new review",
      state: { approved: true },
      event: { _tag: "Feedback", kind: "tests", text: "1 failed" },
      action: "Resume",
      expect: (next) => expect(next.approved).toBe(false)
    },
    {
      name: "planner DONE finishes the worker",
      event: turn({ done: true }),
      action: "EndCycle",
      expect: (_n, action) => {
        expect(action.outcome).toBe("done")
        expect(action.stop).toBe("done")
      }
    },
    {
      name: "executor DONE is ignored and the agent resumed",
      config: executor,
      event: turn({ done: true }),
      action: "Resume",
      expect: (_n, action) => expect(action.prompt._tag).toBe("IgnoredDone")
    },
    {
      name: "DONE outranks CLAIM",
      // The planner is finished: it does not claim, the worker stops with the cycle done.
      state: { claims: [] },
      event: turn({ done: true, claims: ["a"] }),
      action: "EndCycle",
      expect: (next, action) => {
        expect(action.outcome).toBe("done")
        expect(action.stop).toBe("done")
        expect(next.claims).toEqual([])
      }
    },
    {
      name: "CLAIM claims the tasks",
      event: turn({ claims: ["a", "b"], followup: true }),
      action: "Claim",
      expect: (_n, action) => expect(action.ids).toEqual(["a", "b"])
    },
    {
      name: "claim results resume the session and the claims are held",
      state: { turn: 1, claims: ["a"] },
      event: { _tag: "Claimed", claimed: ["a", "b"] },
      action: "Resume",
      expect: (next, action) => {
        expect(action.prompt._tag).toBe("ClaimResults")
        expect(next.claims).toEqual(["a", "b"])
      }
    },
    {
      name: "first FOLLOWUP resumes with the follow-up prompt",
      event: turn({ followup: true }),
      action: "Resume",
      expect: (next, action) => {
        expect(action.prompt._tag).toBe("FollowUp")
        expect(next.followups).toBe(1)
      }
    },
    {
      name: "a second FOLLOWUP in one cycle is stuck",
      state: { followups: 1 },
      event: turn({ followup: true }),
      action: "EndCycle",
      expect: (_n, action) => expect(action.outcome).toBe("stuck")
    },
    {
      name: "no signal resumes with continue",
      event: turn({}),
      action: "Resume",
      expect: (next, action) => {
        expect(action.prompt._tag).toBe("Continue")
        expect(next.silentTurns).toBe(1)
      }
    },
    {
      name: "max_working_resumes silent turns get a nudge",
      state: { silentTurns: 4, turn: 4 },
      event: turn({}),
      action: "Resume",
      expect: (_n, action) => expect(action.prompt._tag).toBe("Nudge")
    },
    {
      name: "silence after the nudge is stuck",
      config: { ...config, maxResumes: 20 },
      state: { silentTurns: 5, turn: 5 },
      event: turn({}),
      action: "EndCycle",
      expect: (_n, action) => expect(action.outcome).toBe("stuck")
    },
    {
      name: "reaching max_resumes turns is stuck",
      state: { turn: 6 },
      event: turn({ followup: false }),
      action: "EndCycle",
      expect: (_n, action) => {
        expect(action.outcome).toBe("stuck")
        expect(action.detail).toContain("max_resumes")
      }
    },
    {
      name: "the max_cycle-th finished cycle stops the worker",
      state: { cycle: 10, finishedCycles: 9 },
      event: { _tag: "Merged", commit: "abc" },
      action: "EndCycle",
      expect: (next, action) => {
        expect(action.stop).toBe("max-cycle")
        expect(next.finishedCycles).toBe(10)
      }
    }
  ]

  for (const row of rows) {
    it(row.name, () => {
      const { next, action } = decide(row.config ?? config, state(row.state), row.event)
      expect(action._tag).toBe(row.action)
      row.expect?.(next, action)
    })
  }

  it("claims are held for the rest of the cycle and released when it ends", () => {
    // Claimed, then a silent turn, a claim that adds one, a MERGE and a review round:
    // every decision in between keeps the tasks in the worker's hands.
    const steps: ReadonlyArray<{ readonly event: WorkerEvent; readonly action: string; readonly claims: ReadonlyArray<string> }> = [
      { event: { _tag: "Claimed", claimed: ["a", "b"] }, action: "Resume", claims: ["a", "b"] },
      { event: turn({}), action: "Resume", claims: ["a", "b"] },
      { event: turn({ claims: ["b", "c"] }), action: "Claim", claims: ["a", "b"] },
      { event: { _tag: "Claimed", claimed: ["b", "c"] }, action: "Resume", claims: ["a", "b", "c"] },
      { event: turn({ merge: true }), action: "Deliver", claims: ["a", "b", "c"] },
      { event: { _tag: "Feedback", kind: "review", text: "add a test" }, action: "Resume", claims: ["a", "b", "c"] },
      { event: turn({ merge: true }), action: "Deliver", claims: ["a", "b", "c"] },
      { event: { _tag: "Approved" }, action: "Deliver", claims: ["a", "b", "c"] },
      // The cycle ends: the engine completes or recycles the held tasks, the next cycle holds none.
      { event: { _tag: "Merged", commit: "abc" }, action: "EndCycle", claims: [] }
    ]
    let s = state()
    for (const step of steps) {
      const { next, action } = decide(config, s, step.event)
      expect({ tag: action._tag, claims: next.claims }).toEqual({ tag: step.action, claims: step.claims })
      s = next
    }
    expect(s.cycle).toBe(2)
  })

  it("is pure: the same inputs give the same decision", () => {
    const s = state({ silentTurns: 2, turn: 3 })
    expect(decide(config, s, turn({}))).toEqual(decide(config, s, turn({})))
    expect(s.silentTurns).toBe(2)
  })

  it("backs off 10 s × 2ⁿ, capped at 5 min", () => {
    expect([1, 2, 3, 4, 5, 6, 10].map((n) => Duration.toSeconds(errorBackoff(n)))).toEqual([
      10, 20, 40, 80, 160, 300, 300
    ])
  })

  it("a success resets the consecutive error count", () => {
    const after = decide(config, state({ consecutiveErrors: 2 }), { _tag: "Merged", commit: "x" })
    expect(after.next.consecutiveErrors).toBe(0)
  })
})
