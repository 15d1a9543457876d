import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { ReportJson } from "../../src/domain/JsonOutput.js"
import { git, listDir, makeProject } from "../support/cliProject.js"
import { ensureBuilt, runCli } from "../support/runCli.js"

/**
 * `oompa report` through the built binary: the morning report of a real mock
 * swarm in which one task merged and the other's review rejected it (its work
 * kept under refs/oompa/kept), as Markdown and as report.json; then a
 * fabricated crashed run, an unknown swarm and a repository with no runs.
 */

const readJson = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>

const decoded = (stdout: string): ReportJson => Schema.decodeUnknownSync(ReportJson)(JSON.parse(stdout))

/** The section of the Markdown under `## <heading>…`, up to the next heading. */
const section = (markdown: string, heading: string): string => {
  const start = markdown.indexOf(`\n## ${heading}`)
  expect(start, `no section ${heading} in:\n${markdown}`).toBeGreaterThanOrEqual(0)
  const next = markdown.indexOf("\n## ", start + 1)
  return markdown.slice(start, next === -1 ? undefined : next)
}

describe("oompa report after a real swarm: one task merged, one rejected (built binary, mock agents)", () => {
  let dir = ""
  let swarm = ""
  let runDir = ""

  beforeAll(async () => {
    await ensureBuilt()
    dir = makeProject(
      { workers: [{ model: "mock", max_cycle: 2 }], reviewer: "mock:scenario.json", test_command: "true" },
      2,
      { reviews: { "w0-c1": ["APPROVED"], "w0-c2": ["REJECTED"] } }
    )
    // A pending file that is no task: the swarm moves it to invalid/.
    const bad = path.join(dir, "tasks", "pending", "bad.json")
    fs.writeFileSync(bad, "{ not json")
    fs.utimesSync(bad, new Date(2000, 0, 1), new Date(2000, 0, 1))
    const result = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code, result.stderr).toBe(0)
    swarm = listDir(path.join(dir, ".oompa", "runs"))[0]!
    runDir = path.join(dir, ".oompa", "runs", swarm)
  }, 300_000)

  it("Markdown: the title, the merged task with its commit, the rejected one with its kept ref and a git command that runs", async () => {
    const result = await runCli(["report"], { cwd: dir })
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    const md = result.stdout
    const c1 = readJson(path.join(runDir, "cycles", "w0-c1.json"))
    const c2 = readJson(path.join(runDir, "cycles", "w0-c2.json"))
    expect(c1["outcome"]).toBe("merged")
    expect(c2["outcome"]).toBe("rejected")
    const stopped = readJson(path.join(runDir, "stopped.json"))

    expect(md.split("\n")[0]).toMatch(
      new RegExp(`^# oompa report: swarm ${swarm} → main, \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d – \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d, ${String(stopped["reason"])}, exit ${String(stopped["exitCode"])}`)
    )

    const merged = section(md, "Merged")
    expect(merged).toContain("## Merged (1)")
    const commit = String(c1["mergedCommit"])
    expect(merged).toContain(`- w0-c1: \`t1\` task 1 — merged \`${commit.slice(0, 12)}\`, 1 review round(s), test_command passed`)
    expect(git(dir, "merge-base", "--is-ancestor", commit, "main")).toBe("")

    const notMerged = section(md, "Not merged")
    expect(notMerged).toContain(`- w0-c2 rejected: \`t2\` task 2 — ${String(c2["detail"]).split("\n")[0]}`)
    const keptRef = `refs/oompa/kept/${swarm}/w0-c2`
    expect(c2["keptRef"]).toBe(keptRef)
    const command = `git log -p main..${keptRef}`
    expect(notMerged).toContain(`kept as \`${keptRef}\`; look at it: \`${command}\``)
    // The ref is there and the printed command runs.
    expect(git(dir, "rev-parse", "--verify", keptRef)).toMatch(/^[0-9a-f]{40}$/)
    const shown = execFileSync("/bin/sh", ["-c", command], { cwd: dir, encoding: "utf8" })
    expect(shown).toContain("t2")

    // The rejected task is back in pending; the bad file is invalid.
    const left = section(md, "Tasks left")
    expect(left).toContain("1 pending (1 available), 0 in progress, 1 complete, 1 invalid")
    expect(left).toContain("- `t2` task 2")
    expect(left).toContain("- `bad.json`")

    const needs = section(md, "Needs a human")
    expect(needs).toContain(`- **rejected** w0-c2 rejected (t2)`)
    expect(needs).toContain(`\`${command}\``)
    expect(needs).toContain("- **invalid-task** invalid/bad.json")
    expect(needs).not.toContain("crashed")

    const cost = section(md, "Cost")
    const total = [c1, c2].reduce((n, c) => n + Number(c["costUsd"] ?? 0), 0)
    expect(cost).toContain(`Total: $${total.toFixed(4)}`)
    expect(cost).toMatch(/^\| w0 \| mock \| 2 \| 1 \|/m)
    expect(cost).toMatch(new RegExp(`^\\| t1 \\| 1 \\| \\d+/\\d+ \\| \\$${Number(c1["costUsd"] ?? 0).toFixed(4)} \\|$`, "m"))
    expect(section(md, "Waiting")).toContain("No back-off after errors, no rate limit, no merge held back.")

    // A prefix selects the run as `oompa view` does.
    const byPrefix = await runCli(["report", swarm.slice(0, 3)], { cwd: dir })
    expect(byPrefix.code).toBe(0)
    expect(byPrefix.stdout).toBe(md)
  })

  it("--json: decodes with report.json's Schema and agrees with the cycle files' numbers", async () => {
    const result = await runCli(["report", swarm, "--json"], { cwd: dir })
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    const doc = decoded(result.stdout)
    expect(doc.schema).toBe("report.json@1")
    expect(doc.id).toBe(swarm)
    expect(doc.targetBranch).toBe("main")
    const stopped = readJson(path.join(runDir, "stopped.json"))
    expect(doc.ended).toEqual({ status: stopped["reason"], at: stopped["stoppedAt"], exitCode: stopped["exitCode"], detail: stopped["detail"] ?? null })

    const cycles = listDir(path.join(runDir, "cycles")).map((f) => readJson(path.join(runDir, "cycles", f)))
    expect(doc.merged.map((m) => [m.cycle, m.tasks.map((t) => t.id), m.commit])).toEqual([["w0-c1", ["t1"], cycles[0]!["mergedCommit"]]])
    expect(doc.merged[0]!.testCommand).toBe("passed")
    expect(doc.notMerged.map((c) => [c.cycle, c.outcome, c.keptRef, c.keptRefPresent])).toEqual([["w0-c2", "rejected", `refs/oompa/kept/${swarm}/w0-c2`, true]])
    expect(doc.notMerged[0]!.gitCommand).toBe(`git log -p main..refs/oompa/kept/${swarm}/w0-c2`)

    const sum = (key: "costUsd") => cycles.reduce((n, c) => n + Number(c[key] ?? 0), 0)
    const tokens = (key: "inputTokens" | "outputTokens") => cycles.reduce((n, c) => n + Number((c["usage"] as Record<string, number>)[key]), 0)
    expect(doc.spend.total.cycles).toBe(cycles.length)
    expect(doc.spend.total.costUsd).toBeCloseTo(sum("costUsd"), 10)
    expect(doc.spend.total.usage.inputTokens).toBe(tokens("inputTokens"))
    expect(doc.spend.total.usage.outputTokens).toBe(tokens("outputTokens"))
    expect(doc.spend.workers.map((w) => [w.id, w.cycles, w.merged])).toEqual([["w0", 2, 1]])
    expect(doc.spend.workers[0]!.costUsd).toBeCloseTo(sum("costUsd"), 10)
    for (const task of doc.spend.tasks) {
      const own = cycles.filter((c) => (c["claims"] as Array<string>).includes(task.id))
      expect(task.cycles).toBe(own.length)
      expect(task.costUsd).toBeCloseTo(own.reduce((n, c) => n + Number(c["costUsd"] ?? 0), 0), 10)
    }
    expect(doc.spend.tasks.map((t) => t.id)).toEqual(["t1", "t2"])

    expect(doc.queue!.counts).toMatchObject({ pending: 1, complete: 1, invalid: 1 })
    expect(doc.needsHuman.map((n) => n.kind)).toEqual(["rejected", "invalid-task"])
    expect(doc.waiting).toEqual({ backOffs: [], backOffMs: 0, mergeHolds: [], mergeHoldMs: 0, rateLimits: [], rateLimitMs: 0, providers: [] })
    expect(doc.problems).toEqual([])
  })

  it("an unknown swarm: exit 2 naming the known runs, nothing on stdout", async () => {
    const result = await runCli(["report", "zzzz"], { cwd: dir })
    expect(result.code).toBe(2)
    expect(result.stdout).toBe("")
    expect(result.stderr).toContain(`no run "zzzz"; known runs: ${swarm}`)
  })
})

