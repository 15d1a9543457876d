/**
 * Git: every git operation oompa performs (SPEC §5–§8, §12).
 *
 * Every call runs `git` with no shell through @effect/platform `Command`, with
 * a non-interactive environment, collects (capped) stdout/stderr while waiting
 * for the exit code, checks that exit code, and is bounded by a timeout after
 * which the whole process group is killed (SIGTERM, then SIGKILL).
 * A failing call is a `GitError` carrying the argv, cwd, exit code and stderr;
 * a call that runs out of time is a `GitTimeout`.
 *
 * The merge path is verified end to end (SPEC §7, §12): `advanceBranch` only
 * fast-forwards, checks ancestry before and after, never leaves the user's
 * checkout mid-merge, and `deleteBranch` re-checks that the branch is contained
 * in the target before deleting it.
 */
import { Command, CommandExecutor, FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Context, Duration, Effect, Layer, Option, Schedule, Schema, Stream } from "effect"
import * as NodePath from "node:path"
import { REVIEW_DIFF_MAX_CHARS } from "../domain/reviewDiff.js"

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

export interface Worktree {
  readonly path: string
  /** Commit checked out; None for a bare entry. */
  readonly head: Option.Option<string>
  /** Full ref name (`refs/heads/x`); None when detached or bare. */
  readonly branch: Option.Option<string>
  readonly bare: boolean
  readonly detached: boolean
  readonly locked: boolean
  readonly prunable: boolean
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

export type MergeResult =
  | { readonly _tag: "Merged"; readonly head: string }
  | { readonly _tag: "UpToDate" }
  | { readonly _tag: "Conflict"; readonly paths: ReadonlyArray<string> }

export interface RefEntry {
  readonly ref: string
  readonly sha: string
}

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

  /** Tracked or untracked (not ignored) changes. */
  readonly hasChanges: (cwd: string) => Effect.Effect<boolean, GitError | GitTimeout>
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
  /** `base...head` (changes on head since the merge base), text capped at `maxChars` (default 48 000). */
  readonly diff: (
    cwd: string,
    base: string,
    head: string,
    options?: { readonly maxChars?: number } & CallOptions
  ) => Effect.Effect<Diff, GitError | GitTimeout>
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
  readonly advanceBranch: (
    repo: string,
    target: string,
    newTip: string,
    options?: CallOptions
  ) => Effect.Effect<string, GitError | GitTimeout | NotFastForward | FastForwardBlocked | AdvanceNotVerified>
  /** Delete `branch` only if it is contained in `verifiedMergedInto` (a branch name or revision). */
  readonly deleteBranch: (
    repo: string,
    branch: string,
    options: { readonly verifiedMergedInto: string }
  ) => Effect.Effect<void, GitError | GitTimeout | BranchNotMerged>

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

/**
 * The files named by git's refusal to overwrite local changes ("Your local
 * changes to the following files would be overwritten by merge:" and "The
 * following untracked working tree files would be overwritten by merge:"),
 * each list being the tab-indented lines after its header. C-quoted names
 * (`core.quotePath`) are unquoted.
 */
export const filesInTheWay = (message: string): ReadonlyArray<string> => {
  const files: Array<string> = []
  let inList = false
  for (const line of message.split("\n")) {
    if (/would be overwritten by \w+:\s*$/.test(line)) {
      inList = true
      continue
    }
    if (inList && line.startsWith("\t")) {
      const name = unquoteGitPath(line.slice(1).trimEnd())
      if (name !== "" && !files.includes(name)) files.push(name)
      continue
    }
    inList = false
  }
  return files
}

/** Undoes git's C-style path quoting (`"a\\tb"`, octal bytes for non-ASCII); other names pass through. */
const unquoteGitPath = (name: string): string => {
  if (!(name.length >= 2 && name.startsWith('"') && name.endsWith('"'))) return name
  // Byte-wise: a backslash (0x5c) is never part of a multi-byte UTF-8 sequence.
  const input = Buffer.from(name.slice(1, -1), "utf8")
  const simple: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, "\\": 92 }
  const out: Array<number> = []
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== 92 || i + 1 >= input.length) {
      out.push(input[i]!)
      continue
    }
    const rest = input.subarray(i + 1, i + 4).toString("latin1")
    const escape = String.fromCharCode(input[i + 1]!)
    if (/^[0-3][0-7]{2}$/.test(rest)) {
      out.push(parseInt(rest, 8))
      i += 3
    } else if (escape in simple) {
      out.push(simple[escape]!)
      i += 1
    } else {
      out.push(92)
    }
  }
  return Buffer.from(out).toString("utf8")
}

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

