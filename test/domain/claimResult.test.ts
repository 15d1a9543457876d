import { describe, expect, it } from "@effect/vitest"
import { CarriedWork, ClaimResult, describeClaimResult, latestKeptAttempt } from "../../src/domain/queue.js"
import type { Task, TaskAttempt, TaskId } from "../../src/domain/Task.js"

const attempt = (n: number, fields: Partial<TaskAttempt> = {}): TaskAttempt => ({
  worker: "w0",
  swarm: "sw",
  cycle: `w0-c${n}`,
  outcome: "rejected",
  reason: `reason number ${n}`,
  ended_at: `2031-01-0${n}T00:00:00.000Z`,
  ...fields
})

const claimed = (fields: Partial<Omit<Task, "id">> = {}) =>
  ClaimResult.Claimed({ id: "t", task: { id: "t" as TaskId, summary: "Do it", ...fields } })

describe("describeClaimResult", () => {
  it("a task never tried: one line, as the mock agent and real agents parse it", () => {
    expect(describeClaimResult(claimed())).toBe("t: claimed (Do it)")
  })

  it("a task tried before: the last 3 attempts, reasons on one line and capped, then where its work is", () => {
    const long = `first line\nsecond ${"y".repeat(1000)}`
    const task = {
      attempts: [attempt(1), attempt(2), attempt(3, { reason: long }), attempt(4, { outcome: "error", kept_ref: "refs/oompa/kept/sw/w0-c4" })]
    }
    const text = describeClaimResult(claimed(task), CarriedWork.Merged({ ref: "refs/oompa/kept/sw/w0-c4", commit: "c".repeat(40) }))
    const lines = text.split("\n")
    expect(lines[0]).toBe("t: claimed (Do it)")
    expect(lines[1]).toBe("  Tried 4 times before and not merged; the last 3:")
    expect(lines[2]).toBe("  - rejected in w0-c2 (run sw, 2031-01-02T00:00:00.000Z): reason number 2")
    expect(lines[3]).toMatch(/^ {2}- rejected in w0-c3 \(run sw, [^)]+\): first line second y+…$/)
    expect(lines[3]!.length).toBeLessThan(400)
    expect(lines[4]).toBe("  - error in w0-c4 (run sw, 2031-01-04T00:00:00.000Z): reason number 4")
    expect(lines[5]).toBe(`  Its work (refs/oompa/kept/sw/w0-c4, commit ${"c".repeat(12)}) has been merged into your worktree: continue from it.`)
    expect(lines).toHaveLength(6)
    expect(text).not.toContain("reason number 1")
  })

  it("kept work that did not merge: the agent is told where it is and how to look at it", () => {
    const text = describeClaimResult(
      claimed({ attempts: [attempt(1, { kept_ref: "refs/oompa/kept/sw/w0-c1" })] }),
      CarriedWork.NotMerged({ ref: "refs/oompa/kept/sw/w0-c1", commit: "d".repeat(40), why: "it did not merge cleanly with the current main" })
    )
    expect(text).toContain("Tried once before and not merged:")
    expect(text).toContain(
      "Its work is kept at refs/oompa/kept/sw/w0-c1; it did not merge cleanly with the current main: look at it with `git show refs/oompa/kept/sw/w0-c1`."
    )
  })

  it("latestKeptAttempt: the newest attempt with work oompa kept; refs elsewhere are ignored", () => {
    const task: Task = {
      id: "t" as TaskId,
      attempts: [attempt(1, { kept_ref: "refs/oompa/kept/sw/w0-c1" }), attempt(2, { kept_ref: "refs/heads/main" }), attempt(3)]
    }
    expect(latestKeptAttempt(task)?.cycle).toBe("w0-c1")
    expect(latestKeptAttempt({ id: "t" as TaskId })).toBeUndefined()
  })
})
