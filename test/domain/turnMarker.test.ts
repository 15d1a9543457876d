import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Option } from "effect"
import {
  formatTurnMarker,
  parseTurnMarker,
  reviewMarker,
  swarmMarkerPrefix,
  testMarker,
  turnMarker,
  type TurnMarker
} from "../../src/domain/turnMarker.js"

describe("turn marker", () => {
  it("names each kind of run after its log file's stem, under the swarm's prefix", () => {
    expect(turnMarker("0a1b2c3d", "w1", 3, 2)).toBe("0a1b2c3d/w1-c3-t2")
    expect(reviewMarker("0a1b2c3d", "w1", 3, 1, 0)).toBe("0a1b2c3d/w1-c3-r1-reviewer0")
    expect(testMarker("0a1b2c3d", "w1", 3, 2)).toBe("0a1b2c3d/w1-c3-test2")
    for (const m of [turnMarker("0a1b2c3d", "w0", 1, 1), reviewMarker("0a1b2c3d", "w0", 1, 1, 1), testMarker("0a1b2c3d", "w0", 1, 0)]) {
      expect(m.startsWith(swarmMarkerPrefix("0a1b2c3d"))).toBe(true)
    }
  })

  it("parses what it formats, and nothing else", () => {
    const marker: fc.Arbitrary<TurnMarker> = fc.record({
      swarm: fc.stringMatching(/^[0-9a-f]{8}$/),
      worker: fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/),
      cycle: fc.nat(10_000),
      kind: fc.oneof(
        fc.record({ _tag: fc.constant("Turn" as const), turn: fc.nat(100) }),
        fc.record({ _tag: fc.constant("Review" as const), round: fc.nat(100), reviewer: fc.nat(10) }),
        fc.record({ _tag: fc.constant("Test" as const), run: fc.nat(100) })
      )
    })
    fc.assert(fc.property(marker, (m) => {
      expect(parseTurnMarker(formatTurnMarker(m))).toEqual(Option.some(m))
    }))
    for (const bad of ["", "0a1b2c3d", "0a1b2c3d/", "0a1b2c3d/w0", "0a1b2c3d/w0-c1", "0a1b2c3d/w0-c1-x1", "unowned/3ed6155e-4ade"]) {
      expect(parseTurnMarker(bad)).toEqual(Option.none())
    }
  })
})
