import { describe, expect, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import {
  branchCheckoutsOf,
  parentsAreAsWritten,
  reachableThroughLooseCommits,
  readRef,
  refDirsOf
} from "../../../src/services/git/refFiles.js"

/** A repository in a fresh temp folder, with git run by hand as a user would. */
const repoWithHistory = () => {
  const dir = NodeFs.realpathSync(NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "oompa-reffiles-")))
  const repo = NodePath.join(dir, "repo")
  NodeFs.mkdirSync(repo)
  const git = (cwd: string, ...args: Array<string>) =>
    execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } }).trim()
  git(repo, "init", "-q", "-b", "main")
  const commit = (cwd: string, name: string) => {
    NodeFs.writeFileSync(NodePath.join(cwd, `${name}.txt`), name)
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", name)
    return git(cwd, "rev-parse", "HEAD")
  }
  return { dir, repo, git, commit, remove: () => NodeFs.rmSync(dir, { recursive: true, force: true }) }
}

describe("refFiles", () => {
  it("reads loose, packed and symbolic refs as git resolves them, and knows an absent one", () => {
    const r = repoWithHistory()
    try {
      r.commit(r.repo, "a")
      r.git(r.repo, "branch", "packed-one")
      r.git(r.repo, "pack-refs", "--all")
      r.commit(r.repo, "b")
      r.git(r.repo, "branch", "feature/x")
      r.git(r.repo, "update-ref", "refs/oompa/kept/s/w0-c1", "HEAD~1")
      const wt = NodePath.join(r.dir, "wt")
      r.git(r.repo, "worktree", "add", "-q", "-b", "side", wt, "HEAD~1")
      const dirs = refDirsOf(r.repo)!
      const wtDirs = refDirsOf(wt)!
      expect(wtDirs.common).toBe(dirs.common)
      for (const [where, d, name] of [
        [r.repo, dirs, "HEAD"],
        [r.repo, dirs, "refs/heads/main"],
        [r.repo, dirs, "refs/heads/packed-one"],
        [r.repo, dirs, "refs/heads/feature/x"],
        [r.repo, dirs, "refs/oompa/kept/s/w0-c1"],
        [wt, wtDirs, "HEAD"],
        [wt, wtDirs, "refs/heads/side"]
      ] as const) {
        expect(readRef(d, name), `${name} in ${where}`).toEqual({ _tag: "Sha", sha: r.git(where, "rev-parse", "--verify", name) })
      }
      expect(readRef(dirs, "refs/heads/nope")).toEqual({ _tag: "Absent" })
      // Not plain ref names: git must be asked.
      expect(readRef(dirs, "main")).toBeUndefined()
      expect(readRef(dirs, "HEAD~1")).toBeUndefined()
      expect(readRef(dirs, "refs/heads/../config")).toBeUndefined()
    } finally {
      r.remove()
    }
  })

  it("finds ancestry through loose commits only as a proof: never says yes where git says no", () => {
    const r = repoWithHistory()
    try {
      const shas = [r.commit(r.repo, "c0")]
      r.git(r.repo, "checkout", "-q", "-b", "other")
      const other = r.commit(r.repo, "o1")
      r.git(r.repo, "checkout", "-q", "main")
      for (let i = 1; i < 6; i++) shas.push(r.commit(r.repo, `c${i}`))
      r.git(r.repo, "merge", "-q", "--no-ff", "--no-edit", "other")
      shas.push(r.git(r.repo, "rev-parse", "HEAD"), other)
      const common = refDirsOf(r.repo)!.common
      expect(parentsAreAsWritten(common)).toBe(true)
      let proofs = 0
      for (const a of shas) {
        for (const b of shas) {
          const git = spawnSync("git", ["merge-base", "--is-ancestor", a, b], { cwd: r.repo }).status === 0
          const ours = reachableThroughLooseCommits(common, a, b, 32)
          if (ours === true) {
            proofs++
            expect(git, `${a} ⊆ ${b}`).toBe(true)
          }
        }
      }
      expect(proofs).toBeGreaterThan(shas.length)
      // Packed objects are not read: no proof, git is asked.
      r.git(r.repo, "gc", "-q")
      expect(reachableThroughLooseCommits(common, shas[0]!, shas[5]!, 32)).toBeUndefined()
      // A replace ref rewrites ancestry: the files are not trusted.
      r.git(r.repo, "replace", shas[2]!, shas[1]!)
      expect(parentsAreAsWritten(common)).toBe(false)
    } finally {
      r.remove()
    }
  })

  it("says where a branch is checked out and where it is being rebased, as git worktree list does", () => {
    const r = repoWithHistory()
    try {
      r.commit(r.repo, "a")
      const wt = NodePath.join(r.dir, "wt")
      r.git(r.repo, "worktree", "add", "-q", "-b", "side", wt)
      const common = refDirsOf(r.repo)!.common
      expect(branchCheckoutsOf(common, "refs/heads/main")).toEqual({ holders: [r.repo], rebasing: [] })
      expect(branchCheckoutsOf(common, "refs/heads/side")).toEqual({ holders: [wt], rebasing: [] })
      expect(branchCheckoutsOf(common, "refs/heads/none")).toEqual({ holders: [], rebasing: [] })
      // A rebase of side that stops on a conflict leaves HEAD detached, its state naming side.
      NodeFs.writeFileSync(NodePath.join(wt, "a.txt"), "side")
      r.git(wt, "commit", "-qam", "side edit")
      NodeFs.writeFileSync(NodePath.join(r.repo, "a.txt"), "main")
      r.git(r.repo, "commit", "-qam", "main edit")
      expect(() => r.git(wt, "rebase", "-q", "main")).toThrow()
      expect(branchCheckoutsOf(common, "refs/heads/side")).toEqual({ holders: [], rebasing: [wt] })
    } finally {
      r.remove()
    }
  })
})