/** A pid no process has: beyond Linux's largest pid_max (2^22). */
const deadPid = 2 ** 22 + 7

describe("oompa report of a crashed run, and with no runs (built binary)", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it("no runs: exit 2, No runs yet", async () => {
    const dir = makeProject({ workers: [{ model: "mock" }] }, 0)
    const result = await runCli(["report"], { cwd: dir })
    expect(result.code).toBe(2)
    expect(result.stdout).toBe("")
    expect(result.stderr).toContain("No runs yet")
  })

  it("a crashed run with an error cycle and back-offs: crashed in the title, oompa cleanup and the stopped worker under Needs a human, the waits", async () => {
    const dir = makeProject({ workers: [{ model: "mock" }] }, 1)
    const swarm = "dead0001"
    const runDir = path.join(dir, ".oompa", "runs", swarm)
    fs.mkdirSync(path.join(runDir, "cycles"), { recursive: true })
    fs.writeFileSync(
      path.join(runDir, "started.json"),
      JSON.stringify({
        swarm,
        pid: deadPid,
        host: os.hostname(),
        startedAt: "2026-01-01T00:00:00.000Z",
        projectRoot: dir,
        configPath: path.join(dir, "oompa.json"),
        targetBranch: "main",
        tasksDir: path.join(dir, "tasks"),
        versions: { oompa: "0", node: "v20" },
        workers: [{ id: "w0", model: "mock", canPlan: true }],
        config: { workers: [{ model: "mock" }] }
      })
    )
    const usage = { inputTokens: 10, outputTokens: 5, cachedInputTokens: 0 }
    fs.writeFileSync(
      path.join(runDir, "cycles", "w0-c1.json"),
      JSON.stringify({
        swarm,
        worker: "w0",
        cycle: 1,
        model: "mock",
        outcome: "error",
        detail: "agent exited with 1 (log: logs/w0-c1-t1.log)",
        branch: `oompa/${swarm}/w0-c1`,
        claims: ["t1"],
        turns: [],
        signals: [],
        reviewRounds: 0,
        startedAt: "2026-01-01T00:00:01.000Z",
        endedAt: "2026-01-01T00:00:02.000Z",
        durationMs: 1000,
        usage,
        costUsd: 0.25
      })
    )
    const event = (type: string, worker: string | undefined, data: object, message: string) =>
      JSON.stringify({ at: "2026-01-01T00:00:03.000Z", type, ...(worker === undefined ? {} : { worker }), message, data })
    fs.writeFileSync(
      path.join(runDir, "events.jsonl"),
      [
        event("backing-off", "w0", { ms: 2000, consecutiveErrors: 1 }, "backing off"),
        event("backing-off", "w0", { ms: 4000, consecutiveErrors: 2 }, "backing off"),
        event(
          "worker-stopped",
          "w0",
          { reason: "too-many-errors", cycles: 1, merged: 0, rejected: 0, mergeFailed: 0, stuck: 0, noChanges: 0, errors: 1, other: 0, turns: 0, usage, costUsd: 0.25 },
          "stopped"
        )
      ].join("\n") + "\n"
    )

    const [md, json] = await Promise.all([runCli(["report"], { cwd: dir }), runCli(["report", "--json"], { cwd: dir })])
    expect(md.code, md.stderr).toBe(0)
    expect(md.stdout.split("\n")[0]).toMatch(new RegExp(`^# oompa report: swarm ${swarm} → main, .* – \\?, crashed \\(no stopped.json and its process is gone\\)$`))
    const needs = section(md.stdout, "Needs a human")
    expect(needs).toContain("- **crashed** ")
    expect(needs).toContain("`oompa cleanup`")
    expect(needs).toContain("- **stopped-on-errors** w0 stopped after too many error cycles; last: c1 error: agent exited with 1")
    expect(section(md.stdout, "Not merged")).toContain("- w0-c1 error: `t1` task 1 — agent exited with 1")
    expect(section(md.stdout, "Merged")).toContain("Nothing merged.")
    const waiting = section(md.stdout, "Waiting")
    expect(waiting).toContain("Backing off after error cycles: 6s in all.")
    expect(waiting).toContain("- w0: 2 back-off(s), 6s")
    expect(section(md.stdout, "Cost")).toContain("Total: $0.2500, tokens in/out 10/5, 1 cycle(s).")

    expect(json.code).toBe(0)
    const doc = decoded(json.stdout)
    expect(doc.ended).toEqual({ status: "crashed", at: null, exitCode: null, detail: null })
    expect(doc.needsHuman.map((n) => [n.kind, n.command])).toEqual([
      ["crashed", "oompa cleanup"],
      ["stopped-on-errors", `oompa logs ${swarm} --worker w0`]
    ])
    expect(doc.waiting.backOffs).toEqual([{ worker: "w0", count: 2, ms: 6000 }])
    expect(doc.merged[0]).toBeUndefined()
    expect(doc.notMerged[0]!.keptRef).toBeNull()
  })
})
