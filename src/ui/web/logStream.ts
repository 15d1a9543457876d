import type { ServerResponse } from "node:http"
import { FileSystem, Path } from "@effect/platform"
import { Duration, Effect, Option, Queue } from "effect"
import { readRun, type RunInfo } from "../../runs/readRuns.js"
import { watchDirs } from "../../services/watchDirs.js"
import { baseHeaders, sendError, writeChunk } from "./respond.js"

/**
 * One raw log of a run (`logs/<worker>-c<N>-…`), as plain text streamed while
 * it grows: what is there is sent at once, and while the log's cycle is still
 * running every byte appended after, woken by a watch on the run's folders.
 * The response ends when the cycle file is written (the cycle is over), when
 * the run stops, or when its process is gone.
 */

/** A log name as the run writes them; nothing else (no path) is served. */
export const isLogName = (name: string): boolean => /^[A-Za-z0-9._-]+\.log$/.test(name) && !name.startsWith(".")

/** While nothing is written, how often to check that the run is still alive. */
const LIVENESS_CHECK = Duration.seconds(2)
const CHUNK = 64 * 1024

export const streamLog = (res: ServerResponse, run: RunInfo, name: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const file = path.join(run.dir, "logs", name)
      if (!isLogName(name) || !(yield* fs.exists(file).pipe(Effect.orElseSucceed(() => false)))) {
        return yield* sendError(res, 404, `run ${run.id} has no log ${JSON.stringify(name)}`)
      }
      const cycle = /^(.+-c[0-9]+)-/.exec(name)?.[1]
      const cycleFile = path.join(run.dir, "cycles", `${cycle}.json`)
      const over = Effect.gen(function* () {
        if (cycle === undefined || (yield* fs.exists(cycleFile).pipe(Effect.orElseSucceed(() => true)))) return true
        const now = yield* readRun(run.dir).pipe(Effect.orElseSucceed(() => undefined))
        return now === undefined || (now.status !== "running" && now.status !== "starting")
      })
      // Registered before the first read, so no byte appended after it goes unnoticed.
      const wake = yield* watchDirs([path.join(run.dir, "logs"), path.join(run.dir, "cycles"), run.dir]).pipe(Effect.option)
      const handle = yield* fs.open(file, { flag: "r" })
      res.writeHead(200, { ...baseHeaders, "Content-Type": "text/plain; charset=utf-8" })
      let offset = 0
      const drain = Effect.gen(function* () {
        for (;;) {
          const size = Number((yield* handle.stat).size)
          if (size <= offset) return
          yield* handle.seek(offset, "start")
          const bytes = yield* handle.readAlloc(Math.min(CHUNK, size - offset))
          if (Option.isNone(bytes) || bytes.value.length === 0) return
          offset += bytes.value.length
          yield* writeChunk(res, bytes.value)
        }
      })
      for (;;) {
        // Checked before the read: whatever was written before the cycle ended is then sent.
        const finished = yield* over
        yield* drain
        if (finished || Option.isNone(wake) || res.destroyed) break
        yield* Queue.take(wake.value).pipe(Effect.timeoutOption(LIVENESS_CHECK))
      }
      res.end()
    })
  ).pipe(
    Effect.catchAll((error) =>
      Effect.sync(() => {
        if (!res.headersSent) res.writeHead(500, baseHeaders)
        res.end(`\n[oompa ui: reading the log failed: ${String(error)}]\n`)
      })
    )
  )
