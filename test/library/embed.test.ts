/**
 * oompa as a dependency of another project: `npm pack`, install the tarball
 * into a copy of examples/embed (from the npm cache where it can), run the
 * example — a swarm on a fresh repository driven by a harness of its own, in
 * process — and check what a user of the library sees: the commits merged on
 * main, the tasks completed, the typed events it printed, and that both entry
 * points (`oompa`, `oompa/testing`) import.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt, repoRoot, runCommand, type CommandResult } from "../support/runCli.js"

type Ran = CommandResult

/**
 * The environment without npm's `npm_*` variables: under `npm test` they say
 * npm_config_local_prefix=<this checkout>, which a nested `npm install` must not
 * take for its project.
 */
const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries([...Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith("npm_")), ["NO_COLOR", "1"]])

const run = (command: string, args: ReadonlyArray<string>, cwd: string, timeoutMs = 120_000): Promise<Ran> =>
  runCommand(command, args, { cwd, env: cleanEnv(), timeoutMs })

const expectOk = (what: string, ran: Ran): Ran => {
  if (ran.code !== 0) throw new Error(`${what} exited ${String(ran.code)}:\n${ran.stdout}\n${ran.stderr}`)
  return ran
}

const temp = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-embed-test-"))
const app = path.join(temp, "app")
const repo = path.join(temp, "repo")

beforeAll(async () => {
  await ensureBuilt()
  // dist/ is fresh (ensureBuilt); --ignore-scripts keeps `prepack` from building it a second time.
  expectOk("npm pack", await run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", temp], repoRoot))
  const tarball = fs.readdirSync(temp).find((name) => name.endsWith(".tgz"))!
  fs.mkdirSync(app)
  for (const file of ["package.json", "main.js"]) fs.copyFileSync(path.join(repoRoot, "examples", "embed", file), path.join(app, file))
  fs.renameSync(path.join(temp, tarball), path.join(app, "oompa.tgz"))
  // effect and @effect/* are in the npm cache after `npm ci`: the registry is asked only for what is not.
  expectOk(
    "npm install",
    await run("npm", ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], app)
  )
}, 300_000)

afterAll(() => fs.rmSync(temp, { recursive: true, force: true }))

const git = async (...args: ReadonlyArray<string>) => expectOk(`git ${args.join(" ")}`, await run("git", args, repo)).stdout.trim()

describe("oompa as a library (examples/embed, installed from the packed tarball)", () => {
  it("both entry points import from the installed package", async () => {
    const script = [
      "const oompa = await import('oompa')",
      "const testing = await import('oompa/testing')",
      "console.log(JSON.stringify({",
      "  runSwarm: typeof oompa.runSwarm, OompaLive: typeof oompa.OompaLive, RunEvent: typeof oompa.RunEvent,",
      "  builtin: oompa.builtinHarnessNames, version: oompa.version, mock: typeof testing.makeInProcessMockHarness",
      "}))"
    ].join("\n")
    const ran = expectOk("node --input-type=module", await run(process.execPath, ["--input-type=module", "-e", script], app))
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string }
    expect(JSON.parse(ran.stdout)).toEqual({
      runSwarm: "function",
      OompaLive: "object",
      RunEvent: "function",
      builtin: ["claude", "codex", "opencode", "gemini", "pi", "copilot", "qwen", "kilo", "mock"],
      version: pkg.version,
      mock: "function"
    })
    // The types ship with it.
    expect(fs.existsSync(path.join(app, "node_modules", "oompa", "dist", "index.d.ts"))).toBe(true)
    expect(fs.existsSync(path.join(app, "node_modules", "oompa", "dist", "testing.d.ts"))).toBe(true)
  })

  it("the example runs a swarm with its own in-process harness: both tasks merged on main, every event printed", async () => {
    const ran = expectOk("node main.js", await run(process.execPath, ["main.js", repo], app))
    const lines = ran.stdout.trim().split("\n")
    expect(lines[0]).toBe(`repository: ${repo}`)

    // The commits on main: the start, then one per task, each holding its note.
    expect((await git("log", "--format=%s", "main")).split("\n")).toEqual([
      expect.stringMatching(/^w0: second-note /),
      expect.stringMatching(/^w0: first-note /),
      "start"
    ])
    for (const id of ["first-note", "second-note"]) {
      expect(await git("show", `main:notes/${id}.md`)).toContain(`# ${id}`)
      expect(fs.existsSync(path.join(repo, "tasks", "complete", `${id}.json`))).toBe(true)
    }
    expect(fs.readdirSync(path.join(repo, "tasks", "pending"))).toEqual([])

    // The typed events, in order: from swarm-started to swarm-stopped, with a merge per task on main.
    const events = lines.filter((line) => line.startsWith("event "))
    expect(events[0]).toMatch(/^event swarm-started: swarm [0-9a-f]{8} on main: 1 worker\(s\), 2 pending task\(s\)/)
    expect(events.at(-1)).toMatch(/^event swarm-stopped: swarm [0-9a-f]{8} completed: 2 cycle\(s\) merged into main$/)
    expect(events.filter((line) => line.startsWith("event claim [w0]:"))).toHaveLength(2)
    const merged = events.flatMap((line) => /^event merge \[w0\]: merged into main at ([0-9a-f]{12})$/.exec(line)?.[1] ?? [])
    expect(merged).toHaveLength(2)
    const onMain = (await git("log", "--format=%H", "main")).split("\n")
    for (const short of merged) expect(onMain.some((sha) => sha.startsWith(short))).toBe(true)
    expect(events).toContain("event cycle-ended [w0]: cycle 3 done: the agent said __DONE__")
    expect(lines.at(-2)).toMatch(/^swarm [0-9a-f]{8}: w0 done$/)
  })
})
