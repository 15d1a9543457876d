import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { listDir, makeProject } from "../support/cliProject.js"
import { ensureBuilt, runCli } from "../support/runCli.js"

/**
 * Corrupted run files (issue 8, SPEC §11): a real run's folder (one mock
 * worker, one merged cycle, one review) is copied into a fresh project and one
 * file is corrupted; then `list`, `view`, `logs` and `cleanup` (built binary)
 * must not crash, exit as usual, name the file they could not read, write
 * nothing into the run folder and destroy nothing of it.
 */

type Target = "started.json" | "stopped.json" | "cycle" | "review" | "events.jsonl"
type Corruption = "truncated" | "binary" | "empty" | "directory" | "huge line"

const targets: ReadonlyArray<Target> = ["started.json", "stopped.json", "cycle", "review", "events.jsonl"]
const corruptions: ReadonlyArray<Corruption> = ["truncated", "binary", "empty", "directory", "huge line"]
const HUGE = 20 * 1024 * 1024

/** Deterministic bytes that are not UTF-8 text (and not JSON). */
const garbage = (n: number): Buffer => {
  const out = Buffer.alloc(n)
  let x = 0x2545f491
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = (x & 0x7f) | 0x80
  }
  return out
}

const corrupt = (file: string, how: Corruption, isLines: boolean) => {
  const text = fs.readFileSync(file)
  switch (how) {
    case "truncated":
      // events.jsonl: the last line cut mid-event; a JSON file: cut in half.
      fs.writeFileSync(file, isLines ? text.subarray(0, text.length - Math.floor(text.toString().trimEnd().split("\n").at(-1)!.length / 2) - 1) : text.subarray(0, Math.floor(text.length / 2)))
      return
    case "binary":
      fs.writeFileSync(file, isLines ? Buffer.concat([text, garbage(4096), Buffer.from("\n")]) : garbage(4096))
      return
    case "empty":
      fs.writeFileSync(file, "")
      return
    case "directory":
      fs.rmSync(file)
      fs.mkdirSync(file)
      fs.writeFileSync(path.join(file, "inside.txt"), "not a run file\n")
      return
    case "huge line":
      fs.writeFileSync(file, isLines ? Buffer.concat([text, Buffer.alloc(HUGE, "x")]) : Buffer.alloc(HUGE, "{"))
      return
  }
}

/** Every file and folder under `dir` with a hash of its content: the run folder as it is. */
const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (at: string) => {
    for (const name of fs.readdirSync(at).sort()) {
      const full = path.join(at, name)
      const rel = path.relative(dir, full)
      const stat = fs.lstatSync(full)
      if (stat.isDirectory()) {
        out[rel] = "dir"
        walk(full)
      } else out[rel] = crypto.createHash("sha1").update(fs.readFileSync(full)).digest("hex")
    }
  }
  walk(dir)
  return out
}

/** What a user must never see: a stack trace, a crash report, a heap dump. */
const expectNoCrash = (result: { stdout: string; stderr: string; code: number }) => {
  expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/)
  expect(result.stderr).not.toContain("oompa crashed")
  expect(result.stderr).not.toContain("heap")
  // A warning names the file in a line, not the file's content.
  expect(result.stderr.length).toBeLessThan(20_000)
  expect(result.stdout.length).toBeLessThan(200_000)
}

// Concurrent: each case copies the run into its own project, and the binary's
// start-up (about a second of CPU) dominates, so a second core halves the file.
describe.concurrent("corrupted run files before list, view, logs and cleanup (built binary)", () => {
  let template = ""
  let swarm = ""
  let cycleFile = ""
  let reviewFile = ""

  beforeAll(async () => {
    await ensureBuilt()
    const dir = makeProject({ workers: [{ model: "mock", count: 1, max_cycle: 1 }], reviewer: "mock" }, 1)
    const result = await runCli(["swarm"], { cwd: dir, timeoutMs: 120_000 })
    expect(result.code).toBe(0)
    swarm = listDir(path.join(dir, ".oompa", "runs"))[0]!
    template = path.join(dir, ".oompa", "runs", swarm)
    cycleFile = `cycles/${listDir(path.join(template, "cycles"))[0]!}`
    reviewFile = `reviews/${listDir(path.join(template, "reviews"))[0]!}`
  }, 300_000)

  const fileOf = (target: Target) => (target === "cycle" ? cycleFile : target === "review" ? reviewFile : target)

  for (const target of targets) {
    for (const how of corruptions) {
      it(`${target}: ${how}`, async () => {
        const dir = makeProject({ workers: [{ model: "mock" }] }, 0)
        const runDir = path.join(dir, ".oompa", "runs", swarm)
        fs.cpSync(template, runDir, { recursive: true })
        const relative = fileOf(target)
        corrupt(path.join(runDir, relative), how, target === "events.jsonl")
        const before = snapshot(runDir)

        // Read-only commands, run side by side.
        const [list, view, logs] = await Promise.all([
          runCli(["list"], { cwd: dir }),
          runCli(["view", swarm], { cwd: dir }),
          runCli(["logs", swarm], { cwd: dir })
        ])
        expectNoCrash(list)
        expect(list.code).toBe(0)
        expect(list.stdout).toContain(swarm)
        // list reads started.json, stopped.json and the cycle files.
        if (target !== "review" && target !== "events.jsonl") expect(list.stderr).toContain(`run ${swarm}: ${relative}`)

        expectNoCrash(view)
        expect(view.code).toBe(0)
        expect(view.stdout).toContain(swarm)
        if (target !== "review" && !(target === "events.jsonl" && how === "empty")) {
          expect(view.stderr).toContain(`run ${swarm}: ${relative}`)
        }

        expectNoCrash(logs)
        expect(logs.code).toBe(0)
        if (target === "events.jsonl" && how !== "empty") expect(logs.stderr).toContain(`run ${swarm}: events.jsonl`)
        if (target !== "events.jsonl" || how === "huge line" || how === "binary") expect(logs.stdout).toContain(`swarm ${swarm} completed`)

        const cleanup = await runCli(["cleanup"], { cwd: dir })
        expectNoCrash(cleanup)
        expect(cleanup.code).toBe(0)

        // Read-only commands wrote nothing; cleanup destroyed nothing of a run it could not read.
        expect(snapshot(runDir)).toEqual(before)
      }, 180_000)
    }
  }

  for (const how of corruptions) {
    it(`a crashed run (no stopped.json) whose started.json is ${how}: cleanup leaves it whole`, async () => {
      const dir = makeProject({ workers: [{ model: "mock" }] }, 0)
      const runDir = path.join(dir, ".oompa", "runs", swarm)
      fs.cpSync(template, runDir, { recursive: true })
      fs.rmSync(path.join(runDir, "stopped.json"))
      corrupt(path.join(runDir, "started.json"), how, false)
      const before = snapshot(runDir)
      const list = await runCli(["list"], { cwd: dir })
      expectNoCrash(list)
      expect(list.code).toBe(0)
      expect(list.stderr).toContain(`run ${swarm}: started.json`)
      const cleanup = await runCli(["cleanup"], { cwd: dir })
      expectNoCrash(cleanup)
      expect(cleanup.code).toBe(0)
      expect(cleanup.stdout + cleanup.stderr).toContain(`run ${swarm}: started.json`)
      expect(snapshot(runDir)).toEqual(before)
    }, 180_000)
  }
})
