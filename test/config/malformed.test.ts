/**
 * Malformed configs, through the built binary as a user meets them: for each
 * case both `oompa check` and `oompa swarm` exit 2 with the same message,
 * which names the file, the field and the fix, and neither writes anything
 * (no .oompa/, .git/info/exclude unchanged, the task folders unchanged).
 * Before issue 8 several of these ran out of heap (`count` 1e9), crashed
 * with a stack overflow (deep nesting), exited 1 after editing
 * .git/info/exclude (`tasks_dir` a file) or passed `check` and failed the
 * swarm (a missing target branch, a mock scenario that does not decode).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { makeProject } from "../support/cliProject.js"
import { ensureBuilt, runCli, type CliResult } from "../support/runCli.js"

beforeAll(() => ensureBuilt(), 300_000)

interface Case {
  readonly name: string
  /** oompa.json as a JSON value, or its exact text / bytes. */
  readonly config: unknown
  readonly raw?: true
  /** Extra files, path → contents, written after the project is made. */
  readonly files?: Readonly<Record<string, string | Buffer>>
  readonly setup?: (dir: string) => void
  readonly args?: ReadonlyArray<string>
  /** What the error line must contain: the file, the field, the bound or the fix. */
  readonly expect: ReadonlyArray<string | RegExp>
}

const mock = (extra: object = {}) => ({ workers: [{ model: "mock", ...extra }] })
const top = (extra: object) => ({ workers: [{ model: "mock" }], ...extra })
const nested = (levels: number, close: boolean) => "[".repeat(levels) + (close ? "]".repeat(levels) : "")

