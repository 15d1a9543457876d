// What oompa adds to a real agent turn (issue 13): one Claude Code turn through
// `oompa swarm` (one worker that may plan, no tasks; the model answers __DONE__, so the
// swarm runs exactly that turn and ends) beside the same turn run bare: the same claude binary,
// the prompt oompa gave it (its logs/*.prompt.txt), the same flags. Claude talks to
// the fake model server of the e2e suite on 127.0.0.1 (nothing beyond it): the
// server is TypeScript, so it is bundled with esbuild into the temp folder first.
// Needs the CLIs of `npm run test:cli` (scripts/install-test-clis.sh) under test-cli/.
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as esbuild from "esbuild"
import { bin, median, root, seconds, tempRepo } from "../lib.mjs"

export const title = "one real claude turn through `oompa swarm`, beside the same turn run bare (fake model server on 127.0.0.1)"

const cliBinDir = path.join(root, "test-cli", "node_modules", ".bin")
const MODEL = "claude-sonnet-4-5"
const TURN_FLAGS = ["-p", "--dangerously-skip-permissions", "--output-format", "stream-json", "--verbose", "--model", MODEL]

/** Starts the fake model server (bundled into `dir`) answering every request "__DONE__"; resolves with its URL and a stop function. */
const startServer = async (dir) => {
  const serverJs = path.join(dir, "fake-model-server.mjs")
  await esbuild.build({
    entryPoints: [path.join(root, "test", "fake-model-server", "main.ts")],
    outfile: serverJs,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "warning",
    banner: { js: 'import { createRequire as __benchCreateRequire } from "node:module";const require=__benchCreateRequire(import.meta.url);' }
  })
  const scripts = path.join(dir, "scripts.json")
  fs.writeFileSync(scripts, JSON.stringify([{ name: "done", match: ".", steps: [], fallback: { text: "Nothing to do.\n__DONE__" } }]))
  const child = spawn(process.execPath, [serverJs, "--scripts", scripts], { stdio: ["ignore", "pipe", "pipe"] })
  const url = await new Promise((resolve, reject) => {
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += chunk
      const found = /FAKE_MODEL_SERVER_URL=(\S+)/.exec(out)
      if (found) resolve(found[1])
    })
    child.on("close", (code) => reject(new Error(`fake model server exited ${code}: ${out}`)))
  })
  return { url, stop: () => child.kill("SIGTERM") }
}

/** Runs a command; resolves with its wall time in ms. Throws on a non-zero exit. */
const timed = (command, args, { cwd, env, input }) =>
  new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(command, args, { cwd, env, stdio: ["pipe", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    child.on("error", reject)
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${output.slice(-4000)}`))
      else resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, output })
    })
    child.stdin.end(input ?? "")
  })

export const sample = async () => {
  const claude = path.join(cliBinDir, "claude")
  if (!fs.existsSync(claude)) throw new Error(`claude-turn: ${claude} is missing (bash scripts/install-test-clis.sh)`)
  const { dir, repo, remove } = tempRepo("oompa-bench-claude-")
  const server = await startServer(dir)
  try {
    const home = path.join(dir, "home")
    fs.mkdirSync(home)
    const env = {
      ...process.env,
      PATH: `${cliBinDir}:${process.env.PATH}`,
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, ".config"),
      XDG_DATA_HOME: path.join(home, ".local", "share"),
      XDG_CACHE_HOME: path.join(home, ".cache"),
      XDG_STATE_HOME: path.join(home, ".local", "state"),
      NO_COLOR: "1",
      ANTHROPIC_BASE_URL: server.url,
      ANTHROPIC_API_KEY: "sk-ant-fake-key-for-bench",
      DISABLE_AUTOUPDATER: "1",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_TELEMETRY: "1",
      DISABLE_ERROR_REPORTING: "1",
      ...(process.getuid?.() === 0 ? { IS_SANDBOX: "1" } : {})
    }
    // No tasks and a worker that may plan: its one turn is offered planning, answers __DONE__, and the swarm ends.
    fs.mkdirSync(path.join(repo, "tasks", "pending"), { recursive: true })
    fs.writeFileSync(
      path.join(repo, "oompa.json"),
      JSON.stringify({ workers: [{ model: `claude:${MODEL}`, count: 1, max_cycle: 1 }], reviewer: `claude:${MODEL}` })
    )
    // A first bare turn warms the page cache for claude's files, so neither side pays for a cold disk.
    const warmPrompt = "Say __DONE__."
    await timed(claude, TURN_FLAGS, { cwd: repo, env, input: warmPrompt })
    const swarm = await timed(process.execPath, [bin, "swarm"], { cwd: repo, env })
    const logsDir = path.join(repo, ".oompa", "runs", fs.readdirSync(path.join(repo, ".oompa", "runs"))[0], "logs")
    const prompts = fs.readdirSync(logsDir).filter((f) => f.endsWith(".prompt.txt"))
    if (prompts.length !== 1) throw new Error(`claude-turn: expected one turn, the swarm ran ${prompts.length} (${prompts.join(", ")})`)
    const prompt = fs.readFileSync(path.join(logsDir, prompts[0]), "utf8")
    const bare = await timed(claude, TURN_FLAGS, { cwd: repo, env, input: prompt })
    return { swarmMs: swarm.ms, bareMs: bare.ms }
  } finally {
    server.stop()
    remove()
  }
}

export const rows = (samples) => {
  const extra = median(samples.map((s) => s.swarmMs - s.bareMs))
  return [
    {
      measure: "one claude turn through `oompa swarm` − the same turn bare",
      now: `+${seconds(extra)} (${seconds(median(samples.map((s) => s.swarmMs)))} − ${seconds(median(samples.map((s) => s.bareMs)))}); ${os.cpus().length} cores`,
      target: "≤ +0.5 s",
      met: extra <= 500
    }
  ]
}
