import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Queue, Stream } from "effect"
import { followEvents, type EventsLine } from "../../src/runs/followEvents.js"

const runDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "oompa-follow-"))
const append = (dir: string, text: string) => fs.appendFileSync(path.join(dir, "events.jsonl"), text)

describe("following a run's events.jsonl", () => {
  it.live("gives each complete line with the byte offset past it, holds a half-written line, and ends after stopped.json", () =>
    Effect.gen(function* () {
      const dir = runDir()
      append(dir, '{"n":1}\n{"n":"é"}\n{"n":')
      const seen = yield* Queue.unbounded<EventsLine>()
      const fiber = yield* followEvents(dir, { follow: true }).pipe(
        Stream.runForEach((line) => Queue.offer(seen, line)),
        Effect.fork
      )
      const first = [yield* Queue.take(seen), yield* Queue.take(seen)]
      // "é" is two bytes: offsets count bytes, not characters.
      expect(first).toEqual([
        { text: '{"n":1}', offset: 8 },
        { text: '{"n":"é"}', offset: 19 }
      ])
      expect(yield* Queue.size(seen)).toBe(0)
      append(dir, '3}\n')
      expect(yield* Queue.take(seen)).toEqual({ text: '{"n":3}', offset: 27 })
      append(dir, '{"n":4}')
      fs.writeFileSync(path.join(dir, "stopped.json"), "{}")
      yield* Fiber.join(fiber)
      // The run stopped: its last line counts even without a newline.
      expect(Chunk.toReadonlyArray(yield* Queue.takeAll(seen))).toEqual([{ text: '{"n":4}', offset: 34 }])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("resumes at an offset it gave, without a line missed or repeated", () =>
    Effect.gen(function* () {
      const dir = runDir()
      append(dir, "a\nbb\nccc\n")
      const all = Chunk.toReadonlyArray(yield* Stream.runCollect(followEvents(dir, { follow: false })))
      expect(all.map((l) => l.text)).toEqual(["a", "bb", "ccc"])
      const rest = Chunk.toReadonlyArray(yield* Stream.runCollect(followEvents(dir, { follow: false, from: all[0]!.offset })))
      expect(rest).toEqual(all.slice(1))
      expect(Chunk.toReadonlyArray(yield* Stream.runCollect(followEvents(dir, { follow: false, from: all[2]!.offset })))).toEqual([])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.live("a missing file is no lines yet; a run whose process is gone ends the stream", () =>
    Effect.gen(function* () {
      const dir = runDir()
      expect(Chunk.size(yield* Stream.runCollect(followEvents(dir, { follow: false })))).toBe(0)
      const lines = yield* Stream.runCollect(followEvents(dir, { follow: true, stillRunning: Effect.succeed(false) }))
      expect(Chunk.size(lines)).toBe(0)
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
