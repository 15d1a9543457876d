import { Duration } from "effect"
import { humanDuration } from "./humanDuration.js"
import type { CycleOutcome } from "./Outcome.js"
import type { Signals } from "./Signal.js"
import type { TurnFailure } from "./TurnFailure.js"

export type { CycleOutcome } from "./Outcome.js"

/** Why a worker stopped. */
/** `stopped-by-user`: a steering `stop-worker` (docs/steering.md) after the worker's cycle. */
/** `auth-failed`: its provider refused the credentials (the governor, src/engine/governor.ts). */
/** `budget`: its own budget was reached (docs/budgets.md): a limit the user set, not a failure (the swarm exits 3). */
export type StopReason =
  | "max-cycle"
  | "done"
  | "too-many-errors"
  | "no-tasks"
  | "interrupted"
  | "stopped-by-user"
  | "auth-failed"
  | "budget"

/** The stop reasons that mean a worker gave up rather than finished: the swarm then exits 1. */
export const failedStopReasons: ReadonlyArray<string> = ["too-many-errors", "auth-failed"]

/** The limits `decide` needs: a slice of the worker's config. */
export interface DecideConfig {
  readonly canPlan: boolean
  readonly maxCycle: number
  readonly maxResumes: number
  readonly maxWorkingResumes: number
  readonly maxReviewRounds: number
  readonly maxConsecutiveErrors: number
  /** Attempts the agent gets at resolving a merge conflict (SPEC §7). */
  readonly maxConflictTries: number
}

/** One worker's state: an immutable record, replaced by `decide`. */
export interface WorkerState {
  /** 1-based number of the current cycle. */
  readonly cycle: number
  /** Turns run so far in this cycle. */
  readonly turn: number
  /** Of those, turns a rate limit or overload cut short: they do not count against max_resumes. */
  readonly limitedTurns: number
  /** Cycles that ended merged. */
  readonly completedCycles: number
  /** Cycles that ended, whatever the outcome. */
  readonly finishedCycles: number
  readonly consecutiveErrors: number
  /** Session id to resume; undefined = the next turn starts a new session. */
  readonly session: string | undefined
  /** Task ids this worker holds in `current/`. */
  readonly claims: ReadonlyArray<string>
  /** Consecutive turns that ended with no signal. */
  readonly silentTurns: number
  /** Turns of this cycle ended for silence (`stall_timeout`): the first is nudged, the second ends the cycle stuck. */
  readonly stalls: number
  readonly followups: number
  readonly reviewRounds: number
  readonly conflictTries: number
  /** The reviewer approved this cycle's work as it stands (a conflict fix or test fix lapses it). */
  readonly approved: boolean
  /** The planner said __DONE__ together with MERGE: stop after this delivery. */
  readonly doneAfterDelivery: boolean
}

export const initialWorkerState: WorkerState = {
  cycle: 1,
  turn: 0,
  limitedTurns: 0,
  completedCycles: 0,
  finishedCycles: 0,
  consecutiveErrors: 0,
  session: undefined,
  claims: [],
  silentTurns: 0,
  stalls: 0,
  followups: 0,
  reviewRounds: 0,
  conflictTries: 0,
  approved: false,
  doneAfterDelivery: false
}

/** What happened, as the loop reports it to `decide`. */
export type WorkerEvent =
  /**
   * The agent process exited non-zero, timed out or could not run. `signals`:
   * what its final message said anyway, when it ran (decide does not honour them).
   */
  | {
      readonly _tag: "TurnFailed"
      readonly reason: string
      readonly session: string | undefined
      readonly signals?: Signals | undefined
      /** Its class, as the adapter read it; an authentication failure stops the worker. */
      readonly failure?: TurnFailure | undefined
    }
  /**
   * The provider answered with a rate limit or overload: the governor holds it,
   * and the same turn runs again once it may. `session`: the session to resume
   * then, when the limited turn got far enough to have one worth resuming.
   */
  | { readonly _tag: "TurnLimited"; readonly failure: TurnFailure; readonly session: string | undefined }
  | { readonly _tag: "TurnEnded"; readonly signals: Signals; readonly session: string | undefined }
  /**
   * The agent wrote nothing for `silence` (its `stall_timeout`) and its process
   * tree was ended; the work in the worktree stays. Not an error: the session
   * is resumed once with a nudge, a second stall ends the cycle stuck.
   */
  | { readonly _tag: "TurnStalled"; readonly silence: Duration.Duration; readonly session: string | undefined }
  /** Result of claiming tasks: the ids actually claimed by this worker. */
  | { readonly _tag: "Claimed"; readonly claimed: ReadonlyArray<string> }
  | { readonly _tag: "NoChanges" }
  | { readonly _tag: "Approved" }
  | { readonly _tag: "Feedback"; readonly kind: FeedbackKind; readonly text: string }
  | { readonly _tag: "Rejected"; readonly reason: string }
  | { readonly _tag: "Merged"; readonly commit: string }
  | { readonly _tag: "MergeFailed"; readonly reason: string }

