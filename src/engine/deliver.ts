import { Clock, Duration, Effect, Option, Ref } from "effect"
import { firstLine, make as runEvent, secondsOf } from "../domain/RunEvent.js"
import type { WorkerSpec } from "../config/OompaConfig.js"
import { testMarker } from "../domain/turnMarker.js"
import type { WorkerEvent } from "../domain/WorkerState.js"
import { Git } from "../services/Git.js"
import { MergeLock } from "../services/MergeLock.js"
import { advanceBranch } from "./merge.js"
import * as Train from "./train.js"
import { faultPoint } from "../services/faultPoint.js"
import { fileTail } from "../services/fileTail.js"
import { ProcessRunner } from "../services/ProcessRunner.js"
import { cycleName } from "../domain/naming.js"
import type { SwarmContext } from "./context.js"
import type { CycleProgress } from "./progress.js"
import type { PromptContext } from "./prompts.js"
import { reviewWork } from "./review.js"

/** How long `test_command` may run before it counts as failed. */
const TEST_COMMAND_TIMEOUT = Duration.minutes(30)
/** The tail of the test output given back to the agent. */
const TEST_OUTPUT_TAIL = 8_000

interface DeliverOptions {
  readonly cycle: number
  readonly cwd: string
  /** worktree.env (docs/worktree-setup.md): test_command runs with it. */
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly skipReview: boolean
  readonly progress: Ref.Ref<CycleProgress>
  readonly promptContext: PromptContext
}

/**
 * The MERGE signal's pipeline (SPEC §6–§7): finish any merge the agent was
 * resolving, commit everything, then review — or, once approved, merge.
 */
export const deliverWork = Effect.fn("engine.deliverWork")(function* (
  ctx: SwarmContext,
  spec: WorkerSpec,
  options: DeliverOptions
) {
  const git = yield* Git
  // One `git status` says both whether a merge is left unresolved and whether there is anything to commit.
  const status = yield* git.worktreeStatus(options.cwd)
  const unresolved = status.unmerged
  if (unresolved.length > 0) {
    return {
      _tag: "Feedback",
      kind: "conflict",
      text: `The merge of ${ctx.targetBranch} into your branch is still unresolved in:\n${unresolved.map((f) => `- ${f}`).join("\n")}`
    } satisfies WorkerEvent
  }
  const progress = yield* Ref.get(options.progress)
  const committed = status.clean
    ? Option.none<string>()
    : yield* git.commitAll(
        options.cwd,
        `${spec.id}: ${progress.claims.length > 0 ? progress.claims.join(", ") : "work"} (oompa ${ctx.swarm} ${cycleName(spec.id, options.cycle)})`
      )
  if (Option.isSome(committed)) {
    yield* ctx.runLog.emit(runEvent.merge({ worker: spec.id, cycle: options.cycle }, { step: "committed", commit: committed.value }))
  }
  // The files the work changes since its merge base with the target (a three-dot diff finds
  // that base itself): none means no work; the review's diff reuses them.
  const files = yield* git.changedFiles(options.cwd, ctx.targetBranch, "HEAD")
  if (files.length === 0) return { _tag: "NoChanges" } satisfies WorkerEvent
  if (!options.skipReview) return yield* reviewWork(ctx, spec, { ...options, files })
  return yield* mergeWork(ctx, spec, options)
})

/** The longest pause between attempts to land work that the user's checkout blocks (SPEC §7). */
export const MERGE_WAIT_INTERVAL = Duration.seconds(30)

/**
 * The pause before the n-th (1-based) retry of a blocked landing: 1 s, 2 s, 4 s, …
 * up to 30 s (a lock git held for a moment clears fast; a user's edit takes a while),
 * and never more than a quarter of `merge_wait`, so a short wait still gets tries.
 */
