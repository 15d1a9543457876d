/**
 * Finding and ending the processes of a turn (SPEC §8 "Processes"): the members
 * of its process group, and every process whose environment carries its turn
 * marker (`OOMPA_TURN`, src/domain/turnMarker.ts) — which catches what an agent
 * CLI starts in a session of its own (claude, gemini and opencode run tool
 * commands with setsid), out of reach of a group signal.
 *
 * On Linux this reads /proc: `/proc/<pid>/stat` for the state and process group,
 * `/proc/<pid>/environ` for the marker. A process of another user (EACCES) is
 * skipped, a zombie (state Z or X) is not alive: `kill(pid, 0)` succeeds for a
 * zombie, and an orphan that died stays one for ever under an init that does not
 * reap (containers). Without /proc only the process group can be found.
 *
 * The scan is synchronous on purpose: the edge's second-Ctrl-C handler
 * (childGroups.ts) must use it without running any more Effect code.
 */
import * as fs from "node:fs"
import { Clock, Duration, Effect } from "effect"
import { swarmMarkerPrefix, TURN_MARKER_ENV } from "../domain/turnMarker.js"
import { humanDuration } from "../domain/humanDuration.js"
import { warnUser } from "./diagnostics.js"

/** Which processes belong to a turn (or, for recovery, to a whole dead run). */
export interface ProcessSelector {
  /** Members of this process group. */
  readonly pgid?: number | undefined
  /** Processes whose `OOMPA_TURN` value satisfies this. */
  readonly marker?: ((value: string) => boolean) | undefined
  /**
   * Only processes started at or after this `starttime` (clock ticks since boot,
   * /proc/<pid>/stat field 22) can carry the marker: the environ of older ones is
   * not read. A turn's processes all descend from a process this one started, so
   * `selfStartTime()` is a safe bound for them; most of a machine's processes are
   * older, and reading each one's environ on every turn's end was most of the scan.
   */
  readonly bornSince?: number | undefined
}

export const exactMarker = (marker: string) => (value: string) => value === marker
export const markerWithPrefix = (prefix: string) => (value: string) => value.startsWith(prefix)

let procChecked: boolean | undefined
/** Whether /proc can be read: asked once (it was an access(2) on every poll of every scan). */
const procAvailable = (): boolean => {
  if (procChecked !== undefined) return procChecked
  if (process.platform !== "linux") return (procChecked = false)
  try {
    fs.accessSync("/proc/self/stat", fs.constants.R_OK)
    procChecked = true
  } catch {
    procChecked = false
  }
  return procChecked
}

interface ProcStat {
  readonly state: string
  readonly pgrp: number
  readonly starttime: number
}

const readStat = (pid: number | string): ProcStat | undefined => {
  let stat: string
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  // "pid (comm) state ppid pgrp ..." — comm may contain spaces and parens.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return { state: fields[0] ?? "", pgrp: Number(fields[2]), starttime: Number(fields[19]) }
}

let ownStartTime: number | undefined
/** This process's `starttime` (see ProcessSelector.bornSince); undefined without /proc. */
export const selfStartTime = (): number | undefined => {
  if (ownStartTime === undefined && procAvailable()) ownStartTime = readStat("self")?.starttime
  return ownStartTime
}

const ENV_KEY = Buffer.from(`${TURN_MARKER_ENV}=`)

/**
 * The `OOMPA_TURN` value in a process's environment (the one it was exec'd
 * with), as getenv would see it: the first entry. Undefined when it has none or
 * its environ cannot be read (another user's process, a kernel thread, gone).
 */
export const markerOfProcess = (pid: number | string): string | undefined => {
  let environ: Buffer
  try {
    environ = fs.readFileSync(`/proc/${pid}/environ`)
  } catch {
    return undefined
  }
  let at = environ.indexOf(ENV_KEY)
  while (at > 0 && environ[at - 1] !== 0) at = environ.indexOf(ENV_KEY, at + 1)
  if (at < 0) return undefined
  const start = at + ENV_KEY.length
  const end = environ.indexOf(0, start)
  return environ.toString("utf8", start, end < 0 ? environ.length : end)
}

const isZombie = (stat: ProcStat) => stat.state === "Z" || stat.state === "X"

