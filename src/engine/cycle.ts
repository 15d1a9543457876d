import { Cause, Clock, Duration, Effect, Exit, Option, Ref } from "effect"
import { make as runEvent } from "../domain/RunEvent.js"
import type { WorkerSpec } from "../config/OompaConfig.js"
import { formatModel } from "../domain/Model.js"
import { describeClaimResult } from "../domain/queue.js"
import type { TaskAttempt } from "../domain/Task.js"
import { formatQueueStatus } from "../domain/queueStatus.js"
import {
  decide,
  type CycleOutcome,
  type Decision,
  type WorkerAction,
  type WorkerEvent,
  type WorkerState
} from "../domain/WorkerState.js"
import { Git } from "../services/Git.js"
import { keepWork as keepWorkOf } from "./keepWork.js"
import { deleteBranch } from "./merge.js"
import { faultPoint } from "../services/faultPoint.js"
import { nowIso } from "../services/RunLog.js"
import { branchOf, cycleName, keptRefOf, ownerOf, worktreePathOf } from "../domain/naming.js"
import { decideConfigOf, type SwarmContext } from "./context.js"
import { carryKeptWork } from "./carry.js"
import { deliverWork } from "./deliver.js"
import { makeProgress, type CycleProgress } from "./progress.js"
import { initialPrompt, resumeBody, resumePrompt, type PromptContext } from "./prompts.js"
import { runWorkerTurn } from "./turn.js"
import { budgetStamp, describeBudget } from "./budget.js"
import { prepareWorktree, type WorkerWorktree } from "./worktreeSetup.js"

/**
 * How a cycle ended, for the worker loop. Its numbers (turns, tokens, cost) are
 * not here: they are in the cycle record, which every summary is computed from
 * (src/runs/summaries.ts), also for a cycle whose ending only its release recorded.
 */
export interface CycleResult {
  readonly next: WorkerState
  readonly end: Extract<WorkerAction, { _tag: "EndCycle" }>
}

/**
 * One cycle (SPEC §5): a fresh worktree from the target tip, agent turns driven
 * by `decide`, delivery, and the ending. The worktree is a scoped resource:
 * whatever ends the cycle — an outcome, a failure, a defect, an interruption —
 * its release keeps unmerged work under `refs/oompa/kept/…`, puts claims back,
 * records the cycle and removes the worktree.
 */