export const blockedRetryDelay = (mergeWait: Duration.Duration, attempt: number): Duration.Duration =>
  Duration.min(
    Duration.min(Duration.times(Duration.seconds(1), 2 ** Math.max(0, Math.min(attempt - 1, 5))), MERGE_WAIT_INTERVAL),
    Duration.times(mergeWait, 0.25)
  )

/** What one attempt to land under the merge lock found. */
type Landing =
  | { readonly _tag: "Landed"; readonly commit: string }
  /** The target is no longer contained in the work: someone moved it. */
  | { readonly _tag: "Moved"; readonly tip: string }
  /** The user's checkout refuses the fast forward; nothing was touched. */
  | { readonly _tag: "Blocked"; readonly worktree: string; readonly reason: string; readonly files: ReadonlyArray<string> }
  | { readonly _tag: "Failed"; readonly reason: string }
  /** A re-merge under the lock ended the delivery (a conflict for the agent, or the retries used up). */
  | { readonly _tag: "Done"; readonly event: WorkerEvent }

/**
 * Merges approved work (SPEC §7). Outside the merge lock, the target is merged
 * into the worker's branch inside its worktree (conflicts go back to the agent),
 * the result is checked for conflict markers and `test_command` runs on it.
 * Under the lock oompa only fast-forwards the target, verified by ancestry, so
 * one worker's tests never hold up another's merge. With a `test_command` the
 * workers of this process ready to land form a merge train (src/engine/train.ts):
 * each merges and tests the candidate of the one ahead of it, in parallel, and
 * lands after it. When the target moved in between for any other reason (the
 * user, a bot, another swarm) the new tip is merged in again, checked and tested
 * again, up to `max_merge_retries` times (without a `test_command` the re-merge
 * is quick and happens while the lock is held, so workers do not keep
 * overtaking one another). When the
 * user's checkout has local changes the fast forward would overwrite, their
 * files are never touched: the work is held, an attention event names the
 * files, and landing is retried (lock released meanwhile) for up to
 * `merge_wait`. The user's checkout is never left mid-merge: only the worker's
 * worktree ever holds a merge in progress.
 */
