/**
 * The one keep-work procedure (src/engine/keepWork.ts) that a cycle's ending and
 * crash recovery share, on real git: what it commits, where the ref points.
 */
import { NodeContext } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as NodePath from "node:path"
import { branchOf } from "../../src/domain/naming.js"
import { keepWork } from "../../src/engine/keepWork.js"
import { Git, GitLive } from "../../src/services/Git.js"
import { makeGitRepo } from "../support/gitRepo.js"

const TestLayer = Layer.provideMerge(GitLive, NodeContext.layer)
const cycle = { swarm: "ab12cd34", worker: "w0", cycle: 2 }

layer(TestLayer, { excludeTestServices: true })("keepWork", (it) => {
  const cycleWorktree = Effect.gen(function* () {
    const git = yield* Git
    const repo = yield* makeGitRepo({ files: { "app.txt": "v1\n" } })
    const wt = NodePath.join(yield* repo.tempDir(), "wt")
    yield* git.addWorktree(repo.path, wt, branchOf(cycle.swarm, cycle.worker, cycle.cycle), "main")
    return { git, repo, wt, base: yield* repo.revParse("main") }
  })

  it.scoped("from a worktree: what the agent left is committed, a half-done merge aborted, the kept ref points at it", () =>
    Effect.gen(function* () {
      const { git, repo, wt, base } = yield* cycleWorktree
      // main moves on with a conflicting change; the agent starts merging it and stops half-way
      yield* repo.write("app.txt", "main's\n")
      yield* repo.commit("main moves")
      yield* repo.write(NodePath.join(wt, "app.txt"), "agent's\n")
      yield* repo.commit("agent's work", wt)
      yield* git.mergeInto(wt, "main")
      expect(yield* git.isMergeInProgress(wt)).toBe(true)
      yield* repo.write(NodePath.join(wt, "new.txt"), "not committed\n")

      const kept = yield* keepWork({ root: repo.path, cycle, worktree: wt, why: "interrupted", reflogMessage: "oompa: interrupted", nothingNew: (tip) => Effect.succeed(tip === base) })
      expect(Option.map(kept, (k) => k.ref)).toEqual(Option.some("refs/oompa/kept/ab12cd34/w0-c2"))
      const tip = yield* repo.revParse("refs/oompa/kept/ab12cd34/w0-c2")
      expect(Option.map(kept, (k) => k.commit)).toEqual(Option.some(tip))
      expect(yield* git.isMergeInProgress(wt)).toBe(false)
      expect(yield* repo.git("show", `${tip}:app.txt`)).toBe("agent's")
      expect(yield* repo.git("show", `${tip}:new.txt`)).toBe("not committed")
      expect(yield* repo.git("log", "-1", "--format=%s", tip)).toBe("oompa: work kept from w0-c2 (interrupted)")
      expect(yield* repo.git("reflog", "--format=%gs", "refs/oompa/kept/ab12cd34/w0-c2")).toBe("oompa: interrupted")
    })
  )

  it.scoped("nothing beyond the base: no ref", () =>
    Effect.gen(function* () {
      const { repo, wt, base } = yield* cycleWorktree
      const kept = yield* keepWork({ root: repo.path, cycle, worktree: wt, why: "error", reflogMessage: "oompa: error", nothingNew: (tip) => Effect.succeed(tip === base) })
      expect(kept).toEqual(Option.none())
      expect(yield* repo.git("for-each-ref", "refs/oompa/")).toBe("")
    })
  )

  it.scoped("without a worktree (recovery after removing it): the branch tip is kept", () =>
    Effect.gen(function* () {
      const { git, repo, wt } = yield* cycleWorktree
      yield* repo.write(NodePath.join(wt, "x.txt"), "x\n")
      const tip = yield* repo.commit("work", wt)
      yield* git.removeWorktree(repo.path, wt)
      const kept = yield* keepWork({ root: repo.path, cycle, why: "crashed run ab12cd34", reflogMessage: "oompa: recovered", nothingNew: () => Effect.succeed(false) })
      expect(kept).toEqual(Option.some({ ref: "refs/oompa/kept/ab12cd34/w0-c2", commit: tip }))
    })
  )
})
