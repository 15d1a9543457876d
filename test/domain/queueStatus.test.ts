import { describe, expect, it } from "@effect/vitest"
import type { QueueListing, QueuedTask } from "../../src/domain/queue.js"
import { formatQueueStatus } from "../../src/domain/queueStatus.js"
import type { Task, TaskId, TaskState } from "../../src/domain/Task.js"

const entry = (state: TaskState, id: string, fields: Partial<Omit<Task, "id">> = {}): QueuedTask => ({
  id: id as TaskId,
  task: { id: id as TaskId, ...fields },
  state,
  file: `/q/${state}/${id}.json`
})

const listing = (parts: Partial<QueueListing>): QueueListing => ({
  pending: [],
  current: [],
  complete: [],
  invalid: [],
  ...parts
})

describe("formatQueueStatus", () => {
  it("a task whose budget was reached is not offered, and is counted as over budget (docs/budgets.md)", () => {
    const stamp = { limit: "max_tokens" as const, value: 10, spent: 12, estimated: false, swarm: "s", at: "t" }
    const text = formatQueueStatus(
      listing({ pending: [entry("pending", "a", { summary: "first" }), entry("pending", "big", { summary: "too big", budget_reached: stamp })] })
    )
    expect(text).toBe(["Tasks: 2 pending (1 available, 1 over budget), 0 in progress, 0 complete", "Available tasks:", "- a: first"].join("\n"))
  })

  it("shows counts and the available tasks, not the blocked ones", () => {
    const text = formatQueueStatus(
      listing({
        pending: [
          entry("pending", "a", { summary: "first" }),
          entry("pending", "b", { summary: "needs c", depends_on: ["c"] }),
          entry("pending", "d", { summary: "needs done", depends_on: ["done"] }),
          entry("pending", "e")
        ],
        current: [entry("current", "c")],
        complete: [entry("complete", "done")],
        invalid: [{ name: "bad.json", file: "/q/invalid/bad.json", reason: "x" }]
      })
    )
    expect(text).toBe(
      [
        "Tasks: 4 pending (3 available, 1 waiting on depends_on), 1 in progress, 1 complete, 1 invalid",
        "Available tasks:",
        "- a: first",
        "- d: needs done",
        "- e"
      ].join("\n")
    )
  })

  it("is bounded whatever the queue size: first 30, then +N more", () => {
    const pending = Array.from({ length: 5000 }, (_, i) => entry("pending", `t${String(i).padStart(4, "0")}`, { summary: "x".repeat(10_000) }))
    const text = formatQueueStatus(listing({ pending }))
    const lines = text.split("\n")
    expect(lines[0]).toBe("Tasks: 5000 pending, 0 in progress, 0 complete")
    expect(lines.filter((line) => line.startsWith("- "))).toHaveLength(30)
    expect(lines[2]).toMatch(/^- t0000: x+…$/)
    expect(lines.at(-1)).toBe("+4970 more")
    expect(text.length).toBeLessThan(30 * 220 + 200)
    expect(formatQueueStatus(listing({ pending }), 2).split("\n")).toHaveLength(5)
  })

  it("keeps summaries on one line and takes $ and {{…}} literally", () => {
    const text = formatQueueStatus(listing({ pending: [entry("pending", "a", { summary: "costs $& and $1\n{{TASKS_ROOT}}\tok" })] }))
    expect(text.split("\n")[2]).toBe("- a: costs $& and $1 {{TASKS_ROOT}} ok")
  })

  it("says when nothing is available", () => {
    expect(formatQueueStatus(listing({}))).toBe("Tasks: 0 pending, 0 in progress, 0 complete\nNo pending tasks are available to claim.")
  })

  it("offers each worker the available tasks from its own place, so parallel workers start on different tasks", () => {
    const pending = ["t1", "t2", "t3", "t4", "t5"].map((id) => entry("pending", id))
    const firstOffered = (workerIndex: number) =>
      formatQueueStatus(listing({ pending }), 30, workerIndex).split("\n")[2]
    expect([0, 1, 2, 3].map(firstOffered)).toEqual(["- t1", "- t2", "- t3", "- t4"])
    // All tasks are still offered, in id order from the worker's place on, wrapping round.
    expect(formatQueueStatus(listing({ pending }), 30, 3).split("\n").slice(2)).toEqual(["- t4", "- t5", "- t1", "- t2", "- t3"])
    // More workers than tasks: the place wraps round the list.
    expect(firstOffered(7)).toBe("- t3")
  })
})