const mergeWork = (ctx: SwarmContext, spec: WorkerSpec, options: DeliverOptions) =>
  Effect.gen(function* () {
    const lock = yield* MergeLock
    const git = yield* Git
    const target = ctx.targetBranch
    const fields = { worker: spec.id, cycle: options.cycle }
    const maxRetries = ctx.config.maxMergeRetries
    const mergeWaitMs = Duration.toMillis(ctx.config.mergeWait)
    let retries = 0
    let testRuns = 0
    const nextTestRun = Effect.sync(() => ++testRuns)
    /** The worktree HEAD that last passed the checks and tests: unchanged, it needs no second run. */
    let checked: string | undefined
    /** Since when a blocked checkout has held the work back, and how often in a row for the same reason. */
    let held: { readonly since: number; readonly attempts: number; readonly what: string } | undefined
    const train = ctx.config.testCommand !== undefined ? new TrainRide(ctx, spec, options, yield* git.revParse(options.cwd, "HEAD")) : undefined
    /** A train merge conflicted: the next preparation merges the plain target, as without a train. */
    let plainNext = false
    /** The landing was blocked: try the same tested head again (a train's candidate stays valid). */
    let again: string | undefined

    /** The target moved under a landing: one retry more, or the cycle's end when they are used up. */
    const moved = (tip: string) =>
      Effect.gen(function* () {
        retries += 1
        if (retries > maxRetries) {
          return {
            _tag: "MergeFailed",
            reason: `${target} kept moving: it moved to ${tip.slice(0, 12)} before the work could land, ${retries} time${retries === 1 ? "" : "s"} (max_merge_retries ${maxRetries})`
          } satisfies WorkerEvent
        }
        yield* ctx.runLog.emit(runEvent.merge(fields, { step: "retry", target, retry: retries, maxRetries, targetTip: tip }))
        return undefined
      })

    const deliver = Effect.gen(function* () {
      for (;;) {
        let ready: string
        if (again !== undefined && train !== undefined) {
          ready = again
        } else if (train !== undefined && !plainNext) {
          const ride = yield* train.prepare(nextTestRun)
          if (ride._tag === "Feedback") return ride
          if (ride._tag === "Void") continue
          if (ride._tag === "Conflicted") {
            // The work conflicts with work still in the train: once that has landed (or not),
            // the target is merged as without a train, so a conflict the agent sees is with landed work.
            plainNext = true
            yield* train.awaitAhead
            continue
          }
          ready = ride.head
        } else {
          plainNext = false
          const prepared = yield* prepareLanding(ctx, spec, options, checked, nextTestRun)
          if (prepared._tag === "Feedback") return prepared
          checked = ready = prepared.head
        }
        again = undefined
        const prepared = { head: ready }
        const landing: Landing = yield* lock.withLock(
          ctx.root,
          Effect.gen(function* () {
            let head = prepared.head
            for (;;) {
              const landing = yield* land(ctx, options, head)
              // With tests to run, a re-merge goes back outside the lock. Without, it is quick, so
              // the worker re-merges while it holds the lock: racing the other workers' landings
              // again would cost a retry per worker that landed meanwhile.
              if (landing._tag !== "Moved" || ctx.config.testCommand !== undefined) return landing
              const failed = yield* moved(landing.tip)
              if (failed !== undefined) return { _tag: "Done", event: failed } satisfies Landing
              const again = yield* prepareLanding(ctx, spec, options, checked, nextTestRun)
              if (again._tag === "Feedback") return { _tag: "Done", event: again } satisfies Landing
              checked = head = again.head
            }
          })
        )
        switch (landing._tag) {
          case "Done":
            return landing.event
          case "Landed": {
            if (train !== undefined) yield* train.landed
            const heldFor = held !== undefined ? { held: { ms: (yield* Clock.currentTimeMillis) - held.since, what: held.what } } : {}
            yield* ctx.runLog.emit(runEvent.merge(fields, { step: "merged", target, commit: landing.commit, retries, ...heldFor }))
            return { _tag: "Merged", commit: landing.commit } satisfies WorkerEvent
          }
          case "Moved": {
            // Moved by something outside the train: whoever built on this candidate builds again.
            if (train !== undefined) yield* train.leave
            const failed = yield* moved(landing.tip)
            if (failed !== undefined) return failed
            continue
          }
          case "Blocked": {
            const now = yield* Clock.currentTimeMillis
            const what =
              landing.files.length > 0
                ? `local changes to ${landing.files.join(", ")} in ${landing.worktree}`
                : `${landing.worktree} (${firstLine(landing.reason)})`
            const attempts = held?.what === what ? held.attempts + 1 : 1
            held = { since: held?.since ?? now, attempts, what }
            const waited = now - held.since
            // Files in the way are the user's to sort out: say so at once. Anything else (git's
            // index lock held for a moment, a rebase) is announced only if a retry meets it again.
            if (landing.files.length > 0 ? attempts === 1 : attempts === 2 || (attempts === 1 && waited >= mergeWaitMs)) {
              yield* ctx.runLog.emit(
                runEvent.attention(fields, {
                  target,
                  worktree: landing.worktree,
                  files: landing.files,
                  reason: landing.reason,
                  mergeWaitSeconds: mergeWaitMs / 1000
                })
              )
            }
            if (waited >= mergeWaitMs) {
              return {
                _tag: "MergeFailed",
                reason: `cannot move ${target}: still blocked after ${secondsOf(waited)} (merge_wait) by ${what}`
              } satisfies WorkerEvent
            }
            // The lock is released while waiting, so other workers' merges can go ahead.
            yield* Effect.sleep(Duration.min(blockedRetryDelay(ctx.config.mergeWait, attempts), Duration.millis(mergeWaitMs - waited)))
            // In the train the tested candidate is tried again (those behind it build on it); a target
            // that moved meanwhile shows as Moved. Without a train the target is merged in again.
            again = prepared.head
            continue
          }
          case "Failed":
            return { _tag: "MergeFailed", reason: landing.reason } satisfies WorkerEvent
        }
      }
    })
    // Whatever ends the delivery (feedback, failure, interruption), it leaves the train and the
    // worktree holds no one else's unlanded work: the agent, the review and the kept ref see only its own.
    return yield* train === undefined ? deliver : deliver.pipe(Effect.ensuring(train.finish))
  })