const cases: ReadonlyArray<Case> = [
  // ---- numbers: bounds, types --------------------------------------------------------------
  { name: "count of a billion", config: mock({ count: 1_000_000_000 }), expect: ["oompa.json: workers[0].count: at most 64, got 1000000000"] },
  {
    name: "more than 64 workers in all after count",
    config: { workers: [{ model: "mock", count: 40 }, { model: "mock", count: 30 }] },
    expect: ['oompa.json: workers: at most 64 workers in total, got 70 (40 + 30, with count expanded): lower "count"']
  },
  { name: "count 0", config: mock({ count: 0 }), expect: ["oompa.json: workers[0].count: expected a whole number from 1 to 64, got 0"] },
  { name: "count negative", config: mock({ count: -3 }), expect: ["workers[0].count: expected a whole number from 1 to 64, got -3"] },
  { name: "count a NaN-like string", config: mock({ count: "NaN" }), expect: ['workers[0].count: expected a whole number from 1 to 64, got "NaN"'] },
  { name: "count null", config: mock({ count: null }), expect: ["workers[0].count: expected a whole number from 1 to 64, got null"] },
  { name: "max_cycle huge", config: mock({ max_cycle: 1e12 }), expect: ["workers[0].max_cycle: at most 10000, got 1000000000000"] },
  { name: "iterations a fraction", config: mock({ iterations: 2.5 }), expect: ["workers[0].iterations: expected a whole number from 1 to 10000, got 2.5"] },
  { name: "max_resumes a string", config: mock({ max_resumes: "7" }), expect: ['workers[0].max_resumes: expected a whole number from 1 to 1000, got "7"'] },
  { name: "timeout over a day", config: mock({ timeout: 10_000_000 }), expect: ["workers[0].timeout: at most 86400 (24 h) seconds, got 10000000"] },
  {
    name: "a reviewer's own timeout over a day",
    config: top({ reviewer: { model: "mock", timeout: 10_000_000 } }),
    expect: ["reviewer.timeout: at most 86400 (24 h) seconds, got 10000000"]
  },
  { name: "timeout 0", config: mock({ timeout: 0 }), expect: ["workers[0].timeout: expected a number of seconds > 0 and at most 86400 (24 h), got 0"] },
  {
    name: "wait_between 1e400 (Infinity)",
    config: '{"workers": [{"model": "mock", "wait_between": 1e400}]}',
    raw: true,
    expect: ["workers[0].wait_between: at most 86400 (24 h) seconds, got Infinity"]
  },
  {
    name: "max_wait_for_tasks negative",
    config: mock({ max_wait_for_tasks: -1 }),
    expect: ["workers[0].max_wait_for_tasks: expected a number of seconds from 0 to 86400 (24 h), got -1"]
  },
  { name: "max_merge_retries huge", config: top({ max_merge_retries: 1e6 }), expect: ["oompa.json: max_merge_retries: at most 100, got 1000000"] },
  { name: "merge_wait huge", config: top({ merge_wait: 1e9 }), expect: ["oompa.json: merge_wait: at most 86400 (24 h) seconds, got 1000000000"] },
  { name: "max_concurrent 0", config: top({ max_concurrent: { mock: 0 } }), expect: ["oompa.json: max_concurrent.mock: expected a whole number from 1 to 64, got 0"] },
  {
    name: "max_concurrent of an unknown harness",
    config: top({ max_concurrent: { claud: 2 } }),
    expect: ['oompa.json: max_concurrent.claud: unknown harness "claud": use one of']
  },
  { name: "max_review_rounds huge", config: top({ max_review_rounds: 5000 }), expect: ["max_review_rounds: at most 100, got 5000"] },
  { name: "max_consecutive_errors 0", config: top({ max_consecutive_errors: 0 }), expect: ["max_consecutive_errors: expected a whole number from 1 to 1000, got 0"] },
  { name: "planner max_pending huge", config: top({ planner: { model: "mock", max_pending: 1e7 } }), expect: ["oompa.json: planner.max_pending: at most 10000, got 10000000"] },

  // ---- shapes, keys, models, prompts -------------------------------------------------------
  { name: "workers empty", config: { workers: [] }, expect: ['oompa.json: workers: expected a non-empty list of workers ({"model": "claude:opus", …}), got []'] },
  { name: "workers missing", config: { reviewer: "mock" }, expect: ["oompa.json: workers: required key is missing"] },
  { name: "workers an object", config: { workers: { model: "mock" } }, expect: ['oompa.json: workers: expected a non-empty list of workers'] },
  { name: "a misspelt key", config: mock({ max_cycels: 3 }), expect: ['oompa.json: workers[0].max_cycels: unknown key (did you mean "max_cycle"?)'] },
  { name: "an unknown top-level key", config: top({ banana: 1 }), expect: ["oompa.json: banana: unknown key (allowed here:"] },
  { name: "a model without a harness", config: { workers: [{ model: "opus" }] }, expect: ['oompa.json: workers[0].model: expected "harness:model[:reasoning]" with harness one of'] },
  { name: "a model with an empty name", config: { workers: [{ model: "claude::high" }] }, expect: ['workers[0].model: expected "harness:model[:reasoning]" with a non-empty model, got "claude::high"'] },
  { name: "a reviewer that is not a model", config: top({ reviewer: 42 }), expect: ['oompa.json: reviewer: expected a model string'] },
  { name: "two reviewer spellings", config: top({ reviewer: "mock", reviewers: ["mock"] }), expect: ["oompa.json: reviewers: use only one of reviewer, reviewers, review_model, review_models"] },
  { name: "max_cycle and iterations", config: mock({ max_cycle: 2, iterations: 3 }), expect: ['oompa.json: workers[0].iterations: "iterations" is the 0.6 name of "max_cycle"; give only one of them'] },
  { name: "a missing prompt file", config: mock({ prompt: "prompts/nope.md" }), expect: ["workers[0].prompt", "prompt file not found", "prompts/nope.md"] },
  {
    name: "an include cycle",
    config: mock({ prompt: "a.md" }),
    files: { "a.md": '#oompa_directive:include_file "b.md"\n', "b.md": '#oompa_directive:include_file "a.md"\n' },
    expect: ["include cycle: a.md -> b.md -> a.md", "remove the #oompa_directive:include_file line"]
  },

  // ---- the file itself ---------------------------------------------------------------------
  { name: "a trailing comma", config: '{"workers": [{"model": "mock"},]}', raw: true, expect: ["oompa.json:1:32: invalid JSON: trailing comma before ]"] },
  { name: "a BOM and a trailing comma", config: '\uFEFF{"workers": [{"model": "mock",}]}', raw: true, expect: ["oompa.json:1:31: invalid JSON: trailing comma before }"] },
  {
    name: "a duplicate key",
    config: '{"workers": [{"model": "mock"}],\n "workers": [{"model": "claude:opus"}]}',
    raw: true,
    expect: ['oompa.json:2:2: invalid JSON: duplicate key "workers" (JSON would keep only the last one): remove one of them']
  },
  { name: "single quotes", config: "{'workers': []}", raw: true, expect: ["oompa.json:1:2: invalid JSON: unexpected \"'\" (expected a double-quoted key)"] },
  { name: "an empty file", config: "", raw: true, expect: ["oompa.json:1:1: invalid JSON: unexpected end of file (expected a value)"] },
  { name: "a list at the top level", config: [{ model: "mock" }], expect: ['oompa.json: expected a JSON object such as {"workers": [{"model": "claude:opus"}]}'] },
  { name: "null at the top level", config: null, expect: ["oompa.json: expected a JSON object", "got null"] },
  { name: "nested 100,000 levels deep", config: nested(100_000, true), raw: true, expect: ["oompa.json:1:65: nested deeper than 64 levels", "oompa.json needs 6 at most"] },
  { name: "nested 100,000 levels deep, unclosed", config: nested(100_000, false), raw: true, expect: ["oompa.json:1:65: nested deeper than 64 levels"] },
  {
    name: "nested deep inside a valid worker",
    config: `{"workers": [{"model": "mock", "prompt": ${nested(50_000, true)}}]}`,
    raw: true,
    expect: ["nested deeper than 64 levels"]
  },
  {
    name: "a 10 MB config",
    config: JSON.stringify({ workers: [{ model: "mock" }], $schema: "x".repeat(10 * 1024 * 1024) }),
    raw: true,
    expect: ["oompa.json: the config file is 10.0 MB; oompa reads at most 1 MB"]
  },
  {
    name: "bytes that are not UTF-8",
    config: Buffer.concat([Buffer.from('{"workers": [{"model": "mock:'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]),
    raw: true,
    expect: ["oompa.json: not UTF-8 text (an invalid byte 0xff at byte offset 29): save the file as UTF-8"]
  },
  // The command-line parser refuses it before oompa reads anything (loadConfig has its own message: test/config/loadConfig.test.ts).
  { name: "a folder as --config", config: mock(), setup: (dir) => fs.mkdirSync(path.join(dir, "conf")), args: ["--config", "conf"], expect: ["Expected path 'conf' to be a regular file"] },
  { name: "a --config that does not exist", config: mock(), args: ["--config", "nope.json"], expect: ["nope.json: config file not found"] },

  // ---- what swarm checks before it starts, and check too --------------------------------------
  {
    name: "tasks_dir is a file",
    config: top({ tasks_dir: "queue.txt" }),
    files: { "queue.txt": "not a folder\n" },
    expect: ['oompa.json: tasks_dir: queue.txt is a file, not a folder: point "tasks_dir" at a folder']
  },
  {
    name: "tasks_dir below a file",
    config: top({ tasks_dir: "queue.txt/tasks" }),
    files: { "queue.txt": "not a folder\n" },
    expect: ['oompa.json: tasks_dir: queue.txt/tasks cannot be created: queue.txt is a file, not a folder; point "tasks_dir" elsewhere']
  },
  {
    name: "tasks/current is a file",
    config: mock(),
    setup: (dir) => {
      fs.rmSync(path.join(dir, "tasks", "current"), { recursive: true })
      fs.writeFileSync(path.join(dir, "tasks", "current"), "oops\n")
    },
    expect: ["oompa.json: tasks_dir: tasks/current is a file, but the task queue needs a folder there"]
  },
  {
    name: "a target_branch that does not exist",
    config: top({ target_branch: "nope" }),
    expect: [/oompa\.json: target_branch: branch "nope" does not exist in \S+: set "target_branch" to an existing branch, or create it \(git branch nope\)/]
  },
  {
    name: "a mock scenario that does not decode",
    config: { workers: [{ model: "mock:scenario.json" }] },
    files: { "scenario.json": JSON.stringify({ turns: { w0: [{ say: 3 }] } }) },
    expect: ['oompa.json: model "mock:scenario.json" (w0): mock scenario scenario.json does not decode: turns.w0[0].say:', "fix the scenario file or the model string"]
  },
  {
    name: "a mock scenario that is not JSON",
    config: { workers: [{ model: "mock" }], reviewer: "mock:review.json" },
    files: { "review.json": "{ reviews: " },
    expect: ['model "mock:review.json" (reviewer): mock scenario review.json is not valid JSON at line 1, column 3']
  },
  {
    name: "a mock scenario that does not exist",
    config: { workers: [{ model: "mock:missing.json", count: 2 }] },
    expect: ['model "mock:missing.json" (w0, w1): mock scenario missing.json does not exist']
  },
  {
    name: ".oompa is a file",
    config: mock(),
    files: { ".oompa": "not a folder\n" },
    expect: ["/.oompa is a file: oompa keeps its run files in the folder .oompa/; move the file away"]
  }
]

/** Every file under `dir` with its bytes (.git only by info/exclude, HEAD and refs), to show nothing was written. */
const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (rel: string) => {
    const full = path.join(dir, rel)
    const info = fs.lstatSync(full)
    if (info.isDirectory()) {
      out[rel + "/"] = ""
      for (const name of fs.readdirSync(full).sort()) {
        const child = rel === "" ? name : `${rel}/${name}`
        if (child === ".git") continue
        walk(child)
      }
    } else {
      out[rel] = fs.readFileSync(full).toString("base64")
    }
  }
  walk("")
  for (const name of ["info/exclude", "HEAD"]) {
    const file = path.join(dir, ".git", name)
    out[`.git/${name}`] = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "<none>"
  }
  return out
}

