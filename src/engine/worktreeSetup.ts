/**
 * Worktree setup (docs/worktree-setup.md): what each new worktree of a worker
 * gets before its first turn — the `worktree.copy` files from the project
 * root, the `worktree.setup` commands run in it, the `worktree.env` its setup
 * commands, agent turns and test_command see — and the pre-flight check that
 * the copied files exist. (src/engine/setup.ts is the swarm's start-up checks.)
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Clock, Effect, Either, type Scope } from "effect"
import type { OompaConfig, WorkerSpec } from "../config/OompaConfig.js"
import { renderTemplate } from "../config/render.js"
import { ConfigError } from "../domain/errors.js"
import { humanDuration } from "../domain/humanDuration.js"
import { cycleName } from "../domain/naming.js"
import { make as runEvent } from "../domain/RunEvent.js"
import { setupMarker } from "../domain/turnMarker.js"
import { placeholdersIn, type WorktreePlaceholder } from "../domain/worktreeValues.js"
import { fileTail } from "../services/fileTail.js"
import { reservePort } from "../services/freePort.js"
import { Git } from "../services/Git.js"
import { ProcessRunner } from "../services/ProcessRunner.js"
import type { SwarmContext } from "./context.js"

/** One worker's worktree settings with its placeholders rendered: the same for all its cycles. */
export interface WorkerWorktree {
  readonly copy: ReadonlyArray<{ readonly path: string; readonly field: string }>
  readonly setup: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  /** Its `{{PORT}}`, when its settings use one. */
  readonly port?: number
}

/** The tail of a failed command's output kept in the cycle record and the event. */
const TAIL_LINES = 12
const TAIL_CHARS = 1500

/**
 * A worker's worktree settings for its life, rendered once when it starts: its
 * `{{PORT}}` is reserved here (only when its settings use it) and held until
 * the scope closes. Undefined for a worker without `worktree` (the planner).
 */
export const workerWorktree = (
  ctx: SwarmContext,
  spec: WorkerSpec
): Effect.Effect<WorkerWorktree | undefined, never, Scope.Scope> =>
  Effect.gen(function* () {
    const settings = spec.worktree
    if (settings === undefined) return undefined
    const texts = [...settings.setup, ...Object.values(settings.env)]
    const port = texts.some((text) => placeholdersIn(text).includes("PORT"))
      ? yield* reservePort.pipe(Effect.orDieWith((error) => new Error(`${spec.id}: {{PORT}}: ${error.message}`)))
      : undefined
    const values: Record<WorktreePlaceholder, string> = {
      PORT: port === undefined ? "" : String(port),
      WORKER_INDEX: String(Math.max(0, ctx.config.workers.findIndex((w) => w.id === spec.id))),
      WORKER_ID: spec.id,
      SWARM_ID: ctx.swarm
    }
    const render = (text: string) => renderTemplate(text, values)
    return {
      copy: settings.copy,
      setup: settings.setup.map(render),
      env: Object.fromEntries(Object.entries(settings.env).map(([name, value]) => [name, render(value)])),
      ...(port !== undefined ? { port } : {})
    }
  })

/** How a worktree's setup went: ready for the first turn, or the reason the cycle ends as an error. */
export type SetupResult = { readonly _tag: "Ready" } | { readonly _tag: "Failed"; readonly detail: string }

const ready: SetupResult = { _tag: "Ready" }

/**
 * Sets up a cycle's new worktree before its first turn: copies the files in,
 * then runs the setup commands one by one with `/bin/sh -c` in the worktree,
 * with the worktree env, each under the worker's `timeout` (its whole process
 * tree ended on timeout or interruption, as for a turn), stdout and stderr in
 * `logs/<worker>-c<N>-setup<K>.log`. Stops at the first failure. Emits
 * setup-started and setup-ended; nothing when there is nothing to copy or run.
 */
