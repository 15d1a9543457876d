/**
 * The keep-work procedure of SPEC §8, one copy for both ways a cycle can end:
 * its own ending (cycle.ts, also when it fails or is interrupted) and crash
 * recovery of a run that died mid-cycle (recover.ts). Nothing committed by an
 * agent may become unreachable, so both go through the same steps: commit what
 * the worktree holds, then point the cycle's kept ref at the tip unless the tip
 * holds nothing new.
 */
import { Effect, Option } from "effect"
import { branchOf, cycleName, keptRefOf, type CycleRef } from "../domain/naming.js"
import { Git, type GitError, type GitTimeout } from "../services/Git.js"

/**
 * Commit whatever the agent left in `worktree`, a half-done merge aborted first
 * (its conflict markers are not work). Returns the commit, None when there was
 * nothing to commit.
 */
export const commitLeftWork = (worktree: string, cycle: CycleRef, why: string) =>
  Effect.gen(function* () {
    const git = yield* Git
    if (yield* git.isMergeInProgress(worktree)) yield* git.abortMerge(worktree)
    return yield* git.commitAll(worktree, `oompa: work kept from ${cycleName(cycle.worker, cycle.cycle)} (${why})`)
  })

export interface KeepWorkOptions<E> {
  /** The project's git top level, where the ref is written. */
  readonly root: string
  readonly cycle: CycleRef
  /**
   * The cycle's worktree, committed in first; absent when it is already gone
   * (recovery: the tip is then the cycle's branch).
   */
  readonly worktree?: string
  /** Why the work is kept: in the commit message of what is left and in the ref's reflog. */
  readonly why: string
  readonly reflogMessage: string
  /** Does the tip hold nothing beyond what is already safe (the cycle's base, or the target)? Then no ref. */
  readonly nothingNew: (tip: string) => Effect.Effect<boolean, E>
}

/**
 * SPEC §8: keep the cycle's work under `refs/oompa/kept/<swarm>/<worker>-c<N>`.
 * Returns the ref and the commit it points at, or None when the tip holds
 * nothing new.
 */
export const keepWork = <E>(options: KeepWorkOptions<E>) =>
  Effect.gen(function* () {
    const git = yield* Git
    const { swarm, worker, cycle } = options.cycle
    if (options.worktree !== undefined) yield* commitLeftWork(options.worktree, options.cycle, options.why)
    const tip =
      options.worktree !== undefined
        ? yield* git.revParse(options.worktree, "HEAD")
        : yield* git.revParse(options.root, `refs/heads/${branchOf(swarm, worker, cycle)}`)
    if (yield* options.nothingNew(tip)) return Option.none<{ readonly ref: string; readonly commit: string }>()
    const ref = keptRefOf(swarm, worker, cycle)
    yield* git.keepWork(options.root, ref, tip, options.reflogMessage)
    return Option.some({ ref, commit: tip })
  }) as Effect.Effect<Option.Option<{ readonly ref: string; readonly commit: string }>, E | GitError | GitTimeout, Git>