/** What one preparation in the merge train came to. */
type Ride =
  | { readonly _tag: "Ready"; readonly head: string }
  | Extract<WorkerEvent, { _tag: "Feedback" }>
  /** A candidate built on dropped work: the worktree is back at the worker's own work, to join again. */
  | { readonly _tag: "Void" }
  /** Merging the candidate ahead conflicted: the worktree is back at the worker's own work. */
  | { readonly _tag: "Conflicted" }

/**
 * One worker's delivery in the merge train: its entry (while it has one) and
 * the worktree state. `ownHead` is the worker's work before any train merge:
 * the worktree goes back to it whenever a candidate is given up, so someone
 * else's unlanded work never reaches the agent, its review or its kept ref.
 */
class TrainRide {
  private entry: Train.TrainEntry | undefined
  /** The worktree holds (or may hold: a merge under way) a candidate with unlanded work of others. */
  private holding = false
  constructor(
    private readonly ctx: SwarmContext,
    private readonly spec: WorkerSpec,
    private readonly options: DeliverOptions,
    private readonly ownHead: string
  ) {}

  /** Marks (in the worktree's git dir too, for recovery after a crash) whether the worktree holds a candidate. */
  private hold(holding: boolean) {
    return Effect.suspend(() => {
      this.holding = holding
      return holding ? Train.markHolding(this.options.cwd, this.ownHead) : Train.clearHolding(this.options.cwd)
    })
  }

  /** Back to the worker's own work, the merge of a candidate undone. */
  private get reset() {
    return Effect.gen(this, function* () {
      const git = yield* Git
      yield* git.run(this.options.cwd, ["reset", "-q", "--hard", this.ownHead])
      yield* this.hold(false)
    })
  }

  /** Leaves the train without landing: everything built on this candidate is void. */
  get leave() {
    return Effect.gen(this, function* () {
      if (this.entry !== undefined) yield* Train.drop(this.ctx.train, this.entry)
      this.entry = undefined
    })
  }

  get landed() {
    return Effect.gen(this, function* () {
      if (this.entry !== undefined) yield* Train.landed(this.ctx.train, this.entry)
      this.entry = undefined
    })
  }

  get awaitAhead() {
    return Train.awaitAhead(this.ctx.train)
  }

  /** The delivery's end: out of the train (landed if the target has the work), back to its own work. */
  get finish() {
    return Effect.gen(this, function* () {
      const merged = Option.isSome((yield* Ref.get(this.options.progress)).mergedCommit)
      yield* merged ? this.landed : this.leave
      if (this.holding) {
        yield* this.reset.pipe(
          Effect.catchAll((error) =>
            this.ctx.runLog.emit(
              runEvent.warning(`could not reset the worktree to its own work ${this.ownHead.slice(0, 12)}: ${error.message}`, {
                worker: this.spec.id,
                cycle: this.options.cycle
              })
            )
          )
        )
      }
    }).pipe(Effect.uninterruptible)
  }

