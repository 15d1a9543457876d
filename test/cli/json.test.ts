import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Option, Schema } from "effect"
import { CheckJson, ListJson, TasksJson, ViewJson } from "../../src/domain/JsonOutput.js"
import { git, listDir, makeProject } from "../support/cliProject.js"
import { ensureBuilt, repoRoot, runCli } from "../support/runCli.js"

/**
 * `--json` of list, view, tasks and check through the built binary: each
 * prints one document on stdout that decodes with its Schema (the one
 * `oompa schema <name>.json` prints), holds the facts the table shows, keeps
 * warnings in `problems` (stderr empty) and leaves the exit code as it was.
 */

const readJson = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>

/** Parses stdout as one JSON document and decodes it with `schema` (throws, failing the test, when it does not). */
const decoded = <A, I>(schema: Schema.Schema<A, I>, stdout: string): A => Schema.decodeUnknownSync(schema)(JSON.parse(stdout))

describe.concurrent("list / view / tasks --json after a real swarm (built binary, mock agents)", () => {
  let dir = ""
  let swarm = ""
  let runDir = ""

  beforeAll(async () => {
    await ensureBuilt()
    dir = makeProject({ workers: [{ model: "mock", count: 2, max_cycle: 2 }], reviewer: "mock" }, 2)
    const result = await runCli(["swarm"], { cwd: dir })
    expect(result.code).toBe(0)
    swarm = listDir(path.join(dir, ".oompa", "runs"))[0]!
    runDir = path.join(dir, ".oompa", "runs", swarm)
    // A second run folder whose files do not decode: a problem beside the rest, never a crash.
    const broken = path.join(dir, ".oompa", "runs", "broken")
    fs.mkdirSync(path.join(broken, "cycles"), { recursive: true })
    fs.writeFileSync(path.join(broken, "started.json"), "{ not json")
    fs.writeFileSync(path.join(broken, "cycles", "w0-c1.json"), JSON.stringify({ worker: "w0" }))
    // After the swarm (which would have moved it to invalid/): a pending file that is no task, and a task that waits.
    const pending = path.join(dir, "tasks", "pending")
    fs.writeFileSync(path.join(pending, "bad.json"), "{ not json")
    fs.utimesSync(path.join(pending, "bad.json"), new Date(2000, 0, 1), new Date(2000, 0, 1))
    fs.writeFileSync(path.join(pending, "t3.json"), JSON.stringify({ id: "t3", summary: "task 3", depends_on: ["t9"] }))
  }, 300_000)

  it("list --json: every run with its status, started/stopped files, totals and problems; stderr empty", async () => {
    const [json, table] = await Promise.all([runCli(["list", "--json"], { cwd: dir }), runCli(["list"], { cwd: dir })])
    expect(json.code).toBe(0)
    expect(json.stderr).toBe("")
    const doc = decoded(ListJson, json.stdout)
    expect(doc.schema).toBe("list.json@1")
    // The same runs in the same order as the table's rows.
    const tableIds = table.stdout.trim().split("\n").slice(1).map((line) => line.split(/\s+/)[0])
    expect(doc.runs.map((run) => run.id)).toEqual(tableIds)
    expect(doc.runs.map((run) => run.id).sort()).toEqual(["broken", swarm].sort())

    const run = doc.runs.find((r) => r.id === swarm)!
    const cycles = listDir(path.join(runDir, "cycles")).map((f) => readJson(path.join(runDir, "cycles", f)))
    expect(run.status).toBe("completed")
    expect(run.dir).toBe(runDir)
    expect(Option.getOrThrow(run.started).workers.map((w) => w.id)).toEqual(["w0", "w1"])
    expect(Option.getOrThrow(run.started).targetBranch).toBe("main")
    expect(Option.getOrThrow(run.stopped)).toMatchObject({ reason: "completed", exitCode: 0 })
    expect(run.totals.cycles).toBe(cycles.length)
    expect(run.totals.merged).toBe(cycles.filter((c) => c["outcome"] === "merged").length)
    expect(run.totals.merged).toBe(2)
    expect(run.totals.inputTokens).toBeGreaterThan(0)
    expect(table.stdout).toMatch(new RegExp(`^${swarm}\\s.*\\s${run.totals.merged}/${run.totals.cycles}\\s+${run.totals.inputTokens}/${run.totals.outputTokens}\\s`, "m"))
    expect(run.problems).toEqual([])
    // list.json leaves out what view.json has: the config read and the per-worker summaries.
    const raw = (JSON.parse(json.stdout) as { runs: Array<{ id: string; started: object; stopped: object }> }).runs.find((r) => r.id === swarm)!
    expect(Object.keys(raw.started)).not.toContain("config")
    expect(Object.keys(raw.stopped)).not.toContain("workers")

    const broken = doc.runs.find((r) => r.id === "broken")!
    expect(broken.status).toBe("starting")
    expect(Option.isNone(broken.started)).toBe(true)
    expect(broken.problems.map((p) => p.file).sort()).toEqual(["cycles/w0-c1.json", "started.json"])
    // The table tells the same problems as warnings on stderr.
    expect(table.stderr).toContain("warning: run broken: started.json does not decode")
  })

  it("view --json: status, started/stopped, per-worker summaries, every cycle and review, the last events", async () => {
    const [json, table] = await Promise.all([
      runCli(["view", swarm.slice(0, 4), "--json"], { cwd: dir }),
      runCli(["view", swarm], { cwd: dir })
    ])
    expect(json.code).toBe(0)
    expect(json.stderr).toBe("")
    expect(table.code).toBe(0)
    const doc = decoded(ViewJson, json.stdout)
    expect(doc.schema).toBe("view.json@1")
    expect(doc.id).toBe(swarm)
    expect(doc.status).toBe("completed")
    expect(Option.getOrThrow(doc.started).configPath).toBe(path.join(dir, "oompa.json"))
    expect(Option.getOrThrow(doc.stopped).reason).toBe("completed")

    // One entry per cycle file, each as the table's cycle line shows it.
    const files = listDir(path.join(runDir, "cycles"))
    expect(doc.cycles.map((c) => `${c.worker}-c${c.cycle}.json`).sort()).toEqual([...files].sort())
    for (const cycle of doc.cycles) {
      expect(table.stdout).toMatch(new RegExp(`^${cycle.worker}-c${cycle.cycle}\\s+${cycle.outcome}\\s`, "m"))
      if (cycle.mergedCommit !== undefined) expect(git(dir, "merge-base", "--is-ancestor", cycle.mergedCommit, "main")).toBe("")
    }
    expect(doc.workers.map((w) => w.id)).toEqual(["w0", "w1"])
    expect(doc.workers.reduce((n, w) => n + w.merged, 0)).toBe(2)
    expect(doc.workers.reduce((n, w) => n + w.cycles, 0)).toBe(files.length)
    expect(doc.totals.merged).toBe(2)
    expect(table.stdout).toMatch(new RegExp(`^total\\s+${files.length}\\s+2\\s`, "m"))
    expect(doc.reviews.length).toBe(listDir(path.join(runDir, "reviews")).length)
    expect(doc.reviews.every((r) => r.verdict === "APPROVED")).toBe(true)

    const eventLines = fs.readFileSync(path.join(runDir, "events.jsonl"), "utf8").trim().split("\n")
    expect(doc.eventCount).toBe(eventLines.length)
    expect(doc.lastEvents).toHaveLength(15)
    expect(doc.lastEvents.at(-1)!.type).toBe("swarm-stopped")
    expect(table.stdout).toContain(`last 15 of ${eventLines.length} events:`)
    expect(doc.problems).toEqual([])
  })

  it("view --json of a run whose files do not decode: the problems in the document; an unknown run: exit 2, nothing on stdout", async () => {
    const [broken, unknown] = await Promise.all([
      runCli(["view", "broken", "--json"], { cwd: dir }),
      runCli(["view", "zzzz", "--json"], { cwd: dir })
    ])
    expect(broken.code).toBe(0)
    expect(broken.stderr).toBe("")
    const doc = decoded(ViewJson, broken.stdout)
    expect(doc.status).toBe("starting")
    expect(doc.cycles).toEqual([])
    expect(doc.problems.map((p) => p.file).sort()).toEqual(["cycles/w0-c1.json", "started.json"])
    expect(doc.problems.every((p) => !p.message.includes("\n"))).toBe(true)

    expect(unknown.code).toBe(2)
    expect(unknown.stdout).toBe("")
    expect(unknown.stderr).toContain('no run "zzzz"')
  })

  it("tasks --json: counts, each folder's tasks as the table lists them, the pending file that is no task in problems", async () => {
    const [json, table] = await Promise.all([runCli(["tasks", "--json"], { cwd: dir }), runCli(["tasks"], { cwd: dir })])
    expect(json.code).toBe(0)
    expect(json.stderr).toBe("")
    const doc = decoded(TasksJson, json.stdout)
    expect(doc.schema).toBe("tasks.json@1")
    expect(doc.root).toBe(path.join(dir, "tasks"))
    expect(doc.counts).toEqual({ pending: 1, available: 0, current: 0, complete: 2, invalid: 0 })
    expect(table.stdout).toContain("Task queue tasks: 1 pending (0 available), 0 in progress, 2 complete, 0 invalid")
    expect(doc.pending).toEqual([
      {
        id: "t3",
        file: path.join(dir, "tasks", "pending", "t3.json"),
        task: { id: "t3", summary: "task 3", depends_on: ["t9"] },
        available: false,
        waitingOn: ["t9"]
      }
    ])
    expect(table.stdout).toContain("t3  task 3  [waits on t9]")
    expect(doc.complete.map((entry) => entry.id)).toEqual(["t1", "t2"])
    for (const entry of doc.complete) {
      expect(entry.task.merged_commit).toMatch(/^[0-9a-f]{40}$/)
      expect(table.stdout).toContain(`${entry.id}  ${entry.task.summary}  [merged ${entry.task.merged_commit!.slice(0, 12)}]`)
    }
    expect(doc.problems).toHaveLength(1)
    expect(doc.problems[0]!.file).toBe(path.join(dir, "tasks", "pending", "bad.json"))
    expect(doc.problems[0]!.message).toContain("not valid JSON")
    expect(table.stderr).toContain("note: tasks/pending/bad.json is no task")
  })
})

