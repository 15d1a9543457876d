/**
 * The merge policy of SPEC §7, §12 on top of the git primitives: the target
 * branch only ever fast-forwards, its ancestry is checked before and after,
 * the user's checkout is never left mid-merge, and a branch is deleted only
 * once its tip is verified to be contained elsewhere.
 */
import { Effect, Option, Schema } from "effect"
import { Git, GitError, type CallOptions } from "../services/git/Git.js"
import { filesInTheWay } from "../services/git/porcelain.js"

/** `advanceBranch` refused: the target's current tip is not an ancestor of the new tip. */
export class NotFastForward extends Schema.TaggedError<NotFastForward>()("NotFastForward", {
  target: Schema.String,
  currentTip: Schema.String,
  newTip: Schema.String
}) {
  override get message(): string {
    return `cannot fast-forward ${this.target} (${this.currentTip.slice(0, 12)}) to ${this.newTip.slice(0, 12)}: not a descendant`
  }
}

/**
 * `advanceBranch` could not move the branch where it is checked out: the user's
 * uncommitted changes are in the way, the branch is checked out in another
 * worktree, or that checkout is in the middle of something. Nothing was changed.
 */
export class FastForwardBlocked extends Schema.TaggedError<FastForwardBlocked>()("FastForwardBlocked", {
  target: Schema.String,
  worktree: Schema.String,
  reason: Schema.String,
  /** The user's files git said the fast forward would overwrite (empty when files are not the reason). */
  files: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `cannot fast-forward ${this.target} checked out in ${this.worktree}: ${this.reason}`
  }
}

/** After advancing, the target branch does not contain the new tip (someone moved it): do not delete anything. */
export class AdvanceNotVerified extends Schema.TaggedError<AdvanceNotVerified>()("AdvanceNotVerified", {
  target: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `${this.target} is at ${this.actual.slice(0, 12)}, which does not contain ${this.expected.slice(0, 12)}`
  }
}

/** `deleteBranch` refused: the branch is not contained in the branch it was said to be merged into. */
export class BranchNotMerged extends Schema.TaggedError<BranchNotMerged>()("BranchNotMerged", {
  branch: Schema.String,
  into: Schema.String
}) {
  override get message(): string {
    return `refusing to delete ${this.branch}: it is not merged into ${this.into}`
  }
}

/** A branch or revision that git would read as an option is refused before git sees it. */
const refuseOptionLike = (cwd: string, args: ReadonlyArray<string>, values: ReadonlyArray<string>) => {
  const bad = values.find((v) => v.startsWith("-"))
  return bad === undefined
    ? Effect.void
    : Effect.fail(new GitError({ args: [...args], cwd, exitCode: -1, stderr: `refusing argument that looks like an option: ${bad}` }))
}

/**
 * The verified fast forward of SPEC §7: move branch `target` to `newTip`
 * only if that is a fast forward; in the main worktree via `merge --ff-only`
 * (the user's checkout follows, or is left exactly as it was), elsewhere by
 * compare-and-swap `update-ref`. Returns the target's tip afterwards, which
 * has been checked to contain `newTip`. A target that moved (before the check,
 * or between it and `merge --ff-only`) is `NotFastForward`; a checkout that
 * refuses (local changes in the way, a rebase, another worktree) is
 * `FastForwardBlocked`, naming the files git listed.
 */