interface Collected {
  readonly chunks: Array<Uint8Array>
  size: number
  truncated: boolean
}

/** Read a stream to its end, keeping at most `maxBytes` (the rest is drained so the child never blocks). */
const collectCapped = (stream: Stream.Stream<Uint8Array, PlatformError>, maxBytes: number) =>
  Effect.suspend(() =>
    Stream.runFold(stream, { chunks: [], size: 0, truncated: false } as Collected, (acc, chunk) => {
      const room = maxBytes - acc.size
      if (room <= 0) {
        if (chunk.length > 0) acc.truncated = true
      } else if (chunk.length > room) {
        acc.chunks.push(chunk.subarray(0, room))
        acc.size += room
        acc.truncated = true
      } else {
        acc.chunks.push(chunk)
        acc.size += chunk.length
      }
      return acc
    })
  ).pipe(
    Effect.map((acc) => ({
      text: Buffer.concat(acc.chunks).toString("utf8"),
      truncated: acc.truncated
    }))
  )

const splitNul = (s: string): Array<string> => s.split("\0").filter((x) => x !== "")
const splitLines = (s: string): Array<string> => s.split("\n").filter((x) => x !== "")

/** Arguments that would be read as options are refused before git sees them. */
const optionLike = (values: ReadonlyArray<string>): string | undefined => values.find((v) => v.startsWith("-"))

