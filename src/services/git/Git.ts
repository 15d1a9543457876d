/**
 * Git: the git primitives oompa uses (SPEC §5–§8, §12), no policy.
 *
 * Every call runs `git` with no shell (./gitProcess.ts), with a non-interactive
 * environment, collects (capped) stdout/stderr while waiting
 * for the exit code, checks that exit code, and is bounded by a timeout after
 * which the whole process group is killed (SIGTERM, then SIGKILL).
 * A failing call is a `GitError` carrying the argv, cwd, exit code and stderr;
 * a call that runs out of time is a `GitTimeout`.
 *
 * What git prints is read by the pure parsers of ./porcelain.ts; the exclude
 * file is written by ./exclude.ts. The merge policy of SPEC §7 (the verified
 * fast forward, the verified branch delete) is the engine's: src/engine/merge.ts,
 * on top of `isAncestor`, `updateRef`, `fastForwardCheckout` and `forceDeleteBranch`.
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Context, Duration, Effect, Layer, Option, Schedule, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { REVIEW_DIFF_MAX_CHARS } from "../../domain/reviewDiff.js"
import { appendExclude, excludeFileOf } from "./exclude.js"
import { runGitProcess } from "./gitProcess.js"
import { branchCheckoutsOf, parentsAreAsWritten, reachableThroughLooseCommits, readHeadFile, readRef, refDirsOf, type BranchCheckouts } from "./refFiles.js"
import { parseRefLines, parseWorktrees, splitLines, splitNul, unmergedOfStatus, type RefEntry, type Worktree } from "./porcelain.js"

export type { RefEntry, Worktree } from "./porcelain.js"
export type { BranchCheckouts } from "./refFiles.js"

// ---------------------------------------------------------------------------
// Errors

/** A git command exited with an unexpected code (or could not be started: exitCode -1). */
export class GitError extends Schema.TaggedError<GitError>()("GitError", {
  args: Schema.Array(Schema.String),
  cwd: Schema.String,
  exitCode: Schema.Number,
  stderr: Schema.String
}) {
  override get message(): string {
    const detail = this.stderr.trim()
    return `git ${this.args.join(" ")} (in ${this.cwd}) ${
      this.exitCode === -1 ? "could not run" : `exited with code ${this.exitCode}`
    }${detail === "" ? "" : `: ${detail}`}`
  }
}

/** A git command ran longer than its timeout; its process group was killed. */
export class GitTimeout extends Schema.TaggedError<GitTimeout>()("GitTimeout", {
  args: Schema.Array(Schema.String),
  cwd: Schema.String,
  timeoutMillis: Schema.Number
}) {
  override get message(): string {
    return `git ${this.args.join(" ")} (in ${this.cwd}) timed out after ${this.timeoutMillis} ms and was killed`
  }
}

// ---------------------------------------------------------------------------
// Data

export interface RunOptions {
  /** Default: the service's timeout (120 s). */
  readonly timeout?: Duration.DurationInput
  /** Exit codes that count as success (default `[0]`). */
  readonly okExitCodes?: ReadonlyArray<number>
  /** Cap on the stdout bytes kept (default 8 MiB; the rest is read and dropped). */
  readonly maxStdoutBytes?: number
}

export interface RunResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
  /** stdout was longer than `maxStdoutBytes`. */
  readonly stdoutTruncated: boolean
}

export interface CallOptions {
  readonly timeout?: Duration.DurationInput
}

export interface Diff {
  /** `git diff base...head`, cut at `maxChars`. */
  readonly text: string
  readonly truncated: boolean
  /** Every file the diff touches, even when `text` was cut. */
  readonly files: ReadonlyArray<string>
  /** `git diff --stat base...head`. */
  readonly stat: string
}

export interface WorktreeStatus {
  /** Paths with unmerged index entries (a conflict not yet resolved), each once. */
  readonly unmerged: ReadonlyArray<string>
  /** Nothing changed, staged or untracked (ignored files do not count). */
  readonly clean: boolean
}

export type MergeResult =
  | { readonly _tag: "Merged"; readonly head: string }
  | { readonly _tag: "UpToDate" }
  | { readonly _tag: "Conflict"; readonly paths: ReadonlyArray<string> }

export interface GitOptions {
  /** Default timeout of every call (120 s). */
  readonly timeout?: Duration.DurationInput
  /** Extra environment for every git call (tests point HOME elsewhere with it). */
  readonly env?: Readonly<Record<string, string>>
  /** Time between SIGTERM and SIGKILL when a call is stopped (2 s). */
  readonly killGrace?: Duration.DurationInput
}

export interface GitService {
  /** Run any git command; the building block of everything below. */
  readonly run: (
    cwd: string,
    args: ReadonlyArray<string>,
    options?: RunOptions
  ) => Effect.Effect<RunResult, GitError | GitTimeout>

  readonly toplevel: (cwd: string) => Effect.Effect<string, GitError | GitTimeout>
  /** Absolute path of the common git dir (`.git` of the main worktree, also from a linked worktree). */
  readonly commonDir: (cwd: string) => Effect.Effect<string, GitError | GitTimeout>
  /** Short branch name; None when HEAD is detached. */
  readonly currentBranch: (repo: string) => Effect.Effect<Option.Option<string>, GitError | GitTimeout>
  /** Full sha of a revision (fails when it does not resolve). */
  readonly revParse: (repo: string, rev: string) => Effect.Effect<string, GitError | GitTimeout>
  readonly branchExists: (repo: string, branch: string) => Effect.Effect<boolean, GitError | GitTimeout>
  /** Append `pattern` (default `.oompa/`) to `<common-dir>/info/exclude` unless a line already says it. */
  readonly ensureExcluded: (repo: string, pattern?: string) => Effect.Effect<void, GitError | GitTimeout>

