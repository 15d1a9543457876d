/**
 * Run the built `oompa` binary (dist/bin.js) the way a user would, for
 * binary-level tests. Generic on purpose: any command, any cwd, any env.
 *
 *   beforeAll(() => ensureBuilt())
 *   const { stdout, stderr, code } = await runCli(["schema"], { cwd: dir })
 *
 * `ensureBuilt` runs `npm run build` when dist/ is missing or older than
 * src/, serialised across parallel vitest workers with flock(1), so test
 * files that build at the same time never read a half-written dist/.
 * Type errors elsewhere do not stop it as long as tsc emitted dist/ (it warns).
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"

/** The repository root (the folder holding package.json). */
export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
export const binPath: string = path.join(repoRoot, "dist", "bin.js")

export interface CliResult {
  readonly stdout: string
  readonly stderr: string
  /** Exit code; 128 + signal number when killed by a signal. */
  readonly code: number
}

export interface RunCliOptions {
  readonly cwd: string
  /** Merged over process.env; an `undefined` value removes the variable. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** Written to the child's stdin (stdin is empty otherwise). */
  readonly input?: string | undefined
  /** Kill the child after this long (default 120 s). */
  readonly timeoutMs?: number | undefined
}

const signalNumbers: Readonly<Record<string, number>> = os.constants.signals

const childEnv = (overrides: RunCliOptions["env"]): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" }
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  return env
}

/**
 * Runs `node dist/bin.js ...args` and resolves with its output and exit code.
 * Never synchronous: a test worker blocked in spawnSync cannot answer vitest's
 * RPC, whose fixed 60 s timeout then fails a green run (seen in CI: a file of
 * thirty binary calls on a slow machine).
 */
export const runCli = (args: ReadonlyArray<string>, options: RunCliOptions): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], {
      cwd: options.cwd,
      env: childEnv(options.env),
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000)
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on("close", (status, signal) => {
      clearTimeout(timer)
      const code = status !== null ? status : 128 + (signal !== null ? (signalNumbers[signal] ?? 0) : 0)
      resolve({ stdout, stderr, code })
    })
    child.stdin.end(options.input ?? "")
  })

/** `runCli` as an Effect, for use inside `it.effect` / `it.scoped` / `it.live`. */
export const runCliEffect = (args: ReadonlyArray<string>, options: RunCliOptions): Effect.Effect<CliResult> =>
  Effect.promise(() => runCli(args, options))

// Runs under the lock: rebuild only if dist/bin.js is missing or older than a source file.
const buildIfStale = `
const fs = require("node:fs"), path = require("node:path"), cp = require("node:child_process");
const root = process.argv[1];
const newest = (dir) => {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
};
let built = 0;
try { built = fs.statSync(path.join(root, "dist", "bin.js")).mtimeMs } catch {}
const sources = Math.max(newest(path.join(root, "src")), ...["package.json", "tsconfig.json", "tsconfig.build.json", "scripts/bundle-bin.mjs"].map((f) => fs.statSync(path.join(root, f)).mtimeMs));
if (built < sources) {
  const started = Date.now() - 1000;
  const r = cp.spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  if (r.status === 0) process.exit(0);
  // tsc still emits on type errors; in a shared checkout those may be in files
  // under someone else's work. Carry on if dist/bin.js was written, loudly.
  let emitted = 0;
  try { emitted = fs.statSync(path.join(root, "dist", "bin.js")).mtimeMs } catch {}
  if (emitted >= started) {
    process.stderr.write("ensureBuilt: npm run build reported errors but dist/ was emitted; testing it anyway\\n");
    process.exit(0);
  }
  process.exit(r.status === null ? 1 : r.status);
}
`

export interface CommandResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Any command, asynchronously (never spawnSync: a blocked test worker cannot
 * answer vitest's RPC), stdin closed, output collected, SIGKILL after `timeoutMs`.
 */
export const runCommand = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number } = {}
): Promise<CommandResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 300_000)
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

/**
 * Builds dist/ if it is missing or stale. Rejects when the build fails.
 * Asynchronous like runCli: workers waiting on the lock must still answer vitest.
 */
export const ensureBuilt = async (): Promise<void> => {
  const lock = path.join(os.tmpdir(), `oompa-build-${Buffer.from(repoRoot).toString("hex").slice(-32)}.lock`)
  const hasFlock = spawnSync("flock", ["--version"], { stdio: "ignore" }).status === 0
  const node = [process.execPath, "-e", buildIfStale, repoRoot]
  const result = hasFlock ? await runCommand("flock", [lock, ...node]) : await runCommand(node[0]!, node.slice(1))
  if (result.code === 0 && result.stderr.includes("ensureBuilt:")) {
    process.stderr.write(result.stderr.slice(result.stderr.indexOf("ensureBuilt:")))
  }
  if (result.code !== 0) {
    throw new Error(`npm run build failed (exit ${String(result.code)}):\n${result.stdout}\n${result.stderr}`)
  }
}
