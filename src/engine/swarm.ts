import * as os from "node:os"
import { make as runEvent, type RunEvent } from "../domain/RunEvent.js"
import { FileSystem, Path } from "@effect/platform"
import { Cause, Clock, Deferred, Duration, Effect, Exit, Fiber, Option, PubSub, Ref, Schema } from "effect"
import { loadBundledPrompt } from "../config/bundled.js"
import type { OompaConfig, WorkerSpec } from "../config/OompaConfig.js"
import { defaults } from "../config/OompaJson.js"
import { randomSwarmId } from "../domain/ids.js"
import { formatModel } from "../domain/Model.js"
import { addOutcomeCounts, describeFailedCycles, failedCycles, noOutcomes } from "../domain/outcomeCounts.js"
import { WorkerSummary as WorkerSummarySchema, type StartedFile, type StoppedFile, type WorkerSummary } from "../domain/RunFiles.js"
import { summarizeWorkers } from "../runs/summaries.js"
import { Git } from "../services/Git.js"
import { runDirOf } from "../domain/naming.js"
import { makeRunLog, nowIso, type RunLog } from "../services/RunLog.js"
import { makeTaskQueue } from "../services/TaskQueue.js"
import { version } from "../paths.js"
import type { SwarmContext } from "./context.js"
import { recoverDeadRuns } from "./recover.js"
import { validateSwarmStart } from "./setup.js"
import { formatSummaryTable } from "./summary.js"
import { runWorker, type WorkerRun } from "./worker.js"
import { makeSteering, watchControl, type Steering } from "./steering.js"
import { makeGovernor } from "./governor.js"
import { describeBudget, makeBudgets, type Budgets } from "./budget.js"
import { failedStopReasons } from "../domain/WorkerState.js"
import { noNotifier, startNotifier, type Notifier, type NotifierTimeouts } from "./notify.js"
import { makeMergeTrain } from "./train.js"

export { SwarmSetupError } from "./setup.js"

/** The swarm ran and a worker stopped on errors: exit 1 (SPEC §10). */
export class SwarmWorkerFailed extends Schema.TaggedError<SwarmWorkerFailed>()("SwarmWorkerFailed", {
  workers: Schema.Array(Schema.String),
  swarm: Schema.String,
  /** Each worker's last failed cycle, "w0: c3 error: …". */
  failures: Schema.Array(Schema.String)
}) {
  get exitCode() {
    return 1
  }
  override toString() {
    return [
      `swarm ${this.swarm}: worker(s) ${this.workers.join(", ")} stopped after too many consecutive errors`,
      ...this.failures.map((f) => `  ${f}`)
    ].join("\n")
  }
}

/** A budget of the swarm or of a worker stopped the run (docs/budgets.md): exit 3 (SPEC §10). */
export class SwarmBudgetReached extends Schema.TaggedError<SwarmBudgetReached>()("SwarmBudgetReached", {
  swarm: Schema.String,
  runDir: Schema.String,
  /** "the swarm's budget max_cost_usd $5.00 reached: $5.12 spent; no new turns", one per budget. */
  budgets: Schema.Array(Schema.String)
}) {
  get exitCode() {
    return 3
  }
  override toString() {
    return [`swarm ${this.swarm} stopped by its budget(s):`, ...this.budgets.map((b) => `  ${b}`)].join("\n")
  }
}

/** The swarm ran to its end, its cycles failed and nothing merged: exit 1 (SPEC §10). */
export class SwarmMergedNothing extends Schema.TaggedError<SwarmMergedNothing>()("SwarmMergedNothing", {
  swarm: Schema.String,
  runDir: Schema.String,
  workers: Schema.Array(WorkerSummarySchema),
  /** "3 error, 1 merge-failed" */
  failed: Schema.String,
  failures: Schema.Array(Schema.String)
}) {
  get exitCode() {
    return 1
  }
  override toString() {
    return [`swarm ${this.swarm} merged nothing: ${this.failed} cycle(s)`, ...this.failures.map((f) => `  ${f}`)].join("\n")
  }
}

export interface SwarmOptions {
  readonly swarmId?: string
  readonly print?: (line: string) => Effect.Effect<void>
  /**
   * Where the run's events are published as they are written: subscribe to it
   * before the swarm starts to see every event (RunLog.ts says how to take it).
   */
  readonly events?: PubSub.PubSub<RunEvent>
  /** Shorter bounds for the notifier's sends and its final wait (docs/notifications.md gives the defaults). */
  readonly notifyTimeouts?: NotifierTimeouts
}

export interface SwarmResult {
  readonly swarm: string
  readonly runDir: string
  readonly workers: ReadonlyArray<WorkerSummary>
}