export const runCycle = (ctx: SwarmContext, spec: WorkerSpec, start: WorkerState, worktree?: WorkerWorktree) =>
  Effect.scoped(
    Effect.gen(function* () {
      const git = yield* Git
      const cycle = start.cycle
      const path = worktreePathOf(ctx.root, ctx.swarm, spec.id, cycle)
      const branch = branchOf(ctx.swarm, spec.id, cycle)
      const base = yield* git.revParse(ctx.root, `refs/heads/${ctx.targetBranch}`)
      const progress = yield* makeProgress(yield* nowIso, yield* Clock.currentTimeMillis, base)

      yield* Effect.acquireRelease(
        git.addWorktree(ctx.root, path, branch, base),
        (_, exit) => releaseWorktree(ctx, spec, { cycle, path, branch, progress, exit })
      )
      yield* ctx.runLog.emit(runEvent.cycleStarted({ worker: spec.id, cycle }, { branch, worktree: path, base }))
      const config = decideConfigOf(ctx, spec)
      // worktree.env reaches every process run in this worktree: setup, the agent's turns, test_command.
      const env = worktree?.env
      if (worktree !== undefined) {
        const setup = yield* prepareWorktree(ctx, spec, worktree, { cycle, path })
        if (setup._tag === "Failed") {
          // An error cycle like a failed turn: counted, backed off, its claims (none yet) put back.
          const { next, action } = decide(config, start, { _tag: "TurnFailed", reason: setup.detail, session: undefined })
          const end =
            action._tag === "EndCycle"
              ? action
              : ({ _tag: "EndCycle", outcome: "error", detail: setup.detail, backoff: Duration.zero, stop: undefined } as const)
          yield* Effect.uninterruptible(finishCycle(ctx, spec, { cycle, path, branch, progress }, end.outcome, end.detail))
          return { next, end } satisfies CycleResult
        }
      }

      const promptContext = (queueStatus: string): PromptContext => ({
        swarm: ctx.swarm,
        worker: spec.id,
        tasksRoot: ctx.queue.root,
        targetBranch: ctx.targetBranch,
        queueStatus
      })
      // Each worker is offered the tasks starting at its own place in the swarm (no claim herding).
      const workerIndex = Math.max(0, ctx.config.workers.findIndex((w) => w.id === spec.id))
      // Every prompt offers tasks to claim: quarantine first (SPEC §3), so a file an agent wrote
      // invalid is moved, and recorded as a task-invalid event, before the next agent reads the status.
      const queueStatus = ctx.queue.quarantineInvalid.pipe(
        Effect.zipRight(ctx.queue.list),
        Effect.map((listing) => formatQueueStatus(listing, undefined, workerIndex))
      )
      let state = start
      // The last turn's prompt and kind: a turn cut short by a rate limit runs again with them.
      let last = { prompt: initialPrompt(promptContext(yield* queueStatus), ctx.taskHeader, spec.prompt.text), kind: "start" }
      let event: WorkerEvent = yield* runWorkerTurn(ctx, spec, {
        cycle,
        turn: 1,
        kind: last.kind,
        prompt: last.prompt,
        session: undefined,
        cwd: path,
        env,
        progress
      })
      let claimReport = ""
      for (;;) {
        const decision: Decision = decide(config, state, event)
        state = decision.next
        const action = decision.action
        switch (action._tag) {
          case "Resume": {
            const body = resumeBody(action.prompt, {
              claimReport,
              silentTurns: state.silentTurns,
              round: state.reviewRounds,
              maxRounds: ctx.config.maxReviewRounds
            })
            last = {
              prompt: resumePrompt(promptContext(yield* queueStatus), body),
              kind:
                action.prompt._tag === "Feedback"
                  ? `${action.prompt.kind}-feedback`
                  : action.prompt._tag === "Stalled"
                    ? "stall-nudge"
                    : action.prompt._tag.toLowerCase()
            }
            event = yield* runWorkerTurn(ctx, spec, { cycle, turn: state.turn + 1, ...last, session: state.session, cwd: path, env, progress })
            break
          }
          case "Retry": {
            // The governor holds the turn until its provider's limit lifts (src/engine/governor.ts).
            event = yield* runWorkerTurn(ctx, spec, { cycle, turn: state.turn + 1, ...last, session: state.session, cwd: path, env, progress })
            break
          }
          case "Claim": {
            // Claim and record together, uninterruptibly: a claim the release does not know of
            // would stay in current/ for ever.
            const results = yield* ctx.queue.claim(action.ids, ownerOf(ctx.swarm, spec.id)).pipe(
              Effect.tap((results) => {
                const ids = results.flatMap((r) => (r._tag === "Claimed" ? [r.id] : []))
                return Ref.update(progress, (p) => ({ ...p, claims: [...p.claims, ...ids.filter((id) => !p.claims.includes(id))] }))
              }),
              Effect.uninterruptible
            )
            const claimed = results.flatMap((r) => (r._tag === "Claimed" ? [r.id] : []))
            // Each task's budget counts from here, charged what the cycle has spent so far (docs/budgets.md).
            yield* ctx.budgets.claimed(spec.id, results.flatMap((r) => (r._tag === "Claimed" ? [{ id: r.id, task: r.task }] : [])))
            yield* ctx.runLog.emit(
              runEvent.claim({ worker: spec.id, cycle }, { results: results.map((r) => ({ id: r.id, result: r._tag })) })
            )
            // Tasks tried before: their kept work is merged into this worktree (SPEC §8).
            const carried = yield* carryKeptWork(ctx, spec, { cycle, path }, results)
            claimReport = results.map((r) => `- ${describeClaimResult(r, carried.get(r.id))}`).join("\n")
            event = { _tag: "Claimed", claimed }
            break
          }
          case "Deliver": {
            event = yield* deliverWork(ctx, spec, {
              cycle,
              cwd: path,
              env,
              skipReview: action.skipReview,
              progress,
              promptContext: promptContext("")
            })
            break
          }
          case "EndCycle": {
            // Uninterruptible: a Ctrl-C now must not leave the ending half recorded.
            yield* Effect.uninterruptible(finishCycle(ctx, spec, { cycle, path, branch, progress }, action.outcome, action.detail))
            return { next: state, end: action } satisfies CycleResult
          }
        }
      }
    })
  )

interface CycleHandle {
  readonly cycle: number
  readonly path: string
  readonly branch: string
  readonly progress: Ref.Ref<CycleProgress>
}

/**
 * Records how the cycle ended, once: completes claims of merged work, puts the
 * others back in pending, keeps unmerged work under a ref, writes the cycle file.
 * Failures here are logged, never raised: the ending must always be recorded.
 */
