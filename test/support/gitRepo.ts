/**
 * Test helper: a throwaway git repository in a temp directory, with one
 * initial commit on `main`, removed when the enclosing Scope closes.
 *
 *   const repo = yield* makeGitRepo()
 *   yield* repo.write("src/a.ts", "export const a = 1\n")
 *   const sha = yield* repo.commit("add a")
 *   const out = yield* repo.git("log", "--oneline")
 *
 * Needs `CommandExecutor` and `FileSystem` (e.g. `NodeContext.layer`) and a Scope.
 * Git runs without a shell, with a local identity configured in the repo
 * (unless `identity: false`), so tests do not depend on the machine's config.
 */
import { Command, CommandExecutor, FileSystem } from "@effect/platform"
import { Effect, Scope, Stream, String as Str } from "effect"
import * as NodePath from "node:path"

export interface GitRepoOptions {
  /** Name of the initial branch (default `main`). */
  readonly branch?: string
  /** Configure `user.name` / `user.email` in the repo's own config (default true). */
  readonly identity?: boolean
  /** Files of the initial commit (default `{ "README.md": "# test repo\n" }`). */
  readonly files?: Readonly<Record<string, string>>
  /** Extra environment for the helper's own git calls (e.g. `HOME`). */
  readonly env?: Readonly<Record<string, string>>
}

export interface GitRepo {
  /** Absolute, symlink-resolved path of the work tree. */
  readonly path: string
  /** Run git in the repo (or in `cwd` relative to it); fails (dies) on non-zero exit. Returns trimmed stdout. */
  readonly git: (...args: ReadonlyArray<string>) => Effect.Effect<string>
  /** Run git in another directory (e.g. a worktree); dies on non-zero exit. Returns trimmed stdout. */
  readonly gitIn: (cwd: string, ...args: ReadonlyArray<string>) => Effect.Effect<string>
  /** Run git and return exit code, stdout and stderr without failing. */
  readonly gitRaw: (
    cwd: string,
    ...args: ReadonlyArray<string>
  ) => Effect.Effect<{ readonly exitCode: number; readonly stdout: string; readonly stderr: string }>
  /** Write a file (parent folders created) relative to the repo, or absolute. */
  readonly write: (file: string, content: string) => Effect.Effect<void>
  /** Read a file relative to the repo, or absolute. */
  readonly read: (file: string) => Effect.Effect<string>
  /** Whether a file exists, relative to the repo or absolute. */
  readonly exists: (file: string) => Effect.Effect<boolean>
  /** `git add -A && git commit -m message` in the repo (or `cwd`); returns the new HEAD sha. */
  readonly commit: (message: string, cwd?: string) => Effect.Effect<string>
  /** `git rev-parse --verify rev` in the repo. */
  readonly revParse: (rev: string) => Effect.Effect<string>
  /** Make a fresh temp directory that is removed with the repo (for worktrees, HOME, …). */
  readonly tempDir: () => Effect.Effect<string>
}

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  stream.pipe(
    Stream.decodeText(),
    Stream.runFold("", (acc, s) => acc + s)
  )

export const makeGitRepo = (
  options: GitRepoOptions = {}
): Effect.Effect<GitRepo, never, Scope.Scope | FileSystem.FileSystem | CommandExecutor.CommandExecutor> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const executor = yield* CommandExecutor.CommandExecutor
    const scope = yield* Scope.Scope
    const branch = options.branch ?? "main"

    const makeTemp = fs.makeTempDirectoryScoped({ prefix: "oompa-test-" }).pipe(
      Effect.flatMap((dir) => fs.realPath(dir)),
      Scope.extend(scope),
      Effect.orDie
    )
    const root = yield* makeTemp
    const path = NodePath.join(root, "repo")
    yield* fs.makeDirectory(path).pipe(Effect.orDie)

    const env: Record<string, string> = {
      GIT_TERMINAL_PROMPT: "0",
      LC_ALL: "C",
      GIT_EDITOR: "true",
      GIT_MERGE_AUTOEDIT: "no",
      ...options.env
    }

    const gitRaw = (cwd: string, ...args: ReadonlyArray<string>) =>
      Effect.scoped(
        Effect.gen(function* () {
          const proc = yield* executor.start(
            Command.make("git", ...args).pipe(Command.workingDirectory(cwd), Command.env(env), Command.feed(""))
          )
          const [exitCode, stdout, stderr] = yield* Effect.all(
            [proc.exitCode, collect(proc.stdout), collect(proc.stderr)],
            { concurrency: "unbounded" }
          )
          return { exitCode: exitCode as number, stdout, stderr }
        })
      ).pipe(Effect.orDie)

    const gitIn = (cwd: string, ...args: ReadonlyArray<string>) =>
      gitRaw(cwd, ...args).pipe(
        Effect.flatMap((r) =>
          r.exitCode === 0
            ? Effect.succeed(Str.trimEnd(r.stdout))
            : Effect.dieMessage(`git ${args.join(" ")} (in ${cwd}) exited ${r.exitCode}: ${r.stderr}`)
        )
      )
    const git = (...args: ReadonlyArray<string>) => gitIn(path, ...args)

    // With `identity: false` the helper's own commits still need an author.
    const identityArgs: ReadonlyArray<string> =
      options.identity === false ? ["-c", "user.name=Test User", "-c", "user.email=test@example.com"] : []

    const resolve = (file: string) => (NodePath.isAbsolute(file) ? file : NodePath.join(path, file))
    const write = (file: string, content: string) =>
      Effect.gen(function* () {
        const full = resolve(file)
        yield* fs.makeDirectory(NodePath.dirname(full), { recursive: true })
        yield* fs.writeFileString(full, content)
      }).pipe(Effect.orDie)
    const read = (file: string) => fs.readFileString(resolve(file)).pipe(Effect.orDie)
    const exists = (file: string) => fs.exists(resolve(file)).pipe(Effect.orDie)
    const commit = (message: string, cwd: string = path) =>
      Effect.gen(function* () {
        yield* gitIn(cwd, "add", "-A")
        yield* gitIn(cwd, ...identityArgs, "commit", "-q", "--no-verify", "-m", message)
        return yield* gitIn(cwd, "rev-parse", "--verify", "HEAD")
      })
    const revParse = (rev: string) => git("rev-parse", "--verify", rev)

    yield* git("init", "-q", "-b", branch)
    if (options.identity !== false) {
      yield* git("config", "user.name", "Test User")
      yield* git("config", "user.email", "test@example.com")
    }
    yield* git("config", "commit.gpgsign", "false")
    for (const [file, content] of Object.entries(options.files ?? { "README.md": "# test repo\n" })) {
      yield* write(file, content)
    }
    yield* gitIn(path, "add", "-A")
    yield* gitIn(path, ...identityArgs, "commit", "-q", "--no-verify", "-m", "initial commit")

    return {
      path,
      git,
      gitIn,
      gitRaw,
      write,
      read,
      exists,
      commit,
      revParse,
      tempDir: () => makeTemp
    } satisfies GitRepo
  })