  /** `git worktree add -b branch path base`. */
  readonly addWorktree: (
    repo: string,
    path: string,
    branch: string,
    base: string,
    options?: CallOptions
  ) => Effect.Effect<void, GitError | GitTimeout>
  /** `git worktree remove --force --force path` + `git worktree prune`; succeeds when it is already gone. */
  readonly removeWorktree: (
    repo: string,
    path: string,
    options?: CallOptions
  ) => Effect.Effect<void, GitError | GitTimeout>
  readonly listWorktrees: (repo: string) => Effect.Effect<ReadonlyArray<Worktree>, GitError | GitTimeout>
  /**
   * The worktrees that have `branchRef` (`refs/heads/x`) checked out, and those in the
   * middle of rebasing it (HEAD detached, rebase state naming it): read from the git
   * dirs where the layout allows, else from `git worktree list`.
   */
  readonly branchCheckouts: (repo: string, branchRef: string) => Effect.Effect<BranchCheckouts, GitError | GitTimeout>

  /** Tracked or untracked (not ignored) changes. */
  readonly hasChanges: (cwd: string) => Effect.Effect<boolean, GitError | GitTimeout>
  /**
   * One `git status`: the paths with unmerged index entries (what
   * `unmergedPaths` says) and whether anything at all is changed or untracked
   * (what `hasChanges` says).
   */
  readonly worktreeStatus: (cwd: string) => Effect.Effect<WorktreeStatus, GitError | GitTimeout>
  /**
   * The shas of full ref names (`refs/heads/x`, `refs/oompa/kept/…`) in one
   * `git for-each-ref`; a ref that does not exist is absent from the map.
   */
  readonly resolveRefs: (
    repo: string,
    refs: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyMap<string, string>, GitError | GitTimeout>
  /**
   * Stage everything (new files included) and commit; None when there was
   * nothing to commit. Hooks are skipped (`--no-verify`): this commit records
   * the agent's work and must not be refused (SPEC §8); `test_command` is the gate.
   * Uses the user's identity, or `oompa <oompa@localhost>` when none is configured.
   */
  readonly commitAll: (
    cwd: string,
    message: string,
    options?: CallOptions
  ) => Effect.Effect<Option.Option<string>, GitError | GitTimeout>

  readonly mergeBase: (cwd: string, a: string, b: string) => Effect.Effect<string, GitError | GitTimeout>
  /**
   * `base...head` (changes on head since the merge base), text capped at `maxChars` (default 48 000).
   * `files`: what `changedFiles` already said for this range (saves a git call).
   */
  readonly diff: (
    cwd: string,
    base: string,
    head: string,
    options?: { readonly maxChars?: number; readonly files?: ReadonlyArray<string> } & CallOptions
  ) => Effect.Effect<Diff, GitError | GitTimeout>
  /** Every file the `base...head` diff touches (`git diff --name-only`); empty when there are no changes. */
  readonly changedFiles: (
    cwd: string,
    base: string,
    head: string,
    options?: CallOptions
  ) => Effect.Effect<ReadonlyArray<string>, GitError | GitTimeout>
  /** One line per commit: `<short sha> <subject>`, newest first. */
  readonly log: (cwd: string, range: string) => Effect.Effect<ReadonlyArray<string>, GitError | GitTimeout>

  /** `git merge --no-ff --no-edit ref` inside `worktree`. A conflict is a result, not an error; the merge is left in progress. */
  readonly mergeInto: (
    worktree: string,
    ref: string,
    options?: CallOptions
  ) => Effect.Effect<MergeResult, GitError | GitTimeout>
  /** `git merge --abort` when a merge is in progress; nothing otherwise. */
  readonly abortMerge: (worktree: string) => Effect.Effect<void, GitError | GitTimeout>
  readonly unmergedPaths: (cwd: string) => Effect.Effect<ReadonlyArray<string>, GitError | GitTimeout>
  /** Files of the `base...head` diff whose content at `head` still has conflict marker lines. */
  readonly conflictMarkers: (
    cwd: string,
    base: string,
    head: string
  ) => Effect.Effect<ReadonlyArray<string>, GitError | GitTimeout>
  readonly isMergeInProgress: (cwd: string) => Effect.Effect<boolean, GitError | GitTimeout>

  /** Full sha of the commit a revision names (`rev^{commit}`; fails when it does not resolve to one). */
  readonly commitOf: (repo: string, rev: string) => Effect.Effect<string, GitError | GitTimeout>
  /** Is `path` the repository's main worktree (the user's checkout), compared by real path? */
  readonly isMainWorktree: (repo: string, path: string) => Effect.Effect<boolean, GitError | GitTimeout>
  /** Is `branchRef` (`refs/heads/x`) being rebased in this worktree (HEAD detached, rebase state naming it)? */
  readonly isRebasing: (worktree: Worktree, branchRef: string) => Effect.Effect<boolean>
  /**
   * `git merge --ff-only --no-edit sha` in `worktree`: HEAD, index and files move
   * together, or git refuses before touching anything. Exit codes 0, 1 and 128
   * are results (the caller reads stderr for why), others a `GitError`.
   */
  readonly fastForwardCheckout: (
    worktree: string,
    sha: string,
    options?: CallOptions
  ) => Effect.Effect<RunResult, GitError | GitTimeout>
  /**
   * `git read-tree -m -u from to`: moves index and files of `worktree` from tree
   * `from` to tree `to`, keeping every local change (a two-tree merge).
   */
  readonly readTree: (
    worktree: string,
    from: string,
    to: string,
    options?: CallOptions
  ) => Effect.Effect<void, GitError | GitTimeout>
  /** `git branch -D branch`, unchecked: the engine's `deleteBranch` verifies first. */
  readonly forceDeleteBranch: (repo: string, branch: string) => Effect.Effect<void, GitError | GitTimeout>

  /** Is `a` an ancestor of (or equal to) `b`? */
  readonly isAncestor: (repo: string, a: string, b: string) => Effect.Effect<boolean, GitError | GitTimeout>
  /** `git update-ref ref sha [oldSha]` (compare-and-swap when `oldSha` is given). */
  readonly updateRef: (
    repo: string,
    ref: string,
    sha: string,
    options?: { readonly oldSha?: string; readonly message?: string }
  ) => Effect.Effect<void, GitError | GitTimeout>
  readonly deleteRef: (repo: string, ref: string) => Effect.Effect<void, GitError | GitTimeout>
  /** Refs under `prefix` (e.g. `refs/oompa/kept/`). */
  readonly listRefs: (repo: string, prefix: string) => Effect.Effect<ReadonlyArray<RefEntry>, GitError | GitTimeout>
  /** Point `ref` (e.g. `refs/oompa/kept/<swarm>/<worker>-c<N>`) at `sha`, with a reflog entry. */
  readonly keepWork: (
    repo: string,
    ref: string,
    sha: string,
    message?: string
  ) => Effect.Effect<void, GitError | GitTimeout>
}

export class Git extends Context.Tag("oompa/Git")<Git, GitService>() {}

// ---------------------------------------------------------------------------
// Implementation

const BASE_ENV: Record<string, string> = {
  GIT_TERMINAL_PROMPT: "0",
  LC_ALL: "C",
  GIT_EDITOR: "true",
  GIT_MERGE_AUTOEDIT: "no"
}

const DEFAULT_TIMEOUT = Duration.seconds(120)
const MAX_STDERR_BYTES = 1024 * 1024
const MAX_STDOUT_BYTES = 8 * 1024 * 1024
const FALLBACK_NAME = "oompa"
const FALLBACK_EMAIL = "oompa@localhost"
/** Commits read at most when looking for an ancestor through loose objects before asking git. */
const LOOSE_WALK_LIMIT = 32
/** Bytes kept for the stat ahead of the patch when both come from one `git diff` (160 columns a file). */
const STAT_ALLOWANCE = 256 * 1024

/** Arguments that would be read as options are refused before git sees them. */
const optionLike = (values: ReadonlyArray<string>): string | undefined => values.find((v) => v.startsWith("-"))

export const makeGit = (options: GitOptions = {}) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const defaultTimeout = Duration.decode(options.timeout ?? DEFAULT_TIMEOUT)
    const killGrace = Duration.decode(options.killGrace ?? Duration.seconds(2))
    const env = { ...BASE_ENV, ...options.env }
    const excludeLock = yield* Effect.makeSemaphore(1)
    // `git worktree add`, `remove` and `prune` edit .git/worktrees/ without a lock of git's
    // own: a prune while another add is half-way removes the new entry ("failed to read
    // .git/worktrees/<x>/commondir"). This process runs them one at a time; another
    // process (a second swarm) is covered by addWorktree's retry.
    const worktreeAdmin = yield* Effect.makeSemaphore(1)
    // Facts about immutable objects, per repository (its common git dir): a full sha
    // that resolved to a commit stays one, and whether one commit is an ancestor of
    // another never changes. Refs (branches, HEAD) are never cached: they move.
    const knownCommits = new Set<string>()
    const knownAncestry = new Map<string, boolean>()
    // The fallback identity args per repository, with the config files' signature they
    // were read under: a config edit (git config user.name …, a new ~/.gitconfig) is seen.
    const identities = new Map<
      string,
      { readonly origins: ReadonlyArray<string>; readonly signature: string; readonly args: ReadonlyArray<string> }
    >()