export const advanceBranch = Effect.fn("merge.advanceBranch")(function* (
  repo: string,
  target: string,
  newTip: string,
  callOptions: CallOptions = {}
) {
  const git = yield* Git
  const targetRef = `refs/heads/${target}`
  yield* refuseOptionLike(repo, ["advance", target, newTip], [target, newTip])
  const newSha = yield* git.commitOf(repo, newTip)
  const oldSha = yield* git.commitOf(repo, targetRef)
  if (!(yield* git.isAncestor(repo, oldSha, newSha))) {
    return yield* new NotFastForward({ target, currentTip: oldSha, newTip: newSha })
  }
  if (oldSha !== newSha) {
    const checkouts = yield* git.branchCheckouts(repo, targetRef)
    const rebasing = checkouts.rebasing[0]
    if (rebasing !== undefined) {
      // Moving a branch under a rebase would be undone when the rebase finishes.
      return yield* new FastForwardBlocked({
        target,
        worktree: rebasing,
        reason: "the branch is being rebased there",
        files: []
      })
    }
    const holder = checkouts.holders[0]
    if (holder === undefined) {
      // Not checked out anywhere: compare-and-swap the ref.
      yield* git.updateRef(repo, targetRef, newSha, { oldSha, message: `oompa: fast-forward ${target}` })
    } else {
      if (!(yield* git.isMainWorktree(repo, holder))) {
        return yield* new FastForwardBlocked({
          target,
          worktree: holder,
          reason: "the branch is checked out in another worktree",
          files: []
        })
      }
      // Checked out in the user's checkout: let git move HEAD, index and files
      // together. `--ff-only` never creates MERGE_HEAD and refuses before
      // touching anything when local changes are in the way.
      const ff = yield* git.fastForwardCheckout(holder, newSha, callOptions)
      if (ff.exitCode !== 0) {
        // git updated the files and the index, then could not move HEAD (the user committed
        // in that instant, or held the ref's lock): the checkout now holds oompa's files as
        // staged changes the user never made. Move it back from the new tree to whatever
        // HEAD is now; a two-tree read-tree keeps every local change of the user's (b1f5cb7).
        if (/update_ref failed|cannot lock ref/.test(ff.stderr)) {
          yield* git.readTree(holder, newSha, "HEAD", callOptions)
        }
        // The user committed between the ancestry check and the merge ("Not possible to
        // fast-forward"): the target moved, which is NotFastForward, not a blocked checkout.
        const now = yield* git.commitOf(repo, targetRef)
        if (now !== oldSha && !(yield* git.isAncestor(repo, now, newSha))) {
          return yield* new NotFastForward({ target, currentTip: now, newTip: newSha })
        }
        const reason = ff.stderr.trim() || ff.stdout.trim() || `git merge --ff-only exited ${ff.exitCode}`
        return yield* new FastForwardBlocked({ target, worktree: holder, reason, files: filesInTheWay(reason) })
      }
    }
  }
  const tip = yield* git.commitOf(repo, targetRef)
  if (!(yield* git.isAncestor(repo, newSha, tip))) {
    return yield* new AdvanceNotVerified({ target, expected: newSha, actual: tip })
  }
  return tip
})

/** Delete `branch` only if it is contained in `verifiedMergedInto` (a branch name or revision). */
export const deleteBranch = Effect.fn("merge.deleteBranch")(function* (
  repo: string,
  branch: string,
  options: {
    readonly verifiedMergedInto: string
    /** `resolveRefs` of `refs/heads/<branch>` and `into` the caller has just done (saves a git call). */
    readonly tips?: ReadonlyMap<string, string>
  }
) {
  const git = yield* Git
  const into = options.verifiedMergedInto
  yield* refuseOptionLike(repo, ["branch", "-D", branch], [branch, into])
  // Both tips in one git call; `into` is a branch if one is named so, else a revision.
  const branchRef = `refs/heads/${branch}`
  const intoBranch = `refs/heads/${into}`
  const tips = options.tips ?? (yield* git.resolveRefs(repo, [branchRef, intoBranch, ...(into.startsWith("refs/") ? [into] : [])]))
  const branchSha = tips.get(branchRef) ?? (yield* git.commitOf(repo, branchRef))
  const intoSha = tips.get(intoBranch) ?? tips.get(into) ?? (yield* git.commitOf(repo, into))
  if (!(yield* git.isAncestor(repo, branchSha, intoSha))) {
    return yield* new BranchNotMerged({ branch, into })
  }
  yield* git.forceDeleteBranch(repo, branch)
})
