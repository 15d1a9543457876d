import { Duration, Effect, Option, Ref } from "effect"
import type { WorkerSpec } from "../config/OompaConfig.js"
import { testMarker } from "../domain/turnMarker.js"
import type { WorkerEvent } from "../domain/WorkerState.js"
import { Git } from "../services/Git.js"
import { MergeLock } from "../services/MergeLock.js"
import { faultPoint } from "../services/faultPoint.js"
import { fileTail } from "../services/fileTail.js"
import { ProcessRunner } from "../services/ProcessRunner.js"
import { cycleName, type SwarmContext } from "./context.js"
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
  const unresolved = yield* git.unmergedPaths(options.cwd)
  if (unresolved.length > 0) {
    return {
      _tag: "Feedback",
      kind: "conflict",
      text: `The merge of ${ctx.targetBranch} into your branch is still unresolved in:\n${unresolved.map((f) => `- ${f}`).join("\n")}`
    } satisfies WorkerEvent
  }
  const progress = yield* Ref.get(options.progress)
  const committed = yield* git.commitAll(
    options.cwd,
    `${spec.id}: ${progress.claims.length > 0 ? progress.claims.join(", ") : "work"} (oompa ${ctx.swarm} ${cycleName(spec.id, options.cycle)})`
  )
  if (Option.isSome(committed)) {
    yield* ctx.runLog.emit("merge", `committed the worktree as ${committed.value.slice(0, 12)}`, {
      worker: spec.id,
      cycle: options.cycle
    })
  }
  const base = yield* git.mergeBase(options.cwd, ctx.targetBranch, "HEAD")
  // One `diff --quiet` (exit 1 = differences) is all it takes to know whether there is work.
  const changed = yield* git.run(options.cwd, ["diff", "--quiet", base, "HEAD", "--"], { okExitCodes: [0, 1] })
  if (changed.exitCode === 0) return { _tag: "NoChanges" } satisfies WorkerEvent
  if (!options.skipReview) return yield* reviewWork(ctx, spec, options)
  return yield* mergeWork(ctx, spec, options)
})

/**
 * Merges approved work, one merge at a time per repository: the target is
 * merged into the worker's branch inside its worktree (conflicts go back to the
 * agent), the result is checked and optionally tested, then the target branch
 * is fast-forwarded, verified by ancestry. The user's checkout is never left
 * mid-merge: only the worker's worktree ever holds a merge in progress.
 */
const mergeWork = (ctx: SwarmContext, spec: WorkerSpec, options: DeliverOptions) =>
  Effect.gen(function* () {
    const git = yield* Git
    const lock = yield* MergeLock
    return yield* lock.withLock(
      ctx.root,
      Effect.gen(function* () {
        const merged = yield* git.mergeInto(options.cwd, ctx.targetBranch)
        if (merged._tag === "Conflict") {
          yield* ctx.runLog.emit("merge", `merging ${ctx.targetBranch} conflicted in ${merged.paths.join(", ")}: back to the agent`, {
            worker: spec.id,
            cycle: options.cycle,
            data: { conflict: merged.paths }
          })
          return {
            _tag: "Feedback",
            kind: "conflict",
            text:
              `Merging the latest ${ctx.targetBranch} into your branch conflicted in:\n` +
              merged.paths.map((f) => `- ${f}`).join("\n") +
              "\nThe merge is in progress in your worktree."
          } satisfies WorkerEvent
        }
        const base = yield* git.mergeBase(options.cwd, ctx.targetBranch, "HEAD")
        const markers = yield* git.conflictMarkers(options.cwd, base, "HEAD")
        if (markers.length > 0) {
          return {
            _tag: "Feedback",
            kind: "conflict",
            text: `These files still contain conflict markers:\n${markers.map((f) => `- ${f}`).join("\n")}`
          } satisfies WorkerEvent
        }
        if (ctx.config.testCommand !== undefined) {
          const failure = yield* runTestCommand(ctx, spec, options, ctx.config.testCommand)
          if (Option.isSome(failure)) {
            yield* ctx.runLog.emit("merge", `test_command failed: back to the agent`, { worker: spec.id, cycle: options.cycle })
            return { _tag: "Feedback", kind: "tests", text: failure.value } satisfies WorkerEvent
          }
        }
        const head = yield* git.revParse(options.cwd, "HEAD")
        // Uninterruptible, together with recording the merge: a Ctrl-C must neither kill git
        // half-way through updating the user's checkout nor lose the fact that the target moved.
        const advanced = yield* git.advanceBranch(ctx.root, ctx.targetBranch, head).pipe(
          Effect.tap(() => faultPoint("after-advance")),
          Effect.tap(() => Ref.update(options.progress, (p) => ({ ...p, mergedCommit: Option.some(head) }))),
          Effect.either,
          Effect.uninterruptible
        )
        if (advanced._tag === "Left") {
          const error = advanced.left
          const reason =
            error._tag === "FastForwardBlocked"
              ? `cannot move ${error.target}: ${error.reason}`
              : error._tag === "NotFastForward"
                ? `${error.target} moved to ${error.currentTip.slice(0, 12)} meanwhile`
                : error._tag === "AdvanceNotVerified"
                  ? `${error.target} is at ${error.actual.slice(0, 12)}, not ${error.expected.slice(0, 12)}`
                  : error.message
          return { _tag: "MergeFailed", reason } satisfies WorkerEvent
        }
        yield* ctx.runLog.emit("merge", `merged into ${ctx.targetBranch} at ${head.slice(0, 12)}`, {
          worker: spec.id,
          cycle: options.cycle,
          data: { commit: head }
        })
        return { _tag: "Merged", commit: head } satisfies WorkerEvent
      })
    )
  })

/** Runs `test_command` with /bin/sh in the worktree; Some(output tail) when it failed. */
const runTestCommand = (ctx: SwarmContext, spec: WorkerSpec, options: DeliverOptions, command: string) =>
  Effect.gen(function* () {
    const runner = yield* ProcessRunner
    const progress = yield* Ref.get(options.progress)
    const logPath = `${ctx.runLog.dir}/logs/${cycleName(spec.id, options.cycle)}-test${progress.reviewRounds}.log`
    const result = yield* runner
      .run({
        command: "/bin/sh",
        // stderr joins stdout so the agent sees both in order.
        args: ["-c", `exec 2>&1\n${command}`],
        cwd: options.cwd,
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
