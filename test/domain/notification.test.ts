import { describe, expect, it } from "vitest"
import { Schema } from "effect"
import { initialNotifyState, Notification, notificationOf, type NotifyState } from "../../src/domain/Notification.js"
import { make, type RunEvent, type RunEventDraft } from "../../src/domain/RunEvent.js"
import { emptyUsage } from "../../src/domain/Usage.js"

/** Which events call for a notification, and the rate-limit rule, event by event. */

const decode = Schema.decodeUnknownSync(Notification, { onExcessProperty: "error" })
const at = (seconds: number) => new Date(Date.UTC(2026, 11, 3, 2, 0, seconds)).toISOString()
const stamp = (draft: RunEventDraft, seconds: number) => ({ at: at(seconds), ...draft }) as RunEvent

/** Feeds the events in order; the notifications they made, each checked against the Schema. */
const run = (events: ReadonlyArray<RunEvent>, thresholdMs = 600_000) => {
  let state: NotifyState = initialNotifyState
  const out: Array<Notification> = []
  for (const event of events) {
    const [next, n] = notificationOf(state, event, "s1", thresholdMs)
    state = next
    if (n !== undefined) out.push(decode(Schema.encodeSync(Notification)(n)))
  }
  return out
}

const limited = (seconds: number, waitS: number, strike: number, worker = "w0") =>
  stamp(
    make.rateLimited(
      { worker, cycle: 1 },
      { provider: "claude", class: "rate-limited", waitMs: waitS * 1000, until: at(seconds + waitS), source: "backoff", strike }
    ),
    seconds
  )

describe("notificationOf", () => {
  it("budget-reached: the event's payload, for the swarm or a worker", () => {
    const data = { scope: "worker", id: "w1", limit: "max_cost_usd", value: 5, spent: 5.2, estimated: true } as const
    const [n] = run([stamp(make.budgetReached({ worker: "w1" }, data), 1)])
    expect(n).toEqual({ version: 1, kind: "budget-reached", swarm: "s1", at: at(1), worker: "w1", message: expect.stringContaining("[w1]"), details: data })
    const [swarmWide] = run([stamp(make.budgetReached({}, { ...data, scope: "swarm", id: undefined } as never), 1)])
    expect(swarmWide).not.toHaveProperty("worker")
  })

  it("rate-limited: a run of strikes is measured from its first event to the latest until; notified once past the threshold", () => {
    // 4 min, then 8 min more: held 12 min from the first strike: past 10 min at the second.
    const notes = run([limited(0, 240, 1), limited(240, 480, 2), limited(720, 960, 3)])
    expect(notes.map((n) => n.kind)).toEqual(["rate-limited"])
    expect(notes[0]).toMatchObject({ at: at(240), worker: "w0", cycle: 1, details: { heldMs: 720_000, thresholdMs: 600_000, strike: 2 } })
  })

  it("rate-limited: two workers limited at once do not add up the same wait; a new run of strikes may notify again", () => {
    // w1's turn started before the hold: the governor gives it strike 1 again; the hold is still one.
    expect(run([limited(0, 300, 1, "w0"), limited(1, 299, 2, "w1"), limited(2, 298, 1, "w1")])).toEqual([])
    const inside = run([limited(0, 700, 1), limited(5, 695, 1, "w1")])
    expect(inside.map((n) => n.at)).toEqual([at(0)])
    // After the hold (a turn got through), strike 1 starts a new run, which may notify again.
    const again = run([limited(0, 700, 1), limited(900, 700, 1)])
    expect(again.map((n) => n.at)).toEqual([at(0), at(900)])
  })

  it("merge-blocked carries the task the cycle claimed; a worker that finished normally notifies nothing", () => {
    const claim = stamp(make.claim({ worker: "w0", cycle: 2 }, { results: [{ id: "t1", result: "Claimed" }, { id: "t2", result: "AlreadyTaken" }] }), 1)
    const attention = stamp(
      make.attention({ worker: "w0", cycle: 2 }, { target: "main", worktree: "/p", files: ["a.txt"], reason: "dirty", mergeWaitSeconds: 600 }),
      2
    )
    const figures = { cycles: 1, merged: 1, rejected: 0, mergeFailed: 0, stuck: 0, noChanges: 0, errors: 0, other: 0, turns: 2, usage: emptyUsage, costUsd: 0 }
    const done = stamp(make.workerStopped({ worker: "w0" }, { reason: "max-cycle", ...figures }), 3)
    const auth = stamp(make.workerStopped({ worker: "w1" }, { reason: "auth-failed", ...figures, lastFailure: "401" }), 4)
    const notes = run([claim, attention, done, auth])
    expect(notes.map((n) => [n.kind, "task" in n ? n.task : undefined])).toEqual([
      ["merge-blocked", "t1"],
      ["worker-stopped", undefined]
    ])
    expect(notes[1]).toMatchObject({ worker: "w1", details: { reason: "auth-failed" } })
  })
})
