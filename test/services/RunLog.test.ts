import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Chunk, Effect, Fiber, PubSub, Queue, Schema, Stream } from "effect"
import { make, RunEvent, terminalLine } from "../../src/domain/RunEvent.js"
import { makeRunLog } from "../../src/services/RunLog.js"

const decodeTyped = Schema.decodeUnknownSync(Schema.parseJson(RunEvent), { onExcessProperty: "error" })

const tempRunDir = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "oompa-runlog-")), "run")

layer(NodeContext.layer)("RunLog: writes, prints and publishes each event", (it) => {
  it.scoped("a subscriber receives every event emitted after it subscribed, as written to events.jsonl and printed", () =>
    Effect.gen(function* () {
      const dir = tempRunDir()
      const printed: Array<string> = []
      const log = yield* makeRunLog({ dir, print: (line) => Effect.sync(() => void printed.push(line)) })
      yield* log.emit(make.warning("before anyone listens"))
      const stream = yield* log.subscribe
      yield* log.emit(make.cycleStarted({ worker: "w0", cycle: 1 }, { branch: "oompa/s/w0-c1", worktree: "/wt", base: "abc" }))
      yield* log.emit(make.workKept({ worker: "w0", cycle: 1 }, { ref: "refs/oompa/kept/s/w0-c1", commit: "0123456789abcdef" }))

      const received = Chunk.toReadonlyArray(yield* stream.pipe(Stream.take(2), Stream.runCollect))
      const lines = fs.readFileSync(path.join(dir, "events.jsonl"), "utf8").trim().split("\n")
      expect(lines).toHaveLength(3)
      const written = lines.map((line) => decodeTyped(line))
      expect(received).toEqual(written.slice(1))
      expect(received.map((e) => e.type)).toEqual(["cycle-started", "work-kept"])
      expect(printed).toEqual(written.map(terminalLine))
      expect(printed[2]).toBe("[w0] c1 work kept at refs/oompa/kept/s/w0-c1 (0123456789ab)")
    })
  )

  it.scoped("a PubSub passed in gets the same events as the log's own subscribers (an embedder's, subscribed before the run)", () =>
    Effect.gen(function* () {
      const outside = yield* PubSub.unbounded<RunEvent>()
      const fromOutside = yield* PubSub.subscribe(outside)
      const log = yield* makeRunLog({ dir: tempRunDir(), print: () => Effect.void, publish: outside })
      const own = yield* log.subscribe
      const collected = yield* own.pipe(
        Stream.takeUntil((e) => e.type === "swarm-stopped"),
        Stream.runCollect,
        Effect.fork
      )
      yield* log.emit(make.taskInvalid({}, { file: "x.json", movedTo: "x.json", reason: "bad" }))
      yield* log.emit(make.swarmStopped({}, { swarm: "s", reason: "completed", exitCode: 0, targetBranch: "main", merged: 0 }))
      const streamed = Chunk.toReadonlyArray(yield* Fiber.join(collected))
      expect(streamed.map((e) => e.type)).toEqual(["task-invalid", "swarm-stopped"])
      expect(Chunk.toReadonlyArray(yield* Queue.takeAll(fromOutside))).toEqual(streamed)
    })
  )
})
