import type { RunEvent } from "./RunEvent.js"

/**
 * What a live view shows of a swarm (issue 10: the terminal view, `oompa
 * watch` and the web dashboard): a pure fold of the run's events, one
 * definition for all three. `applyEvent` reads an event already decoded as a
 * RunEvent; the views feed it the events of the running swarm or of
 * events.jsonl, and the agent's latest activity from its turn log.
 *
 * This file imports types only, so its compiled JS has no imports at all and
 * the dashboard page loads the very same fold in the browser.
 */

/** What a worker is doing now. */
export type WorkerPhase =
  | "starting"
  /** The cycle's new worktree is being set up (worktree.copy, worktree.setup) before its first turn. */
  | "setting up"
  | "working"
  | "claiming"
  | "reviewing"
  | "fixing"
  | "merging"
  | "waiting for tasks"
  | "backing off"
  | "rate-limited"
  | "stopped"

export interface WorkerView {
  readonly id: string
  readonly model: string
  readonly phase: WorkerPhase
  /** When the phase began (ms since the epoch). */
  readonly since: number
  /** The tasks the current cycle claimed. */
  readonly tasks: ReadonlyArray<string>
  readonly cycle: number | undefined
  readonly turn: number | undefined
  /** The log the agent (or its reviewer) writes now: where its latest activity comes from. */
  readonly log: string | undefined
  /** The agent's latest tool call or line of text, and when it was seen. */
  readonly activity: string | undefined
  readonly activityAt: number | undefined
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
  /** Part of `costUsd` was estimated from the price table (docs/budgets.md): shown as "~$…". */
  readonly costEstimated: boolean
  readonly cycles: number
  readonly merged: number
  /** Why it stopped, once it has. */
  readonly stopReason: string | undefined
  /** Until when it backs off (ms since the epoch), while it does. */
  readonly until: number | undefined
  /** Asked to stop after its current cycle (a steering `stop-worker`, docs/steering.md): it claims nothing more. */
  readonly stopping: boolean
}

/** Something a person may need to act on. */
export interface AttentionItem {
  readonly kind:
    | "stuck"
    | "backing off"
    | "blocked merge"
    | "rejected"
    | "stopped on errors"
    | "invalid task"
    | "rate-limited"
    | "budget reached"
    | "warning"
  readonly at: number
  readonly worker: string | undefined
  readonly cycle: number | undefined
  readonly text: string
  /** Where rejected or stuck work is kept. */
  readonly ref: string | undefined
}

export interface RecentEvent {
  readonly at: number
  readonly worker: string | undefined
  readonly cycle: number | undefined
  readonly message: string
}

export interface SwarmView {
  readonly swarm: string | undefined
  readonly targetBranch: string | undefined
  readonly startedAt: number | undefined
  readonly stoppedAt: number | undefined
  readonly status: "starting" | "running" | "stopped"
  /** Paused by a steering request: no new turn starts (running turns go on) until it is resumed. */
  readonly paused: boolean
  /** The swarm-stopped message, once it stopped. */
  readonly ending: string | undefined
  /** Tasks whose cycle merged. */
  readonly tasksMerged: number
  /** Tasks claimed by a running cycle. */
  readonly tasksClaimed: number
  /** Pending tasks at the start, less claims, plus claims put back (the queue's own count is better when a view can read it). */
  readonly tasksPending: number
  readonly mergedCycles: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
  /** Part of `costUsd` was estimated from the price table (docs/budgets.md). */
  readonly costEstimated: boolean
  /** Ordered by id, as people count (w2 before w10). */
  readonly workers: ReadonlyArray<WorkerView>
  /** Oldest first; an item is dropped once what it is about is over (a blocked merge that landed, a back-off that ended). */
  readonly attention: ReadonlyArray<AttentionItem>
  /** The last events, oldest first. */
  readonly recent: ReadonlyArray<RecentEvent>
  /** How many events were folded in. */
  readonly events: number
}

/** How many recent events a view keeps. */
export const RECENT_EVENTS = 50
/** How many attention items a view keeps (the oldest go first). */
export const MAX_ATTENTION = 50