  /**
   * Joins the train at its end, merges the candidate ahead (or the target when
   * nobody is ahead), checks and tests it, and waits for its turn: every entry
   * ahead landed. Feedback for the agent only when the fault is the worker's own.
   */
  prepare(nextTestRun: Effect.Effect<number>) {
    return Effect.gen(this, function* () {
      const git = yield* Git
      const { ctx, spec, options } = this
      const fields = { worker: spec.id, cycle: options.cycle }
      if ((yield* git.revParse(options.cwd, "HEAD")) !== this.ownHead) yield* this.reset
      const entry = yield* Train.join(ctx.train, spec.id)
      this.entry = entry
      const base = yield* Train.baseOf(ctx.train, entry)
      const onto = base._tag === "Candidate" ? base.commit : ctx.targetBranch
      yield* this.hold(base._tag === "Candidate")
      const merged = yield* git.mergeInto(options.cwd, onto)
      if (merged._tag === "Conflict") {
        yield* this.leave
        if (base._tag === "Candidate") {
          yield* this.reset
          return { _tag: "Conflicted" } as const
        }
        yield* ctx.runLog.emit(runEvent.merge(fields, { step: "conflict", target: ctx.targetBranch, conflict: merged.paths }))
        return conflictFeedback(ctx.targetBranch, merged.paths)
      }
      const head = yield* git.revParse(options.cwd, "HEAD")
      // Markers in what the worker brings to the candidate, not in what the entries ahead brought.
      // onto...HEAD: the three-dot range starts at their merge base.
      const markers = yield* git.conflictMarkers(options.cwd, onto, "HEAD")
      if (markers.length > 0) {
        yield* this.leave
        if (this.holding) yield* this.reset
        return markersFeedback(markers)
      }
      // Those behind may build on this candidate while it is tested.
      yield* Train.published(entry, head)
      const failure = yield* runTestCommand(ctx, spec, options, ctx.config.testCommand!, yield* nextTestRun)
      if (Option.isSome(failure)) {
        yield* this.leave
        // Failed on top of work still in the train: the failure counts once all of that has landed.
        if ((yield* Train.awaitIncluded(entry)) === "void") {
          yield* this.reset
          return { _tag: "Void" } as const
        }
        yield* this.hold(false)
        yield* ctx.runLog.emit(runEvent.merge(fields, { step: "tests-failed" }))
        return { _tag: "Feedback", kind: "tests", text: failure.value } satisfies WorkerEvent
      }
      if ((yield* Train.awaitTurn(entry)) === "void") {
        this.entry = undefined
        yield* this.reset
        return { _tag: "Void" } as const
      }
      // Everything ahead has landed: the candidate holds only landed work and the worker's own.
      yield* this.hold(false)
      return { _tag: "Ready", head } as const
    }).pipe(Effect.map((ride): Ride => ride))
  }
}

const conflictFeedback = (target: string, paths: ReadonlyArray<string>) =>
  ({
    _tag: "Feedback",
    kind: "conflict",
    text:
      `Merging the latest ${target} into your branch conflicted in:\n` +
      paths.map((f) => `- ${f}`).join("\n") +
      "\nThe merge is in progress in your worktree."
  }) satisfies WorkerEvent

const markersFeedback = (markers: ReadonlyArray<string>) =>
  ({
    _tag: "Feedback",
    kind: "conflict",
    text: `These files still contain conflict markers:\n${markers.map((f) => `- ${f}`).join("\n")}`
  }) satisfies WorkerEvent

/**
 * Outside the lock: merge the target's tip into the worktree, check that no
 * conflict markers remain and run `test_command`, unless HEAD is the one that
 * already passed (`checked`). Feedback for the agent, or the HEAD to land.
 */
