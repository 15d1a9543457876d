import type { Deferred } from "effect"
import type { OompaConfig, WorkerSpec } from "../config/OompaConfig.js"
import type { DecideConfig } from "../domain/WorkerState.js"
import type { RunLog } from "../services/RunLog.js"
import type { TaskQueue } from "../services/TaskQueue.js"
import type { Budgets } from "./budget.js"
import type { Governor } from "./governor.js"
import type { Steering } from "./steering.js"
import type { MergeTrain } from "./train.js"

/** What every part of one swarm run shares; built once by `runSwarm`. */
export interface SwarmContext {
  readonly swarm: string
  /** The git top level of the project. */
  readonly root: string
  readonly targetBranch: string
  readonly config: OompaConfig
  readonly queue: TaskQueue
  readonly runLog: RunLog
  /** The bundled task header, includes inlined, tokens not rendered. */
  readonly taskHeader: string
  /** The bundled reviewer prompt, used by reviewers configured without one. */
  readonly reviewerPrompt: string
  /**
   * Done once no worker that may create tasks (`can_plan`) is running any more:
   * at the start when there is none, else when the last of them stops. Waiting
   * executors are woken by it (SPEC §5).
   */
  readonly plannersStopped: Deferred.Deferred<void>
  /** Steering requests applied to this run (docs/steering.md): pause, stop after a cycle, stop. */
  readonly steering: Steering
  /** Rate limits and max_concurrent, per provider and harness (src/engine/governor.ts). */
  readonly governor: Governor
  /** The swarm's, the workers' and the tasks' budgets (src/engine/budget.ts, docs/budgets.md). */
  readonly budgets: Budgets
  /** The workers of this run ready to land with a `test_command` (src/engine/train.ts). */
  readonly train: MergeTrain
}

/** Conflict-resolution attempts the agent gets per cycle (SPEC §7). */
export const MAX_CONFLICT_TRIES = 3

export const decideConfigOf = (ctx: SwarmContext, spec: WorkerSpec): DecideConfig => ({
  canPlan: spec.canPlan,
  maxCycle: spec.maxCycle,
  maxResumes: spec.maxResumes,
  maxWorkingResumes: spec.maxWorkingResumes,
  maxReviewRounds: ctx.config.maxReviewRounds,
  maxConsecutiveErrors: ctx.config.maxConsecutiveErrors,
  maxConflictTries: MAX_CONFLICT_TRIES
})
