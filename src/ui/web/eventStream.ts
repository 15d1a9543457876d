import type { ServerResponse } from "node:http"
import { FileSystem, Path } from "@effect/platform"
import { Effect, Either, Option, Ref, Schema, Stream } from "effect"
import { RunEvent } from "../../domain/RunEvent.js"
import { applyEvent, emptyView } from "../../domain/swarmView.js"
import { followEvents } from "../../runs/followEvents.js"
import { readRun, type RunInfo } from "../../runs/readRuns.js"
import { followActivity } from "../liveView.js"
import { baseHeaders, sendError, writeChunk } from "./respond.js"

/**
 * A run's events as server-sent events (issue 10: resumable). Each event's id
 * is the byte offset in events.jsonl just past its line, so a page that
 * reconnects with `Last-Event-ID` (EventSource sends it by itself) gets every
 * line after the last one it had: nothing missed, nothing twice. The data is
 * the line as written, which the page folds with the same code as the
 * terminal (src/domain/swarmView.ts). When the run has stopped and every line
 * was sent, an `end` event tells the page not to reconnect; `{"closing": true}`
 * in it when the dashboard is closing or goes with this run (`oompa swarm --ui`).
 *
 * Beside the lines, `activity` events (no id: they are not lines of the file)
 * carry each worker's latest activity read from its current log
 * (src/ui/liveView.ts), which the page folds in with `applyActivity`. To know
 * whose log is current, the server folds the run from its first line, also
 * when the page resumes later.
 */

const decodeEvent = Schema.decodeUnknownEither(Schema.parseJson(RunEvent))

/** The `end` event; `closing` when the server goes away next (the page then asks it nothing more). */
const endOf = (closing: boolean) => `event: end\ndata: ${closing ? `{"closing":true}` : "{}"}\n\n`

/** How soon a dropped page reconnects. */
const RETRY_MS = 1000

/** The offset to resume from: `Last-Event-ID`, else `?from=`, else the start. `undefined`: not a number. */
export const resumeOffset = (lastEventId: string | undefined, from: string | null): number | undefined => {
  const given = lastEventId ?? from ?? "0"
  return /^[0-9]{1,15}$/.test(given) ? Number(given) : undefined
}

/** Whether `offset` is where a line of events.jsonl starts (0, or just past a newline, within the file). */
const atLineStart = (file: string, offset: number) =>
  Effect.gen(function* () {
    if (offset === 0) return true
    const fs = yield* FileSystem.FileSystem
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const handle = yield* fs.open(file, { flag: "r" })
        if (Number((yield* handle.stat).size) < offset) return false
        yield* handle.seek(offset - 1, "start")
        const byte = yield* handle.readAlloc(1)
        return Option.isSome(byte) && byte.value[0] === 10
      })
    ).pipe(Effect.orElseSucceed(() => false))
  })

/** Whether the run may still write events (its process alive, or not started yet). */
const stillRunning = (run: RunInfo) =>
  readRun(run.dir).pipe(
    Effect.map((now) => now.status === "running" || now.status === "starting"),
    Effect.orElseSucceed(() => false)
  )

export const streamEvents = (res: ServerResponse, run: RunInfo, from: number, serverEndsWithRun = false) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    if (!(yield* atLineStart(path.join(run.dir, "events.jsonl"), from))) {
      return yield* sendError(res, 400, `no line of ${run.id}'s events.jsonl starts at byte ${from}`)
    }
    const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    res.writeHead(200, { ...baseHeaders, "Content-Type": "text/event-stream; charset=utf-8", Connection: "keep-alive" })
    yield* writeChunk(res, `retry: ${RETRY_MS}\n\n`)
    const view = yield* Ref.make(emptyView)
    yield* followActivity(run.dir, Effect.map(Ref.get(view), (v) => v.workers)).pipe(
      Stream.runForEach((activity) => writeChunk(res, `event: activity\ndata: ${JSON.stringify(activity)}\n\n`)),
      Effect.ignore,
      Effect.forkScoped
    )
    /** The offset just past the last line the page has (or did not ask for). */
    let sent = from
    const send = (offset: number, text: string) =>
      Effect.suspend(() => {
        sent = offset
        return writeChunk(res, `id: ${offset}\ndata: ${text}\n\n`)
      })
    yield* followEvents(run.dir, { from: 0, follow: true, stillRunning: Effect.provide(stillRunning(run), context) }).pipe(
      Stream.runForEach((line) =>
        Effect.gen(function* () {
          const event = decodeEvent(line.text)
          if (Either.isRight(event)) yield* Ref.update(view, (v) => applyEvent(v, event.right))
          if (line.offset > from) yield* send(line.offset, line.text)
        })
      ),
      // The dashboard closes (under `oompa swarm --ui`, right after its swarm stopped, maybe
      // before this stream has seen stopped.json): a stopped run's last lines and its end are
      // sent first, so the page shows the run finished instead of reconnecting to no server.
      Effect.onInterrupt(() =>
        Effect.gen(function* () {
          if (!(yield* (yield* FileSystem.FileSystem).exists(path.join(run.dir, "stopped.json")))) return
          const rest = yield* Stream.runCollect(followEvents(run.dir, { from: sent, follow: false }))
          for (const line of rest) yield* send(line.offset, line.text)
          // `closing`: the page can ask this server nothing more.
          yield* writeChunk(res, endOf(true))
          res.end()
        }).pipe(Effect.ignore, Effect.provide(context))
      )
    )
    yield* writeChunk(res, endOf(serverEndsWithRun))
    res.end()
  }).pipe(
    Effect.scoped,
    Effect.catchAll((error) =>
      Effect.sync(() => {
        // Headers are out: all a stream can do is end; the page reconnects and resumes.
        if (!res.headersSent) res.writeHead(500, baseHeaders)
        res.end(`event: error\ndata: ${JSON.stringify(String(error))}\n\n`)
      })
    )
  )
