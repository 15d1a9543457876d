/**
 * The process groups of every agent CLI this process has started and not yet
 * reaped. It lives outside Effect on purpose: the edge's second-Ctrl-C handler
 * must kill them synchronously, without running any more Effect code.
 * ProcessRunner adds a group when it spawns and removes it when the group is gone.
 */
const live = new Set<number>()

export const registerChildGroup = (pgid: number): void => {
  live.add(pgid)
}

export const unregisterChildGroup = (pgid: number): void => {
  live.delete(pgid)
}

export const liveChildGroups = (): ReadonlyArray<number> => [...live]

export const killAllChildGroups = (signal: NodeJS.Signals): void => {
  for (const pgid of live) {
    try {
      process.kill(-pgid, signal)
    } catch {
      // already gone
    }
  }
}
