/**
 * The live turns of this process: the process group of every agent CLI (or
 * test command) ProcessRunner has started and not yet ended, with its turn
 * marker. It lives outside Effect on purpose: the edge's second-Ctrl-C handler
 * must kill them synchronously, without running any more Effect code.
 * ProcessRunner adds a turn when it spawns and removes it when all its
 * processes are gone.
 */
import { findProcesses, signalProcesses } from "./processTree.js"

/** pgid → the turn's marker (OOMPA_TURN value). */
const live = new Map<number, string | undefined>()

export const registerChildGroup = (pgid: number, marker?: string): void => {
  live.set(pgid, marker)
}

export const unregisterChildGroup = (pgid: number): void => {
  live.delete(pgid)
}

export const liveChildGroups = (): ReadonlyArray<number> => [...live.keys()]

/**
 * Signals every live turn's process group and, after one synchronous /proc
 * scan, every process carrying a live turn's marker (the ones that left the
 * group with setsid).
 */
export const killAllChildGroups = (signal: NodeJS.Signals): void => {
  const markers = new Set<string>()
  for (const [pgid, marker] of live) {
    signalProcesses({ pgid }, [], signal)
    if (marker !== undefined) markers.add(marker)
  }
  if (markers.size === 0) return
  signalProcesses({}, findProcesses({ marker: (value) => markers.has(value) }), signal)
}
