import { describe, expect, it } from "@effect/vitest"
import { make } from "../../src/domain/RunEvent.js"
import { decodeEventLines, formatEvent } from "../../src/runs/readRuns.js"

describe("events.jsonl of earlier versions (the run reader)", () => {
  it("lines without the payload fields this version adds read as before, beside lines of this version", () => {
    const at = "2026-12-02T06:00:00.000Z"
    const lines = [
      // 0.7/0.8: no data, or data with fewer fields than the typed payload has now.
      '{"at":"2026-01-01T00:00:00Z","type":"worker-started","worker":"w0","message":"mock:diligent, up to 3 cycles"}',
      '{"at":"2026-01-01T00:00:01Z","type":"swarm-stopped","message":"swarm s0 completed: 1 cycle(s) merged into main","data":{"reason":"completed","exitCode":0}}',
      JSON.stringify({ at, ...make.workKept({ worker: "w0", cycle: 1 }, { ref: "refs/oompa/kept/s/w0-c1", commit: "0123456789abcdef" }) })
    ].join("\n")
    const { events, problems } = decodeEventLines(lines)
    expect(problems).toEqual([])
    expect(events.map((e) => formatEvent(e).replace(/^\S+ /, ""))).toEqual([
      "[w0] mock:diligent, up to 3 cycles",
      "[oompa] swarm s0 completed: 1 cycle(s) merged into main",
      "[w0] c1 work kept at refs/oompa/kept/s/w0-c1 (0123456789ab)"
    ])
  })
})
