/**
 * Runs one agent CLI process: no shell, its own process group, output streamed
 * straight to log files, a hard timeout, an optional stall timeout (no output
 * for that long), and a guarantee that no process of the
 * run outlives the call (SPEC §8, §9): neither a member of its process group nor
 * any descendant that started a session of its own, found by the turn marker
 * (`OOMPA_TURN`, set in the child's environment and inherited; processTree.ts).
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
 * an `acquireRelease` resource whose release ends its processes, waiting is a
 * `Deferred`, time is `Clock` / `Effect.sleep` / `Effect.timeoutOption`.
 *
 * Silence (`stallTimeout`): since the output never passes through this process,
 * the only witness of it is the log files growing. The runner holds their
 * descriptors, so it reads their sizes with `fstat` on those (no path lookup,
 * no file read) on an `Effect.sleep` schedule — a tenth of the stall timeout,
 * between 10 ms and 1 s — and ends the run as stalled, exactly as on the hard
 * timeout, when neither has grown for `stallTimeout`. A run is stalled only
 * after at least `stallTimeout` of silence, and at most one interval later.
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { Clock, Context, Deferred, Duration, Effect, Exit, Layer, Option, Schema } from "effect"
import { randomUuid } from "../domain/ids.js"
import { TURN_MARKER_ENV } from "../domain/turnMarker.js"
import { registerChildGroup, unregisterChildGroup } from "./childGroups.js"
import { exactMarker, liveGroupMembers, selfStartTime, terminateProcesses } from "./processTree.js"
import { humanDuration } from "../domain/humanDuration.js"

export { liveGroupMembers }

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
  /**
   * End the run, as on `timeout`, once neither log file has grown for this long
   * (the agent went silent). Undefined: no stall rule. The stderr header does not count.
   */
  readonly stallTimeout?: Duration.DurationInput | undefined
  /** Time between SIGTERM and SIGKILL to the run's processes. Default 5 s. */
  readonly killGrace?: Duration.DurationInput | undefined
  /**
   * The turn marker (src/domain/turnMarker.ts), set as `OOMPA_TURN` in the
   * child's environment and so inherited by all its descendants; when the run
   * ends, every process carrying it is ended with the group. Without one, a
   * marker of no swarm (`unowned/<uuid>`) is made up, so the run is still covered.
   */
  readonly marker?: string | undefined
}

export interface RunResult {
  /** The leader's exit code; null when it was ended by a signal. */
  readonly exitCode: number | null
  readonly signal: string | null
  readonly timedOut: boolean
  /** Ended for silence (`stallTimeout`), not by the hard timeout; `timedOut` is then false. */
  readonly stalled: boolean
  readonly durationMs: number
  /** The leader's pid, which is also the process-group id. */
  readonly pid: number
}

interface LeaderExit {
  readonly exitCode: number | null
  readonly signal: string | null
}

/**
 * Ends a turn's processes: its process group and every process carrying its
 * marker (SIGTERM, `grace`, SIGKILL). Returns at once when none is left.
 */
export const terminateTurn = (pgid: number, marker: string, grace: Duration.DurationInput): Effect.Effect<void> =>
  // The turn's processes were all started after this one: older processes' environ is not read.
  terminateProcesses({ pgid, marker: exactMarker(marker), bornSince: selfStartTime() }, grace, `process group ${pgid} (${TURN_MARKER_ENV}=${marker})`)

/** Ends the members of one process group only (SIGTERM, `grace`, SIGKILL). */
export const terminateGroup = (pgid: number, grace: Duration.DurationInput): Effect.Effect<void> =>
  terminateProcesses({ pgid }, grace, `process group ${pgid}`)

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

/** Bytes the run has written so far: the sizes of its two log files, read from our own descriptors. */
const outputBytes = (stdoutFd: number, stderrFd: number): number => fs.fstatSync(stdoutFd).size + fs.fstatSync(stderrFd).size

/**
 * Returns once `outputSize` (bytes written so far) has not grown for `stall`:
 * the silence, in ms, at least `stall` and at most one check interval more.
 * Never returns while the agent keeps writing. Time is Effect's Clock, so a
 * TestClock drives it. See the top of this file for why it polls.
 */
export const awaitSilence = (outputSize: () => number, stall: Duration.DurationInput): Effect.Effect<number> =>
  Effect.gen(function* () {
    const stallMs = Duration.toMillis(stall)
    const interval = Duration.millis(Math.min(1000, Math.max(10, stallMs / 10)))
    let size = outputSize()
    let lastOutput = yield* Clock.currentTimeMillis
    for (;;) {
      yield* Effect.sleep(interval)
      const now = yield* Clock.currentTimeMillis
      const current = outputSize()
      if (current !== size) {
        size = current
        lastOutput = now
      } else if (now - lastOutput >= stallMs) {
        return now - lastOutput
      }
    }
  })

const spawnLeader = (
  options: RunOptions,
  marker: string,
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
        env: { ...process.env, PWD: options.cwd, ...options.env, [TURN_MARKER_ENV]: marker },
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
      registerChildGroup(pid, marker)
      if (options.stdin !== undefined && child.stdin !== null) {
        // The agent may exit without reading: ignore EPIPE.
        child.stdin.on("error", () => {})
        child.stdin.end(options.stdin)
      }
      resume(Effect.succeed(child as ChildProcess & { readonly pid: number }))
    })
  })