export const prepareWorktree = (
  ctx: SwarmContext,
  spec: WorkerSpec,
  worktree: WorkerWorktree,
  handle: { readonly cycle: number; readonly path: string }
): Effect.Effect<SetupResult, never, ProcessRunner | Git> =>
  Effect.gen(function* () {
    if (worktree.copy.length === 0 && worktree.setup.length === 0) return ready
    const scope = { worker: spec.id, cycle: handle.cycle }
    const startedMs = yield* Clock.currentTimeMillis
    yield* ctx.runLog.emit(runEvent.setupStarted(scope, { copy: worktree.copy.map((c) => c.path), commands: worktree.setup }))
    const commands: Array<{ command: string; exitCode: number | null; timedOut: boolean; durationMs: number; log: string }> = []
    const end = (error: string | undefined) =>
      Effect.gen(function* () {
        const durationMs = (yield* Clock.currentTimeMillis) - startedMs
        yield* ctx.runLog.emit(runEvent.setupEnded(scope, { ok: error === undefined, durationMs, commands, ...(error !== undefined ? { error } : {}) }))
        return error === undefined ? ready : ({ _tag: "Failed", detail: `worktree setup failed: ${error}` } satisfies SetupResult)
      })

    const copied = yield* copyInto(ctx, worktree, handle.path)
    if (Either.isLeft(copied)) return yield* end(copied.left)

    const runner = yield* ProcessRunner
    for (const [i, command] of worktree.setup.entries()) {
      const log = path.join(ctx.runLog.dir, "logs", `${cycleName(spec.id, handle.cycle)}-setup${i + 1}.log`)
      const run = yield* runner
        .run({
          command: "/bin/sh",
          // stderr joins stdout, so the log (and the tail) has both in order.
          args: ["-c", `exec 2>&1\n${command}`],
          cwd: handle.path,
          env: worktree.env,
          stdoutPath: log,
          stderrPath: log.replace(/\.log$/, ".stderr.log"),
          timeout: spec.timeout,
          marker: setupMarker(ctx.swarm, spec.id, handle.cycle, i + 1)
        })
        .pipe(Effect.either)
      if (Either.isLeft(run)) return yield* end(`\`${command}\` could not start: ${run.left.message}`)
      const result = run.right
      commands.push({ command, exitCode: result.exitCode, timedOut: result.timedOut, durationMs: result.durationMs, log })
      if (result.exitCode === 0 && !result.timedOut) continue
      const status = result.timedOut
        ? `timed out after ${humanDuration(spec.timeout)} (the worker's timeout)`
        : result.exitCode !== null
          ? `exited with ${result.exitCode}`
          : `was killed by ${result.signal ?? "a signal"}`
      return yield* end(`\`${command}\` ${status} (log: ${log}); the end of its output:\n${outputTail(log)}`)
    }
    yield* warnUnignored(ctx, scope, handle.path)
    return yield* end(undefined)
  })

/** The last lines of a setup command's log, bounded: what the cycle record and the event carry. */
const outputTail = (log: string): string => {
  const lines = fileTail(log, 16 * 1024).split("\n").map((line) => line.trimEnd()).filter((line) => line.length > 0)
  const tail = lines.slice(-TAIL_LINES).join("\n")
  return tail.length === 0 ? "(no output)" : tail.length > TAIL_CHARS ? `…${tail.slice(-TAIL_CHARS)}` : tail
}

/**
 * Copies each `worktree.copy` entry from the project root to the same place in
 * the worktree (a folder whole, symlinks followed, an existing file replaced).
 * Left: why one could not be copied, naming its field.
 */
const copyInto = (ctx: SwarmContext, worktree: WorkerWorktree, into: string) =>
  Effect.sync((): Either.Either<void, string> => {
    // Both sides real paths: the root git reports is one, a project root given through a symlink may not be.
    const projectRoot = fs.realpathSync(ctx.config.projectRoot)
    const gitRoot = fs.realpathSync(ctx.root)
    for (const entry of worktree.copy) {
      const source = path.join(projectRoot, entry.path)
      const target = path.join(into, path.relative(gitRoot, source))
      try {
        fs.mkdirSync(path.dirname(target), { recursive: true })
        fs.cpSync(source, target, { recursive: true, dereference: true, force: true })
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        return Either.left(`could not copy ${entry.path} (${entry.field}) into the worktree: ${reason}`)
      }
    }
    return Either.right(undefined)
  })

