import { NodeContext } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { ensureBuilt, repoRoot, runCliEffect } from "../support/runCli.js"
import { makeProject as makeConfigProject } from "../config/support.js"

beforeAll(() => ensureBuilt(), 300_000)

const fakeClis = path.join(repoRoot, "test", "fixtures", "fake-clis")

const gitBinary = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim()

/**
 * A PATH holding only `node` (the fake CLIs' shebang needs it) and `git`
 * (check validates the repository as swarm does): no real agent CLI is found.
 */
const nodeOnlyPath = (dir: string): string => {
  const bin = path.join(dir, "node-only-bin")
  fs.mkdirSync(bin, { recursive: true })
  fs.symlinkSync(process.execPath, path.join(bin, "node"))
  fs.symlinkSync(gitBinary, path.join(bin, "git"))
  return bin
}

/** A project as `swarm` needs it: `files` in a git repository with one commit on main. */
const makeProject = (files: Readonly<Record<string, string | object>>) =>
  Effect.tap(makeConfigProject(files), (dir) =>
    Effect.sync(() => {
      const git = (...args: Array<string>) => execFileSync("git", args, { cwd: dir, stdio: "ignore" })
      git("init", "-q", "-b", "main")
      git("-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "--allow-empty", "-m", "init")
    })
  )

const noOverrides = {
  OOMPA_CLAUDE_BIN: undefined,
  OOMPA_CODEX_BIN: undefined,
  OOMPA_OPENCODE_BIN: undefined,
  OOMPA_GEMINI_BIN: undefined,
  OOMPA_PI_BIN: undefined,
  OOMPA_COPILOT_BIN: undefined,
  OOMPA_QWEN_BIN: undefined,
  OOMPA_KILO_BIN: undefined
}

/** The table row of stdout that starts with `first`. */
const row = (stdout: string, first: string): string => stdout.split("\n").find((line) => line.startsWith(first + " ")) ?? ""

layer(NodeContext.layer)("oompa check (the built binary)", (it) => {
  it.scoped("lists a configured harness whose CLI is not installed as not found, and exits 0", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({ "oompa.json": { workers: [{ model: "codex:gpt-5.3-codex:medium", count: 2 }] } })
      const result = yield* runCliEffect(["check"], { cwd: dir, env: { ...noOverrides, PATH: nodeOnlyPath(dir) } })
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("oompa.json is valid (2 workers, 0 reviewers)")
      const codex = row(result.stdout, "codex")
      expect(codex).toMatch(/^codex\s+no\s+- \(install @openai\/codex/)
      expect(codex).toContain("w0, w1")
      for (const name of ["claude", "opencode", "gemini", "pi", "copilot", "qwen", "kilo"]) expect(row(result.stdout, name)).toMatch(new RegExp(`^${name}\\s+no`))
      expect(row(result.stdout, "pi")).toMatch(/^pi\s+no\s+- \(install @mariozechner\/pi-coding-agent/)
      expect(row(result.stdout, "copilot")).toMatch(/^copilot\s+no\s+- \(install @github\/copilot/)
      expect(row(result.stdout, "qwen")).toMatch(/^qwen\s+no\s+- \(install @qwen-code\/qwen-code/)
      expect(row(result.stdout, "kilo")).toMatch(/^kilo\s+no\s+- \(install @kilocode\/cli/)
      expect(row(result.stdout, "mock")).toContain("built in")
    })
  )

  it.scoped("shows where an installed CLI is and its version", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({ "oompa.json": { workers: [{ model: "claude:opus" }] } })
      const bin = nodeOnlyPath(dir)
      fs.symlinkSync(path.join(fakeClis, "fake-agent.mjs"), path.join(bin, "claude"))
      const result = yield* runCliEffect(["check"], {
        cwd: dir,
        env: { ...noOverrides, PATH: bin, FAKE_VERSION: "2.1.332 (Claude Code)" }
      })
      expect(result.code).toBe(0)
      const claude = row(result.stdout, "claude")
      expect(claude).toMatch(/^claude\s+yes\s+/)
      expect(claude).toContain(path.join(bin, "claude"))
      expect(claude).toContain("2.1.332 (Claude Code)")
      expect(claude).toContain("w0")
    })
  )

  it.scoped("OOMPA_KILO_BIN names the kilo executable, found off PATH, and the row shows it and its version", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({ "oompa.json": { workers: [{ model: "kilo:fake/fake-model" }] } })
      const result = yield* runCliEffect(["check"], {
        cwd: dir,
        env: { ...noOverrides, PATH: nodeOnlyPath(dir), OOMPA_KILO_BIN: path.join(fakeClis, "fake-agent.mjs"), FAKE_VERSION: "7.7.7" }
      })
      expect(result.code).toBe(0)
      const kilo = row(result.stdout, "kilo")
      expect(kilo).toMatch(/^kilo\s+yes\s+/)
      expect(kilo).toContain(path.join(fakeClis, "fake-agent.mjs"))
      expect(kilo).toContain("7.7.7")
      expect(kilo).toContain("w0")
    })
  )

  it.scoped("a bad config exits 2 with the config's message", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({ "oompa.json": { workers: [{ model: "opus" }] } })
      const result = yield* runCliEffect(["check"], { cwd: dir, env: { ...noOverrides, PATH: nodeOnlyPath(dir) } })
      expect(result.code).toBe(2)
      expect(result.stderr).toContain("workers[0].model")
      expect(result.stderr).toContain('"harness:model[:reasoning]"')
    })
  )

  it.scoped("a worktree.copy path missing from the project root exits 2 naming the field, as swarm would", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({ "oompa.json": { workers: [{ model: "mock" }], worktree: { copy: [".env"] } } })
      const result = yield* runCliEffect(["check"], { cwd: dir, env: { ...noOverrides, PATH: nodeOnlyPath(dir) } })
      expect(result.code).toBe(2)
      expect(result.stderr).toContain('oompa.json: worktree.copy[0]: .env does not exist in the project root')
      expect(result.stderr).toContain('create it, or take it out of "copy"')
    })
  )

  it.scoped("a missing --config file exits 2", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({})
      const result = yield* runCliEffect(["check", "--config", "nope.json"], { cwd: dir, env: { PATH: nodeOnlyPath(dir) } })
      expect(result.code).toBe(2)
      expect(result.stderr).toContain("nope.json")
    })
  )

  it.scoped("with no config found, still lists every harness", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({})
      const result = yield* runCliEffect(["check"], { cwd: dir, env: { ...noOverrides, PATH: nodeOnlyPath(dir) } })
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("no oompa.json found")
      for (const name of ["claude", "codex", "opencode", "gemini", "mock"]) expect(row(result.stdout, name)).not.toBe("")
    })
  )

  it.scoped("--probe: a CLI that answers is OK; one that fails names harness, model and the CLI's error", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({
        "oompa.json": {
          workers: [{ model: "claude:opus" }, { model: "gemini:gemini-2.5-pro" }],
          reviewer: { model: "codex:gpt-5:high" }
        }
      })
      const result = yield* runCliEffect(["check", "--probe"], {
        cwd: dir,
        env: {
          PATH: nodeOnlyPath(dir),
          OOMPA_CLAUDE_BIN: path.join(fakeClis, "fake-agent.mjs"),
          OOMPA_GEMINI_BIN: path.join(fakeClis, "fake-agent.mjs"),
          OOMPA_CODEX_BIN: path.join(fakeClis, "fake-failing-agent.mjs"),
          OOMPA_OPENCODE_BIN: undefined,
          FAKE_TEXT: "pong"
        }
      })
      expect(result.code).toBe(1)
      expect(row(result.stdout, "claude:opus")).toMatch(/^claude:opus\s+OK\s+[\d.]+m?s\s+answered: pong$/)
      expect(row(result.stdout, "gemini:gemini-2.5-pro")).toMatch(/\s+OK\s+/)
      const codex = row(result.stdout, "codex:gpt-5:high")
      expect(codex).toMatch(/\s+FAIL\s+/)
      expect(codex).toContain("codex gpt-5: ")
      expect(codex).toContain("401 Unauthorized: invalid api key")
      expect(result.stderr).toContain("1 of 3 probes failed")
    })
  )

  it.scoped("--probe: qwen through OOMPA_QWEN_BIN (not on PATH) answers its probe; check names the override", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({ "oompa.json": { workers: [{ model: "qwen:qwen3-coder-plus" }] } })
      const env = { ...noOverrides, PATH: nodeOnlyPath(dir), OOMPA_QWEN_BIN: path.join(fakeClis, "fake-agent.mjs"), FAKE_TEXT: "pong" }
      const listed = yield* runCliEffect(["check"], { cwd: dir, env })
      expect(row(listed.stdout, "qwen")).toContain("OOMPA_QWEN_BIN")
      const result = yield* runCliEffect(["check", "--probe"], { cwd: dir, env })
      expect(result.code).toBe(0)
      expect(row(result.stdout, "qwen:qwen3-coder-plus")).toMatch(/^qwen:qwen3-coder-plus\s+OK\s+[\d.]+m?s\s+answered: pong$/)
    })
  )

  it.scoped("--probe: a CLI that exits 0 but reports a failed run (pi after an API error) fails its probe with that error", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({ "oompa.json": { workers: [{ model: "pi:fake/fake-model" }] } })
      const result = yield* runCliEffect(["check", "--probe"], {
        cwd: dir,
        env: { ...noOverrides, PATH: nodeOnlyPath(dir), OOMPA_PI_BIN: path.join(fakeClis, "fake-agent.mjs"), FAKE_FAIL: "401 Incorrect API key provided" }
      })
      expect(result.code).toBe(1)
      const line = row(result.stdout, "pi:fake/fake-model")
      expect(line).toMatch(/\s+FAIL\s+/)
      expect(line).toContain("pi fake/fake-model: 401 Incorrect API key provided")
    })
  )

  it.scoped("--probe: a configured CLI that is not installed fails its probe with the install hint", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({ "oompa.json": { workers: [{ model: "opencode:anthropic/claude-sonnet-4" }] } })
      const result = yield* runCliEffect(["check", "--probe"], { cwd: dir, env: { ...noOverrides, PATH: nodeOnlyPath(dir) } })
      expect(result.code).toBe(1)
      const line = row(result.stdout, "opencode:anthropic/claude-sonnet-4")
      expect(line).toContain("FAIL")
      expect(line).toContain("opencode anthropic/claude-sonnet-4: opencode CLI not found on PATH; install opencode-ai")
    })
  )
})
