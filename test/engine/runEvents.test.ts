import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, PubSub, Queue, Schema } from "effect"
import { RunEvent, terminalLine } from "../../src/domain/RunEvent.js"
import { runSwarm } from "../../src/engine/swarm.js"
import { makeGitRepo } from "../support/gitRepo.js"
import { engineTestLayer, makeTasks, setupProject } from "../support/swarmProject.js"

const decodeTyped = Schema.decodeUnknownSync(Schema.parseJson(RunEvent), { onExcessProperty: "error" })

describe("the run's event stream (an embedder's view of a swarm)", () => {
  it.live("a PubSub given to runSwarm receives every event of events.jsonl, typed, in order; the terminal shows their lines", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      const config = yield* setupProject(repo, {
        config: { workers: [{ model: "mock:diligent", max_cycle: 3 }], reviewer: "mock:diligent" },
        tasks: makeTasks(2)
      })
      const events = yield* PubSub.unbounded<RunEvent>()
      const received = yield* PubSub.subscribe(events)
      const printed: Array<string> = []
      const result = yield* runSwarm(config, { print: (line) => Effect.sync(() => void printed.push(line)), events }).pipe(
        Effect.provide(engineTestLayer({ baseDir: repo.path }))
      )
      const streamed = Chunk.toReadonlyArray(yield* Queue.takeAll(received))

      // Every line this version writes is a typed event (no extra keys), the same the subscriber got.
      const lines = fs.readFileSync(path.join(result.runDir, "events.jsonl"), "utf8").trim().split("\n")
      expect(streamed).toEqual(lines.map((line) => decodeTyped(line)))
      expect(streamed[0]?.type).toBe("swarm-started")
      expect(streamed.at(-1)?.type).toBe("swarm-stopped")
      const merged = streamed.flatMap((e) => (e.type === "merge" && e.data.step === "merged" ? [e.data.commit] : []))
      expect(merged).toHaveLength(2)
      for (const commit of merged) expect((yield* repo.gitRaw(repo.path, "merge-base", "--is-ancestor", commit, "main")).exitCode).toBe(0)
      // The terminal printed each event's line (and the summary table after the last).
      expect(printed.slice(0, streamed.length)).toEqual(streamed.map(terminalLine))
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  )
})
