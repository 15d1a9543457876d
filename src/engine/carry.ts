import { Effect } from "effect"
import { make as runEvent } from "../domain/RunEvent.js"
import type { WorkerSpec } from "../config/OompaConfig.js"
import { CarriedWork, latestKeptAttempt, oneLine, type ClaimResult } from "../domain/queue.js"
import { Git } from "../services/Git.js"
import { cycleName } from "../domain/naming.js"
import type { SwarmContext } from "./context.js"

interface CarryHandle {
  readonly cycle: number
  /** The cycle's worktree. */
  readonly path: string
}

/**
 * SPEC §8 "nothing redone": right after a claim, the latest kept work of each
 * claimed task that was tried before is merged into this cycle's worktree, so
 * the agent continues from it instead of starting over. Work that does not
 * merge cleanly with the current target is left where it is (the merge is
 * aborted, the worktree stays clean) and the agent is told where to find it.
 * The carried commits are on the cycle's branch, so review (`git diff
 * <merge-base>...HEAD`) sees them like any other change before anything lands.
 * Never fails: a git error just leaves the work where it is.
 * Returns, per claimed id that has kept work, what became of it.
 */
export const carryKeptWork = (ctx: SwarmContext, spec: WorkerSpec, handle: CarryHandle, results: ReadonlyArray<ClaimResult>) =>
  Effect.gen(function* () {
    const git = yield* Git
    const carried = new Map<string, CarriedWork>()
    // Tasks claimed together by one failed cycle share its kept work: merge it once.
    const byCommit = new Map<string, CarriedWork>()
    for (const result of results) {
      if (result._tag !== "Claimed") continue
      const attempt = latestKeptAttempt(result.task)
      if (attempt === undefined) continue
      const ref = attempt.kept_ref
      const from = attempt.cycle
      const commit = yield* git.revParse(handle.path, `${ref}^{commit}`).pipe(Effect.orElseSucceed(() => undefined))
      if (commit === undefined) {
        carried.set(result.id, CarriedWork.Gone({ ref }))
        continue
      }
      const earlier = byCommit.get(commit)
      if (earlier !== undefined) {
        carried.set(result.id, earlier._tag === "Merged" ? CarriedWork.AlreadyThere({ ref, commit }) : earlier)
        continue
      }
      const outcome = yield* mergeKept(ctx, handle.path, { ref, commit })
      byCommit.set(commit, outcome)
      carried.set(result.id, outcome)
      if (outcome._tag === "Merged" || outcome._tag === "NotMerged") {
        const merged = outcome._tag === "Merged"
        yield* ctx.runLog.emit(
          runEvent.workCarried(
            { worker: spec.id, cycle: handle.cycle },
            {
              task: result.id,
              ref,
              commit,
              from,
              into: cycleName(spec.id, handle.cycle),
              merged,
              ...(outcome._tag === "NotMerged" ? { why: outcome.why } : {})
            }
          )
        )
      }
    }
    return carried as ReadonlyMap<string, CarriedWork>
  })

const mergeKept = (ctx: SwarmContext, worktree: string, kept: { readonly ref: string; readonly commit: string }) =>
  Effect.gen(function* () {
    const git = yield* Git
    if (yield* git.isAncestor(worktree, kept.commit, "HEAD")) return CarriedWork.AlreadyThere(kept)
    // The agent may already have edited files: a merge (or its abort) must not touch them.
    if (yield* git.hasChanges(worktree)) {
      return CarriedWork.NotMerged({ ...kept, why: "your worktree had uncommitted changes, so it was not merged" })
    }
    const merged = yield* git.mergeInto(worktree, kept.ref)
    switch (merged._tag) {
      case "Merged":
        return CarriedWork.Merged(kept)
      case "UpToDate":
        return CarriedWork.AlreadyThere(kept)
      case "Conflict": {
        yield* git.abortMerge(worktree)
        return CarriedWork.NotMerged({
          ...kept,
          why: `it did not merge cleanly with the current ${ctx.targetBranch} (conflicts in ${merged.paths.slice(0, 5).join(", ")}${merged.paths.length > 5 ? ", …" : ""})`
        })
      }
    }
  }).pipe(
    Effect.catchAll((error) =>
      abortQuietly(worktree).pipe(
        Effect.as(
          CarriedWork.NotMerged({
            ...kept,
            why: `merging it failed (${oneLine((error._tag === "GitError" ? error.stderr.trim() : "") || error.message, 200)})`
          })
        )
      )
    )
  )

/** Leaves no half-done merge behind after a failed carry; errors here are dropped (keepWork aborts again at the end). */
const abortQuietly = (worktree: string) =>
  Effect.gen(function* () {
    const git = yield* Git
    yield* git.abortMerge(worktree)
  }).pipe(Effect.ignore)