export const makeGit = (options: GitOptions = {}) =>
  Effect.gen(function* () {
    const executor = yield* CommandExecutor.CommandExecutor
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

    const run = (
      cwd: string,
      args: ReadonlyArray<string>,
      runOptions: RunOptions = {}
    ): Effect.Effect<RunResult, GitError | GitTimeout> => {
      const timeout = Duration.decode(runOptions.timeout ?? defaultTimeout)
      const ok = runOptions.okExitCodes ?? [0]
      const command = Command.make("git", ...args).pipe(
        Command.workingDirectory(cwd),
        Command.env(env),
        // stdin: empty and closed, so nothing can ever wait for input
        Command.feed("")
      )
      const spawnError = (error: PlatformError) =>
        new GitError({ args: [...args], cwd, exitCode: -1, stderr: error.message })

      return Effect.scoped(
        Effect.gen(function* () {
          const proc = yield* executor.start(command)
          // Runs before the platform's own finalizer: on interruption or timeout,
          // SIGTERM the process group, then SIGKILL it if it lingers.
          yield* Effect.addFinalizer(() =>
            proc.isRunning.pipe(
              Effect.flatMap((running) =>
                running
                  ? proc.kill("SIGTERM").pipe(
                      Effect.timeoutFail({ duration: killGrace, onTimeout: () => "grace" as const }),
                      Effect.catchAll(() => proc.kill("SIGKILL"))
                    )
                  : Effect.void
              ),
              Effect.ignore
            )
          )
          const [exitCode, stdout, stderr] = yield* Effect.all(
            [
              proc.exitCode,
              collectCapped(proc.stdout, runOptions.maxStdoutBytes ?? MAX_STDOUT_BYTES),
              collectCapped(proc.stderr, MAX_STDERR_BYTES)
            ],
            { concurrency: "unbounded" }
          )
          return { exitCode: exitCode as number, stdout: stdout.text, stderr: stderr.text, stdoutTruncated: stdout.truncated }
        })
      ).pipe(
        Effect.mapError(spawnError),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new GitTimeout({ args: [...args], cwd, timeoutMillis: Duration.toMillis(timeout) })
        }),
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

    /** `-c user.name=… -c user.email=…` for whatever identity part is not configured. */
    const identityArgs = Effect.fn("Git.identityArgs")(function* (cwd: string) {
      const name = yield* run(cwd, ["config", "--get", "user.name"], { okExitCodes: [0, 1] })
      const email = yield* run(cwd, ["config", "--get", "user.email"], { okExitCodes: [0, 1] })
      const args: Array<string> = []
      if (name.exitCode !== 0 || name.stdout.trim() === "") args.push("-c", `user.name=${FALLBACK_NAME}`)
      if (email.exitCode !== 0 || email.stdout.trim() === "") args.push("-c", `user.email=${FALLBACK_EMAIL}`)
      return args
    })

    const toplevel = (cwd: string) => out(cwd, ["rev-parse", "--show-toplevel"])

    const commonDir = (cwd: string) =>
      out(cwd, ["rev-parse", "--path-format=absolute", "--git-common-dir"])

    const currentBranch = (repo: string) =>
      run(repo, ["symbolic-ref", "--quiet", "--short", "HEAD"], { okExitCodes: [0, 1] }).pipe(
        Effect.map((r) => (r.exitCode === 0 && r.stdout.trim() !== "" ? Option.some(r.stdout.trim()) : Option.none()))
      )

    const revParse = (repo: string, rev: string) =>
      out(repo, ["rev-parse", "--verify", "--end-of-options", rev])

    const commitOf = (repo: string, rev: string) =>
      out(repo, ["rev-parse", "--verify", "--end-of-options", `${rev}^{commit}`])

    const branchExists = (repo: string, branch: string) =>
      test(repo, ["show-ref", "--verify", "--quiet", `refs/heads/${branch}`])

    const ensureExcluded = Effect.fn("Git.ensureExcluded")(function* (repo: string, pattern: string = ".oompa/") {
      const common = yield* commonDir(repo)
      const file = NodePath.join(common, "info", "exclude")
      const ioError = (e: PlatformError) =>
        new GitError({ args: ["(write)", file], cwd: repo, exitCode: -1, stderr: e.message })
      yield* excludeLock.withPermits(1)(
        Effect.gen(function* () {
          const existing = yield* fs.readFileString(file).pipe(
            Effect.catchIf(
              (e) => e._tag === "SystemError" && e.reason === "NotFound",
              () => Effect.succeed("")
            )
          )
          if (existing.split(/\r?\n/).some((line) => line.trim() === pattern)) return
          yield* fs.makeDirectory(NodePath.dirname(file), { recursive: true })
          const prefix = existing === "" || existing.endsWith("\n") ? "" : "\n"
          yield* fs.writeFileString(file, `${prefix}${pattern}\n`, { flag: "a" })
        }).pipe(Effect.mapError(ioError))
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
      if (yield* branchExists(repo, branch)) {
        return yield* new GitError({ args, cwd: repo, exitCode: 128, stderr: `fatal: a branch named '${branch}' already exists` })
      }
      const attempt = Effect.gen(function* () {
        const folderExisted = yield* fs.exists(NodePath.resolve(repo, path)).pipe(Effect.orElseSucceed(() => true))
        // A failed add can leave its branch (and a half-made folder) behind: remove both
        // before the error goes on, so nothing it created outlives it.
        yield* run(repo, args, callOptions).pipe(Effect.tapError(() => undoFailedAdd(repo, path, branch, folderExisted)))
      }).pipe(worktreeAdmin.withPermits(1))
      // Spurious failures come from a concurrent prune in another process: retry twice.
      yield* attempt.pipe(Effect.retry({ times: 2, schedule: Schedule.spaced(Duration.millis(200)) }))
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

    const parseWorktrees = (text: string): Array<Worktree> => {
      const result: Array<Worktree> = []
      let current: {
        path: string
        head: Option.Option<string>
        branch: Option.Option<string>
        bare: boolean
        detached: boolean
        locked: boolean
        prunable: boolean
      } | undefined
      for (const field of text.split("\0")) {
        if (field === "") {
          if (current !== undefined) result.push(current)
          current = undefined
          continue
        }
        const space = field.indexOf(" ")
        const key = space === -1 ? field : field.slice(0, space)
        const value = space === -1 ? "" : field.slice(space + 1)
        if (key === "worktree") {
          if (current !== undefined) result.push(current)
          current = {
            path: value,
            head: Option.none(),
            branch: Option.none(),
            bare: false,
            detached: false,
            locked: false,
            prunable: false
          }
        } else if (current !== undefined) {
          if (key === "HEAD") current.head = Option.some(value)
          else if (key === "branch") current.branch = Option.some(value)
          else if (key === "bare") current.bare = true
          else if (key === "detached") current.detached = true
          else if (key === "locked") current.locked = true
          else if (key === "prunable") current.prunable = true
        }
      }
      if (current !== undefined) result.push(current)
      return result
    }

    const listWorktrees = (repo: string) =>
      run(repo, ["worktree", "list", "--porcelain", "-z"]).pipe(Effect.map((r) => parseWorktrees(r.stdout)))

    const removeWorktree = Effect.fn("Git.removeWorktree")(function* (
      repo: string,
      path: string,
      callOptions: CallOptions = {}
    ) {
      const args = ["worktree", "remove", "--force", "--force", path]
      yield* guard(repo, args, [path])
      const removed = yield* Effect.zipLeft(
        run(repo, args, { ...callOptions, okExitCodes: [0, 128] }),
        run(repo, ["worktree", "prune"], callOptions)
      ).pipe(worktreeAdmin.withPermits(1))
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

    const commitAll = Effect.fn("Git.commitAll")(function* (
      cwd: string,
      message: string,
      callOptions: CallOptions = {}
    ) {
      yield* run(cwd, ["add", "-A"], callOptions)
      const staged = yield* run(cwd, ["diff", "--cached", "--quiet"], { ...callOptions, okExitCodes: [0, 1] })
      if (staged.exitCode === 0) return Option.none<string>()
      const identity = yield* identityArgs(cwd)
      yield* run(cwd, [...identity, "commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message], callOptions)
      return Option.some(yield* commitOf(cwd, "HEAD"))
    })

    const mergeBase = (cwd: string, a: string, b: string) =>
      out(cwd, ["merge-base", "--end-of-options", a, b], [a, b])

    const diff = Effect.fn("Git.diff")(function* (
      cwd: string,
      base: string,
      head: string,
      diffOptions: { readonly maxChars?: number } & CallOptions = {}
    ) {
      const maxChars = diffOptions.maxChars ?? REVIEW_DIFF_MAX_CHARS
      const range = `${base}...${head}`
      const common = ["diff", "--no-color", "--no-ext-diff", "--no-textconv"]
      yield* guard(cwd, [...common, range], [base, head])
      const callOptions = diffOptions.timeout === undefined ? {} : { timeout: diffOptions.timeout }
      // A char is at most 4 bytes of UTF-8: keep enough bytes for maxChars chars, and one more to see the cut.
      const full = yield* run(cwd, [...common, range, "--"], {
        ...callOptions,
        maxStdoutBytes: maxChars * 4 + 4
      })
      const names = yield* run(cwd, [...common, "--name-only", "-z", range, "--"], callOptions)
      const stat = yield* run(cwd, [...common, "--stat=160", range, "--"], callOptions)
      const truncated = full.stdoutTruncated || full.stdout.length > maxChars
      return {
        text: truncated ? full.stdout.slice(0, maxChars) : full.stdout,
        truncated,
        files: splitNul(names.stdout),
        stat: stat.stdout.trimEnd()
      } satisfies Diff
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
      const before = yield* commitOf(worktree, "HEAD")
      const identity = yield* identityArgs(worktree)
      const args = [...identity, "merge", "--no-ff", "--no-edit", "--no-gpg-sign", "--end-of-options", ref]
      yield* guard(worktree, args, [ref])
      const merged = yield* run(worktree, args, { ...callOptions, okExitCodes: [0, 1] })
      if (merged.exitCode === 0) {
        const after = yield* commitOf(worktree, "HEAD")
        const result: MergeResult = after === before ? { _tag: "UpToDate" } : { _tag: "Merged", head: after }
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
      const headSha = yield* commitOf(cwd, head)
      yield* guard(cwd, ["diff", base], [base])
      const changed = yield* run(cwd, ["diff", "--no-ext-diff", "--name-only", "-z", `${base}...${headSha}`, "--"])
      const files = new Set(splitNul(changed.stdout))
      if (files.size === 0) return []
      const grep = yield* run(cwd, ["grep", "-I", "-l", "-z", "-E", ...MARKERS, headSha, "--"], { okExitCodes: [0, 1] })
      const prefix = `${headSha}:`
      return splitNul(grep.stdout)
        .map((p) => (p.startsWith(prefix) ? p.slice(prefix.length) : p))
        .filter((p) => files.has(p))
    })

    const isAncestor = (repo: string, a: string, b: string) =>
      test(repo, ["merge-base", "--is-ancestor", "--end-of-options", a, b], [a, b])

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
        Effect.map((r) =>
          splitLines(r.stdout).flatMap((line) => {
            const space = line.indexOf(" ")
            return space === -1 ? [] : [{ sha: line.slice(0, space), ref: line.slice(space + 1) }]
          })
        )
      )
    }

    const keepWork = (repo: string, ref: string, sha: string, message: string = "oompa: keep work") =>
      guard(repo, ["update-ref", ref, sha], [ref, sha]).pipe(
        Effect.zipRight(run(repo, ["update-ref", "--create-reflog", "-m", message, ref, sha])),
        Effect.asVoid
      )

    /** Is `branchRef` being rebased in this worktree (HEAD detached, rebase state naming the branch)? */
    const isRebasing = (worktree: Worktree, branchRef: string) =>
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

    const advanceBranch = Effect.fn("Git.advanceBranch")(function* (
      repo: string,
      target: string,
      newTip: string,
      callOptions: CallOptions = {}
    ) {
      const targetRef = `refs/heads/${target}`
      yield* guard(repo, ["advance", target, newTip], [target, newTip])
      const newSha = yield* commitOf(repo, newTip)
      const oldSha = yield* commitOf(repo, targetRef)
      if (!(yield* isAncestor(repo, oldSha, newSha))) {
        return yield* new NotFastForward({ target, currentTip: oldSha, newTip: newSha })
      }
      if (oldSha !== newSha) {
        const worktrees = yield* listWorktrees(repo)
        const rebasing = yield* Effect.findFirst(worktrees, (w) => isRebasing(w, targetRef))
        if (Option.isSome(rebasing)) {
          // Moving a branch under a rebase would be undone when the rebase finishes.
          return yield* new FastForwardBlocked({
            target,
            worktree: rebasing.value.path,
            reason: "the branch is being rebased there",
            files: []
          })
        }
        const holder = worktrees.find((w) => Option.contains(w.branch, targetRef))
        if (holder === undefined) {
          // Not checked out anywhere: compare-and-swap the ref.
          yield* run(repo, ["update-ref", "-m", `oompa: fast-forward ${target}`, targetRef, newSha, oldSha], callOptions)
        } else {
          const main = yield* realPath(yield* toplevel(repo))
          const holderPath = yield* realPath(holder.path)
          if (holderPath !== main) {
            return yield* new FastForwardBlocked({
              target,
              worktree: holder.path,
              reason: "the branch is checked out in another worktree",
              files: []
            })
          }
          // Checked out in the user's checkout: let git move HEAD, index and files
          // together. `--ff-only` never creates MERGE_HEAD and refuses before
          // touching anything when local changes are in the way.
          const ff = yield* run(
            holder.path,
            ["merge", "--ff-only", "--no-edit", "--end-of-options", newSha],
            { ...callOptions, okExitCodes: [0, 1, 128] }
          )
          if (ff.exitCode !== 0) {
            // git updated the files and the index, then could not move HEAD (the user committed
            // in that instant, or held the ref's lock): the checkout now holds oompa's files as
            // staged changes the user never made. Move it back from the new tree to whatever
            // HEAD is now; a two-tree read-tree keeps every local change of the user's.
            if (/update_ref failed|cannot lock ref/.test(ff.stderr)) {
              yield* run(holder.path, ["read-tree", "-m", "-u", newSha, "HEAD"], callOptions)
            }
            // The user committed between the ancestry check and the merge ("Not possible to
            // fast-forward"): the target moved, which is NotFastForward, not a blocked checkout.
            const now = yield* commitOf(repo, targetRef)
            if (now !== oldSha && !(yield* isAncestor(repo, now, newSha))) {
              return yield* new NotFastForward({ target, currentTip: now, newTip: newSha })
            }
            const reason = ff.stderr.trim() || ff.stdout.trim() || `git merge --ff-only exited ${ff.exitCode}`
            return yield* new FastForwardBlocked({ target, worktree: holder.path, reason, files: filesInTheWay(reason) })
          }
        }
      }
      const tip = yield* commitOf(repo, targetRef)
      if (!(yield* isAncestor(repo, newSha, tip))) {
        return yield* new AdvanceNotVerified({ target, expected: newSha, actual: tip })
      }
      return tip
    })

    const deleteBranch = Effect.fn("Git.deleteBranch")(function* (
      repo: string,
      branch: string,
      deleteOptions: { readonly verifiedMergedInto: string }
    ) {
      const into = deleteOptions.verifiedMergedInto
      yield* guard(repo, ["branch", "-D", branch], [branch, into])
      const branchSha = yield* commitOf(repo, `refs/heads/${branch}`)
      const intoRev = (yield* branchExists(repo, into)) ? `refs/heads/${into}` : into
      const intoSha = yield* commitOf(repo, intoRev)
      if (!(yield* isAncestor(repo, branchSha, intoSha))) {
        return yield* new BranchNotMerged({ branch, into })
      }
      yield* run(repo, ["branch", "-D", branch])
    })

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
      hasChanges,
      commitAll,
      mergeBase,
      diff,
      log,
      mergeInto,
      abortMerge,
      unmergedPaths,
      conflictMarkers,
      isMergeInProgress,
      advanceBranch,
      deleteBranch,
      isAncestor,
      updateRef,
      deleteRef,
      listRefs,
      keepWork
    })
  })

/** Git with custom options (timeout, extra environment). Needs CommandExecutor and FileSystem. */
export const layerGit = (options: GitOptions = {}) => Layer.effect(Git, makeGit(options))

/** Git with the defaults. Needs CommandExecutor and FileSystem (`NodeContext.layer`). */
export const GitLive = layerGit()