    const run = (
      cwd: string,
      args: ReadonlyArray<string>,
      runOptions: RunOptions = {}
    ): Effect.Effect<RunResult, GitError | GitTimeout> => {
      const timeout = Duration.decode(runOptions.timeout ?? defaultTimeout)
      const ok = runOptions.okExitCodes ?? [0]
      return runGitProcess({
        cwd,
        args,
        env,
        timeoutMillis: Duration.toMillis(timeout),
        killGraceMillis: Duration.toMillis(killGrace),
        maxStdoutBytes: runOptions.maxStdoutBytes ?? MAX_STDOUT_BYTES,
        maxStderrBytes: MAX_STDERR_BYTES
      }).pipe(
        Effect.mapError((failure) =>
          failure._tag === "TimedOut"
            ? new GitTimeout({ args: [...args], cwd, timeoutMillis: Duration.toMillis(timeout) })
            : new GitError({ args: [...args], cwd, exitCode: -1, stderr: failure.message })
        ),
        Effect.flatMap((result) =>
          ok.includes(result.exitCode)
            ? Effect.succeed(result)
            : Effect.fail(new GitError({ args: [...args], cwd, exitCode: result.exitCode, stderr: result.stderr }))
        )
      )
    }

    /** Refuse a revision/path argument that git would parse as an option. */
    const guard = (cwd: string, args: ReadonlyArray<string>, values: ReadonlyArray<string>) => {
      const bad = optionLike(values)
      return bad === undefined
        ? Effect.void
        : Effect.fail(
            new GitError({ args: [...args], cwd, exitCode: -1, stderr: `refusing argument that looks like an option: ${bad}` })
          )
    }

    /** Run with a guard on the given values, return trimmed stdout. */
    const out = (cwd: string, args: ReadonlyArray<string>, values: ReadonlyArray<string> = [], runOptions?: RunOptions) =>
      guard(cwd, args, values).pipe(
        Effect.zipRight(run(cwd, args, runOptions)),
        Effect.map((r) => r.stdout.trim())
      )

    /** Exit 0 → true, exit 1 → false, anything else → GitError. */
    const test = (cwd: string, args: ReadonlyArray<string>, values: ReadonlyArray<string> = []) =>
      guard(cwd, args, values).pipe(
        Effect.zipRight(run(cwd, args, { okExitCodes: [0, 1] })),
        Effect.map((r) => r.exitCode === 0)
      )

    const realPath = (p: string) => fs.realPath(p).pipe(Effect.orElseSucceed(() => NodePath.resolve(p)))

    /** The repository `cwd` belongs to (its common git dir) and its own git dir, from git's files (./refFiles.ts). */
    const repoDirsOf = (cwd: string) => Effect.sync(() => refDirsOf(cwd))

    /** The key of the object caches: the common git dir, else the folder itself (no sharing, still right). */
    const repoKey = (cwd: string) =>
      Effect.map(repoDirsOf(cwd), (dirs) => (dirs === undefined ? `cwd:${NodePath.resolve(cwd)}` : dirs.common))

