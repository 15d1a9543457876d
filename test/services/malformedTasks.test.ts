/**
 * Malformed task files in tasks/pending/: each is quarantined (moved to
 * invalid/ with `<file>.reason.txt` beside it) with a reason a person would
 * write — one line, no Schema dump — handed to the engine by takeQuarantined,
 * and the good task beside it is still offered. Before issue 8 a folder named
 * x.json stopped the whole queue (EISDIR), a name with a newline was never
 * offered nor quarantined, deep nesting overflowed the stack, and reasons
 * were ~1 KB Schema dumps. The binary test at the end runs a real swarm with
 * the worst of them in its queue.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { makeTaskQueue } from "../../src/services/TaskQueue.js"
import { listDir, makeProject } from "../support/cliProject.js"
import { ensureBuilt, runCli } from "../support/runCli.js"

const tempRoot = Effect.acquireRelease(
  Effect.sync(() => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "oompa-bad-tasks-")))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

interface Case {
  readonly name: string
  /** The file name in pending/. */
  readonly file: string
  /** Its contents; or `make` creates it (a folder, a link, a FIFO). */
  readonly content?: string | Buffer
  readonly make?: (file: string, tasksDir: string) => void
  /** What the reason must say. */
  readonly reason: ReadonlyArray<string>
}

const deep = (levels: number) => `{"id": "deep", "extra": ${"[".repeat(levels)}${"]".repeat(levels)}}`

const cases: ReadonlyArray<Case> = [
  { name: "not JSON", file: "syntax.json", content: "{ nope", reason: ["not valid JSON at line 1, column 3"] },
  { name: "an empty file", file: "empty.json", content: "", reason: ["not valid JSON at line 1, column 1: unexpected end of file"] },
  { name: "a trailing comma", file: "comma.json", content: '{"id": "comma",}', reason: ["not valid JSON at line 1, column 16: trailing comma before }"] },
  { name: "a list", file: "list.json", content: '[{"id": "list"}]', reason: ['expected a JSON object such as {"id": "…", "summary": "…"} at the top level, got a list'] },
  { name: "null", file: "null.json", content: "null", reason: ["at the top level, got null"] },
  { name: "a number", file: "num.json", content: "42", reason: ["at the top level, got a number"] },
  { name: "a string", file: "str.json", content: '"str"', reason: ["at the top level, got a string"] },
  { name: "no id", file: "noid.json", content: '{"summary": "no id"}', reason: ['id: missing; add "id": "noid" (the file name without its extension)'] },
  { name: "a ../ id", file: "evil.json", content: '{"id": "../evil"}', reason: ['id: must match [A-Za-z0-9._-]+ and equal the file name, got "../evil"'] },
  { name: "an id with a slash", file: "slash.json", content: '{"id": "a/b"}', reason: ['id: must match [A-Za-z0-9._-]+ and equal the file name, got "a/b"'] },
  { name: "an id that is a number", file: "five.json", content: '{"id": 5}', reason: ["id: must match [A-Za-z0-9._-]+ and equal the file name, got 5"] },
  {
    name: "an id that is not the file name",
    file: "mine.json",
    content: '{"id": "other"}',
    reason: ['id: must match [A-Za-z0-9._-]+ and equal the file name, got "other" in "mine.json"', 'set "id" to "mine" or rename the file to other.json']
  },
  { name: "files a string", file: "files.json", content: '{"id": "files", "files": "a.ts"}', reason: ['files: expected a list of strings (file paths), got "a.ts"'] },
  { name: "depends_on a string", file: "deps.json", content: '{"id": "deps", "depends_on": "x"}', reason: ['depends_on: expected a list of task ids, got "x"'] },
  { name: "summary a number", file: "summ.json", content: '{"id": "summ", "summary": 3}', reason: ["summary: expected a string, got 3"] },
  { name: "attempts garbage", file: "att.json", content: '{"id": "att", "attempts": [{"worker": 1}]}', reason: ["attempts[0]", "expected a list of attempts (stamped by oompa)"] },
  { name: "two bad fields", file: "two.json", content: '{"id": "two", "summary": 1, "files": 2}', reason: ["summary: expected a string, got 1; files: expected a list of strings (file paths), got 2"] },
  { name: "nested 100,000 levels deep", file: "deep.json", content: deep(100_000), reason: ["nested deeper than 64 levels", "line 1, column", "a task file needs 3 at most"] },
  { name: "nested 100,000 levels deep, unclosed", file: "open.json", content: `{"id": "open", "x": ${"[".repeat(100_000)}`, reason: ["nested deeper than 64 levels"] },
  { name: "EDN nested 100,000 levels deep", file: "deep.edn", content: `{:id "deep" :x ${"[".repeat(100_000)}${"]".repeat(100_000)}}`, reason: ["EDN syntax error", "nested deeper than 64 levels"] },
  { name: "EDN syntax", file: "bad.edn", content: '{:id "bad"', reason: ["EDN syntax error at line 1, column 1: missing }"] },
  { name: "EDN a vector", file: "vec.edn", content: '[:id "vec"]', reason: ['expected a EDN map such as {:id "…"} at the top level, got a list'] },
  { name: "a 2 MB task file", file: "huge.json", content: JSON.stringify({ id: "huge", description: "x".repeat(2 * 1024 * 1024) }), reason: ["2.0 MB, over the 1 MB a task file may be"] },
  {
    name: "bytes that are not UTF-8 outside strings",
    file: "bytes.json",
    content: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    reason: ["not valid JSON at line 1, column 2"]
  },
  { name: "a folder named x.json", file: "folder.json", make: (file) => fs.mkdirSync(file), reason: ["a folder, not a task file"] },
  {
    name: "a link to a folder named x.json",
    file: "linked.json",
    make: (file, tasksDir) => {
      fs.mkdirSync(path.join(tasksDir, "elsewhere"))
      fs.symlinkSync(path.join(tasksDir, "elsewhere"), file)
    },
    reason: ["a folder, not a task file"]
  },
  {
    name: "a dangling link",
    file: "dangling.json",
    make: (file, tasksDir) => fs.symlinkSync(path.join(tasksDir, "no-such-file.json"), file),
    reason: ["a symbolic link to", "no-such-file.json, which does not exist, not a task file"]
  },
  { name: "a named pipe", file: "pipe.json", make: (file) => execFileSync("mkfifo", [file]), reason: ["a named pipe, not a task file"] },
  {
    name: "a newline in the name",
    file: "new\nline.json",
    content: '{"id": "newline"}',
    reason: ['file name: "new\\nline.json" is not <id>.json', "(this name holds a newline or another control character); rename the file"]
  },
  { name: "a space in the name", file: "my task.json", content: '{"id": "my task"}', reason: ['file name: "my task.json" is not <id>.json: an id is letters, digits, ".", "_" and "-" only; rename the file'] }
]

