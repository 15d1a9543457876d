/**
 * Runs one agent CLI process: no shell, its own process group, output streamed
 * straight to log files, a hard timeout, and a guarantee that no member of its
 * process group outlives the call (SPEC §8, §9).
 *
 * Why `node:child_process` rather than @effect/platform `Command.start`: we need
 * (1) the child's pid as the process-group id, to register it for the edge's
 * second-Ctrl-C handler and to signal the whole group, (2) SIGTERM → grace →
 * SIGKILL escalation, also after a *normal* exit of the leader when it left
 * members behind (the platform executor only sends SIGTERM on release and does
 * nothing after exit 0), and (3) the log files handed to the child as its
 * stdout/stderr file descriptors, so the output never passes through this
 * process at all: memory stays flat however much the agent prints, and the log
 * is complete even if we are killed. Everything runs inside Effect: the child is
 * an `acquireRelease` resource whose release ends its group, waiting is a
 * `Deferred`, time is `Clock` / `Effect.sleep` / `Effect.timeoutOption`.
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { Clock, Deferred, Duration, Effect, Exit, Option, Schema } from "effect"
import { registerChildGroup, unregisterChildGroup } from "./childGroups.js"

/** The process could not be started, or its log files could not be opened. */
export class ProcessError extends Schema.TaggedError<ProcessError>()("ProcessError", {
  command: Schema.String,
  message: Schema.String
}) {}

export interface RunOptions {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string
  /** Added on top of `process.env` (the user's environment passes through untouched; PWD is set to `cwd`). */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** Written to the child's stdin, which is then closed. Without it stdin is /dev/null. */
  readonly stdin?: string | undefined
  /** Created (with parent folders) and truncated; the child writes to it directly. */
  readonly stdoutPath: string
  readonly stderrPath: string
  /** Written to the stderr log before the child starts (oompa's own notes about the run). */
  readonly stderrHeader?: string | undefined
  readonly timeout: Duration.DurationInput
  /** Time between SIGTERM and SIGKILL to the group. Default 5 s. */
  readonly killGrace?: Duration.DurationInput | undefined
}

export interface RunResult {
  /** The leader's exit code; null when it was ended by a signal. */
  readonly exitCode: number | null
  readonly signal: string | null
  readonly timedOut: boolean
  readonly durationMs: number
  /** The leader's pid, which is also the process-group id. */
  readonly pid: number
}

interface LeaderExit {
  readonly exitCode: number | null
  readonly signal: string | null
}

const pollInterval = Duration.millis(25)

/**
 * Pids of the live (not zombie) members of a process group. On Linux this reads
 * /proc: `kill(-pgid, 0)` also succeeds for zombies, and an orphaned member that
 * died stays a zombie for ever under an init that does not reap (containers),
 * which would make a dead group look alive. Elsewhere, `kill(-pgid, 0)`.
 */
export const liveGroupMembers = (pgid: number): ReadonlyArray<number> => {
  if (process.platform === "linux") {
    let entries: Array<string>
    try {
      entries = fs.readdirSync("/proc")
    } catch {
      entries = []
    }
    if (entries.length > 0) {
      const members: Array<number> = []
      for (const entry of entries) {
        const c = entry.charCodeAt(0)
        if (c < 48 || c > 57) continue
        let stat: string
        try {
          stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
        } catch {
          continue
        }
        // "pid (comm) state ppid pgrp ..." — comm may contain spaces and parens.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
        const state = fields[0]
        if (Number(fields[2]) === pgid && state !== "Z" && state !== "X") members.push(Number(entry))
      }
      return members
    }
  }
  try {
    process.kill(-pgid, 0)
    return [pgid]
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM" ? [pgid] : []
  }
}

const signalGroup = (pgid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pgid, signal)
  } catch {
    // ESRCH: the group is gone already.
  }
}

/**
 * Waits until the group has no live member, or `limit` passes. True when gone.
 * A deadline loop rather than `Effect.timeoutOption`: this runs inside
 * uninterruptible finalizers, where a timeout could not interrupt the wait.
 */
const awaitGroupGone = (pgid: number, limit: Duration.DurationInput): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(limit)
    while (liveGroupMembers(pgid).length > 0) {
      if ((yield* Clock.currentTimeMillis) >= deadline) return false
      yield* Effect.sleep(pollInterval)
    }
    return true
  })

/**
 * Ends every member of the group: SIGTERM, up to `grace` for it to go, then
 * SIGKILL. Returns at once when the group is already gone.
 */