export const emptyView: SwarmView = {
  swarm: undefined,
  targetBranch: undefined,
  startedAt: undefined,
  stoppedAt: undefined,
  status: "starting",
  paused: false,
  ending: undefined,
  tasksMerged: 0,
  tasksClaimed: 0,
  tasksPending: 0,
  mergedCycles: 0,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
  costEstimated: false,
  workers: [],
  attention: [],
  recent: [],
  events: 0
}

const newWorker = (id: string, at: number): WorkerView => ({
  id,
  model: "?",
  phase: "starting",
  since: at,
  tasks: [],
  cycle: undefined,
  turn: undefined,
  log: undefined,
  activity: undefined,
  activityAt: undefined,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
  costEstimated: false,
  cycles: 0,
  merged: 0,
  stopReason: undefined,
  until: undefined,
  stopping: false
})

const timeOf = (iso: string): number => {
  const ms = Date.parse(iso)
  return Number.isNaN(ms) ? 0 : ms
}

/** Rows in the order of their ids as people count (planner, w0, w1, …, w10), whatever order they started in. */
const byId = (a: WorkerView, b: WorkerView): number => a.id.localeCompare(b.id, "en", { numeric: true })

/** The worker's row changed by `change`; a worker seen for the first time gets a row. */
const updateWorker = (view: SwarmView, id: string, at: number, change: (w: WorkerView) => WorkerView): SwarmView => {
  const index = view.workers.findIndex((w) => w.id === id)
  if (index < 0) return { ...view, workers: [...view.workers, change(newWorker(id, at))].sort(byId) }
  const workers = [...view.workers]
  workers[index] = change(workers[index]!)
  return { ...view, workers }
}

/** A phase change; the time in phase restarts only when the phase really changes. */
const enter = (phase: WorkerPhase, at: number) => (w: WorkerView): WorkerView =>
  w.phase === phase ? w : { ...w, phase, since: at, until: undefined }

type Paid = {
  readonly usage?: { readonly inputTokens: number; readonly outputTokens: number } | undefined
  readonly costUsd?: number | undefined
  readonly costEstimated?: boolean | undefined
}

const spend = ({ usage, costUsd, costEstimated }: Paid) =>
  (w: WorkerView): WorkerView => ({
    ...w,
    inputTokens: w.inputTokens + (usage?.inputTokens ?? 0),
    outputTokens: w.outputTokens + (usage?.outputTokens ?? 0),
    costUsd: w.costUsd + (costUsd ?? 0),
    costEstimated: w.costEstimated || costEstimated === true
  })

const spendSwarm = (view: SwarmView, { usage, costUsd, costEstimated }: Paid): SwarmView => ({
  ...view,
  inputTokens: view.inputTokens + (usage?.inputTokens ?? 0),
  outputTokens: view.outputTokens + (usage?.outputTokens ?? 0),
  costUsd: view.costUsd + (costUsd ?? 0),
  costEstimated: view.costEstimated || costEstimated === true
})

const attend = (view: SwarmView, item: AttentionItem): SwarmView => ({
  ...view,
  attention: [...view.attention, item].slice(-MAX_ATTENTION)
})

/** Drops the items of `kind` about this worker (what they were about is over). */
const settle = (view: SwarmView, worker: string, kinds: ReadonlyArray<AttentionItem["kind"]>): SwarmView => {
  const attention = view.attention.filter((a) => !(a.worker === worker && kinds.includes(a.kind)))
  return attention.length === view.attention.length ? view : { ...view, attention }
}

/**
 * The stop reasons that mean a worker gave up rather than finished: WorkerState's
 * failedStopReasons, repeated because this file imports types only (it runs in
 * the browser as is); test/domain/swarmView.test.ts checks the two agree.
 */
export const FAILED_STOPS: ReadonlyArray<string> = ["too-many-errors", "auth-failed"]

const withRecent = (view: SwarmView, event: RunEvent, at: number): SwarmView => ({
  ...view,
  events: view.events + 1,
  recent: [
    ...view.recent.slice(-(RECENT_EVENTS - 1)),
    { at, worker: "worker" in event ? event.worker : undefined, cycle: "cycle" in event ? event.cycle : undefined, message: event.message }
  ]
})

