import * as fs from "node:fs"

/**
 * Resolves once `check()` holds, re-checking on every change in `dir`
 * (watched before the first check, so no change is missed). No polling.
 * A check that throws rejects with its error; none holding in `timeoutMs`
 * rejects naming `what`.
 */
export const waitUntil = (dir: string, check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> =>
  new Promise((resolve, reject) => {
    const watcher = fs.watch(dir)
    const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}`)), timeoutMs)
    const finish = (error?: Error) => {
      clearTimeout(timer)
      watcher.close()
      if (error === undefined) resolve()
      else reject(error)
    }
    const test = () => {
      try {
        if (check()) finish()
      } catch (error) {
        finish(error as Error)
      }
    }
    // An FSWatcher's "change" event carries renames too.
    watcher.on("change", test)
    watcher.on("error", (error) => finish(error))
    test()
  })