    /** The repository's objects are named by sha256 (`extensions.objectformat`), as its config says. */
    const isSha256Repository = (cwd: string) =>
      Effect.gen(function* () {
        const dirs = yield* repoDirsOf(cwd)
        if (dirs === undefined) return true // unknown layout: do not trust a 40-digit name
        const config = yield* fs.readFileString(NodePath.join(dirs.common, "config")).pipe(Effect.orElseSucceed(() => ""))
        return /^\s*objectformat\s*=\s*sha256\s*$/im.test(config)
      })

    const readTextOrEmpty = (file: string) => {
      try {
        return NodeFs.readFileSync(file, "utf8")
      } catch {
        return ""
      }
    }

    const isFullSha = (rev: string) => /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(rev)

    /**
     * Path and content of each file that exists: editing, creating or removing any
     * of them changes the text. Content, not mtime: git rewrites .git/config (a new
     * file) whenever a branch is deleted, without changing what it says. Missing
     * files are left out, so the worktrees of one repository, none with a
     * config.worktree, share a signature.
     */
    const signatureOf = (files: ReadonlyArray<string>) =>
      Effect.forEach([...new Set(files)], (file) =>
        fs.readFileString(file).pipe(
          Effect.map((text) => `${file}\0${text}`),
          Effect.orElseSucceed(() => "")
        )
      ).pipe(Effect.map((parts) => parts.filter((part) => part !== "").join("\0\0")))

    /** The config files git reads for the identity of `cwd`, whether they exist yet or not. */
    const configFilesOf = (dirs: { readonly common: string; readonly gitDir: string }) => {
      const vars = { ...process.env, ...env }
      const home = vars.HOME ?? ""
      const xdg = vars.XDG_CONFIG_HOME ? NodePath.join(vars.XDG_CONFIG_HOME, "git", "config") : NodePath.join(home, ".config", "git", "config")
      return [
        vars.GIT_CONFIG_SYSTEM ?? "/etc/gitconfig",
        ...(vars.GIT_CONFIG_GLOBAL !== undefined ? [vars.GIT_CONFIG_GLOBAL] : [NodePath.join(home, ".gitconfig"), xdg]),
        NodePath.join(dirs.common, "config"),
        NodePath.join(dirs.gitDir, "config.worktree")
      ]
    }

