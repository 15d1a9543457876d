import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeAll } from "vitest"
import { ensureBuilt, runCli, type CliResult } from "../support/runCli.js"

/** `oompa tasks …` run as a user would: the built binary, in a temp project folder. */
const dirs: Array<string> = []
const project = (): string => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "oompa-tasks-cli-")))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

/** `oompa tasks …` in `cwd`, through the built binary. */
const oompa = (cwd: string, ...args: Array<string>): Promise<CliResult> => runCli(["tasks", ...args], { cwd })
const readJson = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>
const put = (file: string, content: unknown) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content))
}

describe("oompa tasks (binary)", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it("with no oompa.json uses ./tasks: add prints generated ids, the listing shows them", async () => {
    const dir = project()
    const empty = await oompa(dir)
    expect(empty).toMatchObject({ code: 0, stdout: "Task queue tasks: 0 pending (0 available), 0 in progress, 0 complete, 0 invalid\n" })

    const first = await oompa(dir, "add", "Write the $HOME docs", "--description", "all of them", "--files", "a.md, b.md")
    expect(first).toMatchObject({ code: 0, stdout: "task-1\n" })
    expect(readJson(path.join(dir, "tasks", "pending", "task-1.json"))).toEqual({
      id: "task-1",
      summary: "Write the $HOME docs",
      description: "all of them",
      files: ["a.md", "b.md"]
    })
    expect(await oompa(dir, "add", "Second")).toMatchObject({ code: 0, stdout: "task-2\n" })
    expect(await oompa(dir, "add", "Named", "--id", "named.one")).toMatchObject({ code: 0, stdout: "named.one\n" })

    put(path.join(dir, "tasks", "current", "busy.json"), { id: "busy", summary: "in flight", claimed_by: "ab12cd34:w0" })
    put(path.join(dir, "tasks", "complete", "done.json"), { id: "done", merged_commit: "0123456789abcdef0123" })
    put(path.join(dir, "tasks", "pending", "later.json"), { id: "later", depends_on: ["busy"] })
    const attempt = (cycle: string, outcome: string) => ({ worker: "w0", swarm: "ab12cd34", cycle, outcome, reason: "r", ended_at: "2031-01-01T00:00:00Z" })
    put(path.join(dir, "tasks", "pending", "retry.json"), { id: "retry", summary: "again", attempts: [attempt("w0-c1", "error"), attempt("w0-c3", "rejected")] })

    const listing = await oompa(dir)
    expect(listing.code).toBe(0)
    expect(listing.stdout).toBe(
      [
        "Task queue tasks: 5 pending (4 available), 1 in progress, 1 complete, 0 invalid",
        "",
        "pending:",
        "  later  [waits on busy]",
        "  named.one  Named",
        "  retry  again  [tried 2×, last: rejected in w0-c3]",
        "  task-1  Write the $HOME docs",
        "  task-2  Second",
        "",
        "current:",
        "  busy  in flight  [claimed by ab12cd34:w0]",
        "",
        "complete:",
        "  done  [merged 0123456789ab]",
        ""
      ].join("\n")
    )
  }, 180_000)

  it("add refuses a bad or existing id with exit 2 and writes nothing", async () => {
    const dir = project()
    expect((await oompa(dir, "add", "first", "--id", "t1")).code).toBe(0)
    const traversal = await oompa(dir, "add", "evil", "--id", "../../escape")
    expect(traversal.code).toBe(2)
    expect(traversal.stderr).toContain('--id "../../escape"')
    const again = await oompa(dir, "add", "second", "--id", "t1")
    expect(again.code).toBe(2)
    expect(again.stderr).toContain("task t1 already exists (in pending/)")
    expect(fs.readdirSync(path.join(dir, "tasks", "pending"))).toEqual(["t1.json"])
    expect(fs.existsSync(path.join(dir, "escape.json"))).toBe(false)
    expect(fs.existsSync(path.join(path.dirname(dir), "escape.json"))).toBe(false)
    expect(readJson(path.join(dir, "tasks", "pending", "t1.json"))).toEqual({ id: "t1", summary: "first" })
  }, 180_000)

  it("requeue moves named tasks, or every task in current, back to pending without claim stamps", async () => {
    const dir = project()
    const current = path.join(dir, "tasks", "current")
    for (const id of ["a", "b", "c"]) put(path.join(current, `${id}.json`), { id, claimed_by: "w0", claimed_at: "x", note: id })

    const one = await oompa(dir, "requeue", "b")
    expect(one).toMatchObject({ code: 0, stdout: "requeued b\n" })
    expect(readJson(path.join(dir, "tasks", "pending", "b.json"))).toEqual({ id: "b", note: "b" })

    const unknown = await oompa(dir, "requeue", "a", "ghost", "b")
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('"ghost" (no such task)')
    expect(unknown.stderr).toContain('"b" (it is in pending/)')
    // A typo moves nothing.
    expect(fs.readdirSync(current).sort()).toEqual(["a.json", "c.json"])

    expect(await oompa(dir, "requeue")).toMatchObject({ code: 0, stdout: "requeued a, c\n" })
    expect(fs.readdirSync(current)).toEqual([])
    expect(fs.readdirSync(path.join(dir, "tasks", "pending")).sort()).toEqual(["a.json", "b.json", "c.json"])
    expect(await oompa(dir, "requeue")).toMatchObject({ code: 0, stdout: "nothing to requeue: no task is in progress\n" })

    // With no swarm running, a complete task (its stamps dropped) or an invalid file goes back too.
    put(path.join(dir, "tasks", "complete", "d.json"), { id: "d", completed_by: "x:w0", completed_at: "x", merged_commit: "abc", note: "d" })
    fs.mkdirSync(path.join(dir, "tasks", "invalid"), { recursive: true })
    put(path.join(dir, "tasks", "invalid", "e.json"), { id: "e", note: "fixed by hand" })
    fs.writeFileSync(path.join(dir, "tasks", "invalid", "e.json.reason.txt"), "bad\n")
    expect(await oompa(dir, "requeue", "d", "e")).toMatchObject({ code: 0, stdout: "requeued d (from complete/), e (from invalid/)\n" })
    expect(readJson(path.join(dir, "tasks", "pending", "d.json"))).toEqual({ id: "d", note: "d" })
    expect(fs.readdirSync(path.join(dir, "tasks", "invalid"))).toEqual([])
  }, 180_000)

  it("reports undecodable task files; `tasks quarantine` moves them to invalid/ with the reason", async () => {
    const dir = project()
    const pending = path.join(dir, "tasks", "pending")
    put(path.join(pending, "bad.json"), "{ not json")
    // Older than the grace period, so the queue is sure nobody is still writing it.
    fs.utimesSync(path.join(pending, "bad.json"), new Date(2000, 0, 1), new Date(2000, 0, 1))
    // Listing is a pure read: the file stays where it was, and the user is told why it is no task.
    const listed = await oompa(dir)
    expect(listed.code).toBe(0)
    expect(listed.stderr).toContain("note: tasks/pending/bad.json is no task (left where it is; `oompa tasks quarantine` or the next swarm moves it to invalid/): not valid JSON")
    expect(listed.stdout).toContain("0 pending (0 available), 0 in progress, 0 complete, 0 invalid")
    expect(fs.readFileSync(path.join(pending, "bad.json"), "utf8")).toBe("{ not json")
    expect(fs.existsSync(path.join(dir, "tasks", "invalid", "bad.json"))).toBe(false)
    // `tasks add` and `tasks requeue` move nothing either.
    expect(await oompa(dir, "add", "another")).toMatchObject({ code: 0, stdout: "task-1\n" })
    expect(await oompa(dir, "requeue")).toMatchObject({ code: 0 })
    expect(fs.readdirSync(pending).sort()).toEqual(["bad.json", "task-1.json"])
    fs.rmSync(path.join(pending, "task-1.json"))
    // `tasks quarantine` is the command documented to move it.
    const result = await oompa(dir, "quarantine")
    expect(result.code).toBe(0)
    expect(result.stderr).toContain("note: moved an undecodable task file to tasks/invalid/bad.json")
    expect(result.stdout).toContain("0 pending (0 available), 0 in progress, 0 complete, 1 invalid")
    expect(result.stdout).toMatch(/invalid:\n {2}bad\.json {2}pending\/bad\.json was moved here by oompa: not valid JSON/)
    expect(fs.readFileSync(path.join(dir, "tasks", "invalid", "bad.json"), "utf8")).toBe("{ not json")
  }, 180_000)

  it("takes the queue folder from oompa.json's tasks_dir; a bad --config exits 2", async () => {
    const dir = project()
    fs.writeFileSync(
      path.join(dir, "oompa.json"),
      JSON.stringify({ workers: [{ model: "mock" }], tasks_dir: "work/queue" })
    )
    const added = await oompa(dir, "add", "configured")
    expect(added).toMatchObject({ code: 0, stdout: "task-1\n" })
    expect(fs.existsSync(path.join(dir, "work", "queue", "pending", "task-1.json"))).toBe(true)
    expect(fs.existsSync(path.join(dir, "tasks"))).toBe(false)
    expect((await oompa(dir)).stdout).toContain("Task queue work/queue: 1 pending (1 available)")

    const missing = await oompa(dir, "--config", "nope.json")
    expect(missing.code).toBe(2)
    fs.writeFileSync(path.join(dir, "broken.json"), JSON.stringify({ workers: [{ model: "opus" }] }))
    const broken = await oompa(dir, "--config", "broken.json")
    expect(broken.code).toBe(2)
    expect(broken.stderr).toContain("workers[0].model")
  }, 180_000)

  it("a queue folder that is a file (tasks_dir, or ./tasks with no config) exits 2 naming it and the fix, writing nothing", async () => {
    const dir = project()
    fs.writeFileSync(path.join(dir, "oompa.json"), JSON.stringify({ workers: [{ model: "mock" }], tasks_dir: "queue" }))
    fs.writeFileSync(path.join(dir, "queue"), "not a folder")
    for (const args of [[], ["add", "x"]]) {
      const result = await oompa(dir, ...args)
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(
        'error: oompa.json: tasks_dir: queue is a file, not a folder: point "tasks_dir" at a folder (the task queue), or move the file away'
      )
      expect(result.stderr).not.toMatch(/ENOTDIR|at .*\.js:\d+/)
    }
    expect(fs.readdirSync(dir).sort()).toEqual(["oompa.json", "queue"])

    const bare = project()
    fs.writeFileSync(path.join(bare, "tasks"), "not a folder")
    const result = await oompa(bare, "add", "x")
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("no oompa.json found, so the queue is ./tasks, but tasks is a file, not a folder")
    expect(fs.readdirSync(bare)).toEqual(["tasks"])
    expect(fs.readFileSync(path.join(bare, "tasks"), "utf8")).toBe("not a folder")
  }, 120_000)
})