export const terminateGroup = (pgid: number, grace: Duration.DurationInput): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (liveGroupMembers(pgid).length === 0) return
    signalGroup(pgid, "SIGTERM")
    if (yield* awaitGroupGone(pgid, grace)) return
    yield* Effect.logWarning(`process group ${pgid} survived SIGTERM for ${Duration.format(grace)}: SIGKILL`)
    signalGroup(pgid, "SIGKILL")
    // SIGKILL cannot be ignored; this only waits for the kernel to finish.
    if (!(yield* awaitGroupGone(pgid, Duration.seconds(5)))) {
      yield* Effect.logError(`process group ${pgid} still has members after SIGKILL: ${liveGroupMembers(pgid).join(", ")}`)
    }
  }).pipe(Effect.uninterruptible)

const openLog = (file: string, command: string, header: string | undefined) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        fs.mkdirSync(path.dirname(file), { recursive: true })
        const fd = fs.openSync(file, "w")
        if (header !== undefined && header.length > 0) fs.writeSync(fd, header.endsWith("\n") ? header : header + "\n")
        return fd
      },
      catch: (error) => new ProcessError({ command, message: `cannot open log file ${file}: ${String(error)}` })
    }),
    (fd) => Effect.sync(() => fs.closeSync(fd))
  )

const spawnLeader = (
  options: RunOptions,
  stdoutFd: number,
  stderrFd: number,
  exited: Deferred.Deferred<LeaderExit>
): Effect.Effect<ChildProcess & { readonly pid: number }, ProcessError> =>
  Effect.async<ChildProcess & { readonly pid: number }, ProcessError>((resume) => {
    let child: ChildProcess
    try {
      child = spawn(options.command, [...options.args], {
        cwd: options.cwd,
        // PWD as a shell would set it: some CLIs (opencode) work in $PWD rather than their cwd.
        env: { ...process.env, PWD: options.cwd, ...options.env },
        stdio: [options.stdin === undefined ? "ignore" : "pipe", stdoutFd, stderrFd],
        detached: true,
        shell: false,
        windowsHide: true
      })
    } catch (error) {
      resume(Effect.fail(new ProcessError({ command: options.command, message: String(error) })))
      return
    }
    child.on("exit", (code, signal) => {
      Deferred.unsafeDone(exited, Exit.succeed({ exitCode: code, signal }))
    })
    // Kept for the child's lifetime: an 'error' event without a listener would crash the process.
    child.on("error", (error) => {
      // Before 'spawn' it means the child never started (ENOENT, EACCES, bad cwd).
      if (child.pid === undefined) {
        resume(Effect.fail(new ProcessError({ command: options.command, message: error.message })))
      }
    })
    child.once("spawn", () => {
      const pid = child.pid!
      registerChildGroup(pid)
      if (options.stdin !== undefined && child.stdin !== null) {
        // The agent may exit without reading: ignore EPIPE.
        child.stdin.on("error", () => {})
        child.stdin.end(options.stdin)
      }
      resume(Effect.succeed(child as ChildProcess & { readonly pid: number }))
    })
  })

export class ProcessRunner extends Effect.Service<ProcessRunner>()("oompa/ProcessRunner", {
  succeed: {
    run: Effect.fn("ProcessRunner.run")(function* (options: RunOptions) {
      const killGrace = options.killGrace ?? Duration.seconds(5)
      if (!fs.existsSync(options.cwd)) {
        return yield* new ProcessError({ command: options.command, message: `working directory ${options.cwd} does not exist` })
      }
      return yield* Effect.scoped(
        Effect.gen(function* () {
          const stdoutFd = yield* openLog(options.stdoutPath, options.command, undefined)
          const stderrFd = yield* openLog(options.stderrPath, options.command, options.stderrHeader)
          const exited = yield* Deferred.make<LeaderExit>()
          const started = yield* Clock.currentTimeMillis
          // Release: whatever ended the scope (exit, timeout, interruption), no group member survives.
          const child = yield* Effect.acquireRelease(spawnLeader(options, stdoutFd, stderrFd, exited), (child) =>
            terminateGroup(child.pid, killGrace).pipe(Effect.ensuring(Effect.sync(() => unregisterChildGroup(child.pid))))
          )
          const first = yield* Deferred.await(exited).pipe(Effect.timeoutOption(options.timeout))
          let timedOut = false
          let leader: LeaderExit
          if (Option.isSome(first)) {
            leader = first.value
          } else {
            timedOut = true
            yield* Effect.logWarning(
              `${options.command} (pid ${child.pid}) timed out after ${Duration.format(Duration.decode(options.timeout))}: ending its process group`
            )
            yield* terminateGroup(child.pid, killGrace)
            leader = yield* Deferred.await(exited).pipe(
              Effect.timeoutOption(Duration.seconds(5)),
              Effect.map(Option.getOrElse((): LeaderExit => ({ exitCode: null, signal: "SIGKILL" })))
            )
          }
          const finished = yield* Clock.currentTimeMillis
          return {
            exitCode: leader.exitCode,
            signal: leader.signal,
            timedOut,
            durationMs: finished - started,
            pid: child.pid
          } satisfies RunResult
        })
      )
    })
  }
}) {}