const finishCycle = (ctx: SwarmContext, spec: WorkerSpec, handle: CycleHandle, outcome: CycleOutcome, detail: string) =>
  Effect.gen(function* () {
    const git = yield* Git
    const before = yield* Ref.get(handle.progress)
    if (Option.isSome(before.finished)) return
    yield* Ref.update(handle.progress, (p) => ({ ...p, finished: Option.some(outcome) }))
    const warn = (what: string) => (error: { readonly message: string }) =>
      ctx.runLog.emit(runEvent.warning(`${what}: ${error.message}`, { worker: spec.id, cycle: handle.cycle }))

    let keptRef: string | undefined
    if (outcome === "merged" && Option.isSome(before.mergedCommit)) {
      if (before.claims.length > 0) {
        yield* ctx.queue
          .complete(before.claims, {
            by: ownerOf(ctx.swarm, spec.id),
            mergedCommit: before.mergedCommit.value,
            reviewRounds: before.reviewRounds
          })
          .pipe(Effect.catchAll(warn("could not move claims to complete")))
        yield* faultPoint("after-complete")
      }
    } else {
      keptRef = yield* keepWork(ctx, spec, handle, outcome).pipe(
        Effect.catchAll((error) => warn("could not keep the work")(error).pipe(Effect.as(undefined)))
      )
      if (before.claims.length > 0) {
        // The tasks carry this attempt, so the next cycle that claims them starts from the kept work.
        const keptCommit =
          keptRef === undefined ? undefined : yield* git.revParse(ctx.root, keptRef).pipe(Effect.orElseSucceed(() => undefined))
        const attempt: TaskAttempt = {
          worker: spec.id,
          swarm: ctx.swarm,
          cycle: cycleName(spec.id, handle.cycle),
          outcome,
          reason: detail,
          ...(keptRef !== undefined ? { kept_ref: keptRef } : {}),
          ...(keptCommit !== undefined ? { kept_commit: keptCommit } : {}),
          ended_at: yield* nowIso
        }
        // A task whose budget was reached goes back stamped: no cycle claims it again until a person looks (docs/budgets.md).
        const overBudget: Array<{ id: string; stamp: ReturnType<typeof budgetStamp> }> = []
        for (const id of before.claims) {
          const reached = yield* ctx.budgets.taskReached(id)
          if (Option.isSome(reached)) overBudget.push({ id, stamp: budgetStamp(reached.value, ctx.swarm, attempt.ended_at) })
        }
        const rest = before.claims.filter((id) => !overBudget.some((o) => o.id === id))
        if (rest.length > 0) yield* ctx.queue.recycle(rest, attempt).pipe(Effect.catchAll(warn("could not put claims back")))
        for (const { id, stamp } of overBudget) {
          yield* ctx.queue.recycle([id], attempt, { budget_reached: stamp }).pipe(Effect.catchAll(warn("could not put claims back")))
        }
      }
    }
    // A claim the cycle never recorded (its claim call failed half-way) still carries
    // this worker's stamp: put it back too, so no task is left in current/.
    const owner = ownerOf(ctx.swarm, spec.id)
    // A file written invalid in the cycle's last turn is quarantined by the run that saw it written.
    yield* ctx.queue.quarantineInvalid.pipe(Effect.catchAll(warn("could not quarantine invalid task files")))
    const strays = yield* ctx.queue.list.pipe(
      Effect.map((listing) =>
        listing.current.filter((entry) => entry.task.claimed_by === owner && !before.claims.includes(entry.id)).map((entry) => entry.id)
      ),
      Effect.orElseSucceed((): ReadonlyArray<string> => [])
    )
    if (strays.length > 0) {
      yield* ctx.queue.recycle(strays).pipe(Effect.catchAll(warn("could not put claims back")))
    }
    const endedAt = yield* nowIso
    const endedMs = yield* Clock.currentTimeMillis
    const p = yield* Ref.get(handle.progress)
    yield* ctx.runLog.writeCycle({
      swarm: ctx.swarm,
      worker: spec.id,
      cycle: handle.cycle,
      model: formatModel(spec.model),
      outcome,
      detail,
      branch: handle.branch,
      claims: p.claims,
      turns: p.turns,
      signals: p.signals,
      reviewRounds: p.reviewRounds,
      ...(Option.isSome(p.mergedCommit) && outcome === "merged" ? { mergedCommit: p.mergedCommit.value } : {}),
      ...(keptRef !== undefined ? { keptRef } : {}),
      startedAt: p.startedAt,
      endedAt,
      durationMs: endedMs - p.startedMs,
      usage: p.usage,
      ...(Option.isSome(p.costUsd) ? { costUsd: p.costUsd.value } : {}),
      ...(p.costEstimated ? { costEstimated: true } : {})
    })
    yield* ctx.runLog.emit(
      runEvent.cycleEnded(
        { worker: spec.id, cycle: handle.cycle },
        { outcome, detail, claims: p.claims, ...(keptRef !== undefined ? { keptRef } : {}) }
      )
    )
  })