describe("malformed task files in pending/ (TaskQueue)", () => {
  it.scoped.each(cases)("$name: quarantined with a plain reason, the good task still offered", (c) =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const tasksDir = path.join(root, "tasks")
      const queue = yield* makeTaskQueue(tasksDir, { invalidGrace: 0 })
      yield* queue.ensureDirs
      fs.writeFileSync(path.join(tasksDir, "pending", "good.json"), '{"id": "good", "summary": "fine"}')
      const file = path.join(tasksDir, "pending", c.file)
      if (c.make !== undefined) c.make(file, tasksDir)
      else fs.writeFileSync(file, c.content ?? "")

      // A listing is a pure read: the file stays where it is, and one bad file never fails it.
      expect((yield* queue.available).map((t) => t.id)).toEqual(["good"])
      expect(listDir(path.join(tasksDir, "pending"))).toContain("good.json")
      expect(listDir(path.join(tasksDir, "invalid"))).toEqual([])
      // The engine's quarantine step, then its listing.
      yield* queue.quarantineInvalid
      const available = yield* queue.available
      expect(available.map((t) => t.id)).toEqual(["good"])
      expect(listDir(path.join(tasksDir, "pending"))).toEqual(["good.json"])
      expect(listDir(path.join(tasksDir, "invalid")).sort()).toEqual([c.file, `${c.file}.reason.txt`].sort())

      const taken = yield* queue.takeQuarantined
      expect(taken).toHaveLength(1)
      const [moved] = taken
      expect(moved!.name).toBe(c.file)
      expect(moved!.movedFrom).toBe(`pending/${c.file}`)
      const why = moved!.why ?? ""
      for (const wanted of c.reason) expect(why).toContain(wanted)
      // Plain words: one line, short, no Schema internals.
      expect(why).not.toMatch(/\n|readonly|└|─|Expected|actual|\{ readonly/)
      expect(why.length).toBeLessThanOrEqual(600)
      const reasonFile = fs.readFileSync(path.join(tasksDir, "invalid", `${c.file}.reason.txt`), "utf8")
      expect(reasonFile).toBe(`pending/${c.file.includes("\n") ? JSON.stringify(c.file) : c.file} was moved here by oompa: ${why}\n`)
      // Taken once: the next call has nothing new, and a second sweep moves nothing.
      expect(yield* queue.takeQuarantined).toEqual([])
      expect(yield* queue.quarantineInvalid).toEqual([])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it("has at least 25 cases", () => expect(cases.length).toBeGreaterThanOrEqual(25))

  it.scoped("a folder named x.json in current/ or complete/ does not stop a listing", () =>
    Effect.gen(function* () {
      const root = yield* tempRoot
      const tasksDir = path.join(root, "tasks")
      const queue = yield* makeTaskQueue(tasksDir, { invalidGrace: 0 })
      yield* queue.ensureDirs
      fs.mkdirSync(path.join(tasksDir, "current", "odd.json"))
      fs.mkdirSync(path.join(tasksDir, "complete", "odd2.json"))
      fs.writeFileSync(path.join(tasksDir, "pending", "good.json"), '{"id": "good"}')
      const listing = yield* queue.list
      expect(listing.pending.map((t) => t.id)).toEqual(["good"])
      expect(listing.current).toEqual([])
      expect(listing.complete).toEqual([])
    }).pipe(Effect.provide(NodeContext.layer))
  )
})

describe("malformed task files before a swarm (built binary)", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it("quarantines each with a task-invalid event and runs every other task", async () => {
    const dir = makeProject({ workers: [{ model: "mock", max_cycle: 3 }] }, 2)
    const pending = path.join(dir, "tasks", "pending")
    fs.mkdirSync(path.join(pending, "folder.json"))
    fs.mkdirSync(path.join(dir, "elsewhere"))
    fs.symlinkSync(path.join(dir, "elsewhere"), path.join(pending, "link.json"))
    fs.writeFileSync(path.join(pending, "new\nline.json"), '{"id": "newline"}')
    fs.writeFileSync(path.join(pending, "evil.json"), '{"id": "../evil"}')
    fs.writeFileSync(path.join(pending, "deep.json"), deep(100_000))
    // Dated in the past: a file younger than the queue's 2 s grace (an agent may still be writing it)
    // is left alone, and on a fast machine the swarm can end before these would age past it.
    for (const name of ["new\nline.json", "evil.json", "deep.json"]) {
      fs.utimesSync(path.join(pending, name), new Date(2000, 0, 1), new Date(2000, 0, 1))
    }
    const result = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).not.toMatch(/EISDIR|RangeError|crashed/)
    expect(listDir(path.join(dir, "tasks", "complete")).sort()).toEqual(["t1.json", "t2.json"])
    expect(listDir(path.join(dir, "tasks", "invalid")).filter((name) => !name.endsWith(".reason.txt")).sort()).toEqual(
      ["deep.json", "evil.json", "folder.json", "link.json", "new\nline.json"].sort()
    )
    const [run] = listDir(path.join(dir, ".oompa", "runs"))
    const events = fs
      .readFileSync(path.join(dir, ".oompa", "runs", run!, "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { kind?: string; type?: string; message?: string })
    const invalid = events.filter((event) => (event.kind ?? event.type) === "task-invalid").map((event) => event.message ?? "")
    expect(invalid).toHaveLength(5)
    expect(invalid.find((m) => m.includes("pending/evil.json"))).toContain('id: must match [A-Za-z0-9._-]+ and equal the file name, got "../evil"')
    expect(invalid.find((m) => m.includes("pending/folder.json"))).toContain("a folder, not a task file")
    expect(invalid.find((m) => m.includes("pending/deep.json"))).toContain("nested deeper than 64 levels")
    expect(invalid.find((m) => m.includes("newline or another control character"))).toBeDefined()
    // Each said once on the terminal: as the event line, not again as a logger line.
    expect(result.stdout.split("\n").filter((line) => line.includes("../evil"))).toHaveLength(1)
    expect(result.stderr).not.toContain("../evil")
  }, 180_000)
})
