/**
 * What the real-CLI tests share: where the pinned CLIs are (test-cli/), how to
 * point each one at the fake model server with a private HOME, and how to run
 * a CLI directly (argv verified against the real CLIs: docs/cli-facts.md).
 * What differs per CLI is its profile (clis/<cli>.ts, one row in clis/index.ts).
 */
import { Command } from "@effect/platform"
import type { CommandExecutor } from "@effect/platform/CommandExecutor"
import { Clock, Effect, Option, Stream, String as Str } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { FakeModelServer } from "../fake-model-server/server.js"
import { profiles } from "./clis/index.js"
import type { DirectRun, Session } from "./clis/profile.js"

export type CliName = keyof typeof profiles
export const CLIS = Object.keys(profiles) as ReadonlyArray<CliName>
export { type DirectRun, isRoot, type Session } from "./clis/profile.js"

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
export const cliBinDir = path.join(repoRoot, "test-cli", "node_modules", ".bin")
export const binOf = (cli: CliName): string => path.join(cliBinDir, profiles[cli].bin)
export const fixturesDir = path.join(repoRoot, "test", "fixtures", "cli-output")

/** The model each CLI is run with (the fake server accepts any name). */
export const MODEL = Object.fromEntries(CLIS.map((cli) => [cli, profiles[cli].model])) as Readonly<Record<CliName, string>>

/** A temp dir removed when the scope closes. */
export const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: "oompa e2e",
  GIT_AUTHOR_EMAIL: "e2e@oompa.invalid",
  GIT_COMMITTER_NAME: "oompa e2e",
  GIT_COMMITTER_EMAIL: "e2e@oompa.invalid"
}

/**
 * Writes the CLI's config under `home` and returns the environment that points
 * it at `server` and keeps it off the network (no update checks, telemetry,
 * model-list fetches). `home` becomes HOME (and the XDG dirs), so nothing
 * touches the real home.
 */
export const cliEnv = (cli: CliName, server: FakeModelServer, home: string): Record<string, string> => {
  fs.mkdirSync(home, { recursive: true })
  const base: Record<string, string> = {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, ".config"),
    XDG_DATA_HOME: path.join(home, ".local", "share"),
    XDG_CACHE_HOME: path.join(home, ".cache"),
    XDG_STATE_HOME: path.join(home, ".local", "state"),
    NO_COLOR: "1",
    // The CLIs' own shell tools commit with this identity (the temp HOME has no git config).
    ...GIT_IDENTITY
  }
  return { ...base, ...profiles[cli].env(server, home) }
}

/** Each CLI's own retries turned off (or as low as they go), besides cliEnv's setup. */
export const lowRetries = (cli: CliName, home: string): Record<string, string> => profiles[cli].lowRetries?.(home) ?? {}

/** The argv that works for each CLI (docs/cli-facts.md), prompt delivery included. */
export const directArgs = (cli: CliName, session: Session, prompt: string, cwd: string): DirectRun =>
  profiles[cli].direct(session, prompt, cwd)

export interface CliRun {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
  readonly durationMs: number
}

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  stream.pipe(Stream.decodeText(), Stream.runFold("", (acc, s) => acc + s))

/** Runs a command (no shell) and collects its output; stdin is fed then closed. */
export const runProcess = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env: Record<string, string>; readonly stdin?: string | undefined }
): Effect.Effect<CliRun, unknown, CommandExecutor> =>
  Effect.scoped(
    Effect.gen(function* () {
      const start = yield* Clock.currentTimeMillis
      const cmd = Command.make(command, ...args).pipe(
        Command.workingDirectory(options.cwd),
        // PWD too: opencode takes its project directory from $PWD, not from the
        // process's working directory (it would work in the parent's folder).
        Command.env({ ...options.env, PWD: options.cwd }),
        Command.feed(options.stdin ?? "")
      )
      const proc = yield* Command.start(cmd)
      const [stdout, stderr, exitCode] = yield* Effect.all([collect(proc.stdout), collect(proc.stderr), proc.exitCode], {
        concurrency: 3
      })
      return { exitCode: Number(exitCode), stdout, stderr, durationMs: (yield* Clock.currentTimeMillis) - start }
    })
  )

/** JSON lines of a CLI's stdout (non-JSON lines skipped). */
export const jsonLines = (stdout: string): Array<any> =>
  stdout
    .split("\n")
    .map(Str.trim)
    .filter((l) => l.startsWith("{"))
    .flatMap((l) => {
      try {
        return [JSON.parse(l)]
      } catch {
        return []
      }
    })

/** The session id as each CLI reports it in its JSON events. */
export const sessionIdOf = (cli: CliName, stdout: string): Option.Option<string> =>
  Option.fromNullable(profiles[cli].sessionIdOf(jsonLines(stdout)))

/** The final assistant message of the run, as each CLI reports it. */
export const finalTextOf = (cli: CliName, stdout: string): string => profiles[cli].finalTextOf(jsonLines(stdout))

/** A fresh git repo with one commit. */
export const initRepo = (dir: string) =>
  Effect.gen(function* () {
    fs.mkdirSync(dir, { recursive: true })
    const env = { ...GIT_IDENTITY }
    for (const args of [
      ["init", "-q", "-b", "main"],
      ["commit", "-q", "--allow-empty", "-m", "init"]
    ]) {
      const r = yield* runProcess("git", args, { cwd: dir, env })
      if (r.exitCode !== 0) return yield* Effect.dieMessage(`git ${args.join(" ")}: ${r.stderr}`)
    }
  })

/**
 * A project for a swarm: a repository with a committed README and one pending
 * task file per `tasks` entry (`{id, summary}`), backdated past the queue's
 * 2 s grace for files still being written.
 */
export const initProject = (project: string, tasks: ReadonlyArray<{ readonly id: string; readonly summary: string }>) =>
  Effect.gen(function* () {
    yield* initRepo(project)
    fs.writeFileSync(path.join(project, "README.md"), "# e2e project\n")
    yield* git(project, "add", "README.md")
    yield* git(project, "commit", "-qm", "readme")
    const pending = path.join(project, "tasks", "pending")
    fs.mkdirSync(pending, { recursive: true })
    const past = new Date(Date.now() - 60_000)
    for (const task of tasks) {
      const file = path.join(pending, `${task.id}.json`)
      fs.writeFileSync(file, JSON.stringify(task, null, 2))
      fs.utimesSync(file, past, past)
    }
  })

export const git = (cwd: string, ...args: Array<string>) =>
  runProcess("git", args, { cwd, env: GIT_IDENTITY }).pipe(
    Effect.flatMap((r) => (r.exitCode === 0 ? Effect.succeed(r.stdout.trim()) : Effect.dieMessage(`git ${args.join(" ")}: ${r.stderr}`)))
  )

/** Whether the CLIs are installed (scripts/install-test-clis.sh). */
export const clisInstalled = (): boolean => CLIS.every((c) => fs.existsSync(binOf(c)))

/**
 * For `beforeAll`: fail loudly (never skip) when the CLIs or dist/ are missing,
 * so a broken setup cannot pass as "skipped". `npm run test:cli` builds and installs first.
 */
export const requireSetup = (options: { readonly dist?: boolean } = {}): void => {
  const missing = CLIS.filter((c) => !fs.existsSync(binOf(c)))
  if (missing.length > 0) throw new Error(`real CLIs not installed (${missing.join(", ")}): run bash scripts/install-test-clis.sh`)
  if (options.dist === true && !fs.existsSync(path.join(repoRoot, "dist", "bin.js"))) {
    throw new Error("dist/bin.js missing: run npm run build")
  }
}