/** Whether `pid` is a live process (a zombie is not). */
export const processAlive = (pid: number): boolean => {
  if (procAvailable()) {
    const stat = readStat(pid)
    return stat !== undefined && !isZombie(stat)
  }
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * The live processes the selector picks, in one pass over /proc; never this
 * process itself. Without /proc: the group leader's pid while the group has a
 * member (markers cannot be read there).
 */
export const findProcesses = (selector: ProcessSelector): ReadonlyArray<number> => {
  if (procAvailable()) {
    let entries: Array<string>
    try {
      entries = fs.readdirSync("/proc")
    } catch {
      entries = []
    }
    const found: Array<number> = []
    for (const entry of entries) {
      const c = entry.charCodeAt(0)
      if (c < 48 || c > 57) continue
      const pid = Number(entry)
      if (pid === process.pid) continue
      const stat = readStat(entry)
      if (stat === undefined || isZombie(stat)) continue
      if (selector.pgid !== undefined && stat.pgrp === selector.pgid) {
        found.push(pid)
        continue
      }
      if (selector.marker !== undefined) {
        if (selector.bornSince !== undefined && stat.starttime < selector.bornSince) continue
        const marker = markerOfProcess(entry)
        if (marker !== undefined && selector.marker(marker)) found.push(pid)
      }
    }
    return found
  }
  if (selector.pgid === undefined) return []
  try {
    process.kill(-selector.pgid, 0)
    return [selector.pgid]
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM" ? [selector.pgid] : []
  }
}

/** Pids of the live (not zombie) members of a process group. */
export const liveGroupMembers = (pgid: number): ReadonlyArray<number> => findProcesses({ pgid })

const send = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(pid, signal)
  } catch {
    // ESRCH: gone already; EPERM: not ours to signal.
  }
}

/** Signals the selector's group (if any) and each of `pids`, synchronously. */
export const signalProcesses = (selector: ProcessSelector, pids: ReadonlyArray<number>, signal: NodeJS.Signals): void => {
  if (selector.pgid !== undefined) send(-selector.pgid, signal)
  for (const pid of pids) send(pid, signal)
}

const pollInterval = Duration.millis(25)

/**
 * Waits until none of `pids` is alive (without /proc: until the selector finds
 * nothing), or `limit` passes. True when gone. A deadline loop rather than
 * `Effect.timeoutOption`: this runs inside uninterruptible finalizers.
 */
const awaitGone = (selector: ProcessSelector, pids: ReadonlyArray<number>, limit: Duration.DurationInput): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(limit)
    const proc = procAvailable()
    const anyAlive = () => (proc ? pids.some(processAlive) : findProcesses(selector).length > 0)
    while (anyAlive()) {
      if ((yield* Clock.currentTimeMillis) >= deadline) return false
      yield* Effect.sleep(pollInterval)
    }
    return true
  })

/**
 * Ends every process the selector picks: SIGTERM, up to `grace` for them to go,
 * then SIGKILL to whatever is left, and waits until they are gone. A second scan
 * after the grace also catches what was started meanwhile. Returns at once when
 * nothing is found. `what` names the target in log lines.
 */
export const terminateProcesses = (
  selector: ProcessSelector,
  grace: Duration.DurationInput,
  what: string
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const found = findProcesses(selector)
    if (found.length === 0) return
    signalProcesses(selector, found, "SIGTERM")
    if (yield* awaitGone(selector, found, grace)) {
      // Gone; unless something was started while they went.
      const late = findProcesses(selector)
      if (late.length === 0) return
      signalProcesses(selector, late, "SIGKILL")
      yield* awaitGone(selector, late, Duration.seconds(5))
      return
    }
    const left = findProcesses(selector)
    if (left.length === 0) return
    yield* warnUser(`${what}: ${left.length} process(es) survived SIGTERM for ${humanDuration(grace)}: SIGKILL`)
    signalProcesses(selector, left, "SIGKILL")
    // SIGKILL cannot be ignored; this only waits for the kernel to finish.
    if (!(yield* awaitGone(selector, left, Duration.seconds(5)))) {
      yield* warnUser(`${what}: still alive after SIGKILL: ${left.filter(processAlive).join(", ")}`)
    }
  }).pipe(Effect.uninterruptible)

/**
 * Ends every process of a (dead) swarm: each one whose `OOMPA_TURN` starts with
 * `<swarm>/`, whatever its turn — never a process of another swarm, never one
 * without a marker. SIGTERM, `grace` (5 s), SIGKILL, and waits until they are gone.
 */
export const terminateSwarmProcesses = (swarm: string, grace: Duration.DurationInput = Duration.seconds(5)): Effect.Effect<void> =>
  swarm.length === 0 || swarm.includes("/")
    ? Effect.void
    : terminateProcesses({ marker: markerWithPrefix(swarmMarkerPrefix(swarm)) }, grace, `processes of swarm ${swarm}`)