/** Feedback that goes back to the agent's session for another try. */
export type FeedbackKind = "review" | "conflict" | "tests"

/** Prompts a resumed turn can be given (SPEC §5). */
export type ResumePrompt =
  | { readonly _tag: "Continue" }
  | { readonly _tag: "Nudge" }
  /** After a stalled turn: it went silent for `silence`; continue or signal. */
  | { readonly _tag: "Stalled"; readonly silence: Duration.Duration }
  | { readonly _tag: "FollowUp" }
  | { readonly _tag: "ClaimResults" }
  | { readonly _tag: "IgnoredDone" }
  | { readonly _tag: "Feedback"; readonly kind: FeedbackKind; readonly text: string }

/** The one thing the loop must do next. */
export type WorkerAction =
  | { readonly _tag: "Resume"; readonly prompt: ResumePrompt }
  /** Run the limited turn again, with the same prompt (after the governor lets it). */
  | { readonly _tag: "Retry" }
  | { readonly _tag: "Claim"; readonly ids: ReadonlyArray<string> }
  /** Commit, check for changes, review (unless already approved), then merge. */
  | { readonly _tag: "Deliver"; readonly skipReview: boolean }
  | {
      readonly _tag: "EndCycle"
      readonly outcome: CycleOutcome
      readonly detail: string
      /** Wait this long before the next cycle (error backoff). */
      readonly backoff: Duration.Duration
      /** Undefined: start another cycle. */
      readonly stop: StopReason | undefined
    }

export interface Decision {
  readonly next: WorkerState
  readonly action: WorkerAction
}

const BACKOFF_BASE = Duration.seconds(10)
const BACKOFF_CAP = Duration.minutes(5)

/** 10 s × 2ⁿ⁻¹ for the n-th consecutive error, capped at 5 min. */
export const errorBackoff = (consecutiveErrors: number): Duration.Duration => {
  const factor = 2 ** Math.max(0, Math.min(consecutiveErrors - 1, 16))
  return Duration.min(Duration.times(BACKOFF_BASE, factor), BACKOFF_CAP)
}

/** The state a fresh cycle starts from: counters kept, everything per-cycle reset. */
export const nextCycle = (state: WorkerState, outcome: CycleOutcome, consecutiveErrors: number): WorkerState => ({
  ...initialWorkerState,
  cycle: state.cycle + 1,
  completedCycles: state.completedCycles + (outcome === "merged" ? 1 : 0),
  finishedCycles: state.finishedCycles + 1,
  consecutiveErrors
})

const endCycle = (
  config: DecideConfig,
  state: WorkerState,
  outcome: CycleOutcome,
  detail: string,
  options: { readonly stop?: StopReason | undefined } = {}
): Decision => {
  const consecutiveErrors = outcome === "error" ? state.consecutiveErrors + 1 : 0
  const next = nextCycle(state, outcome, consecutiveErrors)
  const stop: StopReason | undefined =
    options.stop ??
    (outcome === "error" && consecutiveErrors >= config.maxConsecutiveErrors
      ? "too-many-errors"
      : next.finishedCycles >= config.maxCycle
        ? "max-cycle"
        : undefined)
  const backoff = outcome === "error" && stop === undefined ? errorBackoff(consecutiveErrors) : Duration.zero
  return { next, action: { _tag: "EndCycle", outcome, detail, backoff, stop } }
}

/** Resume the session unless the cycle has used up its turns (`max_resumes`). */
const resume = (config: DecideConfig, state: WorkerState, prompt: ResumePrompt): Decision =>
  state.turn - state.limitedTurns >= config.maxResumes
    ? endCycle(config, state, "stuck", `reached max_resumes (${config.maxResumes} turns) without finishing`)
    : { next: state, action: { _tag: "Resume", prompt } }

/**
 * The worker's policy: (state, event) → next state and the one action to run.
 * Pure, so the same inputs always give the same decisions; the table in
 * test/domain/decide.test.ts covers every row of SPEC §5.
 */
