/**
 * The verified fast forward and the verified branch delete of SPEC §7
 * (src/engine/merge.ts), on real git in temp repos. Moved from
 * test/services/Git.test.ts when the policy left the git service.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { advanceBranch, deleteBranch } from "../../src/engine/merge.js"
import { Git, GitLive } from "../../src/services/Git.js"
import { makeGitRepo } from "../support/gitRepo.js"

const TestLayer = Layer.provideMerge(GitLive, NodeContext.layer)

layer(TestLayer, { excludeTestServices: true })("merge policy", (it) => {
describe("advanceBranch and deleteBranch", () => {
  /** A worker branch `w` one commit ahead of main, made in a worktree. */
  const worker = (files: Record<string, string>) =>
    Effect.gen(function* () {
      const git = yield* Git
      const repo = yield* makeGitRepo({ files: { "README.md": "readme\n", "app.txt": "v1\n" } })
      const wt = NodePath.join(yield* repo.tempDir(), "w")
      yield* git.addWorktree(repo.path, wt, "w", "main")
      for (const [file, content] of Object.entries(files)) yield* repo.write(NodePath.join(wt, file), content)
      const tip = yield* repo.commit("worker work", wt)
      return { git, repo, wt, tip }
    })

  it.scoped("target checked out and clean: the user's checkout follows", () =>
    Effect.gen(function* () {
      const { git, repo, wt, tip } = yield* worker({ "app.txt": "v2\n", "new.txt": "n\n" })
      const result = yield* advanceBranch(repo.path, "main", tip)
      expect(result).toBe(tip)
      expect(yield* repo.revParse("main")).toBe(tip)
      expect(yield* repo.read("app.txt")).toBe("v2\n")
      expect(yield* repo.read("new.txt")).toBe("n\n")
      expect(yield* git.hasChanges(repo.path)).toBe(false)
      // and now the worker branch may go
      yield* git.removeWorktree(repo.path, wt)
      yield* deleteBranch(repo.path, "w", { verifiedMergedInto: "main" })
      expect(yield* git.branchExists(repo.path, "w")).toBe(false)
    })
  )

  it.scoped("HEAD cannot move after git updated the checkout (the user committed in that instant): the checkout is put back", () =>
    Effect.gen(function* () {
      const { git, repo, tip } = yield* worker({ "app.txt": "v2\n", "new.txt": "n\n" })
      const headBefore = yield* repo.revParse("HEAD")
      yield* repo.write("mine.txt", "the user's own untracked file\n")
      // A held ref lock makes `merge --ff-only` fail exactly there: after the files and the
      // index, at the HEAD update (what the bench:faults race did with a concurrent commit).
      NodeFs.writeFileSync(NodePath.join(repo.path, ".git", "refs", "heads", "main.lock"), "")
      const error = yield* Effect.flip(advanceBranch(repo.path, "main", tip))
      NodeFs.rmSync(NodePath.join(repo.path, ".git", "refs", "heads", "main.lock"))
      expect(error._tag).toBe("FastForwardBlocked")
      expect(yield* repo.revParse("HEAD")).toBe(headBefore)
      // Without the roll-back git leaves "M app.txt" and "A new.txt" staged in the user's checkout.
      expect(yield* repo.git("status", "--porcelain")).toBe("?? mine.txt")
      expect(yield* repo.read("app.txt")).not.toBe("v2\n")
      expect(yield* repo.exists("new.txt")).toBe(false)
    })
  )

  it.scoped("target checked out, user's uncommitted change in the way: refused, checkout unchanged", () =>
    Effect.gen(function* () {
      const { git, repo, tip } = yield* worker({ "app.txt": "v2 from worker\n" })
      const headBefore = yield* repo.revParse("HEAD")
      yield* repo.write("app.txt", "user's unsaved edit\n")
      yield* repo.write("untracked-by-user.txt", "mine\n")
      const statusBefore = yield* repo.git("status", "--porcelain")

      const error = yield* Effect.flip(advanceBranch(repo.path, "main", tip))
      expect(error._tag).toBe("FastForwardBlocked")
      if (error._tag === "FastForwardBlocked") {
        expect(error.target).toBe("main")
        expect(error.reason).toContain("app.txt")
      }
      expect(yield* repo.revParse("HEAD")).toBe(headBefore)
      expect(yield* repo.revParse("main")).toBe(headBefore)
      expect(yield* repo.read("app.txt")).toBe("user's unsaved edit\n")
      expect(yield* repo.read("untracked-by-user.txt")).toBe("mine\n")
      expect(yield* repo.git("status", "--porcelain")).toBe(statusBefore)
      expect(yield* repo.exists(".git/MERGE_HEAD")).toBe(false)
      expect(yield* git.isMergeInProgress(repo.path)).toBe(false)
      // so the worker branch must not be deleted
      const refusal = yield* Effect.flip(deleteBranch(repo.path, "w", { verifiedMergedInto: "main" }))
      expect(refusal._tag).toBe("BranchNotMerged")
    })
  )

  it.scoped("the files in the way are named: the user's modified file and their untracked file the work adds", () =>
    Effect.gen(function* () {
      const { git, repo, tip } = yield* worker({ "app.txt": "v2 from worker\n", "new file.txt": "worker\n" })
      yield* repo.write("app.txt", "user's unsaved edit\n")
      const error = yield* Effect.flip(advanceBranch(repo.path, "main", tip))
      expect(error._tag).toBe("FastForwardBlocked")
      if (error._tag === "FastForwardBlocked") expect(error.files).toEqual(["app.txt"])
      // Once the edit is gone, an untracked file the work would create is in the way.
      yield* repo.git("checkout", "--", "app.txt")
      yield* repo.write("new file.txt", "the user's own\n")
      const untracked = yield* Effect.flip(advanceBranch(repo.path, "main", tip))
      expect(untracked._tag).toBe("FastForwardBlocked")
      if (untracked._tag === "FastForwardBlocked") expect(untracked.files).toEqual(["new file.txt"])
      expect(yield* repo.read("new file.txt")).toBe("the user's own\n")
    })
  )

  it.scoped("target checked out, user's unrelated uncommitted change: fast-forwards and keeps it", () =>
    Effect.gen(function* () {
      const { git, repo, tip } = yield* worker({ "app.txt": "v2\n" })
      yield* repo.write("README.md", "user edit\n")
      expect(yield* advanceBranch(repo.path, "main", tip)).toBe(tip)
      expect(yield* repo.read("app.txt")).toBe("v2\n")
      expect(yield* repo.read("README.md")).toBe("user edit\n")
    })
  )

  it.scoped("target not checked out: compare-and-swap update of the ref", () =>
    Effect.gen(function* () {
      const { git, repo, tip } = yield* worker({ "app.txt": "v2\n" })
      yield* repo.git("branch", "release", "main")
      yield* repo.git("checkout", "-q", "-b", "elsewhere")
      yield* repo.write("user.txt", "u\n") // the user's checkout is not involved
      expect(yield* advanceBranch(repo.path, "release", tip)).toBe(tip)
      expect(yield* repo.revParse("release")).toBe(tip)
      expect(yield* git.currentBranch(repo.path)).toEqual(Option.some("elsewhere"))
      expect(yield* repo.read("app.txt")).toBe("v1\n")
      expect(yield* repo.git("reflog", "-1", "--format=%gs", "release")).toContain("oompa: fast-forward release")
    })
  )

  it.scoped("refuses a new tip that does not descend from the target", () =>
    Effect.gen(function* () {
      const { git, repo, tip } = yield* worker({ "app.txt": "v2\n" })
      yield* repo.write("other.txt", "main moved\n")
      const mainTip = yield* repo.commit("main moved on")
      const error = yield* Effect.flip(advanceBranch(repo.path, "main", tip))
      expect(error._tag).toBe("NotFastForward")
      if (error._tag === "NotFastForward") {
        expect(error.currentTip).toBe(mainTip)
        expect(error.newTip).toBe(tip)
      }
      expect(yield* repo.revParse("main")).toBe(mainTip)
      const refusal = yield* Effect.flip(deleteBranch(repo.path, "w", { verifiedMergedInto: "main" }))
      expect(refusal._tag).toBe("BranchNotMerged")
      expect(yield* git.branchExists(repo.path, "w")).toBe(true)
    })
  )

  it.scoped("target checked out in another worktree: blocked, nothing moves", () =>
    Effect.gen(function* () {
      const { git, repo, tip } = yield* worker({ "app.txt": "v2\n" })
      yield* repo.git("branch", "release", "main")
      const other = NodePath.join(yield* repo.tempDir(), "rel")
      yield* repo.git("worktree", "add", "-q", other, "release")
      const before = yield* repo.revParse("release")
      const error = yield* Effect.flip(advanceBranch(repo.path, "release", tip))
      expect(error._tag).toBe("FastForwardBlocked")
      expect(yield* repo.revParse("release")).toBe(before)
    })
  )

  it.scoped("target being rebased in the user's checkout: blocked, the rebase is left alone", () =>
    Effect.gen(function* () {
      const { git, repo } = yield* worker({ "new.txt": "n\n" })
      // the user rebases main onto a branch that conflicts with it, and stops on the conflict
      yield* repo.git("checkout", "-q", "-b", "upstream", "main~0")
      yield* repo.write("app.txt", "upstream\n")
      yield* repo.commit("upstream change")
      yield* repo.git("checkout", "-q", "main")
      yield* repo.write("app.txt", "mine\n")
      yield* repo.commit("my change")
      const mainBefore = yield* repo.revParse("main")
      const rebase = yield* repo.gitRaw(repo.path, "rebase", "upstream")
      expect(rebase.exitCode).not.toBe(0)
      expect(yield* git.currentBranch(repo.path)).toEqual(Option.none())
      // a tip that descends from main
      const worktreeTip = yield* repo.git("commit-tree", "-p", mainBefore, "-m", "on top", `${mainBefore}^{tree}`)
      const error = yield* Effect.flip(advanceBranch(repo.path, "main", worktreeTip))
      expect(error._tag).toBe("FastForwardBlocked")
      if (error._tag === "FastForwardBlocked") expect(error.reason).toContain("rebased")
      expect(yield* repo.revParse("main")).toBe(mainBefore)
    })
  )

  it.scoped("advancing to the current tip is a verified no-op", () =>
    Effect.gen(function* () {
      const git = yield* Git
      const repo = yield* makeGitRepo()
      const head = yield* repo.revParse("main")
      expect(yield* advanceBranch(repo.path, "main", head)).toBe(head)
    })
  )
})
})
