import { Effect, Either, Option, Schema } from "effect"
import type {
  NeedsHuman,
  ReportJson,
  ReportMerged,
  ReportNotMerged,
  ReportQueue,
  ReportSpend,
  ReportWaiting
} from "../domain/JsonOutput.js"
import { BackingOffData, MergeLanded, MergeTestsFailed, RateLimitedData } from "../domain/RunEvent.js"
import { isLimit } from "../domain/TurnFailure.js"
import { failedStopReasons } from "../domain/WorkerState.js"
import type { CycleFile, RunEventLine, RunProblem } from "../domain/RunFiles.js"
import { countsOf, missingDependencies, type QueueListing } from "../domain/queue.js"
import { cycleName, KEPT_REF_PREFIX } from "../domain/naming.js"
import { addUsage, emptyUsage, type Usage } from "../domain/Usage.js"
import { Git } from "../services/Git.js"
import { makeTaskQueue } from "../services/TaskQueue.js"
import { cappedProblem, readEvents, workerSummaries, type RunInfo } from "./readRuns.js"

/**
 * The morning report of one run (`oompa report`): a pure fold of what the run
 * files say — the cycle files, stopped.json, events.jsonl — and of the task
 * queue as it is now. Nothing is guessed: a fact no file records is left out
 * (or said to be unknown). `oompa report` renders it as Markdown
 * (reportMarkdown.ts) or prints it as `report.json`.
 */

export interface ReportInput {
  readonly run: RunInfo
  readonly events: ReadonlyArray<RunEventLine>
  /** The queue now; None when the run does not say where it is (no started.json) or it cannot be read. */
  readonly queue: Option.Option<{ readonly root: string; readonly listing: QueueListing }>
  /** The run's refs under refs/oompa/kept/ in the repository now; None when git could not list them. */
  readonly keptRefs: Option.Option<ReadonlySet<string>>
  readonly problems: ReadonlyArray<RunProblem>
}

/** The command that shows kept work: its commits over the target, else the ref's tip. */
export const keptWorkCommand = (ref: string, target: string | undefined): string =>
  target === undefined ? `git show ${ref}` : `git log -p ${target}..${ref}`

const cycleId = (c: CycleFile): string => cycleName(c.worker, c.cycle)

const decodeData = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownOption(schema)
  return (event: RunEventLine): Option.Option<A> => decode(event.data)
}
const asBackOff = decodeData(BackingOffData)
const asLanded = decodeData(MergeLanded)
const asTestsFailed = decodeData(MergeTestsFailed)
const asRateLimited = decodeData(RateLimitedData)

/** Whether started.json's config (the oompa.json as read) had a test_command. */
const testCommandOf = (run: RunInfo): ReportMerged["testCommand"] =>
  Option.match(run.started, {
    onNone: () => "unknown" as const,
    onSome: (s) => {
      const config = s.config
      const command = typeof config === "object" && config !== null ? (config as Record<string, unknown>)["test_command"] : undefined
      return typeof command === "string" && command.trim() !== "" ? ("passed" as const) : ("none" as const)
    }
  })

const summaryOf = (listing: QueueListing | undefined, id: string): string | null => {
  if (listing === undefined) return null
  const entry = [...listing.pending, ...listing.current, ...listing.complete].find((e) => e.id === id)
  return entry?.task.summary ?? entry?.task.description ?? null
}

interface Spent {
  readonly cycles: number
  readonly usage: Usage
  readonly costUsd: number
  readonly costEstimated?: boolean
}
const nothingSpent: Spent = { cycles: 0, usage: emptyUsage, costUsd: 0 }
const spend = (acc: Spent, c: CycleFile): Spent => ({
  cycles: acc.cycles + 1,
  usage: addUsage(acc.usage, c.usage),
  costUsd: acc.costUsd + (c.costUsd ?? 0),
  // Part of it estimated from the price table (docs/budgets.md): said so wherever it is shown.
  ...(acc.costEstimated === true || c.costEstimated === true ? { costEstimated: true } : {})
})

