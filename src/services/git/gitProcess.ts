/**
 * One git process: spawned with node:child_process directly, in a process group
 * of its own, stdin empty, stdout and stderr collected up to a cap (the rest is
 * read and dropped so git never blocks on a full pipe), bounded by a timeout.
 *
 * Why not @effect/platform's `Command`: a swarm runs hundreds of git calls, and
 * going through `Command` (a scope, a Deferred, two Streams folded chunk by chunk,
 * a forked stdin feeder and a filesystem access check per call) cost more of
 * oompa's own CPU than spawning git does. Measured on the 4 × 12 mock swarm
 * (bench/measures/swarm.mjs): see the commit that introduced this file.
 *
 * On a timeout or an interruption the whole group gets SIGTERM, then SIGKILL
 * after `killGraceMillis`, and the effect ends only once git has exited — as
 * the platform's executor did, so nothing git started outlives the call.
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as NodeFs from "node:fs"
import { Effect } from "effect"

export interface GitProcessOptions {
  readonly cwd: string
  readonly args: ReadonlyArray<string>
  /** The environment added to node's own for this call. */
  readonly env: Readonly<Record<string, string>>
  readonly timeoutMillis: number
  readonly killGraceMillis: number
  readonly maxStdoutBytes: number
  readonly maxStderrBytes: number
}

export interface GitProcessResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
  readonly stdoutTruncated: boolean
}

/** Why the process could not give an exit code. */
export type GitProcessFailure =
  | { readonly _tag: "SpawnFailed"; readonly message: string }
  | { readonly _tag: "TimedOut" }

/** Bytes of one stream, capped: what is over the cap is counted as truncation, not kept. */
class Capped {
  private readonly chunks: Array<Buffer> = []
  private size = 0
  truncated = false
  constructor(private readonly maxBytes: number) {}
  push(chunk: Buffer) {
    const room = this.maxBytes - this.size
    if (room <= 0) {
      if (chunk.length > 0) this.truncated = true
    } else if (chunk.length > room) {
      this.chunks.push(chunk.subarray(0, room))
      this.size += room
      this.truncated = true
    } else {
      this.chunks.push(chunk)
      this.size += chunk.length
    }
  }
  text() {
    return this.chunks.length === 1 ? this.chunks[0]!.toString("utf8") : Buffer.concat(this.chunks).toString("utf8")
  }
}

/** Signal the process group of `child` (its pid: it leads its own group), else the child alone. */
const signalGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  try {
    process.kill(-child.pid!, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
}

export const runGitProcess = (options: GitProcessOptions): Effect.Effect<GitProcessResult, GitProcessFailure> =>
  Effect.async<GitProcessResult, GitProcessFailure>((resume) => {
    // node reports a missing cwd as "spawn git ENOENT", which reads as if git were missing.
    if (!NodeFs.existsSync(options.cwd)) {
      resume(Effect.fail({ _tag: "SpawnFailed", message: `the folder ${options.cwd} does not exist` }))
      return
    }
    const child = spawn("git", options.args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true
    })
    const stdout = new Capped(options.maxStdoutBytes)
    const stderr = new Capped(options.maxStderrBytes)
    child.stdout!.on("data", (chunk: Buffer) => stdout.push(chunk))
    child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk))

    let exited = false
    let timedOut = false
    let graceTimer: NodeJS.Timeout | undefined
    /** Set when the call is interrupted: resumes the interruption once git has exited. */
    let onExit: (() => void) | undefined
    /** SIGTERM the group now, SIGKILL it after the grace if it is still there. */
    const stop = () => {
      signalGroup(child, "SIGTERM")
      graceTimer = setTimeout(() => signalGroup(child, "SIGKILL"), options.killGraceMillis)
    }
    const timer = setTimeout(() => {
      timedOut = true
      stop()
    }, options.timeoutMillis)
    const clearTimers = () => {
      clearTimeout(timer)
      if (graceTimer !== undefined) clearTimeout(graceTimer)
    }

    child.on("error", (error) => {
      clearTimers()
      resume(Effect.fail({ _tag: "SpawnFailed", message: error.message }))
    })
    child.on("exit", () => {
      exited = true
      if (onExit !== undefined) {
        clearTimers()
        onExit()
      }
    })
    child.on("close", (code, signal) => {
      clearTimers()
      if (onExit !== undefined) return
      if (timedOut) return resume(Effect.fail({ _tag: "TimedOut" }))
      if (code === null) {
        return resume(Effect.fail({ _tag: "SpawnFailed", message: `git was ended by signal ${signal ?? "unknown"}` }))
      }
      // Whatever git left behind in its group (a hook's background job) goes with a failure.
      if (code !== 0) signalGroup(child, "SIGTERM")
      resume(Effect.succeed({ exitCode: code, stdout: stdout.text(), stderr: stderr.text(), stdoutTruncated: stdout.truncated }))
    })

    // Interrupted: stop the group and wait until git has exited.
    return Effect.async<void>((done) => {
      clearTimers()
      if (exited || child.pid === undefined) return done(Effect.void)
      onExit = () => done(Effect.void)
      stop()
    })
  })