export interface DetachedOptions {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string
  /** Opened for appending; the child's stdout and stderr both go there. */
  readonly logPath: string
}

/** Runs one agent process to its end; see the top of this file for what "end" guarantees. */
export interface ProcessRunnerService {
  readonly run: (options: RunOptions) => Effect.Effect<RunResult, ProcessError>
  /**
   * Starts a process that outlives oompa (`oompa swarm --detach`): its own
   * session and group, stdin closed, output appended to `logPath`, not waited
   * for and not ended with this process. Returns its pid once it has started.
   */
  readonly startDetached: (options: DetachedOptions) => Effect.Effect<{ readonly pid: number }, ProcessError>
}

/**
 * A Context.Tag with a hand-written interface and a live layer, the style of
 * every oompa service (Git, MergeLock, TaskQueue, Harnesses): one style, and
 * the one that ports to Effect 4 with the least change.
 */
export class ProcessRunner extends Context.Tag("oompa/ProcessRunner")<ProcessRunner, ProcessRunnerService>() {}

const run = Effect.fn("ProcessRunner.run")(function* (options: RunOptions) {
  const killGrace = options.killGrace ?? Duration.seconds(5)
  const marker = options.marker ?? `unowned/${yield* randomUuid}`
  if (!fs.existsSync(options.cwd)) {
    return yield* new ProcessError({ command: options.command, message: `working directory ${options.cwd} does not exist` })
  }
  return yield* Effect.scoped(
    Effect.gen(function* () {
      const stdoutFd = yield* openLog(options.stdoutPath, options.command, undefined)
      const stderrFd = yield* openLog(options.stderrPath, options.command, options.stderrHeader)
      const exited = yield* Deferred.make<LeaderExit>()
      const started = yield* Clock.currentTimeMillis
      // Release: whatever ended the scope (exit, timeout, interruption), no group
      // member and no process carrying the marker survives.
      const child = yield* Effect.acquireRelease(spawnLeader(options, marker, stdoutFd, stderrFd, exited), (child) =>
        terminateTurn(child.pid, marker, killGrace).pipe(Effect.ensuring(Effect.sync(() => unregisterChildGroup(child.pid))))
      )
      const silence = options.stallTimeout === undefined ? Effect.never : awaitSilence(() => outputBytes(stdoutFd, stderrFd), options.stallTimeout)
      const first = yield* Effect.raceFirst(
        Deferred.await(exited).pipe(Effect.map((exit) => ({ _tag: "Exited" as const, exit }))),
        silence.pipe(Effect.map((silentMs) => ({ _tag: "Stalled" as const, silentMs })))
      ).pipe(Effect.timeoutOption(options.timeout))
      let timedOut = false
      let stalled = false
      let leader: LeaderExit
      if (Option.isSome(first) && first.value._tag === "Exited") {
        leader = first.value.exit
      } else {
        // The hard timeout and a stall end the run the same way: the whole tree, then the leader's exit.
        if (Option.isSome(first) && first.value._tag === "Stalled") {
          stalled = true
          yield* Effect.logWarning(
            `${options.command} (pid ${child.pid}) stalled: no output for ${humanDuration(first.value.silentMs)}: ending its processes`
          )
        } else {
          timedOut = true
          yield* Effect.logWarning(
            `${options.command} (pid ${child.pid}) timed out after ${humanDuration(options.timeout)}: ending its processes`
          )
        }
        yield* terminateTurn(child.pid, marker, killGrace)
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
        stalled,
        durationMs: finished - started,
        pid: child.pid
      } satisfies RunResult
    })
  )
})

const startDetached = Effect.fn("ProcessRunner.startDetached")((options: DetachedOptions) =>
  Effect.async<{ readonly pid: number }, ProcessError>((resume) => {
    let out: number
    try {
      fs.mkdirSync(path.dirname(options.logPath), { recursive: true })
      out = fs.openSync(options.logPath, "a")
    } catch (error) {
      resume(Effect.fail(new ProcessError({ command: options.command, message: `cannot open log file ${options.logPath}: ${String(error)}` })))
      return
    }
    let child: ChildProcess
    try {
      child = spawn(options.command, [...options.args], { cwd: options.cwd, detached: true, stdio: ["ignore", out, out], shell: false })
    } catch (error) {
      fs.closeSync(out)
      resume(Effect.fail(new ProcessError({ command: options.command, message: String(error) })))
      return
    }
    // Ours no more once started: the child keeps its own copy of the log descriptor.
    fs.closeSync(out)
    child.on("error", (error) => {
      if (child.pid === undefined) resume(Effect.fail(new ProcessError({ command: options.command, message: error.message })))
    })
    child.once("spawn", () => {
      child.unref()
      resume(Effect.succeed({ pid: child.pid! }))
    })
  })
)

/** The live runner: node:child_process, its own process groups, the turn marker. */
export const ProcessRunnerLive: Layer.Layer<ProcessRunner> = Layer.succeed(ProcessRunner, ProcessRunner.of({ run, startDetached }))