const spendOf = (run: RunInfo): ReportSpend => {
  const byTask = new Map<string, Spent>()
  for (const c of run.cycles) for (const id of new Set(c.claims)) byTask.set(id, spend(byTask.get(id) ?? nothingSpent, c))
  return {
    workers: workerSummaries(run).map((w) => ({
      id: w.id,
      model: w.model,
      cycles: w.cycles,
      merged: w.merged,
      usage: w.usage,
      costUsd: w.costUsd,
      ...(w.costEstimated === true ? { costEstimated: true } : {}),
      durationMs: w.durationMs,
      stopReason: w.stopReason
    })),
    tasks: [...byTask.entries()]
      .sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))
      .map(([id, spent]) => ({ id, ...spent })),
    unclaimed: run.cycles.filter((c) => c.claims.length === 0).reduce(spend, nothingSpent),
    total: run.cycles.reduce(spend, nothingSpent)
  }
}

const waitingOf = (events: ReadonlyArray<RunEventLine>, cycles: ReadonlyArray<CycleFile>): ReportWaiting => {
  const backOffs: Array<{ worker: string; count: number; ms: number }> = []
  const mergeHolds: Array<{ cycle: string; ms: number; what: string }> = []
  const providers: Array<{ provider: string; limits: number; longestHoldMs: number }> = []
  const rateLimits: Array<{ worker: string; limitedTurns: number; waits: number; ms: number }> = []
  for (const cycle of cycles) {
    const limitedTurns = cycle.turns.filter((t) => isLimit(t.failure)).length
    const waits = cycle.turns.filter((t) => (t.limitWaitMs ?? 0) > 0)
    if (limitedTurns === 0 && waits.length === 0) continue
    const ms = waits.reduce((n, t) => n + (t.limitWaitMs ?? 0), 0)
    const row = rateLimits.find((r) => r.worker === cycle.worker)
    if (row === undefined) rateLimits.push({ worker: cycle.worker, limitedTurns, waits: waits.length, ms })
    else {
      row.limitedTurns += limitedTurns
      row.waits += waits.length
      row.ms += ms
    }
  }
  rateLimits.sort((a, b) => a.worker.localeCompare(b.worker, "en", { numeric: true }))
  for (const event of events) {
    if (event.type === "backing-off" && event.worker !== undefined) {
      const data = asBackOff(event)
      if (Option.isNone(data)) continue
      const row = backOffs.find((b) => b.worker === event.worker)
      if (row === undefined) backOffs.push({ worker: event.worker, count: 1, ms: data.value.ms })
      else {
        row.count += 1
        row.ms += data.value.ms
      }
    }
    if (event.type === "rate-limited") {
      const data = asRateLimited(event)
      if (Option.isNone(data)) continue
      const row = providers.find((p) => p.provider === data.value.provider)
      if (row === undefined) providers.push({ provider: data.value.provider, limits: 1, longestHoldMs: data.value.waitMs })
      else {
        row.limits += 1
        row.longestHoldMs = Math.max(row.longestHoldMs, data.value.waitMs)
      }
    }
    if (event.type === "merge" && event.worker !== undefined && event.cycle !== undefined) {
      const held = Option.flatMap(asLanded(event), (d) => Option.fromNullable(d.held))
      if (Option.isSome(held)) mergeHolds.push({ cycle: cycleName(event.worker, event.cycle), ms: held.value.ms, what: held.value.what })
    }
  }
  return {
    backOffs,
    backOffMs: backOffs.reduce((n, b) => n + b.ms, 0),
    mergeHolds,
    mergeHoldMs: mergeHolds.reduce((n, h) => n + h.ms, 0),
    rateLimits,
    rateLimitMs: rateLimits.reduce((n, r) => n + r.ms, 0),
    providers
  }
}

const queueOf = (root: string, listing: QueueListing): ReportQueue => {
  const complete = new Set<string>(listing.complete.map((e) => e.id))
  return {
    root,
    counts: countsOf(listing),
    pending: listing.pending.map((e) => ({
      id: e.id,
      summary: e.task.summary ?? e.task.description ?? null,
      waitingOn: missingDependencies(e.task, complete)
    })),
    current: listing.current.map((e) => ({
      id: e.id,
      summary: e.task.summary ?? e.task.description ?? null,
      claimedBy: e.task.claimed_by ?? null
    })),
    invalid: listing.invalid.map((f) => ({ name: f.name, reason: f.reason ?? null }))
  }
}

