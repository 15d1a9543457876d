import * as os from "node:os"
import { FileSystem, Path } from "@effect/platform"
import { Cause, Duration, Effect, Exit, Ref, Schema } from "effect"
import { loadBundledPrompt } from "../config/bundled.js"
import type { OompaConfig, WorkerSpec } from "../config/OompaConfig.js"
import { randomSwarmId } from "../domain/ids.js"
import { formatModel } from "../domain/Model.js"
import { addOutcomeCounts, describeFailedCycles, failedCycles, noOutcomes } from "../domain/outcomeCounts.js"
import { WorkerSummary as WorkerSummarySchema, type StartedFile, type StoppedFile, type WorkerSummary } from "../domain/RunFiles.js"
import { emptyUsage } from "../harness/Harness.js"
import { Git } from "../services/Git.js"
import { makeRunLog, nowIso, runDirOf, type RunLog } from "../services/RunLog.js"
import { makeTaskQueue } from "../services/TaskQueue.js"
import { version } from "../version.js"
import type { SwarmContext } from "./context.js"
import { recoverDeadRuns } from "./recover.js"
import { validateSwarmStart } from "./setup.js"
import { formatSummaryTable } from "./summary.js"
import { runWorker } from "./worker.js"

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

  const summaries = yield* Ref.make<ReadonlyArray<WorkerSummary>>([])
  const report = (summary: WorkerSummary) =>
    Ref.update(summaries, (all) => [...all.filter((s) => s.id !== summary.id), summary])

  const body = (runLog: RunLog) =>
    Effect.gen(function* () {
      yield* recoverDeadRuns({ root, queue, runLog })
      yield* queue.sweepInvalid
      for (const invalid of yield* queue.takeQuarantined) {
        yield* runLog.emit(
          "task-invalid",
          `task file ${invalid.movedFrom ?? invalid.name} moved to invalid/${invalid.name}: ${invalid.why ?? invalid.reason ?? "?"}`
        )
      }
      const ctx: SwarmContext = { swarm, root, targetBranch, config, queue, runLog, taskHeader, reviewerPrompt }
      const counts = yield* queue.counts
      yield* runLog.emit(
        "swarm-started",
        `swarm ${swarm} on ${targetBranch}: ${workers.length} worker(s), ${counts.pending} pending task(s); run files in ${path.relative(root, runLog.dir)}`,
        { data: { swarm, targetBranch, workers: workers.length } }
      )
      const planner = plannerSpec(config, workers)
      if (planner !== undefined && counts.available < planner.maxPending) {
        yield* runLog.emit("worker-started", `planner runs first: ${counts.available} available task(s) < max_pending ${planner.maxPending}`, {
          worker: planner.spec.id
        })
        yield* runWorker(ctx, planner.spec, report)
      }
      return yield* Effect.forEach(workers, (spec) => runWorker(ctx, spec, report), { concurrency: "unbounded" })
    })

  const finish = (runLog: RunLog, exit: Exit.Exit<unknown, unknown>) =>
    Effect.gen(function* () {
      const interrupted = Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
      const ended = interrupted ? "interrupted" : "error"
      const reported = new Map((yield* Ref.get(summaries)).map((s) => [s.id, s.stopReason === "running" ? { ...s, stopReason: ended } : s]))
      // The planner (when it ran) first, then every configured worker, those that never reported included.
      const withIdle = [
        ...(reported.has("planner") ? [reported.get("planner")!] : []),
        ...workers.map((w) => reported.get(w.id) ?? idleSummary(w, ended))
      ]
      const failedWorkers = withIdle.filter((s) => s.stopReason === "too-many-errors").map((s) => s.id)
      const totals = withIdle.reduce(addOutcomeCounts, noOutcomes)
      // SPEC §10: a swarm whose cycles failed and that landed nothing has failed, whatever stopped it.
      const nothingMerged = Exit.isSuccess(exit) && totals.merged === 0 && failedCycles(totals) > 0
      const reason: StoppedFile["reason"] = Exit.isSuccess(exit) ? "completed" : interrupted ? "interrupted" : "error"
      const exitCode = interrupted ? 130 : Exit.isFailure(exit) || failedWorkers.length > 0 || nothingMerged ? 1 : 0
      const failures = withIdle.flatMap((s) => (s.lastFailure !== undefined ? [`${s.id}: ${s.lastFailure}`] : []))
      yield* runLog.writeStopped({
        swarm,
        reason,
        ...(Exit.isFailure(exit) && !interrupted
          ? { detail: Cause.pretty(exit.cause) }
          : nothingMerged
            ? { detail: `nothing merged: ${describeFailedCycles(totals)}` }
            : {}),
        stoppedAt: yield* nowIso,
        exitCode,
        workers: withIdle
      })
      const failedPart = failedCycles(totals) > 0 ? ` (${describeFailedCycles(totals)})` : ""
      yield* runLog.emit("swarm-stopped", `swarm ${swarm} ${reason}: ${totals.merged} cycle(s) merged into ${targetBranch}${failedPart}`, {
        data: { reason, exitCode }
      })
      yield* (options.print ?? ((line: string) => Effect.sync(() => console.log(line))))("\n" + formatSummaryTable(withIdle))
      return { withIdle, failedWorkers, nothingMerged, totals, failures }
    })

  // Creating the run folder (with started.json) and arming its ending are one
  // uninterruptible step: a run that wrote started.json always gets a stopped.json.
  const { failedWorkers, withIdle, nothingMerged, totals, failures } = yield* Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const runLog = yield* makeRunLog({ dir: runDirOf(root, swarm), started, ...(options.print ? { print: options.print } : {}) })
      const outcome = yield* restore(body(runLog)).pipe(Effect.exit)
      const ending = yield* finish(runLog, outcome)
      if (Exit.isFailure(outcome)) return yield* Effect.failCause(outcome.cause)
      return ending
    })
  )
  if (failedWorkers.length > 0) return yield* new SwarmWorkerFailed({ swarm, workers: failedWorkers, failures })
  if (nothingMerged) return yield* new SwarmMergedNothing({ swarm, runDir: runDirOf(root, swarm), workers: withIdle, failed: describeFailedCycles(totals), failures })
  return { swarm, runDir: runDirOf(root, swarm), workers: withIdle } satisfies SwarmResult
})

/** The summary of a worker that never finished a cycle. */
const idleSummary = (spec: WorkerSpec, stopReason: string): WorkerSummary => ({
  id: spec.id,
  model: formatModel(spec.model),
  ...noOutcomes,
  turns: 0,
  durationMs: 0,
  usage: emptyUsage,
  costUsd: 0,
  stopReason
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
    maxResumes: template?.maxResumes ?? 7,
    maxWorkingResumes: template?.maxWorkingResumes ?? 5,
    waitBetween: template?.waitBetween ?? Duration.zero,
    timeout: template?.timeout ?? Duration.minutes(30),
    reviewers: []
  }
  return { spec, maxPending: config.planner.maxPending }
}
