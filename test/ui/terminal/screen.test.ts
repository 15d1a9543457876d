import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { frameUpdate, makeScreen } from "../../../src/ui/terminal/screen.js"

const ESC = "\u001b["
const frameA = ["header", "w0  working", "w1  reviewing", "footer"]
const frameB = ["header", "w0  working", "w1  merging", "footer"]

/** The rows a write moves the cursor to, counted from 1. */
const rowsWritten = (bytes: string) => [...bytes.matchAll(/\u001b\[(\d+);1H/g)].map((m) => Number(m[1]))

describe("the live view's screen writes only what changed", () => {
  it("a second frame that changes one row writes that row only, cleared to its end, in one synchronized update", () => {
    const bytes = frameUpdate(frameA, frameB)
    expect(rowsWritten(bytes)).toEqual([3])
    expect(bytes).toBe(`${ESC}?2026h${ESC}3;1Hw1  merging${ESC}K${ESC}?2026l`)
    expect(bytes).not.toContain("header")
    expect(bytes).not.toContain("w0")
  })

  it("the same frame again writes nothing; the first frame clears the screen and writes every row", () => {
    expect(frameUpdate(frameB, frameB)).toBe("")
    const first = frameUpdate(undefined, frameA)
    expect(first).toContain(`${ESC}2J`)
    expect(rowsWritten(first)).toEqual([1, 2, 3, 4])
  })

  it.effect("the writer keeps the last frame; after invalidate (a resize) the next frame is written whole", () =>
    Effect.gen(function* () {
      const writes: Array<string> = []
      const screen = yield* makeScreen((bytes) => writes.push(bytes))
      yield* screen.draw(frameA)
      yield* screen.draw(frameA)
      yield* screen.draw(frameB)
      expect(writes.map(rowsWritten)).toEqual([[1, 2, 3, 4], [3]])
      yield* screen.invalidate
      yield* screen.draw(frameB)
      expect(rowsWritten(writes.at(-1)!)).toEqual([1, 2, 3, 4])
    })
  )
})
