import { describe, expect, it } from "vitest"
import { keysOf } from "../../../src/ui/terminal/keys.js"
import { commandOfKey, swarmFooter } from "../../../src/ui/terminal/liveSwarm.js"
import { busySwarm, viewAt } from "./fixtures.js"

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

describe("the swarm view's keys (docs/steering.md): steering requests by: terminal", () => {
  const drafts = busySwarm(3)
  const view = viewAt(drafts)
  const char = (c: string) => ({ kind: "char", char: c }) as const

  it("q and Ctrl-C stop now; p pauses, or resumes a paused swarm", () => {
    expect(commandOfKey(char("q"), view, undefined)).toEqual({ _tag: "StopNow" })
    expect(commandOfKey({ kind: "ctrl-c" }, view, undefined)).toEqual({ _tag: "StopNow" })
    expect(commandOfKey(char("p"), view, undefined)).toEqual({ _tag: "Steer", drafts: [{ action: "pause", by: "terminal" }] })
    expect(commandOfKey(char("p"), { ...view, paused: true }, undefined)).toEqual({ _tag: "Steer", drafts: [{ action: "resume", by: "terminal" }] })
  })

  it("s asks every running worker not yet asked to stop after its cycle; 1-9 picks a row's worker and w stops it", () => {
    const marked = { ...view, workers: view.workers.map((w) => (w.id === "w1" ? { ...w, stopping: true } : w)) }
    expect(commandOfKey(char("s"), marked, undefined)).toEqual({
      _tag: "Steer",
      drafts: [
        { action: "stop-worker", worker: "w0", by: "terminal" },
        { action: "stop-worker", worker: "w2", by: "terminal" }
      ]
    })
    const all = { ...view, workers: view.workers.map((w) => ({ ...w, stopping: true })) }
    expect(commandOfKey(char("s"), all, undefined)).toEqual({ _tag: "Note", note: "every worker already stops after its cycle" })
    expect(commandOfKey(char("2"), view, undefined)).toEqual({ _tag: "Pick", worker: "w1" })
    expect(commandOfKey(char("9"), view, undefined)).toEqual({ _tag: "Note", note: "no worker in row 9" })
    expect(commandOfKey(char("w"), view, undefined)).toEqual({ _tag: "Note", note: "press 1-9 first to pick a worker" })
    expect(commandOfKey(char("w"), view, "w1")).toEqual({ _tag: "Steer", drafts: [{ action: "stop-worker", worker: "w1", by: "terminal" }] })
    expect(commandOfKey(char("x"), view, undefined)).toEqual({ _tag: "None" })
  })

  it("the footer names the keys, the pause state, the picked worker and the last answer; a stop in progress replaces them", () => {
    expect(swarmFooter(0)).toBe("q stop the swarm · s stop after cycles · p pause · 1-9 w stop a worker")
    expect(swarmFooter(0, { paused: true, picked: "w1", note: "paused: no new turn starts (running turns go on) until resume" })).toBe(
      "q stop the swarm · s stop after cycles · p resume · w stop w1 after its cycle  ─ paused: no new turn starts (running turns go on) until resume"
    )
    expect(swarmFooter(1, { paused: true })).toMatch(/^stopping: agents get 5 s/)
  })
})