    /**
     * `-c user.name=… -c user.email=…` for whatever identity part is not configured.
     * Read with one `git config --list --show-origin`, then reused while none of the
     * config files it could come from (the standard ones and every file that listing
     * read, includes too) has changed: commits after the user sets or changes an
     * identity use it.
     */
    const identityArgs = Effect.fn("Git.identityArgs")(function* (cwd: string) {
      const dirs = yield* repoDirsOf(cwd)
      const cached = dirs === undefined ? undefined : identities.get(dirs.common)
      // Only the config files can change the answer: unchanged files, same identity.
      if (dirs !== undefined && cached !== undefined) {
        if ((yield* signatureOf([...configFilesOf(dirs), ...cached.origins])) === cached.signature) return cached.args
      }
      const listed = yield* run(cwd, ["config", "--list", "--show-origin", "-z"])
      const values = new Map<string, string>()
      const origins = new Set<string>()
      const fields = listed.stdout.split("\0")
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const origin = fields[i]!
        const entry = fields[i + 1]!
        if (origin.startsWith("file:")) origins.add(NodePath.resolve(cwd, origin.slice("file:".length)))
        const newline = entry.indexOf("\n")
        const key = (newline === -1 ? entry : entry.slice(0, newline)).toLowerCase()
        if (key === "user.name" || key === "user.email") values.set(key, newline === -1 ? "" : entry.slice(newline + 1))
      }
      const args: Array<string> = []
      if ((values.get("user.name") ?? "").trim() === "") args.push("-c", `user.name=${FALLBACK_NAME}`)
      if ((values.get("user.email") ?? "").trim() === "") args.push("-c", `user.email=${FALLBACK_EMAIL}`)
      if (dirs !== undefined) {
        const signature = yield* signatureOf([...configFilesOf(dirs), ...origins])
        identities.set(dirs.common, { origins: [...origins], signature, args })
      }
      return args as ReadonlyArray<string>
    })

    const toplevel = (cwd: string) =>
      Effect.suspend(() => {
        // A folder holding `.git` is its checkout's top (unless core.worktree says otherwise); git prints it as a physical path.
        const dirs = refDirsOf(cwd)
        const config = dirs === undefined ? "" : (readTextOrEmpty(NodePath.join(dirs.common, "config")) + readTextOrEmpty(NodePath.join(dirs.gitDir, "config.worktree")))
        if (dirs !== undefined && !/^\s*(worktree\s*=|bare\s*=\s*true\s*$)/im.test(config)) return Effect.succeed(NodeFs.realpathSync(cwd))
        return out(cwd, ["rev-parse", "--show-toplevel"])
      })

    // The repository a folder belongs to does not change while oompa runs in it: asked once per folder.
    const commonDirs = new Map<string, string>()
    const commonDir = (cwd: string) =>
      commonDirs.has(cwd)
        ? Effect.succeed(commonDirs.get(cwd)!)
        : out(cwd, ["rev-parse", "--path-format=absolute", "--git-common-dir"]).pipe(Effect.tap((dir) => commonDirs.set(cwd, dir)))

    const currentBranch = (repo: string) =>
      Effect.suspend(() => {
        // HEAD's file names the branch ("ref: refs/heads/x"), or holds a sha when detached.
        const dirs = refDirsOf(repo)
        const head = dirs === undefined ? undefined : readHeadFile(dirs)
        if (head?.startsWith("ref: refs/heads/")) return Effect.succeed(Option.some(head.slice("ref: refs/heads/".length)))
        if (head !== undefined && isFullSha(head)) return Effect.succeed(Option.none<string>())
        return currentBranchFromGit(repo)
      })
    const currentBranchFromGit = (repo: string) =>
      run(repo, ["symbolic-ref", "--quiet", "--short", "HEAD"], { okExitCodes: [0, 1] }).pipe(
        Effect.map((r) => (r.exitCode === 0 && r.stdout.trim() !== "" ? Option.some(r.stdout.trim()) : Option.none()))
      )

    /**
     * A ref's value read from git's files (no git process); undefined when git must
     * be asked (an unusual layout, a revision that is not a plain ref name…).
     */
    const refFromFiles = (cwd: string, name: string) =>
      Effect.sync(() => {
        const dirs = refDirsOf(cwd)
        return dirs === undefined ? undefined : readRef(dirs, name)
      })

    /**
     * The sha a full sha, HEAD, a full ref name or a branch name stands for, from git's
     * files; undefined when git must be asked. A short name is taken for a branch only
     * when none of the names git tries before refs/heads/ exists (a tag of that name wins).
     */
    const shaFromFiles = (cwd: string, rev: string) =>
      Effect.sync((): string | undefined => {
        if (isFullSha(rev)) return rev
        const dirs = refDirsOf(cwd)
        if (dirs === undefined) return undefined
        const sha = (value: ReturnType<typeof readRef>) => (value?._tag === "Sha" ? value.sha : undefined)
        if (rev === "HEAD" || rev.startsWith("refs/")) return sha(readRef(dirs, rev))
        const earlier = [readRef(dirs, `refs/${rev}`), readRef(dirs, `refs/tags/${rev}`)]
        if (earlier.some((value) => value?._tag !== "Absent")) return undefined
        if (NodeFs.existsSync(NodePath.join(dirs.gitDir, rev)) || NodeFs.existsSync(NodePath.join(dirs.common, rev))) return undefined
        return sha(readRef(dirs, `refs/heads/${rev}`))
      })

    const revParse = (repo: string, rev: string) =>
      Effect.flatMap(refFromFiles(repo, rev), (value) =>
        value?._tag === "Sha" ? Effect.succeed(value.sha) : out(repo, ["rev-parse", "--verify", "--end-of-options", rev])
      )

    /** Remember that `sha` is a commit of the repository of `cwd`. */
    const rememberCommit = (cwd: string, sha: string) =>
      Effect.map(repoKey(cwd), (key) => void knownCommits.add(`${key}\0${sha}`))

    const commitOf = (repo: string, rev: string) =>
      Effect.gen(function* () {
        const key = yield* repoKey(repo)
        // A full sha already seen to be a commit here is one for ever: no git call.
        if (isFullSha(rev) && knownCommits.has(`${key}\0${rev}`)) return rev
        // git writes only commits to HEAD and refs/heads/* ("trying to write non-commit object
        // … to branch"): what their files hold is the answer.
        if (rev === "HEAD" || rev.startsWith("refs/heads/")) {
          const value = yield* refFromFiles(repo, rev)
          if (value?._tag === "Sha") {
            knownCommits.add(`${key}\0${value.sha}`)
            return value.sha
          }
        }
        const sha = yield* out(repo, ["rev-parse", "--verify", "--end-of-options", `${rev}^{commit}`])
        knownCommits.add(`${key}\0${sha}`)
        return sha
      })

    const branchExists = (repo: string, branch: string) =>
      Effect.flatMap(refFromFiles(repo, `refs/heads/${branch}`), (value) =>
        value === undefined ? test(repo, ["show-ref", "--verify", "--quiet", `refs/heads/${branch}`]) : Effect.succeed(value._tag === "Sha")
      )

    const ensureExcluded = Effect.fn("Git.ensureExcluded")(function* (repo: string, pattern: string = ".oompa/") {
      const common = yield* commonDir(repo)
      const file = excludeFileOf(common)
      yield* excludeLock.withPermits(1)(
        appendExclude(common, pattern).pipe(
          Effect.provideService(FileSystem.FileSystem, fs),
          Effect.mapError((e: PlatformError) => new GitError({ args: ["(write)", file], cwd: repo, exitCode: -1, stderr: e.message }))
        )
      )
    })

    const addWorktree = Effect.fn("Git.addWorktree")(function* (
      repo: string,
      path: string,
      branch: string,
      base: string,
      callOptions: CallOptions = {}
    ) {
      const args = ["worktree", "add", "-b", branch, path, base]
      yield* guard(repo, args, [path, branch, base])
      // git refuses an existing branch before it creates anything ("a branch named … already
      // exists"): that error is final, and the branch, not this add's, is left alone.
      const branchTaken = (error: GitError | GitTimeout) =>
        error._tag === "GitError" && error.stderr.includes(`a branch named '${branch}' already exists`)
      const attempt = Effect.gen(function* () {
        const folderExisted = yield* fs.exists(NodePath.resolve(repo, path)).pipe(Effect.orElseSucceed(() => true))
        // A failed add can leave its branch (and a half-made folder) behind: remove both
        // before the error goes on, so nothing it created outlives it.
        yield* run(repo, args, callOptions).pipe(
          Effect.tapError((error) => (branchTaken(error) ? Effect.void : undoFailedAdd(repo, path, branch, folderExisted)))
        )
      }).pipe(worktreeAdmin.withPermits(1))
      // Spurious failures come from a concurrent prune in another process: retry twice.
      yield* attempt.pipe(Effect.retry({ times: 2, schedule: Schedule.spaced(Duration.millis(200)), while: (error) => !branchTaken(error) }))
    })

    /** Removes what a failed `worktree add -b` may have created: the branch, the folder, the admin entry. */
    const undoFailedAdd = (repo: string, path: string, branch: string, folderExisted: boolean) =>
      Effect.gen(function* () {
        const wanted = yield* realPath(NodePath.resolve(repo, path))
        const registered = yield* listWorktrees(repo).pipe(Effect.flatMap((ws) => Effect.forEach(ws, (w) => realPath(w.path))))
        if (!folderExisted && !registered.includes(wanted)) {
          yield* fs.remove(wanted, { recursive: true }).pipe(Effect.ignore)
        }
        yield* run(repo, ["worktree", "prune"])
        // The branch was created by this add (it did not exist before): it holds nothing but the base.
        const checkedOut = (yield* listWorktrees(repo)).some((w) => Option.contains(w.branch, `refs/heads/${branch}`))
        if (!checkedOut && (yield* branchExists(repo, branch))) yield* run(repo, ["branch", "-D", branch])
      }).pipe(Effect.ignore)

    const listWorktrees = (repo: string) =>
      run(repo, ["worktree", "list", "--porcelain", "-z"]).pipe(Effect.map((r) => parseWorktrees(r.stdout)))

    const branchCheckouts = (repo: string, branchRef: string) =>
      Effect.gen(function* () {
        const dirs = refDirsOf(repo)
        const fromFiles = dirs === undefined ? undefined : branchCheckoutsOf(dirs.common, branchRef)
        if (fromFiles !== undefined) return fromFiles
        const worktrees = yield* listWorktrees(repo)
        const rebasing = yield* Effect.filter(worktrees, (w) => isRebasing(w, branchRef))
        return {
          holders: worktrees.filter((w) => Option.contains(w.branch, branchRef)).map((w) => w.path),
          rebasing: rebasing.map((w) => w.path)
        } satisfies BranchCheckouts
      })

    const removeWorktree = Effect.fn("Git.removeWorktree")(function* (
      repo: string,
      path: string,
      callOptions: CallOptions = {}
    ) {
      const args = ["worktree", "remove", "--force", "--force", path]
      yield* guard(repo, args, [path])
      // git removes the worktree's admin entry itself; prune is needed only when the remove
      // failed (the folder was deleted behind git's back and its entry is left).
      const removed = yield* run(repo, args, { ...callOptions, okExitCodes: [0, 128] }).pipe(
        Effect.tap((r) => (r.exitCode === 0 ? Effect.void : run(repo, ["worktree", "prune"], callOptions))),
        worktreeAdmin.withPermits(1)
      )
      if (removed.exitCode === 0) return
      // Failed: fine if the worktree is not registered (already gone), an error otherwise.
      const wanted = yield* realPath(NodePath.resolve(repo, path))
      const worktrees = yield* listWorktrees(repo)
      const registered = yield* Effect.forEach(worktrees, (w) => realPath(w.path))
      if (registered.includes(wanted)) {
        return yield* new GitError({ args, cwd: repo, exitCode: removed.exitCode, stderr: removed.stderr })
      }
    })

    const hasChanges = (cwd: string) =>
      run(cwd, ["status", "--porcelain=v1", "-z", "--untracked-files=all"]).pipe(
        Effect.map((r) => r.stdout.length > 0)
      )

    const worktreeStatus = (cwd: string) =>
      run(cwd, ["status", "--porcelain=v1", "-z", "--untracked-files=all"]).pipe(
        Effect.map((r): WorktreeStatus => ({ unmerged: unmergedOfStatus(r.stdout), clean: r.stdout.length === 0 }))
      )

    const resolveRefs = (repo: string, refs: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        if (refs.length === 0) return new Map<string, string>() as ReadonlyMap<string, string>
        yield* guard(repo, ["for-each-ref", ...refs], refs)
        const fromFiles = yield* Effect.forEach(refs, (ref) => refFromFiles(repo, ref))
        if (fromFiles.every((value) => value !== undefined)) {
          return new Map(
            refs.flatMap((ref, i) => {
              const value = fromFiles[i]!
              return value._tag === "Sha" ? [[ref, value.sha] as const] : []
            })
          ) as ReadonlyMap<string, string>
        }
        // A pattern also matches refs below it (refs/heads/x/y): keep the exact names only.
        const listed = yield* run(repo, ["for-each-ref", "--format=%(objectname) %(refname)", ...refs])
        const wanted = new Set(refs)
        return new Map(parseRefLines(listed.stdout).flatMap((r) => (wanted.has(r.ref) ? [[r.ref, r.sha] as const] : []))) as ReadonlyMap<
          string,
          string
        >
      })

    const commitAll = Effect.fn("Git.commitAll")(function* (
      cwd: string,
      message: string,
      callOptions: CallOptions = {}
    ) {
      yield* run(cwd, ["add", "-A"], callOptions)
      const identity = yield* identityArgs(cwd)
      // core.abbrev=40 makes the summary line ("[branch <sha>] subject") carry the full sha.
      const args = [...identity, "-c", "core.abbrev=40", "commit", "--no-verify", "--no-gpg-sign", "-m", message]
      // Exit 1 with git's "nothing to commit" (LC_ALL=C) is the nothing-staged answer `diff --cached --quiet` gave.
      const committed = yield* run(cwd, args, { ...callOptions, okExitCodes: [0, 1] })
      if (committed.exitCode === 1) {
        if (/^(nothing to commit|nothing added to commit|no changes added to commit)/m.test(committed.stdout)) {
          return Option.none<string>()
        }
        return yield* new GitError({ args, cwd, exitCode: 1, stderr: committed.stderr + committed.stdout })
      }
      const sha = /^\[(?:[^\n]* )?([0-9a-f]{40})\] /m.exec(committed.stdout)?.[1]
      // In a sha256 repository 40 digits are only a prefix: ask git for the whole name there.
      if (sha === undefined || (yield* isSha256Repository(cwd))) return Option.some(yield* commitOf(cwd, "HEAD"))
      yield* rememberCommit(cwd, sha)
      return Option.some(sha)
    })

    const mergeBase = (cwd: string, a: string, b: string) =>
      out(cwd, ["merge-base", "--end-of-options", a, b], [a, b])

    const diff = Effect.fn("Git.diff")(function* (
      cwd: string,
      base: string,
      head: string,
      diffOptions: { readonly maxChars?: number; readonly files?: ReadonlyArray<string> } & CallOptions = {}
    ) {
      const maxChars = diffOptions.maxChars ?? REVIEW_DIFF_MAX_CHARS
      const range = `${base}...${head}`
      const common = ["diff", "--no-color", "--no-ext-diff", "--no-textconv"]
      yield* guard(cwd, [...common, range], [base, head])
      const callOptions = diffOptions.timeout === undefined ? {} : { timeout: diffOptions.timeout }
      const files =
        diffOptions.files ?? splitNul((yield* run(cwd, [...common, "--name-only", "-z", range, "--"], callOptions)).stdout)
      // The stat and the patch in one call: git prints the stat, a blank line, then the patch.
      // A char is at most 4 bytes of UTF-8: keep enough bytes for maxChars chars of patch after
      // the stat (at most STAT_ALLOWANCE bytes), and one more to see the cut.
      const both = yield* run(cwd, [...common, "--stat=160", "--patch", range, "--"], {
        ...callOptions,
        maxStdoutBytes: STAT_ALLOWANCE + maxChars * 4 + 4
      })
      const split = both.stdout.indexOf("\n\ndiff --git ")
      let statText: string
      let patch: string
      let cut: boolean
      if (split !== -1 || (both.stdout === "" && !both.stdoutTruncated)) {
        statText = split === -1 ? "" : both.stdout.slice(0, split + 1)
        patch = split === -1 ? "" : both.stdout.slice(split + 2)
        cut = both.stdoutTruncated
      } else {
        // An unusual output (a stat longer than the allowance): one call each, as git prints them.
        const full = yield* run(cwd, [...common, range, "--"], { ...callOptions, maxStdoutBytes: maxChars * 4 + 4 })
        statText = (yield* run(cwd, [...common, "--stat=160", range, "--"], callOptions)).stdout
        patch = full.stdout
        cut = full.stdoutTruncated
      }
      const truncated = cut || patch.length > maxChars
      return {
        text: truncated ? patch.slice(0, maxChars) : patch,
        truncated,
        files,
        stat: statText.trimEnd()
      } satisfies Diff
    })

    // The files of a three-dot diff between two commits never change: kept by their shas.
    const knownChangedFiles = new Map<string, ReadonlyArray<string>>()
    const changedFiles = (cwd: string, base: string, head: string, callOptions: CallOptions = {}) =>
      Effect.gen(function* () {
        const args = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--name-only", "-z", `${base}...${head}`, "--"]
        yield* guard(cwd, args, [base, head])
        const [baseSha, headSha] = yield* Effect.all([shaFromFiles(cwd, base), shaFromFiles(cwd, head)])
        const key = baseSha !== undefined && headSha !== undefined ? `${yield* repoKey(cwd)}\0${baseSha}\0${headSha}` : undefined
        const known = key === undefined ? undefined : knownChangedFiles.get(key)
        if (known !== undefined) return known
        const files: ReadonlyArray<string> = splitNul((yield* run(cwd, args, callOptions)).stdout)
        if (key !== undefined) knownChangedFiles.set(key, files)
        return files
      })

    const log = (cwd: string, range: string) =>
      guard(cwd, ["log", range], [range]).pipe(
        Effect.zipRight(run(cwd, ["log", "--no-decorate", "--no-color", "--format=%h %s", range, "--"])),
        Effect.map((r) => splitLines(r.stdout))
      )

    const isMergeInProgress = (cwd: string) => test(cwd, ["rev-parse", "--quiet", "--verify", "MERGE_HEAD"])

    const unmergedPaths = (cwd: string) =>
      run(cwd, ["diff", "--name-only", "--diff-filter=U", "-z"]).pipe(
        Effect.map((r) => [...new Set(splitNul(r.stdout))])
      )

    const mergeInto = Effect.fn("Git.mergeInto")(function* (
      worktree: string,
      ref: string,
      callOptions: CallOptions = {}
    ) {
      yield* guard(worktree, ["merge", ref], [ref])
      // `ref` already in HEAD's history (the target has not moved since the work branched off)
      // is git's "Already up to date" — no commit, even with --no-ff: proven from the files,
      // no git process. Only with no merge, cherry-pick or revert in progress, where git
      // would refuse instead.
      const dirs = refDirsOf(worktree)
      if (dirs !== undefined && !["MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD"].some((f) => NodeFs.existsSync(NodePath.join(dirs.gitDir, f)))) {
        const [refSha, headSha] = yield* Effect.all([shaFromFiles(worktree, ref), shaFromFiles(worktree, "HEAD")])
        if (refSha !== undefined && headSha !== undefined && provenAncestor(worktree, refSha, headSha)) {
          const upToDate: MergeResult = { _tag: "UpToDate" }
          return upToDate
        }
      }
      const identity = yield* identityArgs(worktree)
      const args = [...identity, "merge", "--no-ff", "--no-edit", "--no-gpg-sign", "--end-of-options", ref]
      const merged = yield* run(worktree, args, { ...callOptions, okExitCodes: [0, 1] })
      if (merged.exitCode === 0) {
        // With --no-ff a merge that succeeds makes a commit, unless ref was already contained
        // (LC_ALL=C: git says so in these words; older gits wrote "up-to-date").
        const result: MergeResult = /^Already up[ -]to[ -]date\.?$/m.test(merged.stdout)
          ? { _tag: "UpToDate" }
          : { _tag: "Merged", head: yield* commitOf(worktree, "HEAD") }
        return result
      }
      const paths = yield* unmergedPaths(worktree)
      if (paths.length > 0) {
        const result: MergeResult = { _tag: "Conflict", paths }
        return result
      }
      return yield* new GitError({ args, cwd: worktree, exitCode: merged.exitCode, stderr: merged.stderr + merged.stdout })
    })

    const abortMerge = Effect.fn("Git.abortMerge")(function* (worktree: string) {
      if (yield* isMergeInProgress(worktree)) yield* run(worktree, ["merge", "--abort"])
    })

    const MARKERS = ["-e", "^<<<<<<<( |$)", "-e", "^>>>>>>>( |$)", "-e", "^=======$"]

    const conflictMarkers = Effect.fn("Git.conflictMarkers")(function* (cwd: string, base: string, head: string) {
      // `head` as given (HEAD, a sha): the three-dot diff fails unless it names a commit.
      yield* guard(cwd, ["diff", base, head], [base, head])
      // The scan first: it usually finds nothing, and then the diff is not needed.
      const grep = yield* run(cwd, ["grep", "-I", "-l", "-z", "-E", ...MARKERS, head, "--"], { okExitCodes: [0, 1] })
      const prefix = `${head}:`
      const marked = splitNul(grep.stdout).map((p) => (p.startsWith(prefix) ? p.slice(prefix.length) : p))
      if (marked.length === 0) return []
      const changed = yield* run(cwd, ["diff", "--no-ext-diff", "--name-only", "-z", `${base}...${head}`, "--"])
      const files = new Set(splitNul(changed.stdout))
      return marked.filter((p) => files.has(p))
    })

    /**
     * Commit `a` is an ancestor of commit `b` (full shas) by a path through the parents of
     * commits still loose (the fresh work and merges of this swarm), found without a git
     * process; false means no proof, not the contrary.
     */
    const provenAncestor = (repo: string, a: string, b: string): boolean => {
      const dirs = refDirsOf(repo)
      return dirs !== undefined && parentsAreAsWritten(dirs.common) && reachableThroughLooseCommits(dirs.common, a, b, LOOSE_WALK_LIMIT) === true
    }

    const isAncestor = (repo: string, a: string, b: string) =>
      Effect.gen(function* () {
        const ask = test(repo, ["merge-base", "--is-ancestor", "--end-of-options", a, b], [a, b])
        // Ancestry between two commits never changes; between revisions (branches) it does.
        if (!isFullSha(a) || !isFullSha(b)) return yield* ask
        const key = yield* repoKey(repo)
        if (a === b && knownCommits.has(`${key}\0${a}`)) return true
        const pair = `${key}\0${a}\0${b}`
        const known = knownAncestry.get(pair)
        if (known !== undefined) return known
        if (provenAncestor(repo, a, b)) {
          knownAncestry.set(pair, true)
          return true
        }
        const answer = yield* ask
        knownAncestry.set(pair, answer)
        return answer
      })

    const updateRef = (
      repo: string,
      ref: string,
      sha: string,
      refOptions: { readonly oldSha?: string; readonly message?: string } = {}
    ) => {
      const args = [
        "update-ref",
        ...(refOptions.message === undefined ? [] : ["-m", refOptions.message]),
        ref,
        sha,
        ...(refOptions.oldSha === undefined ? [] : [refOptions.oldSha])
      ]
      return guard(repo, args, [ref, sha, ...(refOptions.oldSha === undefined ? [] : [refOptions.oldSha])]).pipe(
        Effect.zipRight(run(repo, args)),
        Effect.asVoid
      )
    }

    const deleteRef = (repo: string, ref: string) =>
      guard(repo, ["update-ref", "-d", ref], [ref]).pipe(
        Effect.zipRight(run(repo, ["update-ref", "-d", ref])),
        Effect.asVoid
      )

    const listRefs = (repo: string, prefix: string) => {
      const pattern = prefix.replace(/\/+$/, "")
      return guard(repo, ["for-each-ref", pattern], [pattern]).pipe(
        Effect.zipRight(run(repo, ["for-each-ref", "--format=%(objectname) %(refname)", pattern])),
        Effect.map((r) => parseRefLines(r.stdout))
      )
    }

    const keepWork = (repo: string, ref: string, sha: string, message: string = "oompa: keep work") =>
      guard(repo, ["update-ref", ref, sha], [ref, sha]).pipe(
        Effect.zipRight(run(repo, ["update-ref", "--create-reflog", "-m", message, ref, sha])),
        Effect.asVoid
      )

    const isRebasing = (worktree: Worktree, branchRef: string): Effect.Effect<boolean> =>
      worktree.bare || !worktree.detached
        ? Effect.succeed(false)
        : Effect.gen(function* () {
            const gitDir = yield* out(worktree.path, ["rev-parse", "--absolute-git-dir"])
            for (const state of ["rebase-merge", "rebase-apply"]) {
              const headName = yield* fs
                .readFileString(NodePath.join(gitDir, state, "head-name"))
                .pipe(Effect.orElseSucceed(() => ""))
              if (headName.trim() === branchRef) return true
            }
            return false
          }).pipe(Effect.catchAll(() => Effect.succeed(false)))

    // The checkout a repository path belongs to is looked up once: a folder does not
    // become another worktree while oompa runs in it.
    const toplevels = new Map<string, string>()
    const isMainWorktree = (repo: string, path: string) =>
      Effect.gen(function* () {
        const known = toplevels.get(repo)
        const main = known ?? (yield* realPath(yield* toplevel(repo)))
        if (known === undefined) toplevels.set(repo, main)
        return (yield* realPath(path)) === main
      })

    const fastForwardCheckout = (worktree: string, sha: string, callOptions: CallOptions = {}) =>
      guard(worktree, ["merge", "--ff-only", sha], [sha]).pipe(
        Effect.zipRight(
          run(worktree, ["merge", "--ff-only", "--no-edit", "--end-of-options", sha], { ...callOptions, okExitCodes: [0, 1, 128] })
        )
      )

    const readTree = (worktree: string, from: string, to: string, callOptions: CallOptions = {}) =>
      guard(worktree, ["read-tree", from, to], [from, to]).pipe(
        Effect.zipRight(run(worktree, ["read-tree", "-m", "-u", from, to], callOptions)),
        Effect.asVoid
      )

    const forceDeleteBranch = (repo: string, branch: string) =>
      guard(repo, ["branch", "-D", branch], [branch]).pipe(Effect.zipRight(run(repo, ["branch", "-D", branch])), Effect.asVoid)

    return Git.of({
      run,
      toplevel,
      commonDir,
      currentBranch,
      revParse,
      branchExists,
      ensureExcluded,
      addWorktree,
      removeWorktree,
      listWorktrees,
      branchCheckouts,
      hasChanges,
      worktreeStatus,
      resolveRefs,
      commitAll,
      mergeBase,
      diff,
      changedFiles,
      log,
      mergeInto,
      abortMerge,
      unmergedPaths,
      conflictMarkers,
      isMergeInProgress,
      commitOf,
      isMainWorktree,
      isRebasing,
      fastForwardCheckout,
      readTree,
      forceDeleteBranch,
      isAncestor,
      updateRef,
      deleteRef,
      listRefs,
      keepWork
    })
  })

/** Git with custom options (timeout, extra environment). Needs FileSystem. */
export const layerGit = (options: GitOptions = {}) => Layer.effect(Git, makeGit(options))

/** Git with the defaults. Needs FileSystem (`NodeContext.layer`). */
export const GitLive = layerGit()
