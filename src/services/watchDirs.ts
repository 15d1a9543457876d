import * as NodeFs from "node:fs"
import { Effect, Queue, Runtime, type Scope } from "effect"
import { TaskQueueIoError } from "./taskQueue/errors.js"

/**
 * Watches folders and returns a queue that receives a wake-up whenever
 * anything in them changes (a sliding queue of size 1: many events collapse
 * into one wake-up, and none is lost between a check and the next take).
 *
 * Node's `fs.watch` is wrapped directly rather than through
 * `FileSystem.watch`: the watcher is registered synchronously when this
 * effect runs, so a caller can register, then check the queue state, then
 * wait, with no window in which a new file goes unnoticed. (`FileSystem.watch`
 * is a Stream whose watcher starts at some point after the stream is run,
 * which leaves that window open.) The watchers close with the scope.
 */
export const watchDirs = (
  dirs: ReadonlyArray<string>
): Effect.Effect<Queue.Dequeue<void>, TaskQueueIoError, Scope.Scope> =>
  Effect.gen(function* () {
    const wake = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    for (const dir of dirs) {
      yield* Effect.acquireRelease(
        Effect.try({
          try: () => {
            const watcher = NodeFs.watch(dir, () => {
              Queue.unsafeOffer(wake, undefined)
            })
            watcher.on("error", (error) => {
              // A dead watcher must not leave a waiter asleep forever: wake it so it re-checks.
              runFork(Effect.logWarning(`task queue: watching ${dir} failed: ${String(error)}`))
              Queue.unsafeOffer(wake, undefined)
            })
            return watcher
          },
          catch: (error) => new TaskQueueIoError({ op: "watch", path: dir, message: String(error) })
        }),
        (watcher) => Effect.sync(() => watcher.close())
      )
    }
    return wake
  })