/**
 * A warning when the setup left files git neither tracks nor ignores (a copied
 * `.env`, a `node_modules/`): the agent's commit takes everything in the
 * worktree, so they would be merged with its work. A warning, not an error:
 * the user may mean it.
 */
const warnUnignored = (ctx: SwarmContext, scope: { readonly worker: string; readonly cycle: number }, worktree: string) =>
  Effect.gen(function* () {
    const git = yield* Git
    const status = yield* git.run(worktree, ["status", "--porcelain", "--untracked-files=normal"])
    const paths = status.stdout
      .split("\n")
      .filter((line) => line.startsWith("?? "))
      .map((line) => line.slice(3))
    if (paths.length === 0) return
    const shown = paths.length > 5 ? `${paths.slice(0, 5).join(", ")} and ${paths.length - 5} more` : paths.join(", ")
    yield* ctx.runLog.emit(
      runEvent.warning(
        `the worktree setup left files git does not ignore (${shown}): the agent's commit will include them; add them to .gitignore if they are not part of the work`,
        scope
      )
    )
  }).pipe(Effect.catchAll(() => Effect.void))

/**
 * Pre-flight (validateSwarmStart, so `oompa check` and `oompa swarm` agree):
 * every `worktree.copy` path exists in the project root, and is ignored by git
 * or tracked. A missing one is an error rather than a warning: every cycle
 * would start without it, and the agents' builds and tests would fail in ways
 * that do not say why. An untracked one git does not ignore is an error too:
 * the agent's commit would take the copy, and landing it would be refused
 * every time, since it would overwrite the original in the user's checkout.
 */
export const copyProblem = (config: OompaConfig, configFile: string): Effect.Effect<void, ConfigError, Git> =>
  Effect.gen(function* () {
    const entries = new Map<string, { readonly path: string; readonly field: string }>()
    for (const worker of config.workers) for (const entry of worker.worktree?.copy ?? []) entries.set(entry.field, entry)
    if (entries.size === 0) return
    const fail = (entry: { readonly field: string }, message: string) =>
      new ConfigError({ file: configFile, path: entry.field, message })
    for (const entry of entries.values()) {
      if (yield* Effect.sync(() => fs.existsSync(path.join(config.projectRoot, entry.path)))) continue
      return yield* fail(entry, `${entry.path} does not exist in the project root ${config.projectRoot}: create it, or take it out of "copy"`)
    }
    const git = yield* Git
    const paths = [...new Set([...entries.values()].map((entry) => entry.path))]
    // Exit 1: none is ignored. A git that cannot answer (a timeout) leaves the question to the setup's warning.
    const ignored = yield* git.run(config.projectRoot, ["check-ignore", "--", ...paths], { okExitCodes: [0, 1] }).pipe(
      Effect.map((result) => new Set(result.stdout.split("\n").filter((line) => line.length > 0))),
      Effect.orElseSucceed(() => undefined)
    )
    if (ignored === undefined) return
    for (const entry of entries.values()) {
      if (ignored.has(entry.path)) continue
      const tracked = yield* git.run(config.projectRoot, ["ls-files", "--", entry.path]).pipe(
        Effect.map((result) => result.stdout.trim().length > 0),
        Effect.orElseSucceed(() => true)
      )
      if (tracked) continue
      return yield* fail(
        entry,
        `${entry.path} is neither tracked nor ignored by git: the agents' commits would take the copy, and landing them would overwrite yours; ` +
          `add it to .gitignore (or .git/info/exclude)`
      )
    }
  })
