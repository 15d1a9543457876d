import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Schema, Stream, SubscriptionRef } from "effect"
import { make, RunEvent, type RunEventDraft } from "../../src/domain/RunEvent.js"
import type { SwarmView } from "../../src/domain/swarmView.js"
import { makeLiveView, runEventsOf } from "../../src/ui/liveView.js"

const encode = Schema.encodeSync(Schema.parseJson(RunEvent))

/** Appends events to a run folder's events.jsonl as the run log does. */
const emit = (dir: string, draft: RunEventDraft) =>
  fs.appendFileSync(path.join(dir, "events.jsonl"), encode({ at: new Date().toISOString(), ...draft } as RunEvent) + "\n")

/** Waits until the view satisfies `ok` (woken by each change, no polling). */
const until = (view: SubscriptionRef.SubscriptionRef<SwarmView>, ok: (v: SwarmView) => boolean) =>
  view.changes.pipe(Stream.filter(ok), Stream.runHead, Effect.timeout("20 seconds"))

describe("a live view of a run folder (oompa watch)", () => {
  it.scoped("follows the events and the latest activity in the log the worker writes now, and ends with the run", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-live-"))
      fs.mkdirSync(path.join(dir, "logs"))
      const log = path.join(dir, "logs", "w0-c1-t1.log")
      emit(dir, make.swarmStarted({}, { swarm: "abcd1234", targetBranch: "main", workers: 1, pending: 1, runFiles: dir }))
      emit(dir, make.workerStarted({ worker: "w0" }, { model: "claude:opus", canPlan: true, maxCycle: 1 }))
      const live = yield* makeLiveView(dir, runEventsOf(dir, { follow: true }))
      expect((yield* until(live.view, (v) => v.workers[0]?.phase === "starting"))._tag).toBe("Some")

      emit(dir, make.turnStarted({ worker: "w0", cycle: 1 }, { turn: 1, kind: "start", log }))
      yield* until(live.view, (v) => v.workers[0]?.phase === "working")
      const toolUse = { type: "assistant", message: { content: [{ type: "tool_use", name: "Bash", input: { command: "npm test" } }] } }
      fs.appendFileSync(log, JSON.stringify(toolUse) + "\n")
      const busy = yield* until(live.view, (v) => v.workers[0]?.activity !== undefined)
      expect(busy._tag === "Some" && busy.value.workers[0]!.activity).toBe("Bash: npm test")

      emit(dir, make.swarmStopped({}, { swarm: "abcd1234", reason: "completed", exitCode: 0, targetBranch: "main", merged: 0 }))
      fs.writeFileSync(path.join(dir, "stopped.json"), "{}")
      yield* Deferred.await(live.ended).pipe(Effect.timeout("20 seconds"))
      expect((yield* SubscriptionRef.get(live.view)).status).toBe("stopped")
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