/**
 * Runs one swarm (SPEC §5–§8, §11): checks the repository, recovers leftovers
 * of crashed runs, writes started.json, runs the planner (when the queue is
 * short) and then every worker concurrently, and always writes stopped.json
 * with the true reason — completed, interrupted or error.
 */
export const runSwarm = Effect.fn("engine.runSwarm")(function* (config: OompaConfig, options: SwarmOptions = {}) {
  const git = yield* Git
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const swarm = options.swarmId ?? (yield* randomSwarmId)

  // Every check before the first write (.git/info/exclude, the queue folders, the run folder):
  // the same function `oompa check` runs, so both refuse a config with the same message.
  const { root, targetBranch } = yield* validateSwarmStart(config)
  yield* git.ensureExcluded(root, ".oompa/")

  const queue = yield* makeTaskQueue(config.tasksDir)
  yield* queue.ensureDirs
  const taskHeader = yield* loadBundledPrompt("_task_header.md").pipe(Effect.orDie)
  const reviewerPrompt = yield* loadBundledPrompt("reviewer.md").pipe(Effect.orDie)
  const rawConfig = yield* fs.readFileString(config.configPath).pipe(
    Effect.map((text) => JSON.parse(text) as unknown),
    Effect.orElseSucceed(() => null)
  )
  const workers: ReadonlyArray<WorkerSpec> = config.workers
  const started: StartedFile = {
    swarm,
    pid: process.pid,
    host: os.hostname(),
    startedAt: yield* nowIso,
    projectRoot: root,
    configPath: config.configPath,
    targetBranch,
    tasksDir: queue.root,
    versions: { oompa: version, node: process.version },
    workers: workers.map((w) => ({ id: w.id, model: formatModel(w.model), canPlan: w.canPlan })),
    config: rawConfig
  }

  // When each worker started and stopped; its numbers come from its cycle records.
  const runs = yield* Ref.make<ReadonlyMap<string, WorkerRun>>(new Map())
  const report = (run: WorkerRun) => Ref.update(runs, (all) => new Map(all).set(run.id, run))

  const body = (runLog: RunLog, steering: Steering, budgetsOf: Deferred.Deferred<Budgets>) =>
    Effect.gen(function* () {
      // The run's own queue: every file its quarantine step moves to invalid/ during the run
      // (at start, before each prompt's queue status, in an executor's wait, at a cycle's end)
      // is an event (SPEC §11).
      const queue = yield* makeTaskQueue(config.tasksDir, {
        onQuarantine: (moved) =>
          runLog.emit(runEvent.taskInvalid({}, { file: moved.name, movedTo: moved.movedTo, reason: moved.reason }))
      })
      yield* recoverDeadRuns({ root, queue, runLog })
      yield* queue.quarantineInvalid
      // Executors wait for tasks only while a worker that may create them runs (SPEC §5).
      const plannersStopped = yield* Deferred.make<void>()
      const canPlan = workers.filter((w) => w.canPlan).length
      const livePlanners = yield* Ref.make(canPlan)
      if (canPlan === 0) yield* Deferred.succeed(plannersStopped, undefined)
      const plannerStopped = Ref.updateAndGet(livePlanners, (n) => n - 1).pipe(
        Effect.flatMap((n) => (n === 0 ? Deferred.succeed(plannersStopped, undefined) : Effect.void))
      )
      const governor = yield* makeGovernor({ maxConcurrent: config.maxConcurrent })
      // The swarm's max_runtime runs from here; a reached swarm budget ends the body as a first Ctrl-C does.
      const budgets = yield* makeBudgets({ swarm, budget: config.budget, taskBudget: config.taskBudget, runLog, queue })
      yield* Deferred.succeed(budgetsOf, budgets)
      const ctx: SwarmContext = { swarm, root, targetBranch, config, queue, runLog, taskHeader, reviewerPrompt, plannersStopped, steering, governor, budgets, train: makeMergeTrain() }
      // Steering requests (docs/steering.md) are applied from here to the swarm's end.
      yield* watchControl({
        runLog,
        queue,
        steering,
        workers: [...(config.planner !== undefined ? ["planner"] : []), ...workers.map((w) => w.id)],
        stoppedWorkers: Effect.map(
          Ref.get(runs),
          (all) => new Set([...all.values()].filter((run) => run.stopped !== undefined).map((run) => run.id))
        )
      })
      const counts = yield* queue.counts
      yield* runLog.emit(
        runEvent.swarmStarted(
          {},
          { swarm, targetBranch, workers: workers.length, pending: counts.pending, runFiles: path.relative(root, runLog.dir) }
        )
      )
      const planner = plannerSpec(config, workers)
      if (planner !== undefined && counts.available < planner.maxPending) {
        yield* runLog.emit(
          runEvent.workerStarted({ worker: planner.spec.id }, { available: counts.available, maxPending: planner.maxPending })
        )
        yield* runWorker(ctx, planner.spec, report)
      }
      return yield* Effect.forEach(
        workers,
        (spec) => (spec.canPlan ? runWorker(ctx, spec, report).pipe(Effect.ensuring(plannerStopped)) : runWorker(ctx, spec, report)),
        { concurrency: "unbounded" }
      )
    })

  const finish = (
    runLog: RunLog,
    notifier: Notifier,
    exit: Exit.Exit<unknown, unknown>,
    stoppedByUser: boolean,
    budgets: Option.Option<Budgets>
  ) =>
    Effect.gen(function* () {
      const reachedBudgets = Option.isSome(budgets) ? yield* budgets.value.reached : []
      // The swarm's own budget ends it like a steering stop, under its own reason (docs/budgets.md).
      const byBudget = !stoppedByUser && reachedBudgets.some((b) => b.scope === "swarm") && Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
      // A steering stop ends the run like a first Ctrl-C (the workers are interrupted), under its own reason.
      const interrupted = !byBudget && (stoppedByUser || (Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)))
      const ended = stoppedByUser ? "stopped-by-user" : byBudget ? "budget" : interrupted ? "interrupted" : "error"
      const now = yield* Clock.currentTimeMillis
      const workerRuns = yield* Ref.get(runs)
      // One definition of every number: the cycle records (SPEC §11), the same that
      // `oompa view` reads back from cycles/, an interrupted cycle's included.
      // The planner (when it ran) first, then every configured worker, idle ones included.
      const withIdle = summarizeWorkers(
        [
          ...(workerRuns.has("planner") ? [{ id: "planner", model: workerRuns.get("planner")!.model }] : []),
          ...workers.map((w) => ({ id: w.id, model: formatModel(w.model) }))
        ],
        yield* runLog.cycles,
        (id) => {
          const run = workerRuns.get(id)
          if (run === undefined) return { stopReason: ended, durationMs: 0 }
          return run.stopped !== undefined
            ? { stopReason: run.stopped.reason, durationMs: run.stopped.atMs - run.startedMs }
            : { stopReason: ended, durationMs: now - run.startedMs }
        }
      )
      const failedWorkers = withIdle.filter((s) => failedStopReasons.includes(s.stopReason)).map((s) => s.id)
      const totals = withIdle.reduce(addOutcomeCounts, noOutcomes)
      // SPEC §10: a swarm whose cycles failed and that landed nothing has failed, whatever stopped it.
      const nothingMerged = !stoppedByUser && Exit.isSuccess(exit) && totals.merged === 0 && failedCycles(totals) > 0
      const reason: StoppedFile["reason"] = stoppedByUser
        ? "stopped-by-user"
        : byBudget
          ? "budget"
          : Exit.isSuccess(exit)
          ? "completed"
          : interrupted
            ? "interrupted"
            : "error"
      // A budget of the swarm or of a worker cut the run short: 3, unless it failed outright (SPEC §10, docs/budgets.md).
      const budgetStopped = byBudget || withIdle.some((s) => s.stopReason === "budget")
      const exitCode = interrupted
        ? 130
        : (Exit.isFailure(exit) && !byBudget) || failedWorkers.length > 0 || nothingMerged
          ? 1
          : budgetStopped
            ? 3
            : 0
      const failures = withIdle.flatMap((s) => (s.lastFailure !== undefined ? [`${s.id}: ${s.lastFailure}`] : []))
      // The last event before stopped.json: a reader that sees stopped.json (`logs --follow`) has every line.
      yield* runLog.emit(
        runEvent.swarmStopped(
          {},
          {
            swarm,
            reason,
            exitCode,
            targetBranch,
            merged: totals.merged,
            ...(failedCycles(totals) > 0 ? { failed: describeFailedCycles(totals) } : {})
          }
        )
      )
      // The swarm-ended notification goes out (bounded wait) before stopped.json: a failure's warning is in the log it ends.
      yield* notifier.settle
      yield* runLog.writeStopped({
        swarm,
        reason,
        ...(byBudget
          ? { detail: describeBudget(reachedBudgets.find((b) => b.scope === "swarm")!) }
          : Exit.isFailure(exit) && !interrupted
          ? { detail: Cause.pretty(exit.cause) }
          : nothingMerged
            ? { detail: `nothing merged: ${describeFailedCycles(totals)}` }
            : {}),
        stoppedAt: yield* nowIso,
        exitCode,
        ...(reachedBudgets.length > 0 ? { budgets: reachedBudgets } : {}),
        workers: withIdle
      })
      yield* (options.print ?? ((line: string) => Effect.sync(() => console.log(line))))("\n" + formatSummaryTable(withIdle))
      return { withIdle, failedWorkers, nothingMerged, totals, failures, byBudget, budgetStopped, reachedBudgets }
    })

  // Creating the run folder (with started.json) and arming its ending are one
  // uninterruptible step: a run that wrote started.json always gets a stopped.json.
  const { failedWorkers, withIdle, nothingMerged, totals, failures, budgetStopped, reachedBudgets } = yield* Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const runLog = yield* makeRunLog({ dir: runDirOf(root, swarm), started,
        ...(options.print ? { print: options.print } : {}),
        ...(options.events ? { publish: options.events } : {})
      })
      // Subscribed before the first event; its sends live as long as this scope (docs/notifications.md).
      const notifier =
        config.notify === undefined
          ? noNotifier
          : yield* startNotifier(config.notify, {
              runLog,
              swarm,
              cwd: root,
              ...(options.notifyTimeouts !== undefined ? { timeouts: options.notifyTimeouts } : {})
            })
      const steering = yield* makeSteering([...(config.planner !== undefined ? ["planner"] : []), ...workers.map((w) => w.id)])
      // The body runs in its own fiber, interrupted by a first Ctrl-C (this fiber's interruption)
      // or by a steering stop: either way its workers end their agents, keep their work and put
      // their claims back, and only once all of that is done does the ending get written.
      const budgetsOf = yield* Deferred.make<Budgets>()
      const fiber = yield* Effect.fork(restore(Effect.scoped(body(runLog, steering, budgetsOf))))
      const byUser = yield* Ref.make(false)
      const stopper = yield* Effect.fork(
        restore(Deferred.await(steering.stopRequested)).pipe(
          Effect.zipRight(Ref.set(byUser, true)),
          Effect.zipRight(Fiber.interrupt(fiber))
        )
      )
      // The swarm's budget reached: the same ending as a steering stop (the workers keep their work, claims go back).
      const budgetStopper = yield* Effect.fork(
        restore(Deferred.await(budgetsOf).pipe(Effect.flatMap((b) => Deferred.await(b.swarmReached)))).pipe(
          Effect.zipRight(Fiber.interrupt(fiber))
        )
      )
      const waited = yield* restore(Fiber.await(fiber)).pipe(Effect.exit)
      const outcome = Exit.isSuccess(waited) ? waited.value : yield* Fiber.interrupt(fiber)
      yield* Fiber.interrupt(stopper)
      yield* Fiber.interrupt(budgetStopper)
      const stoppedByUser = (yield* Ref.get(byUser)) && Exit.isFailure(outcome) && Cause.isInterruptedOnly(outcome.cause)
      // The run's budgets, if its body got as far as making them.
      const budgets = yield* Deferred.poll(budgetsOf).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.succeed(Option.none<Budgets>()), onSome: Effect.map(Option.some) }))
      )
      const ending = yield* finish(runLog, notifier, outcome, stoppedByUser, budgets)
      // A steering stop ends like an interrupted run (exit 130, SPEC §10): the user stopped it before its end.
      // The swarm's budget ends it with exit 3 instead (below).
      if (Exit.isFailure(outcome) && !ending.byBudget) return yield* Effect.failCause(outcome.cause)
      return ending
    }).pipe(Effect.scoped)
  )
  if (failedWorkers.length > 0) return yield* new SwarmWorkerFailed({ swarm, workers: failedWorkers, failures })
  if (nothingMerged) return yield* new SwarmMergedNothing({ swarm, runDir: runDirOf(root, swarm), workers: withIdle, failed: describeFailedCycles(totals), failures })
  if (budgetStopped) {
    return yield* new SwarmBudgetReached({
      swarm,
      runDir: runDirOf(root, swarm),
      budgets: reachedBudgets.filter((b) => b.scope !== "task").map(describeBudget)
    })
  }
  return { swarm, runDir: runDirOf(root, swarm), workers: withIdle } satisfies SwarmResult
})

/** The planner as a one-cycle worker that may say __DONE__. */
const plannerSpec = (config: OompaConfig, workers: ReadonlyArray<WorkerSpec>) => {
  if (config.planner === undefined) return undefined
  const template = workers[0]
  const spec: WorkerSpec = {
    id: "planner",
    model: config.planner.model,
    prompt: config.planner.prompt,
    maxCycle: 1,
    canPlan: true,
    maxWaitForTasks: template?.maxWaitForTasks ?? Duration.zero,
    maxResumes: template?.maxResumes ?? defaults.max_resumes,
    maxWorkingResumes: template?.maxWorkingResumes ?? defaults.max_working_resumes,
    waitBetween: template?.waitBetween ?? Duration.seconds(defaults.wait_between),
    timeout: template?.timeout ?? Duration.seconds(defaults.timeout),
    ...(template?.stallTimeout !== undefined ? { stallTimeout: template.stallTimeout } : {}),
    reviewers: []
  }
  return { spec, maxPending: config.planner.maxPending }
}