/** The view after one more event of the run. */
export const applyEvent = (before: SwarmView, event: RunEvent): SwarmView => {
  const at = timeOf(event.at)
  const view = withRecent(before, event, at)
  switch (event.type) {
    case "swarm-started":
      return {
        ...view,
        swarm: event.data.swarm,
        targetBranch: event.data.targetBranch,
        startedAt: at,
        status: "running",
        tasksPending: event.data.pending
      }
    case "worker-started": {
      const data = event.data
      return updateWorker(view, event.worker, at, (w) => ("model" in data ? { ...enter("starting", at)(w), model: data.model } : w))
    }
    case "waiting-for-tasks":
      return updateWorker(view, event.worker, at, enter("waiting for tasks", at))
    case "cycle-started":
      return updateWorker(view, event.worker, at, (w) => ({
        ...enter("starting", at)(w),
        cycle: event.cycle,
        turn: undefined,
        tasks: [],
        log: undefined,
        activity: undefined,
        activityAt: undefined
      }))
    case "turn-started": {
      const phase: WorkerPhase = event.data.kind.endsWith("-feedback") ? "fixing" : "working"
      return updateWorker(settle(view, event.worker, ["rate-limited"]), event.worker, at, (w) => ({
        ...enter(phase, at)(w),
        cycle: event.cycle,
        turn: event.data.turn,
        log: event.data.log,
        activity: undefined,
        activityAt: undefined
      }))
    }
    case "turn-ended": {
      const spent = spendSwarm(view, event.data)
      return updateWorker(spent, event.worker, at, spend(event.data))
    }
    case "claim": {
      const claimed = event.data.results.filter((r) => r.result === "Claimed").map((r) => r.id)
      const moved = {
        ...view,
        tasksClaimed: view.tasksClaimed + claimed.length,
        tasksPending: Math.max(0, view.tasksPending - claimed.length)
      }
      return updateWorker(moved, event.worker, at, (w) => ({ ...enter("claiming", at)(w), tasks: [...w.tasks, ...claimed] }))
    }
    case "task-invalid":
      return attend(view, { kind: "invalid task", at, worker: undefined, cycle: undefined, text: event.message, ref: undefined })
    case "review-started":
      return updateWorker(view, event.worker, at, (w) => ({ ...enter("reviewing", at)(w), log: event.data.log, activity: undefined, activityAt: undefined }))
    case "review": {
      const spent = spendSwarm(view, event.data)
      const next: WorkerPhase | undefined =
        event.data.verdict === "APPROVED" ? "merging" : event.data.verdict === "NEEDS_CHANGES" ? "fixing" : undefined
      return updateWorker(spent, event.worker, at, (w) => {
        const paid = spend(event.data)(w)
        return next === undefined ? paid : enter(next, at)(paid)
      })
    }
    case "merge": {
      const phase: WorkerPhase | undefined =
        event.data.step === "committed" ? "reviewing" : event.data.step === "retry" ? "merging" : event.data.step === "merged" ? "merging" : "fixing"
      const settled = event.data.step === "merged" ? settle(view, event.worker, ["blocked merge"]) : view
      return updateWorker(settled, event.worker, at, enter(phase, at))
    }
    case "attention":
      return attend(settle(view, event.worker, ["blocked merge"]), {
        kind: "blocked merge",
        at,
        worker: event.worker,
        cycle: event.cycle,
        text: event.message,
        ref: undefined
      })
    case "cycle-ended": {
      const claims = event.data.claims.length
      const merged = event.data.outcome === "merged"
      const counted: SwarmView = {
        ...settle(view, event.worker, ["blocked merge"]),
        tasksClaimed: Math.max(0, view.tasksClaimed - claims),
        tasksMerged: view.tasksMerged + (merged ? claims : 0),
        tasksPending: view.tasksPending + (merged ? 0 : claims),
        mergedCycles: view.mergedCycles + (merged ? 1 : 0)
      }
      const flagged =
        event.data.outcome === "rejected" || event.data.outcome === "stuck"
          ? attend(counted, {
              kind: event.data.outcome,
              at,
              worker: event.worker,
              cycle: event.cycle,
              text: event.message,
              ref: event.data.keptRef
            })
          : counted
      return updateWorker(flagged, event.worker, at, (w) => ({
        ...w,
        cycles: w.cycles + 1,
        merged: w.merged + (merged ? 1 : 0),
        tasks: [],
        log: undefined
      }))
    }
    case "work-kept": {
      // The ref of the cycle's rejected or stuck work, told just before or after its ending.
      const attention = view.attention.map((a) =>
        a.worker === event.worker && a.cycle === event.cycle && a.ref === undefined && (a.kind === "rejected" || a.kind === "stuck")
          ? { ...a, ref: event.data.ref }
          : a
      )
      return { ...view, attention }
    }
    case "backing-off": {
      const flagged = attend(settle(view, event.worker, ["backing off"]), {
        kind: "backing off",
        at,
        worker: event.worker,
        cycle: undefined,
        text: event.message,
        ref: undefined
      })
      return updateWorker(flagged, event.worker, at, (w) => ({ ...enter("backing off", at)(w), until: at + event.data.ms }))
    }
    case "worker-stopped": {
      const settled = settle(view, event.worker, ["backing off", "blocked merge"])
      const failed = FAILED_STOPS.includes(event.data.reason)
      const flagged = failed
        ? attend(settled, {
            kind: "stopped on errors",
            at,
            worker: event.worker,
            cycle: undefined,
            text: `${event.worker} stopped after ${event.data.errors} error cycle(s)${event.data.lastFailure !== undefined ? `: ${event.data.lastFailure}` : ""}`,
            ref: undefined
          })
        : settled
      return updateWorker(flagged, event.worker, at, (w) => ({
        ...enter("stopped", at)(w),
        stopReason: event.data.reason,
        stopping: false,
        tasks: [],
        log: undefined,
        activity: undefined
      }))
    }
    case "swarm-stopped": {
      // A worker stopped with the swarm (a stop, Ctrl-C: no worker-stopped of its own) stopped for its reason.
      const workers = view.workers.map((w) =>
        w.phase === "stopped" ? w : { ...enter("stopped", at)(w), stopReason: event.data.reason, stopping: false, tasks: [], log: undefined, activity: undefined }
      )
      return { ...view, workers, status: "stopped", paused: false, stoppedAt: at, ending: event.message }
    }
    case "steered": {
      // Only what was applied changes the view; a refused request is in the recent events.
      if (!event.data.ok) return view
      switch (event.data.action) {
        case "pause":
          return { ...view, paused: true }
        case "resume":
          return { ...view, paused: false }
        case "stop-worker": {
          const worker = event.data.worker
          if (worker === undefined || !view.workers.some((w) => w.id === worker)) return view
          return updateWorker(view, worker, at, (w) => (w.phase === "stopped" ? w : { ...w, stopping: true }))
        }
        case "stop":
        case "requeue":
          return view
      }
      return view
    }
    case "rate-limited": {
      const flagged = attend(settle(view, event.worker, ["rate-limited"]), {
        kind: "rate-limited",
        at,
        worker: event.worker,
        cycle: event.cycle,
        text: event.message,
        ref: undefined
      })
      return updateWorker(flagged, event.worker, at, (w) => ({ ...enter("rate-limited", at)(w), until: at + event.data.waitMs }))
    }
    case "setup-started":
      return updateWorker(view, event.worker, at, enter("setting up", at))
    case "setup-ended":
      // Set up (or failed, and the cycle ends next): what follows is the first turn's start or the cycle's end.
      return updateWorker(view, event.worker, at, enter("starting", at))
    case "budget-reached":
      return attend(view, { kind: "budget reached", at, worker: event.worker, cycle: undefined, text: event.message, ref: undefined })
    case "warning":
      return attend(view, { kind: "warning", at, worker: event.worker, cycle: event.cycle, text: event.message, ref: undefined })
    case "work-carried":
    case "recovered":
      return view
  }
}

/** Folds events in order. */
export const viewOf = (events: Iterable<RunEvent>, from: SwarmView = emptyView): SwarmView => {
  let view = from
  for (const event of events) view = applyEvent(view, event)
  return view
}

/**
 * The agent's latest activity, read from its log: kept only while that log is
 * still the worker's current one (a line read late must not land on the next turn).
 */
export const applyActivity = (view: SwarmView, worker: string, log: string, text: string, at: number): SwarmView => {
  const row = view.workers.find((w) => w.id === worker)
  if (row === undefined || row.log !== log) return view
  return updateWorker(view, worker, at, (w) => ({ ...w, activity: text, activityAt: at }))
}
