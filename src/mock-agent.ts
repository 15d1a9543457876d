#!/usr/bin/env node
/**
 * `oompa-mock-agent`: the scripted agent as a real process, so scenarios also
 * run through ProcessRunner (timeouts, process groups, log streaming) and power
 * `oompa demo`. Prompt on stdin; JSON lines on stdout, the last one
 * `{"type":"result",…}`. Flags: --session <id> | --resume <id>, --review,
 * --scenario <file>, --state-dir <dir>. The harness validates the scenario
 * before starting us, and we load no Effect, so a turn starts fast.
 */
import * as os from "node:os"
import * as path from "node:path"
import * as fs from "node:fs"
import { runMockTurn } from "./harness/mock/agent.js"
import type { MockScenario } from "./harness/mock/Scenario.js"

const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const index = args.indexOf(name)
  return index === -1 ? undefined : args[index + 1]
}

const readStdin = async (): Promise<string> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString("utf8")
}

const main = async () => {
  const scenarioFile = flag("--scenario")
  let scenario: MockScenario = {}
  try {
    if (scenarioFile !== undefined) scenario = JSON.parse(fs.readFileSync(scenarioFile, "utf8")) as MockScenario
  } catch (error) {
    process.stderr.write(`cannot read mock scenario ${scenarioFile}: ${String(error)}\n`)
    process.exit(2)
  }
  const resumeId = flag("--resume")
  const prompt = await readStdin()
  const write = (line: unknown) => process.stdout.write(JSON.stringify(line) + "\n")
  const output = await runMockTurn({
      onStep: (step) => write({ type: "tool", ...step }),
      prompt,
      cwd: process.cwd(),
      sessionId: resumeId ?? flag("--session"),
      resume: resumeId !== undefined,
      mode: args.includes("--review") ? "review" : "work",
      scenario,
      stateDir: flag("--state-dir") ?? path.join(os.tmpdir(), "oompa-mock-sessions")
    })
  write({ type: "session", session_id: output.sessionId })
  if (output.noiseBytes > 0) {
    const chunk = "x".repeat(1023) + "\n"
    for (let written = 0; written < output.noiseBytes; written += chunk.length) {
      if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once("drain", resolve))
    }
  }
  if (output.hang) {
    write({ type: "status", text: "thinking forever" })
    setInterval(() => {}, 1 << 30)
    return
  }
  write({
    type: "result",
    session_id: output.sessionId,
    text: output.text,
    usage: output.usage,
    cost_usd: output.costUsd,
    ...(output.failure !== undefined ? { failure: output.failure } : {})
  })
  process.exitCode = output.exitCode
}

void main()
