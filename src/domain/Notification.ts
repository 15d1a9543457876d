import { Schema } from "effect"
import { humanDuration } from "./humanDuration.js"
import {
  AttentionData,
  BudgetReachedData,
  CycleEndedData,
  RateLimitedData,
  SwarmStoppedData,
  terminalLine,
  WorkerStoppedData,
  type RunEvent,
  type RunEventOf
} from "./RunEvent.js"
import { failedStopReasons } from "./WorkerState.js"

/**
 * What `notify` (docs/notifications.md) sends: one JSON object per
 * notification, the same to the command's stdin and the webhook's body.
 * Versioned: a receiver can rely on every field of `version: 1`; new kinds
 * and new `details` fields may be added without a new version, a field's
 * meaning changed or removed only with one.
 *
 * Every kind is derived from the run's events (`notificationOf`), so a
 * notification says exactly what events.jsonl says, and `details` is the
 * payload of the event it came from.
 */

export const NOTIFICATION_VERSION = 1 as const

const version = Schema.Literal(NOTIFICATION_VERSION)
const common = {
  swarm: Schema.String,
  /** When it happened: the time of the event it came from (ISO 8601). */
  at: Schema.String,
  /** One line for a human, the words the terminal showed. */
  message: Schema.String
}
const worker = { worker: Schema.String }
const cycle = { worker: Schema.String, cycle: Schema.Number }
/** The task (or tasks, comma-separated) the cycle had claimed, when it had any. */
const task = { task: Schema.optional(Schema.String) }

const kind = <const K extends string, F extends Schema.Struct.Fields, D extends Schema.Schema.Any>(
  name: K,
  fields: F,
  details: D,
  description: string
) => Schema.Struct({ version, kind: Schema.Literal(name), ...common, ...fields, details }).annotations({ identifier: name, description })

export const SwarmEnded = kind("swarm-ended", {}, SwarmStoppedData, "the swarm stopped; details.reason says how")
export const WorkerStoppedOnErrors = kind(
  "worker-stopped",
  worker,
  WorkerStoppedData,
  "a worker gave up (details.reason too-many-errors, auth-failed): the swarm goes on without it"
)
export const MergeBlocked = kind(
  "merge-blocked",
  { ...cycle, ...task },
  AttentionData,
  "approved work cannot land until the user fixes their checkout (the attention event)"
)
export const RateLimitedLong = kind(
  "rate-limited",
  { ...cycle },
  Schema.Struct({
    ...RateLimitedData.fields,
    /** How long the provider has held its turns in this run of strikes, to `until`. */
    heldMs: Schema.Number,
    /** `rate_limited_after`, in ms: `heldMs` is above it. */
    thresholdMs: Schema.Number
  }),
  "a provider's limit holds its turns longer than rate_limited_after (once per run of strikes)"
)
export const BudgetReached = kind(
  "budget-reached",
  { worker: Schema.optional(Schema.String) },
  BudgetReachedData,
  "a budget was reached: no new turns in its scope"
)
export const Stuck = kind(
  "stuck",
  { ...cycle, ...task, ref: Schema.optional(Schema.String) },
  CycleEndedData,
  "a cycle ended stuck; its work is kept at ref"
)

export const Notification = Schema.Union(SwarmEnded, WorkerStoppedOnErrors, MergeBlocked, RateLimitedLong, BudgetReached, Stuck).annotations({
  identifier: "Notification",
  description: "what oompa's notify command (stdin) and webhook (POST body) receive"
})
export type Notification = typeof Notification.Type
export type NotificationKind = Notification["kind"]

/** What `notificationOf` remembers between events. */
export interface NotifyState {
  /** The tasks each worker's current cycle claimed: `w0/3` → ids. */
  readonly claims: ReadonlyMap<string, ReadonlyArray<string>>
  /** Per provider: when its current run of strikes began and is held until (ms), and whether it was notified. */
  readonly holds: ReadonlyMap<string, { readonly sinceMs: number; readonly untilMs: number; readonly notified: boolean }>
}

export const initialNotifyState: NotifyState = { claims: new Map(), holds: new Map() }