const prepareLanding = (
  ctx: SwarmContext,
  spec: WorkerSpec,
  options: DeliverOptions,
  checked: string | undefined,
  nextTestRun: Effect.Effect<number>
) =>
  Effect.gen(function* () {
    const git = yield* Git
    const merged = yield* git.mergeInto(options.cwd, ctx.targetBranch)
    if (merged._tag === "Conflict") {
      yield* ctx.runLog.emit(
        runEvent.merge({ worker: spec.id, cycle: options.cycle }, { step: "conflict", target: ctx.targetBranch, conflict: merged.paths })
      )
      return conflictFeedback(ctx.targetBranch, merged.paths)
    }
    const head = yield* git.revParse(options.cwd, "HEAD")
    if (head === checked) return { _tag: "Ready", head } as const
    // target...HEAD: the three-dot range starts at their merge base.
    const markers = yield* git.conflictMarkers(options.cwd, ctx.targetBranch, "HEAD")
    if (markers.length > 0) {
      return markersFeedback(markers)
    }
    if (ctx.config.testCommand !== undefined) {
      const failure = yield* runTestCommand(ctx, spec, options, ctx.config.testCommand, yield* nextTestRun)
      if (Option.isSome(failure)) {
        yield* ctx.runLog.emit(runEvent.merge({ worker: spec.id, cycle: options.cycle }, { step: "tests-failed" }))
        return { _tag: "Feedback", kind: "tests", text: failure.value } satisfies WorkerEvent
      }
    }
    return { _tag: "Ready", head } as const
  })

/**
 * Under the lock: fast-forward the target to `head`, verified. Uninterruptible,
 * together with recording the merge: a Ctrl-C must neither kill git half-way
 * through updating the user's checkout nor lose the fact that the target moved.
 */
const land = (ctx: SwarmContext, options: DeliverOptions, head: string) =>
  Effect.gen(function* () {
    const advanced = yield* advanceBranch(ctx.root, ctx.targetBranch, head).pipe(
      Effect.tap(() => faultPoint("after-advance")),
      Effect.tap(() => Ref.update(options.progress, (p) => ({ ...p, mergedCommit: Option.some(head) }))),
      Effect.either,
      Effect.uninterruptible
    )
    if (advanced._tag === "Right") return { _tag: "Landed", commit: head } satisfies Landing
    const error = advanced.left
    switch (error._tag) {
      case "NotFastForward":
        return { _tag: "Moved", tip: error.currentTip } satisfies Landing
      case "FastForwardBlocked":
        return { _tag: "Blocked", worktree: error.worktree, reason: error.reason, files: error.files } satisfies Landing
      case "AdvanceNotVerified":
        return {
          _tag: "Failed",
          reason: `${error.target} is at ${error.actual.slice(0, 12)}, not ${error.expected.slice(0, 12)}`
        } satisfies Landing
      default:
        return { _tag: "Failed", reason: error.message } satisfies Landing
    }
  })

/** Runs `test_command` with /bin/sh in the worktree; Some(output tail) when it failed. */
const runTestCommand = (ctx: SwarmContext, spec: WorkerSpec, options: DeliverOptions, command: string, run: number) =>
  Effect.gen(function* () {
    const runner = yield* ProcessRunner
    const progress = yield* Ref.get(options.progress)
    // One log per review round; the runs after re-merges within it get their own (…-test1-2.log).
    const logPath = `${ctx.runLog.dir}/logs/${cycleName(spec.id, options.cycle)}-test${progress.reviewRounds}${run > 1 ? `-${run}` : ""}.log`
    const result = yield* runner
      .run({
        command: "/bin/sh",
        // stderr joins stdout so the agent sees both in order.
        args: ["-c", `exec 2>&1\n${command}`],
        cwd: options.cwd,
        env: options.env,
        stdoutPath: logPath,
        stderrPath: logPath.replace(/\.log$/, ".stderr.log"),
        timeout: TEST_COMMAND_TIMEOUT,
        marker: testMarker(ctx.swarm, spec.id, options.cycle, progress.reviewRounds)
      })
      .pipe(Effect.either)
    if (result._tag === "Left") return Option.some(`test_command could not start: ${result.left.message}`)
    if (result.right.exitCode === 0 && !result.right.timedOut) return Option.none()
    const tail = (yield* Effect.sync(() => fileTail(logPath, TEST_OUTPUT_TAIL))) || "(no output)"
    const status = result.right.timedOut ? "timed out" : `exited with ${result.right.exitCode ?? "a signal"}`
    return Option.some(`The test command \`${command}\` ${status}. The end of its output:\n\n\`\`\`\n${tail}\n\`\`\``)
  })
