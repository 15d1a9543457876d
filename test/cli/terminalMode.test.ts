import { describe, expect, it } from "vitest"
import { liveViewWanted } from "../../src/cli/terminalMode.js"

const tty = (env: Record<string, string | undefined> = {}) => ({ stdoutIsTty: true, env: { TERM: "xterm-256color", ...env } })

describe("when `oompa swarm` shows the live view", () => {
  it("a terminal: the live view; not a TTY, --plain, CI, TERM=dumb: today's lines", () => {
    expect(liveViewWanted(false, tty())).toBe(true)
    expect(liveViewWanted(false, { ...tty(), stdoutIsTty: false })).toBe(false)
    expect(liveViewWanted(true, tty())).toBe(false)
    expect(liveViewWanted(false, tty({ CI: "true" }))).toBe(false)
    expect(liveViewWanted(false, tty({ CI: "1" }))).toBe(false)
    expect(liveViewWanted(false, tty({ CI: "false" }))).toBe(true)
    expect(liveViewWanted(false, tty({ TERM: "dumb" }))).toBe(false)
  })

})
