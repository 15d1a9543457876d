import { describe, expect, it } from "@effect/vitest"
import { Duration, FastCheck as fc } from "effect"
import { humanDuration } from "../../src/domain/humanDuration.js"

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Reads a humanDuration text back into milliseconds. */
const parse = (text: string): number =>
  text.split(" ").reduce((sum, part) => {
    const match = /^(\d+(?:\.\d)?)(ms|s|m|h|d)$/.exec(part)
    if (match === null) throw new Error(`not a duration part: ${JSON.stringify(part)} in ${JSON.stringify(text)}`)
    return sum + Number(match[1]) * UNIT_MS[match[2]!]!
  }, 0)

const ORDER = ["d", "h", "m", "s", "ms"]
const ms = fc.oneof(
  fc.double({ min: 0, max: 100 * 86_400_000, noNaN: true }),
  fc.integer({ min: 0, max: 10_000 }),
  fc.integer({ min: 0, max: 4 * 3_600_000 })
)

describe("humanDuration", () => {
  it("examples: rounded as people say them", () => {
    expect(humanDuration(Duration.decode("9 minutes").pipe(Duration.sum(Duration.millis(59_975))))).toBe("10m")
    expect(humanDuration(2_460)).toBe("2.5s")
    expect(humanDuration(2_000)).toBe("2s")
    expect(humanDuration(200)).toBe("200ms")
    expect(humanDuration(999.6)).toBe("1s")
    expect(humanDuration(9_960)).toBe("10s")
    expect(humanDuration(42_400)).toBe("42s")
    expect(humanDuration(59_600)).toBe("1m")
    expect(humanDuration(90_000)).toBe("1m 30s")
    expect(humanDuration(3_599_600)).toBe("1h")
    expect(humanDuration(3_600_000 + 5 * 60_000 + 10_000)).toBe("1h 5m")
    expect(humanDuration(26 * 3_600_000)).toBe("1d 2h")
    expect(humanDuration(0)).toBe("0s")
    expect(humanDuration(-5)).toBe("0s")
    expect(humanDuration(Number.NaN)).toBe("0s")
    expect(humanDuration(Duration.infinity)).toBe("forever")
    expect(humanDuration(Duration.seconds(30))).toBe("30s")
  })

  it("at most two units, largest first, no zero part, nothing but digits and units", () =>
    fc.assert(
      fc.property(ms, (n) => {
        const text = humanDuration(n)
        const parts = text.split(" ")
        expect(parts.length).toBeLessThanOrEqual(2)
        const units = parts.map((p) => /^(\d+(?:\.\d)?)(ms|s|m|h|d)$/.exec(p)![2]!)
        if (units.length === 2) {
          expect(ORDER.indexOf(units[1]!) - ORDER.indexOf(units[0]!)).toBe(1)
          expect(parts[1]).not.toMatch(/^0/)
        }
        parse(text)
      }),
      { numRuns: 2_000 }
    ))

  it("close to the truth: within 5% (or 50 ms)", () =>
    fc.assert(
      fc.property(ms, (n) => {
        const back = parse(humanDuration(n))
        expect(Math.abs(back - n)).toBeLessThanOrEqual(Math.max(50, 0.05 * n))
      }),
      { numRuns: 2_000 }
    ))

  it("monotonic: a longer duration never reads shorter", () =>
    fc.assert(
      fc.property(ms, ms, (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a]
        expect(parse(humanDuration(lo))).toBeLessThanOrEqual(parse(humanDuration(hi)))
      }),
      { numRuns: 2_000 }
    ))

  it("the same for milliseconds and a Duration", () =>
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 86_400_000 }), (n) => {
        expect(humanDuration(Duration.millis(n))).toBe(humanDuration(n))
      })
    ))
})
