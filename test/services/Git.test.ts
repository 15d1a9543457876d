import { NodeContext } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Option } from "effect"
import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { Git, GitError, GitLive, GitTimeout, layerGit } from "../../src/services/Git.js"
import { makeGitRepo } from "../support/gitRepo.js"

const TestLayer = Layer.provideMerge(GitLive, NodeContext.layer)

/** Is the process running (a zombie counts as gone)? Linux /proc. */
const processAlive = (pid: number): boolean => {
  try {
    const stat = NodeFs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
    return state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

describe("gitRepo helper", () => {
  it.scoped("makes a repo with an initial commit on main", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      expect(yield* repo.git("symbolic-ref", "--short", "HEAD")).toBe("main")
      expect(yield* repo.git("log", "--format=%s")).toBe("initial commit")
      yield* repo.write("a/b.txt", "x\n")
      const sha = yield* repo.commit("add b")
      expect(sha).toMatch(/^[0-9a-f]{40}$/)
    }).pipe(Effect.provide(NodeContext.layer))
  )
})

layer(TestLayer, { excludeTestServices: true })("Git", (it) => {
  describe("basics", () => {
    it.scoped("toplevel, currentBranch, revParse, branchExists", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        yield* repo.write("sub/dir/f.txt", "f\n")
        expect(yield* git.toplevel(NodePath.join(repo.path))).toBe(repo.path)
        expect(yield* git.currentBranch(repo.path)).toEqual(Option.some("main"))
        const head = yield* git.revParse(repo.path, "HEAD")
        expect(head).toBe(yield* repo.revParse("HEAD"))
        expect(yield* git.branchExists(repo.path, "main")).toBe(true)
        expect(yield* git.branchExists(repo.path, "nope")).toBe(false)
        yield* repo.git("checkout", "-q", "--detach")
        expect(yield* git.currentBranch(repo.path)).toEqual(Option.none())
      })
    )

    it.scoped("a failing call carries args, cwd, exit code and stderr", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        const error = yield* Effect.flip(git.revParse(repo.path, "no-such-branch"))
        expect(error).toBeInstanceOf(GitError)
        if (error._tag !== "GitError") throw new Error("expected GitError")
        expect(error.args).toEqual(["rev-parse", "--verify", "--end-of-options", "no-such-branch"])
        expect(error.cwd).toBe(repo.path)
        expect(error.exitCode).toBe(128)
        expect(error.stderr).toContain("Needed a single revision")
        expect(error.message).toContain("git rev-parse --verify --end-of-options no-such-branch")
        expect(error.message).toContain("exited with code 128")
      })
    )

    it.scoped("a cwd that does not exist is a GitError, not a defect", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        const error = yield* Effect.flip(git.toplevel(NodePath.join(repo.path, "missing")))
        expect(error._tag).toBe("GitError")
        if (error._tag === "GitError") expect(error.exitCode).toBe(-1)
      })
    )

    it.scoped("arguments that look like options are refused before git runs", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        const error = yield* Effect.flip(git.addWorktree(repo.path, "--help", "b", "main"))
        expect(error._tag).toBe("GitError")
        if (error._tag === "GitError") expect(error.stderr).toContain("looks like an option")
        expect(yield* git.branchExists(repo.path, "b")).toBe(false)
      })
    )

    it.effect("a hanging git is killed at the timeout, with the processes it started", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const git = yield* Git
          const repo = yield* makeGitRepo()
          const pidFile = NodePath.join(yield* repo.tempDir(), "pid")
          // A shell alias: git starts `sh`, which records its pid and becomes `sleep`.
          const args = ["-c", `alias.hang=!echo $$ > '${pidFile}'; exec sleep 60`, "hang"]
          const exit = yield* Effect.exit(git.run(repo.path, args, { timeout: "1500 millis" }))
          expect(Exit.isFailure(exit)).toBe(true)
          const error = yield* Effect.flip(exit)
          expect(error).toBeInstanceOf(GitTimeout)
          if (error._tag === "GitTimeout") {
            expect(error.timeoutMillis).toBe(1500)
            expect(error.args).toEqual(args)
          }
          const pid = Number((yield* repo.read(pidFile)).trim())
          expect(pid).toBeGreaterThan(0)
          expect(processAlive(process.pid)).toBe(true) // the probe itself works
          expect(processAlive(pid)).toBe(false)
        })
      )
    )

    it.effect("an interrupted git call ends git and what it started before the interruption completes", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const git = yield* Git
          const repo = yield* makeGitRepo()
          const pidFile = NodePath.join(yield* repo.tempDir(), "pid")
          // The alias writes its pid only once it runs, then ignores SIGTERM: only the SIGKILL after the grace ends it.
          const args = ["-c", `alias.hang=!trap '' TERM; echo $$ > '${pidFile}'; while :; do sleep 1; done`, "hang"]
          const fiber = yield* Effect.fork(git.run(repo.path, args))
          while (!NodeFs.existsSync(pidFile) || NodeFs.readFileSync(pidFile, "utf8").trim() === "") {
            yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
          }
          const pid = Number(NodeFs.readFileSync(pidFile, "utf8").trim())
          expect(processAlive(pid)).toBe(true)
          yield* Fiber.interrupt(fiber)
          expect(processAlive(pid)).toBe(false)
        })
      ).pipe(Effect.provide(Layer.provideMerge(layerGit({ killGrace: "300 millis" }), NodeContext.layer)))
    )

    it.scoped("run accepts other exit codes when asked", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        const r = yield* git.run(repo.path, ["diff", "--quiet", "HEAD"], { okExitCodes: [0, 1] })
        expect(r.exitCode).toBe(0)
        yield* repo.write("README.md", "changed\n")
        const r2 = yield* git.run(repo.path, ["diff", "--quiet", "HEAD"], { okExitCodes: [0, 1] })
        expect(r2.exitCode).toBe(1)
        const e = yield* Effect.flip(git.run(repo.path, ["diff", "--quiet", "HEAD"]))
        expect(e._tag === "GitError" && e.exitCode).toBe(1)
      })
    )
  })

  describe("exclude and worktrees", () => {
    it.scoped("ensureExcluded appends the pattern once, also from a worktree", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        const wt = NodePath.join(repo.path, ".oompa", "worktrees", "s-w0-c1")
        yield* git.addWorktree(repo.path, wt, "oompa/s/w0-c1", "main")
        yield* git.ensureExcluded(repo.path)
        yield* git.ensureExcluded(wt)
        yield* git.ensureExcluded(repo.path, ".oompa/")
        const exclude = yield* repo.read(".git/info/exclude")
        expect(exclude.split("\n").filter((l) => l === ".oompa/")).toHaveLength(1)
        // The worktree folder is ignored by the main checkout.
        expect(yield* git.hasChanges(repo.path)).toBe(false)
      })
    )

    it.scoped("add, list, remove, remove again", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        const wt = NodePath.join(yield* repo.tempDir(), "wt1")
        yield* git.addWorktree(repo.path, wt, "oompa/s/w0-c1", "main")
        expect(yield* repo.exists(NodePath.join(wt, "README.md"))).toBe(true)
        expect(yield* git.currentBranch(wt)).toEqual(Option.some("oompa/s/w0-c1"))

        const list = yield* git.listWorktrees(repo.path)
        expect(list).toHaveLength(2)
        expect(list[0]?.path).toBe(repo.path)
        expect(list[0]?.branch).toEqual(Option.some("refs/heads/main"))
        expect(list[1]?.path).toBe(wt)
        expect(list[1]?.branch).toEqual(Option.some("refs/heads/oompa/s/w0-c1"))
        expect(list[1]?.head).toEqual(Option.some(yield* repo.revParse("main")))

        // uncommitted and untracked files do not stop the removal
        yield* repo.write(NodePath.join(wt, "scratch.txt"), "x\n")
        yield* git.removeWorktree(repo.path, wt)
        expect(yield* repo.exists(wt)).toBe(false)
        expect(yield* git.listWorktrees(repo.path)).toHaveLength(1)
        // the branch stays (its commits are the caller's business)
        expect(yield* git.branchExists(repo.path, "oompa/s/w0-c1")).toBe(true)

        yield* git.removeWorktree(repo.path, wt)
        expect(yield* git.listWorktrees(repo.path)).toHaveLength(1)
      })
    )

    it.scoped("remove succeeds when the folder was deleted behind git's back", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        const wt = NodePath.join(yield* repo.tempDir(), "wt2")
        yield* git.addWorktree(repo.path, wt, "b2", "main")
        NodeFs.rmSync(wt, { recursive: true, force: true })
        yield* git.removeWorktree(repo.path, wt)
        expect(yield* git.listWorktrees(repo.path)).toHaveLength(1)
      })
    )

    it.scoped("a failed add removes the branch it created and leaves an existing folder untouched", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        const wt = NodePath.join(yield* repo.tempDir(), "taken")
        yield* repo.write(NodePath.join(wt, "mine.txt"), "the user's\n")
        const error = yield* Effect.flip(git.addWorktree(repo.path, wt, "oompa/s/w0-c1", "main"))
        expect(error._tag === "GitError" && error.stderr).toContain("already exists")
        // git 2.39 creates the branch before it looks at the folder: the add must take it back.
        expect(yield* git.branchExists(repo.path, "oompa/s/w0-c1")).toBe(false)
        expect(yield* repo.read(NodePath.join(wt, "mine.txt"))).toBe("the user's\n")
        expect(yield* git.listWorktrees(repo.path)).toHaveLength(1)
      })
    )

    it.scoped("concurrent adds and removes of many worktrees never fail spuriously", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        const tmp = yield* repo.tempDir()
        // Rounds of 12 adds at once (plain git fails about 1 in 6 of these with
        // "failed to read .git/worktrees/<x>/commondir"), then 12 removes at once.
        for (let round = 0; round < 4; round++) {
          const names = Array.from({ length: 12 }, (_, w) => `w${w}-c${round}`)
          yield* Effect.forEach(names, (name) => git.addWorktree(repo.path, NodePath.join(tmp, name), `oompa/s/${name}`, "main"), {
            concurrency: "unbounded"
          })
          for (const name of names) expect(yield* repo.exists(NodePath.join(tmp, name, "README.md"))).toBe(true)
          yield* Effect.forEach(names, (name) => git.removeWorktree(repo.path, NodePath.join(tmp, name)), { concurrency: "unbounded" })
        }
        expect(yield* git.listWorktrees(repo.path)).toHaveLength(1)
        expect((yield* git.listRefs(repo.path, "refs/heads/oompa/")).length).toBe(48)
      })
    )

    it.scoped("adding a worktree on an existing branch that is checked out nowhere leaves that branch as it was", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        yield* repo.git("branch", "theirs")
        const tip = yield* repo.revParse("theirs")
        yield* repo.write("later.txt", "l\n")
        yield* repo.commit("main moves on")
        const wt = NodePath.join(yield* repo.tempDir(), "wt4")
        const error = yield* Effect.flip(git.addWorktree(repo.path, wt, "theirs", "main"))
        expect(error._tag === "GitError" && error.stderr).toContain("a branch named 'theirs' already exists")
        expect(yield* repo.revParse("theirs")).toBe(tip)
        expect(yield* repo.exists(wt)).toBe(false)
        expect(yield* git.listWorktrees(repo.path)).toHaveLength(1)
      })
    )

    it.scoped("adding a worktree on an existing branch fails with git's message", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        const wt = NodePath.join(yield* repo.tempDir(), "wt3")
        const error = yield* Effect.flip(git.addWorktree(repo.path, wt, "main", "main"))
        expect(error._tag === "GitError" && error.stderr).toContain("already exists")
      })
    )
  })

  describe("commits", () => {
    it.scoped("hasChanges sees tracked and untracked changes but not ignored files", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo({ files: { "README.md": "r\n", ".gitignore": "*.log\n" } })
        expect(yield* git.hasChanges(repo.path)).toBe(false)
        yield* repo.write("debug.log", "ignored\n")
        expect(yield* git.hasChanges(repo.path)).toBe(false)
        yield* repo.write("new/file.txt", "new\n")
        expect(yield* git.hasChanges(repo.path)).toBe(true)
        yield* repo.git("clean", "-fdq")
        expect(yield* git.hasChanges(repo.path)).toBe(false)
        yield* repo.write("README.md", "changed\n")
        expect(yield* git.hasChanges(repo.path)).toBe(true)
      })
    )

    it.scoped("commitAll commits new files and returns None when there is nothing", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        expect(yield* git.commitAll(repo.path, "nothing")).toEqual(Option.none())
        yield* repo.write("src/new.ts", "export {}\n")
        yield* repo.write("README.md", "edited\n")
        const sha = yield* git.commitAll(repo.path, "work: $HOME `x` \"quoted\"")
        expect(Option.isSome(sha)).toBe(true)
        expect(sha).toEqual(Option.some(yield* repo.revParse("HEAD")))
        expect(yield* repo.git("show", "--name-only", "--format=%s", "HEAD")).toBe(
          "work: $HOME `x` \"quoted\"\n\nREADME.md\nsrc/new.ts"
        )
        expect(yield* repo.git("log", "-1", "--format=%an <%ae>")).toBe("Test User <test@example.com>")
        expect(yield* git.hasChanges(repo.path)).toBe(false)
      })
    )

    it.scoped("commitAll works when no git identity is configured anywhere", () =>
      Effect.gen(function* () {
        const repo = yield* makeGitRepo({ identity: false })
        const home = yield* repo.tempDir()
        const env = { HOME: home, XDG_CONFIG_HOME: home, GIT_CONFIG_NOSYSTEM: "1" }
        const git = yield* Effect.provide(Git, layerGit({ env }))
        // Proof that this environment really has no identity.
        const none = yield* git.run(repo.path, ["config", "--get", "user.name"], { okExitCodes: [0, 1] })
        expect(none.exitCode).toBe(1)

        yield* repo.write("a.txt", "a\n")
        const sha = yield* git.commitAll(repo.path, "no identity")
        expect(Option.isSome(sha)).toBe(true)
        expect(yield* repo.git("log", "-1", "--format=%an <%ae>|%s")).toBe("oompa <oompa@localhost>|no identity")
      })
    )

    it.scoped("the identity is read once per repository, and a changed identity is used from the next commit on", () =>
      Effect.gen(function* () {
        const repo = yield* makeGitRepo({ identity: false })
        const home = yield* repo.tempDir()
        // A git on PATH that writes down every command before running the real one.
        const shim = yield* repo.tempDir()
        const calls = NodePath.join(home, "calls.log")
        const realGit = NodeChild.execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim()
        NodeFs.writeFileSync(NodePath.join(shim, "git"), `#!/bin/sh\necho "$1" >> "${calls}"\nexec "${realGit}" "$@"\n`, { mode: 0o755 })
        const env = { HOME: home, XDG_CONFIG_HOME: home, GIT_CONFIG_NOSYSTEM: "1", PATH: `${shim}:${process.env.PATH}` }
        const git = yield* Effect.provide(Git, layerGit({ env }))
        const configReads = () => NodeFs.readFileSync(calls, "utf8").split("\n").filter((c) => c === "config").length
        const author = () => repo.git("log", "-1", "--format=%an <%ae>")

        for (const name of ["a", "b", "c"]) {
          yield* repo.write(`${name}.txt`, `${name}\n`)
          yield* git.commitAll(repo.path, name)
          expect(yield* author()).toBe("oompa <oompa@localhost>")
        }
        expect(configReads()).toBe(1)
        // The user sets an identity while oompa runs: the next commit is theirs.
        yield* repo.git("config", "user.name", "Ada Lovelace")
        yield* repo.git("config", "user.email", "ada@example.com")
        yield* repo.write("d.txt", "d\n")
        yield* git.commitAll(repo.path, "d")
        expect(yield* author()).toBe("Ada Lovelace <ada@example.com>")
        // A global one appears (a new ~/.gitconfig) and the local email goes: git's own order decides.
        NodeFs.writeFileSync(NodePath.join(home, ".gitconfig"), "[user]\n\temail = global@example.com\n")
        yield* repo.git("config", "--unset", "user.email")
        yield* repo.write("e.txt", "e\n")
        yield* git.commitAll(repo.path, "e")
        expect(yield* author()).toBe("Ada Lovelace <global@example.com>")
        NodeFs.rmSync(NodePath.join(home, ".gitconfig"))
        yield* repo.write("f.txt", "f\n")
        yield* git.commitAll(repo.path, "f")
        expect(yield* author()).toBe("Ada Lovelace <oompa@localhost>")
        expect(configReads()).toBe(4)
      })
    )

    it.scoped("commitAll returns the whole name of the commit in a sha256 repository too", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        const dir = NodePath.join(yield* repo.tempDir(), "sha256")
        NodeFs.mkdirSync(dir)
        const sh = (...args: Array<string>) => NodeChild.execFileSync("git", args, { cwd: dir, encoding: "utf8" }).trim()
        sh("init", "-q", "--object-format=sha256", "-b", "main")
        sh("config", "user.name", "Test User")
        sh("config", "user.email", "test@example.com")
        NodeFs.writeFileSync(NodePath.join(dir, "a.txt"), "a\n")
        const sha = yield* git.commitAll(dir, "first")
        expect(sha).toEqual(Option.some(sh("rev-parse", "HEAD")))
        expect(Option.getOrThrow(sha)).toHaveLength(64)
      })
    )

    it.scoped("commitAll does not run hooks", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        yield* repo.write(".git/hooks/pre-commit", "#!/bin/sh\nexit 1\n")
        NodeFs.chmodSync(NodePath.join(repo.path, ".git/hooks/pre-commit"), 0o755)
        yield* repo.write("a.txt", "a\n")
        expect(Option.isSome(yield* git.commitAll(repo.path, "hooked"))).toBe(true)
      })
    )
  })

  describe("diff and log", () => {
    it.scoped("diff uses base...head, caps the text and still lists every file", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        yield* repo.git("checkout", "-q", "-b", "work")
        for (let i = 0; i < 20; i++) yield* repo.write(`files/f${i}.txt`, `${"line\n".repeat(50)}`)
        yield* repo.commit("many files")
        // main moves on after the branch point: its change is not in the branch's diff
        yield* repo.git("checkout", "-q", "main")
        yield* repo.write("main-only.txt", "m\n")
        yield* repo.commit("main moves")

        const full = yield* git.diff(repo.path, "main", "work")
        expect(full.truncated).toBe(false)
        expect(full.files).toHaveLength(20)
        expect(full.files).not.toContain("main-only.txt")
        expect(full.text).toContain("diff --git a/files/f0.txt b/files/f0.txt")
        expect(full.stat).toContain("20 files changed")
        // Stat and patch come from one git call: each is exactly what git prints alone.
        expect(full.text).toBe((yield* git.run(repo.path, ["diff", "--no-color", "main...work", "--"])).stdout)
        expect(full.stat).toBe((yield* git.run(repo.path, ["diff", "--no-color", "--stat=160", "main...work", "--"])).stdout.trimEnd())
        expect(yield* git.changedFiles(repo.path, "main", "work")).toEqual(full.files)
        // Files handed in (what changedFiles said) are used as they are.
        expect((yield* git.diff(repo.path, "main", "work", { files: full.files })).text).toBe(full.text)
        expect(yield* git.changedFiles(repo.path, "work", "work")).toEqual([])

        const cut = yield* git.diff(repo.path, "main", "work", { maxChars: 500 })
        expect(cut.truncated).toBe(true)
        expect(cut.text.length).toBe(500)
        expect(full.text.startsWith(cut.text)).toBe(true)
        expect(cut.files).toEqual(full.files)
        expect(cut.files).toContain("files/f19.txt")

        const base = yield* git.mergeBase(repo.path, "main", "work")
        expect(base).toBe(yield* repo.git("rev-parse", "main~1"))
        expect(yield* git.log(repo.path, "main..work")).toEqual([
          `${(yield* repo.revParse("work")).slice(0, 7)} many files`
        ])
      })
    )
  })

  describe("merging in a worktree", () => {
    /** main + a worker worktree on branch `w`, both with a commit after the branch point. */
    const setup = (opts: { readonly conflict: boolean }) =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo({ files: { "shared.txt": "one\ntwo\nthree\n" } })
        const wt = NodePath.join(yield* repo.tempDir(), "w")
        yield* git.addWorktree(repo.path, wt, "w", "main")
        yield* repo.write(NodePath.join(wt, "shared.txt"), opts.conflict ? "one\nWORKER\nthree\n" : "one\ntwo\nthree\nfour\n")
        yield* repo.write(NodePath.join(wt, "worker.txt"), "w\n")
        yield* repo.commit("worker change", wt)
        yield* repo.write("shared.txt", opts.conflict ? "one\nMAIN\nthree\n" : "zero\none\ntwo\nthree\n")
        yield* repo.commit("main change")
        return { git, repo, wt }
      })

    it.scoped("clean merge, then up to date", () =>
      Effect.gen(function* () {
        const { git, repo, wt } = yield* setup({ conflict: false })
        const result = yield* git.mergeInto(wt, "main")
        expect(result._tag).toBe("Merged")
        const head = yield* git.revParse(wt, "HEAD")
        expect(result).toEqual({ _tag: "Merged", head })
        expect(yield* git.isAncestor(repo.path, "main", head)).toBe(true)
        expect(yield* repo.read(NodePath.join(wt, "shared.txt"))).toBe("zero\none\ntwo\nthree\nfour\n")
        expect(yield* repo.gitIn(wt, "log", "-1", "--format=%p")).toContain(" ") // a merge commit
        expect(yield* git.mergeInto(wt, "main")).toEqual({ _tag: "UpToDate" })
        expect(yield* git.isMergeInProgress(wt)).toBe(false)
        expect(yield* git.conflictMarkers(wt, "main", "HEAD")).toEqual([])
      })
    )

    it.scoped("conflict is a result; abortMerge restores the worktree", () =>
      Effect.gen(function* () {
        const { git, repo, wt } = yield* setup({ conflict: true })
        const before = yield* git.revParse(wt, "HEAD")
        const result = yield* git.mergeInto(wt, "main")
        expect(result).toEqual({ _tag: "Conflict", paths: ["shared.txt"] })
        expect(yield* git.isMergeInProgress(wt)).toBe(true)
        expect(yield* git.unmergedPaths(wt)).toEqual(["shared.txt"])
        expect(yield* git.worktreeStatus(wt)).toEqual({ unmerged: ["shared.txt"], clean: false })
        // the main checkout is untouched by a worktree's merge
        expect(yield* git.isMergeInProgress(repo.path)).toBe(false)
        yield* git.abortMerge(wt)
        expect(yield* git.isMergeInProgress(wt)).toBe(false)
        expect(yield* git.worktreeStatus(wt)).toEqual({ unmerged: [], clean: true })
        expect(yield* git.revParse(wt, "HEAD")).toBe(before)
        expect(yield* repo.read(NodePath.join(wt, "shared.txt"))).toBe("one\nWORKER\nthree\n")
        // aborting when nothing is in progress is a no-op
        yield* git.abortMerge(wt)
      })
    )

    it.scoped("conflict markers committed by a careless resolution are found", () =>
      Effect.gen(function* () {
        const { git, repo, wt } = yield* setup({ conflict: true })
        expect((yield* git.mergeInto(wt, "main"))._tag).toBe("Conflict")
        // "resolve" by committing the file with its markers, as a careless agent would
        const sha = yield* git.commitAll(wt, "resolve")
        expect(Option.isSome(sha)).toBe(true)
        expect(yield* git.unmergedPaths(wt)).toEqual([])
        expect(yield* git.isMergeInProgress(wt)).toBe(false)
        expect(yield* git.conflictMarkers(wt, "main", "HEAD")).toEqual(["shared.txt"])

        // a proper resolution clears them
        yield* repo.write(NodePath.join(wt, "shared.txt"), "one\nMAIN and WORKER\nthree\n")
        yield* git.commitAll(wt, "really resolve")
        expect(yield* git.conflictMarkers(wt, "main", "HEAD")).toEqual([])
      })
    )

    it.scoped("conflict markers only count in files the branch changed, as whole lines", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo({ files: { "old.md": "Title\n=======\n" } })
        yield* repo.git("checkout", "-q", "-b", "b")
        yield* repo.write("prose.txt", "a line with <<<<<<< inside is fine\n")
        yield* repo.write("left.txt", "x\n>>>>>>> theirs\n")
        yield* repo.commit("b")
        expect(yield* git.conflictMarkers(repo.path, "main", "b")).toEqual(["left.txt"])
      })
    )
  })

  describe("refs", () => {
    it.scoped("keepWork, listRefs, updateRef with compare-and-swap, deleteRef", () =>
      Effect.gen(function* () {
        const git = yield* Git
        const repo = yield* makeGitRepo()
        const first = yield* repo.revParse("HEAD")
        yield* repo.write("x.txt", "x\n")
        const second = yield* repo.commit("second")

        yield* git.keepWork(repo.path, "refs/oompa/kept/abcd1234/w0-c1", first)
        yield* git.keepWork(repo.path, "refs/oompa/kept/abcd1234/w1-c2", second)
        yield* git.keepWork(repo.path, "refs/oompa/kept/ffff0000/w0-c1", second)
        expect(yield* git.listRefs(repo.path, "refs/oompa/kept/abcd1234/")).toEqual([
          { ref: "refs/oompa/kept/abcd1234/w0-c1", sha: first },
          { ref: "refs/oompa/kept/abcd1234/w1-c2", sha: second }
        ])
        expect(yield* git.listRefs(repo.path, "refs/oompa/kept")).toHaveLength(3)
        expect(yield* repo.git("reflog", "--format=%gs", "refs/oompa/kept/abcd1234/w0-c1")).toBe("oompa: keep work")

        // compare-and-swap: a stale old value is refused
        const stale = yield* Effect.flip(
          git.updateRef(repo.path, "refs/oompa/kept/abcd1234/w0-c1", second, { oldSha: second })
        )
        expect(stale._tag).toBe("GitError")
        yield* git.updateRef(repo.path, "refs/oompa/kept/abcd1234/w0-c1", second, { oldSha: first })
        expect(yield* git.revParse(repo.path, "refs/oompa/kept/abcd1234/w0-c1")).toBe(second)

        yield* git.deleteRef(repo.path, "refs/oompa/kept/abcd1234/w0-c1")
        expect(yield* git.listRefs(repo.path, "refs/oompa/kept/abcd1234")).toEqual([
          { ref: "refs/oompa/kept/abcd1234/w1-c2", sha: second }
        ])
        expect(yield* git.isAncestor(repo.path, first, second)).toBe(true)
        expect(yield* git.isAncestor(repo.path, second, first)).toBe(false)
      })
    )
  })
})
