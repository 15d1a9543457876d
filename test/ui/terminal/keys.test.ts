import { describe, expect, it } from "vitest"
import { keysOf } from "../../../src/ui/terminal/keys.js"

describe("keys read from the terminal in raw mode", () => {
  it("letters, Ctrl-C (a byte in raw mode, not SIGINT), Enter and Escape", () => {
    expect(keysOf("q\u0003\r\u001b")).toEqual([
      { kind: "char", char: "q" },
      { kind: "ctrl-c" },
      { kind: "enter" },
      { kind: "escape" }
    ])
  })

  it("an arrow or function key is one key, never the letters of its sequence", () => {
    expect(keysOf("\u001b[A\u001bOPp\u001b[15~")).toEqual([{ kind: "other" }, { kind: "other" }, { kind: "char", char: "p" }, { kind: "other" }])
  })
})
