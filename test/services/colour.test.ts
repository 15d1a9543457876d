import { describe, expect, it } from "vitest"
import { Console, Effect } from "effect"
import { colourAwareConsole, mayColour, stripColour } from "../../src/services/colour.js"

const tty = { isTTY: true }
const pipe = { isTTY: false }

describe("mayColour: one answer for help, errors and the terminal view", () => {
  it.each([
    ["a terminal", tty, {}, true],
    ["a pipe", pipe, {}, false],
    ["a stream that does not say", {}, {}, false],
    ["NO_COLOR on a terminal", tty, { NO_COLOR: "1" }, false],
    ["an empty NO_COLOR (no-color.org: ignored)", tty, { NO_COLOR: "" }, true],
    ["TERM=dumb on a terminal", tty, { TERM: "dumb" }, false],
    ["FORCE_COLOR into a pipe", pipe, { FORCE_COLOR: "1" }, true],
    ["FORCE_COLOR on a dumb terminal", tty, { FORCE_COLOR: "1", TERM: "dumb" }, true],
    ["FORCE_COLOR=0 on a terminal (forces nothing)", tty, { FORCE_COLOR: "0" }, true],
    ["FORCE_COLOR=false into a pipe", pipe, { FORCE_COLOR: "false" }, false],
    ["NO_COLOR over FORCE_COLOR", tty, { NO_COLOR: "1", FORCE_COLOR: "1" }, false]
  ] as const)("%s", (_, stream, env, expected) => {
    expect(mayColour(stream, env)).toBe(expected)
  })
})

describe("colourAwareConsole", () => {
  const recording = () => {
    const lines: Array<[string, ReadonlyArray<unknown>]> = []
    const base: Console.Console = {
      ...Effect.runSync(Console.consoleWith(Effect.succeed)),
      log: (...args) => Effect.sync(() => void lines.push(["out", args])),
      error: (...args) => Effect.sync(() => void lines.push(["err", args]))
    }
    return { base, lines }
  }
  const styled = "\x1b[0;1mUSAGE\x1b[0m"

  it("strips escapes from the streams that may not be coloured, and only from those", () => {
    const { base, lines } = recording()
    const console = colourAwareConsole(base, { stdout: false, stderr: true })
    Effect.runSync(Effect.zipRight(console.log(styled, 1), console.error(styled)))
    expect(lines).toEqual([
      ["out", ["USAGE", 1]],
      ["err", [styled]]
    ])
    expect(stripColour("\x1b]8;;https://x\x07link\x1b]8;;\x07 \x1b[31mred\x1b[0m")).toBe("link red")
  })

  it("is the console itself when both streams may be coloured", () => {
    const { base } = recording()
    expect(colourAwareConsole(base, { stdout: true, stderr: true })).toBe(base)
  })
})