const fakeClis = path.join(repoRoot, "test", "fixtures", "fake-clis")

describe("check --json (built binary)", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it("valid, missing and invalid configs, and a failed probe: one document each, exit codes as without --json", async () => {
    const probed = makeProject({ workers: [{ model: "claude:opus" }], reviewer: { model: "codex:gpt-5:high" } }, 0)
    const invalid = makeProject({ workers: [{ model: "opus" }] }, 0)
    const none = makeProject({}, 0)
    fs.rmSync(path.join(none, "oompa.json"))
    const env = {
      OOMPA_CLAUDE_BIN: path.join(fakeClis, "fake-agent.mjs"),
      OOMPA_CODEX_BIN: path.join(fakeClis, "fake-failing-agent.mjs"),
      FAKE_TEXT: "pong",
      FAKE_VERSION: "2.1.332 (Claude Code)"
    }
    const [probe, bad, missing] = await Promise.all([
      runCli(["check", "--probe", "--json"], { cwd: probed, env }),
      runCli(["check", "--json"], { cwd: invalid }),
      runCli(["check", "--json"], { cwd: none })
    ])

    // A failed probe: exit 1, the document says which and why; stderr keeps the one-line summary.
    expect(probe.code).toBe(1)
    expect(probe.stderr).toContain("1 of 2 probes failed")
    const probeDoc = decoded(CheckJson, probe.stdout)
    expect(probeDoc.ok).toBe(false)
    expect(probeDoc.config).toEqual({ status: "valid", path: path.join(probed, "oompa.json"), workers: 1, reviewers: 1, planner: false })
    const claude = probeDoc.harnesses!.find((h) => h.harness === "claude")!
    expect(claude).toMatchObject({
      builtIn: false,
      installed: true,
      path: env.OOMPA_CLAUDE_BIN,
      source: "OOMPA_CLAUDE_BIN",
      version: "2.1.332 (Claude Code)",
      usedBy: ["w0"]
    })
    expect(probeDoc.harnesses!.find((h) => h.harness === "mock")).toMatchObject({ builtIn: true, installed: true, usedBy: [] })
    expect(probeDoc.probes!.map((p) => [p.model, p.result])).toEqual([
      ["claude:opus", "ok"],
      ["codex:gpt-5:high", "failed"]
    ])
    expect(probeDoc.probes![0]!.message).toBe("answered: pong")
    expect(probeDoc.probes![1]!.message).toContain("401 Unauthorized: invalid api key")

    // An invalid config: exit 2, its message in the document and on stderr, nothing else checked.
    expect(bad.code).toBe(2)
    const badDoc = decoded(CheckJson, bad.stdout)
    expect(badDoc.ok).toBe(false)
    expect(badDoc.config.status).toBe("invalid")
    expect(badDoc.config.status === "invalid" && badDoc.config.error).toContain("workers[0].model")
    expect(bad.stderr).toContain("workers[0].model")
    expect(badDoc.harnesses).toBeNull()

    // No config: every harness listed, nobody using them, no probes asked for.
    expect(missing.code).toBe(0)
    expect(missing.stderr).toBe("")
    const missingDoc = decoded(CheckJson, missing.stdout)
    expect(missingDoc).toMatchObject({ ok: true, config: { status: "missing" }, probes: null })
    expect(missingDoc.harnesses!.map((h) => h.harness)).toEqual(["claude", "codex", "opencode", "gemini", "pi", "copilot", "qwen", "kilo", "mock"])
  })
})