/** The `error: …` text (all its lines) of a failed command. */
const errorText = (result: CliResult): string => {
  const at = result.stderr.indexOf("error: ")
  return at < 0 ? result.stderr : result.stderr.slice(at)
}

// Concurrent: every case has its own project; the binary's start-up dominates.
describe.concurrent("malformed configs: oompa check and oompa swarm (built binary)", () => {
  it("has at least 40 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40)
  })

  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const dir = makeProject(c.raw ? {} : c.config, 1)
    if (c.raw) fs.writeFileSync(path.join(dir, "oompa.json"), c.config as string | Buffer)
    for (const [name, contents] of Object.entries(c.files ?? {})) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
      fs.writeFileSync(path.join(dir, name), contents)
    }
    c.setup?.(dir)
    const before = snapshot(dir)
    const args = c.args ?? []
    const [check, swarm] = await Promise.all([
      runCli(["check", ...args], { cwd: dir, timeoutMs: 120_000 }),
      runCli(["swarm", ...args], { cwd: dir, timeoutMs: 120_000 })
    ])
    for (const result of [check, swarm]) {
      expect(result.code, result.stderr).toBe(2)
      expect(result.stderr).not.toMatch(/crashed|RangeError|heap|at .*\.js:\d+/)
      for (const wanted of c.expect) {
        if (typeof wanted === "string") expect(errorText(result)).toContain(wanted)
        else expect(errorText(result)).toMatch(wanted)
      }
    }
    // One validation, one message.
    expect(errorText(swarm)).toBe(errorText(check))
    expect(snapshot(dir)).toEqual(before)
    expect(fs.existsSync(path.join(dir, ".oompa")) && fs.statSync(path.join(dir, ".oompa")).isDirectory()).toBe(false)
  }, 150_000)

  it("a BOM before a valid config is accepted by both (a control for the cases above)", async () => {
    const dir = makeProject({}, 0)
    fs.writeFileSync(path.join(dir, "oompa.json"), '\uFEFF{"workers": [{"model": "mock", "count": 64}]}')
    const check = await runCli(["check"], { cwd: dir, timeoutMs: 120_000 })
    expect(check.code, check.stderr).toBe(0)
    expect(check.stdout).toContain("oompa.json is valid (64 workers, 0 reviewers)")
  }, 150_000)
})