/** The report of one run. Pure: everything comes from `input`. */
export const buildReport = (input: ReportInput): ReportJson => {
  const { run, events } = input
  const started = Option.getOrUndefined(run.started)
  const stopped = Option.getOrUndefined(run.stopped)
  const target = started?.targetBranch
  const listing = Option.getOrUndefined(Option.map(input.queue, (q) => q.listing))
  const tasksOf = (c: CycleFile) => c.claims.map((id) => ({ id, summary: summaryOf(listing, id) }))
  const testCommand = testCommandOf(run)
  const testFailures = new Map<string, number>()
  for (const event of events) {
    if (event.type === "merge" && event.worker !== undefined && event.cycle !== undefined && Option.isSome(asTestsFailed(event))) {
      const id = cycleName(event.worker, event.cycle)
      testFailures.set(id, (testFailures.get(id) ?? 0) + 1)
    }
  }

  const mergedCycles = run.cycles.filter((c) => c.outcome === "merged")
  const merged: Array<ReportMerged> = mergedCycles.map((c) => ({
    cycle: cycleId(c),
    worker: c.worker,
    tasks: tasksOf(c),
    commit: c.mergedCommit ?? null,
    reviewRounds: c.reviewRounds,
    testCommand,
    testFailures: testFailures.get(cycleId(c)) ?? 0,
    durationMs: c.durationMs,
    usage: c.usage,
    costUsd: c.costUsd ?? 0,
    ...(c.costEstimated === true ? { costEstimated: true } : {})
  }))
  /** Merged cycles that ended after `c` and merged each of its tasks (the work was carried on, or redone). */
  const laterMerged = (c: CycleFile): ReadonlyArray<string> => {
    if (c.claims.length === 0) return []
    const later = mergedCycles.filter((m) => m.endedAt > c.endedAt)
    const covered = c.claims.every((id) => later.some((m) => m.claims.includes(id)))
    return covered ? later.filter((m) => m.claims.some((id) => c.claims.includes(id))).map(cycleId) : []
  }
  const notMerged: Array<ReportNotMerged> = run.cycles
    .filter((c) => c.outcome !== "merged")
    .map((c) => {
      const ref = c.keptRef
      const present = ref === undefined ? null : Option.getOrNull(Option.map(input.keptRefs, (refs) => refs.has(ref)))
      return {
        cycle: cycleId(c),
        worker: c.worker,
        outcome: c.outcome,
        detail: c.detail,
        tasks: tasksOf(c),
        keptRef: ref ?? null,
        keptRefPresent: present,
        gitCommand: ref === undefined || present === false ? null : keptWorkCommand(ref, target),
        laterMerged: laterMerged(c),
        durationMs: c.durationMs,
        usage: c.usage,
        costUsd: c.costUsd ?? 0,
        ...(c.costEstimated === true ? { costEstimated: true } : {})
      }
    })

  const queue = Option.getOrNull(Option.map(input.queue, (q) => queueOf(q.root, q.listing)))

  // ---- Needs a human, most urgent first.
  const needs: Array<NeedsHuman> = []
  if (run.status === "crashed") {
    needs.push({
      kind: "crashed",
      worker: null,
      cycle: null,
      text: `the swarm's process${started === undefined ? "" : ` (pid ${started.pid})`} is gone without a stopped.json: its worktrees, claims and unmerged work are left as they were`,
      ref: null,
      command: "oompa cleanup"
    })
  }
  const stoppedOnErrors = new Set<string>(workerSummaries(run).filter((w) => failedStopReasons.includes(w.stopReason)).map((w) => w.id))
  for (const event of events) {
    if (event.type === "worker-stopped" && event.worker !== undefined && failedStopReasons.includes(String(event.data?.["reason"]))) stoppedOnErrors.add(event.worker)
  }
  for (const worker of stoppedOnErrors) {
    const summary = workerSummaries(run).find((w) => w.id === worker)
    needs.push({
      kind: "stopped-on-errors",
      worker,
      cycle: null,
      text: `${worker} stopped ${summary?.stopReason === "auth-failed" ? "because its provider refused its credentials" : "after too many error cycles"}${
        summary?.lastFailure === undefined ? "" : `; last: ${summary.lastFailure}`
      }`,
      ref: null,
      command: `oompa logs ${run.id} --worker ${worker}`
    })
  }
  for (const entry of notMerged) {
    const kind: NeedsHuman["kind"] | undefined =
      entry.outcome === "rejected" ? "rejected" : entry.outcome === "merge-failed" ? "merge-failed" : entry.outcome === "stuck" ? "stuck" : undefined
    // Redone and merged later, or its kept work deleted since: dealt with.
    if (kind === undefined || entry.laterMerged.length > 0 || entry.keptRefPresent === false) continue
    const tasks = entry.tasks.length === 0 ? "" : ` (${entry.tasks.map((t) => t.id).join(", ")})`
    needs.push({
      kind,
      worker: entry.worker,
      cycle: entry.cycle,
      text: `${entry.cycle} ${entry.outcome}${tasks}: ${entry.detail}`,
      ref: entry.keptRef,
      command: entry.gitCommand
    })
  }
  // A blocked landing of a cycle that has not ended (no cycle file yet): still waiting on the user.
  const ended = new Set<string>(run.cycles.map(cycleId))
  const blocked = new Map<string, RunEventLine>()
  for (const event of events) {
    if (event.type === "attention" && event.worker !== undefined && event.cycle !== undefined) {
      const id = cycleName(event.worker, event.cycle)
      if (!ended.has(id)) blocked.set(id, event)
    }
  }
  for (const [id, event] of blocked) {
    needs.push({ kind: "blocked-merge", worker: event.worker ?? null, cycle: id, text: `${id}: ${event.message}`, ref: null, command: null })
  }
  // Tasks this run stamped budget_reached: back in pending with their work kept, claimed by nobody until a person looks.
  for (const entry of Option.match(input.queue, { onNone: () => [], onSome: (q) => q.listing.pending })) {
    const stamp = entry.task.budget_reached
    if (stamp === undefined || stamp.swarm !== run.id) continue
    const kept = [...(entry.task.attempts ?? [])].reverse().find((a) => a.kept_ref !== undefined)?.kept_ref
    const unit = stamp.limit === "max_cost_usd" ? (n: number) => `$${n.toFixed(2)}` : stamp.limit === "max_runtime" ? (n: number) => `${n} s` : (n: number) => `${n} tokens`
    needs.push({
      kind: "budget-reached",
      worker: null,
      cycle: null,
      text:
        `task ${entry.id}: its budget ${stamp.limit} ${unit(stamp.value)} was reached (${unit(stamp.spent)} spent${stamp.estimated ? ", estimated" : ""}); ` +
        `it waits in pending, claimed by nobody until "budget_reached" is removed from its file (raise its budget or split it first)`,
      ref: kept ?? null,
      command: kept === undefined ? null : keptWorkCommand(kept, target)
    })
  }
  for (const file of queue?.invalid ?? []) {
    needs.push({
      kind: "invalid-task",
      worker: null,
      cycle: null,
      text: `invalid/${file.name}${file.reason === null ? "" : `: ${file.reason.split("\n")[0]}`}`,
      ref: null,
      command: `oompa tasks requeue ${file.name.replace(/\.(json|edn)$/, "")}`
    })
  }

  return {
    schema: "report.json@1",
    id: run.id,
    dir: run.dir,
    targetBranch: target ?? null,
    startedAt: started?.startedAt ?? null,
    ended: {
      status: run.status,
      at: stopped?.stoppedAt ?? null,
      exitCode: stopped?.exitCode ?? null,
      detail: stopped?.detail ?? null
    },
    merged,
    notMerged,
    queue,
    spend: spendOf(run),
    waiting: waitingOf(events, run.cycles),
    needsHuman: needs,
    problems: input.problems.map(cappedProblem)
  }
}

/**
 * Reads what the report of `run` needs — its events, the queue its
 * started.json names, its kept refs in the repository at `root` — and builds it.
 */
export const loadReport = Effect.fn("runs.loadReport")(function* (run: RunInfo, root: string) {
  const git = yield* Git
  const { events, problems } = yield* readEvents(run.dir)
  const keptRefs = yield* git.listRefs(root, `${KEPT_REF_PREFIX}${run.id}/`).pipe(
    Effect.map((refs): ReadonlySet<string> => new Set(refs.map((r) => r.ref))),
    Effect.option
  )
  const queue = yield* Option.match(run.started, {
    onNone: () => Effect.succeed(Option.none<{ root: string; listing: QueueListing }>()),
    onSome: (s) =>
      makeTaskQueue(s.tasksDir).pipe(
        Effect.flatMap((q) => Effect.map(q.list, (listing) => ({ root: q.root, listing }))),
        Effect.either,
        Effect.map(Either.getRight)
      )
  })
  return buildReport({ run, events, queue, keptRefs, problems: [...run.problems, ...problems] })
})