export const decide = (config: DecideConfig, state: WorkerState, event: WorkerEvent): Decision => {
  switch (event._tag) {
    case "TurnFailed":
      // A failed turn outranks every signal in it: an agent that crashed or timed out
      // after printing COMPLETE_AND_READY_FOR_MERGE (or __DONE__, CLAIM) has not finished
      // anything we can trust, so the cycle ends as an error and its work is kept (SPEC §5).
      return endCycle(config, { ...state, turn: state.turn + 1 }, "error", event.reason, {
        stop: event.failure?.class === "auth" ? "auth-failed" : undefined
      })

    case "TurnLimited":
      // Not an error and not a turn of max_resumes: the provider's limit, waited out by the governor.
      return {
        next: { ...state, turn: state.turn + 1, limitedTurns: state.limitedTurns + 1, session: event.session ?? state.session },
        action: { _tag: "Retry" }
      }

    case "TurnStalled": {
      const s: WorkerState = { ...state, turn: state.turn + 1, session: event.session ?? state.session, stalls: state.stalls + 1 }
      const silence = humanDuration(event.silence)
      if (s.stalls > 1) {
        return endCycle(config, s, "stuck", `stalled again after a nudge: no output for ${silence} (turn ${s.turn}, ${s.stalls} stalls)`)
      }
      return resume(config, s, { _tag: "Stalled", silence: event.silence })
    }

    case "TurnEnded": {
      const s: WorkerState = { ...state, turn: state.turn + 1, session: event.session ?? state.session }
      const { signals } = event
      if (signals.merge) {
        const next = { ...s, silentTurns: 0, doneAfterDelivery: signals.done && config.canPlan }
        return { next, action: { _tag: "Deliver", skipReview: s.approved } }
      }
      if (signals.done) {
        if (config.canPlan) return endCycle(config, s, "done", "the agent said __DONE__", { stop: "done" })
        return resume(config, { ...s, silentTurns: 0 }, { _tag: "IgnoredDone" })
      }
      if (signals.claims.length > 0) {
        return { next: { ...s, silentTurns: 0 }, action: { _tag: "Claim", ids: signals.claims } }
      }
      if (signals.followup) {
        if (s.followups >= 1) return endCycle(config, s, "stuck", "asked for a second follow-up in one cycle")
        return resume(config, { ...s, silentTurns: 0, followups: s.followups + 1 }, { _tag: "FollowUp" })
      }
      const silentTurns = s.silentTurns + 1
      if (silentTurns > config.maxWorkingResumes) {
        return endCycle(config, s, "stuck", `no signal after a nudge (${silentTurns} silent turns)`)
      }
      return resume(
        config,
        { ...s, silentTurns },
        silentTurns === config.maxWorkingResumes ? { _tag: "Nudge" } : { _tag: "Continue" }
      )
    }

    case "Claimed":
      return resume(
        config,
        { ...state, claims: [...state.claims, ...event.claimed.filter((id) => !state.claims.includes(id))] },
        { _tag: "ClaimResults" }
      )

    case "NoChanges":
      return endCycle(config, state, "no-changes", "merge signalled with nothing changed", {
        stop: state.doneAfterDelivery ? "done" : undefined
      })

    case "Approved":
      return { next: { ...state, approved: true }, action: { _tag: "Deliver", skipReview: true } }

    case "Feedback": {
      if (event.kind === "conflict") {
        const conflictTries = state.conflictTries + 1
        if (conflictTries > config.maxConflictTries) {
          return endCycle(config, state, "merge-failed", `merge conflict not resolved after ${config.maxConflictTries} tries`)
        }
        // SPEC §7: a conflict resolution is reviewed like any other change, so approval lapses.
        return resume(
          config,
          { ...state, conflictTries, approved: false, doneAfterDelivery: false },
          { _tag: "Feedback", kind: event.kind, text: event.text }
        )
      }
      const reviewRounds = state.reviewRounds + 1
      if (reviewRounds >= config.maxReviewRounds) {
        const why = event.kind === "tests" ? "test_command still failing" : "reviewer still asks for changes"
        return endCycle(config, { ...state, reviewRounds }, event.kind === "tests" ? "merge-failed" : "rejected",
          `${why} after ${reviewRounds} rounds`)
      }
      // Test failures invalidate nothing the reviewer saw, but new fixes must be reviewed again.
      return resume(
        config,
        { ...state, reviewRounds, approved: false, doneAfterDelivery: false },
        { _tag: "Feedback", kind: event.kind, text: event.text }
      )
    }

    case "Rejected":
      return endCycle(config, state, "rejected", event.reason)

    case "Merged":
      return endCycle(config, state, "merged", `merged as ${event.commit.slice(0, 12)}`, {
        stop: state.doneAfterDelivery ? "done" : undefined
      })

    case "MergeFailed":
      return endCycle(config, state, "merge-failed", event.reason)
  }
}