/**
 * SPEC §8: commit whatever the agent left (aborting a half-done merge first)
 * and point `refs/oompa/kept/<swarm>/<worker>-c<N>` at it. Returns the ref, or
 * undefined when the branch holds nothing beyond the cycle's base.
 */
const keepWork = (ctx: SwarmContext, spec: WorkerSpec, handle: CycleHandle, outcome: CycleOutcome) =>
  Effect.gen(function* () {
    const progress = yield* Ref.get(handle.progress)
    const kept = yield* keepWorkOf({
      root: ctx.root,
      cycle: { swarm: ctx.swarm, worker: spec.id, cycle: handle.cycle },
      worktree: handle.path,
      why: outcome,
      reflogMessage: `oompa: ${outcome}`,
      nothingNew: (tip) => Effect.succeed(tip === progress.base)
    })
    if (Option.isNone(kept)) return undefined
    const { ref, commit: tip } = kept.value
    yield* ctx.runLog.emit(runEvent.workKept({ worker: spec.id, cycle: handle.cycle }, { ref, commit: tip }))
    return ref
  })

/** The worktree's release: record an unrecorded ending, then remove the worktree and its branch. */
const releaseWorktree = (
  ctx: SwarmContext,
  spec: WorkerSpec,
  handle: CycleHandle & { readonly exit: Exit.Exit<unknown, unknown> }
) =>
  Effect.gen(function* () {
    const git = yield* Git
    const progress = yield* Ref.get(handle.progress)
    if (Exit.isFailure(handle.exit)) {
      const interrupted = Exit.isInterrupted(handle.exit)
      // Ended by a budget (the swarm's, the worker's, a task's): the record says which (docs/budgets.md).
      const budget = interrupted ? yield* ctx.budgets.stopOf(spec.id, progress.claims) : Option.none()
      const why = Option.isSome(budget)
        ? describeBudget(budget.value)
        : interrupted
          ? "the swarm was stopped"
          : `the cycle failed: ${failureText(handle.exit)}`
      // Stopped after the target moved: the work is merged, so its claims complete.
      const merged = Option.isSome((yield* Ref.get(handle.progress)).mergedCommit)
      yield* finishCycle(
        ctx,
        spec,
        handle,
        merged ? "merged" : interrupted ? "interrupted" : "error",
        merged ? `merged; then ${why}` : why
      )
    }
    const after = yield* Ref.get(handle.progress)
    yield* ctx.budgets.cycleEnded(spec.id, Option.isSome(after.mergedCommit) ? after.claims : [])
    yield* git.removeWorktree(ctx.root, handle.path).pipe(
      Effect.catchAll((error) =>
        ctx.runLog.emit(runEvent.warning(`could not remove worktree ${handle.path}: ${error.message}`, { worker: spec.id, cycle: handle.cycle }))
      )
    )
    // The branch goes only where its tip is safe elsewhere: under its kept ref, or
    // in the target (merged, or nothing new on it). deleteBranch re-checks the
    // ancestry and refuses otherwise, so a branch whose work could not be kept stays.
    const keptRef = keptRefOf(ctx.swarm, spec.id, handle.cycle)
    const branchRef = `refs/heads/${handle.branch}`
    // The branch, its kept ref and the target in one git call, which deleteBranch verifies against.
    const refs = yield* git.resolveRefs(ctx.root, [branchRef, keptRef, `refs/heads/${ctx.targetBranch}`]).pipe(
      Effect.orElseSucceed((): ReadonlyMap<string, string> => new Map())
    )
    if (!refs.has(branchRef)) return
    const kept = refs.has(keptRef)
    yield* deleteBranch(ctx.root, handle.branch, { verifiedMergedInto: kept ? keptRef : ctx.targetBranch, tips: refs }).pipe(
      Effect.catchAll((error) =>
        ctx.runLog.emit(runEvent.warning(`kept branch ${handle.branch}: ${error.message}`, { worker: spec.id, cycle: handle.cycle }))
      )
    )
  })

/** The message of a typed failure (every oompa error has one), or the value as text. */
export const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)

/** What ended a failed cycle: the typed error's message, or the whole cause for a defect. */
export const failureText = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return ""
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) ? messageOf(failure.value) : Cause.pretty(exit.cause)
}