const cycleKey = (worker: string, cycle: number) => `${worker}/${cycle}`
const taskOf = (ids: ReadonlyArray<string> | undefined) => (ids !== undefined && ids.length > 0 ? { task: ids.join(", ") } : {})

/**
 * The notification an event calls for, if any, and the state after it.
 * Pure: the notifier (src/engine/notify.ts) feeds it the run's event stream.
 * `rateLimitedAfterMs`: `notify.rate_limited_after`.
 */
export const notificationOf = (
  state: NotifyState,
  event: RunEvent,
  swarm: string,
  rateLimitedAfterMs: number
): readonly [NotifyState, Notification | undefined] => {
  const base = { version: NOTIFICATION_VERSION, swarm, at: event.at, message: terminalLine(event) }
  switch (event.type) {
    case "claim": {
      const won = event.data.results.filter((r) => r.result === "Claimed").map((r) => r.id)
      if (won.length === 0) return [state, undefined]
      const key = cycleKey(event.worker, event.cycle)
      const claims = new Map(state.claims).set(key, [...(state.claims.get(key) ?? []), ...won])
      return [{ ...state, claims }, undefined]
    }
    case "swarm-stopped":
      return [state, { ...base, kind: "swarm-ended", details: event.data }]
    case "worker-stopped":
      return failedStopReasons.includes(event.data.reason)
        ? [state, { ...base, kind: "worker-stopped", worker: event.worker, details: event.data }]
        : [state, undefined]
    case "attention":
      return [
        state,
        {
          ...base,
          kind: "merge-blocked",
          worker: event.worker,
          cycle: event.cycle,
          ...taskOf(state.claims.get(cycleKey(event.worker, event.cycle))),
          details: event.data
        }
      ]
    case "budget-reached":
      return [state, { ...base, kind: "budget-reached", ...(event.worker !== undefined ? { worker: event.worker } : {}), details: event.data }]
    case "cycle-ended": {
      const claims = new Map(state.claims)
      claims.delete(cycleKey(event.worker, event.cycle))
      const after = { ...state, claims }
      if (event.data.outcome !== "stuck") return [after, undefined]
      return [
        after,
        {
          ...base,
          kind: "stuck",
          worker: event.worker,
          cycle: event.cycle,
          ...taskOf(event.data.claims),
          ...(event.data.keptRef !== undefined ? { ref: event.data.keptRef } : {}),
          details: event.data
        }
      ]
    }
    case "rate-limited":
      return rateLimited(state, event, base, rateLimitedAfterMs)
    default:
      return [state, undefined]
  }
}

/**
 * A run of strikes holds the provider from its first event to the latest
 * `until`: measured on the clock rather than summed, so two workers limited
 * at once do not count the same wait twice. A run ends when a turn of the
 * provider gets through (the governor's strike starts again at 1) after the
 * hold; a strike-1 event inside the hold (a turn started before it) continues it.
 */
const rateLimited = (
  state: NotifyState,
  event: RunEventOf<"rate-limited">,
  base: { readonly version: 1; readonly swarm: string; readonly at: string; readonly message: string },
  thresholdMs: number
): readonly [NotifyState, Notification | undefined] => {
  const d = event.data
  const atMs = Date.parse(event.at)
  const untilMs = Date.parse(d.until)
  const previous = state.holds.get(d.provider)
  const hold =
    previous === undefined || (d.strike <= 1 && atMs >= previous.untilMs)
      ? { sinceMs: atMs, untilMs, notified: false }
      : { ...previous, untilMs: Math.max(previous.untilMs, untilMs) }
  const heldMs = Math.max(0, hold.untilMs - hold.sinceMs)
  const notify = !hold.notified && heldMs > thresholdMs
  const holds = new Map(state.holds).set(d.provider, { ...hold, notified: hold.notified || notify })
  const next = { ...state, holds }
  if (!notify) return [next, undefined]
  return [
    next,
    {
      ...base,
      message: `${d.provider} has held its turns for ${humanDuration(heldMs)} (until ${d.until}, strike ${d.strike}): more than rate_limited_after ${humanDuration(thresholdMs)}`,
      kind: "rate-limited",
      worker: event.worker,
      cycle: event.cycle,
      details: { ...d, heldMs, thresholdMs }
    }
  ]
}
