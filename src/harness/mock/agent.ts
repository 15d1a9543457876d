import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { DONE_SIGNAL, MERGE_SIGNAL } from "../../domain/Signal.js"
import type { Usage } from "../../domain/Usage.js"
import type { MockFailure, MockScenario, MockStep } from "./Scenario.js"

/**
 * The mock agent's brain, shared by the in-process harness (engine tests) and
 * the `oompa-mock-agent` executable (process-level tests and `oompa demo`).
 * It is a test double, so it is plain async code on node's fs and
 * child_process: the executable then starts without loading Effect, which
 * keeps each mock turn cheap.
 */
export interface MockTurnInput {
  readonly prompt: string
  readonly cwd: string
  readonly sessionId: string | undefined
  readonly resume: boolean
  readonly mode: "work" | "review"
  readonly scenario: MockScenario
  /** Told of each step as it is taken (the process agent prints it: what the live views show). */
  readonly onStep?: (step: { readonly name: string; readonly detail: string }) => void
  /** Where session memory lives between turns (a turn may be a separate process). */
  readonly stateDir: string
  /** Added to the environment of its `run` commands (the turn's env; a process agent has it as its own). */
  readonly env?: Readonly<Record<string, string>> | undefined
}

export interface MockTurnOutput {
  readonly sessionId: string
  readonly text: string
  readonly exitCode: number
  readonly hang: boolean
  readonly noiseBytes: number
  /** null: the turn reports no cost. */
  readonly costUsd: number | null
  readonly usage: Usage
  /** A scripted failed turn (`fail` in the step). */
  readonly failure?: MockFailure
}

interface SessionMemory {
  readonly turns: number
  readonly claimed: ReadonlyArray<string>
  readonly reviewRounds: number
}

const TAG = /^\[oompa:([^:\]]+):([^:\]]+)(?::review)?\]/
const CLAIMED = /^- ([A-Za-z0-9._-]+): claimed(?: \((.*)\))?$/gm
const AVAILABLE_LINE = /^- ([A-Za-z0-9._-]+)(?::|$)/

const sh = (command: string, cwd: string, env?: Readonly<Record<string, string>>) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    execFile("/bin/sh", ["-c", command], { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0
      resolve({ code, out: `${stdout}${stderr}` })
    })
  })

/** The cycle number from a worktree folder named `<swarm>-<worker>-c<N>`. */
const cycleOf = (cwd: string): number | undefined => {
  const match = /-c(\d+)$/.exec(path.basename(cwd))
  return match ? Number(match[1]) : undefined
}

const lookup = <A>(table: Readonly<Record<string, ReadonlyArray<A>>> | undefined, worker: string, cycle: number | undefined) =>
  table?.[`${worker}-c${cycle}`] ?? table?.[worker] ?? table?.["*"]

/** Ids in the "Available tasks:" list of the queue status the framework put in the prompt. */
export const availableIds = (prompt: string): ReadonlyArray<string> => {
  const lines = prompt.split("\n")
  const start = lines.findIndex((line) => line.trim() === "Available tasks:")
  if (start === -1) return []
  const ids: Array<string> = []
  for (const line of lines.slice(start + 1)) {
    const match = AVAILABLE_LINE.exec(line)
    if (!match) break
    ids.push(match[1]!)
  }
  return ids
}

const render = (text: string, worker: string, task: string) =>
  text.split("{{TASK}}").join(task).split("{{WORKER}}").join(worker)

export const runMockTurn = async (input: MockTurnInput): Promise<MockTurnOutput> => {
    const tag = TAG.exec(input.prompt)
    const worker = tag?.[2] ?? "worker"
    const cycle = cycleOf(input.cwd)
    const sessionId = input.sessionId ?? randomUUID()
    const memoryFile = path.join(input.stateDir, `${sessionId}.json`)
    await ( fs.mkdir(input.stateDir, { recursive: true }))
    const memory: SessionMemory = input.resume
      ? await (
          fs.readFile(memoryFile, "utf8").then(
            (text) => JSON.parse(text) as SessionMemory,
            () => ({ turns: 0, claimed: [], reviewRounds: 0 })
          )
        )
      : { turns: 0, claimed: [], reviewRounds: 0 }

    const claimLines = [...input.prompt.matchAll(CLAIMED)]
    const newlyClaimed = claimLines.map((match) => match[1]!)
    const summaries = new Map(claimLines.map((match) => [match[1]!, match[2] ?? match[1]!]))
    const claimed = [...memory.claimed, ...newlyClaimed.filter((id) => !memory.claimed.includes(id))]
    const save = (patch: Partial<SessionMemory>) =>
      (
        fs.writeFile(memoryFile, JSON.stringify({ turns: memory.turns + 1, claimed, reviewRounds: memory.reviewRounds, ...patch }))
      )
    const usage = { inputTokens: input.prompt.length, outputTokens: 0, cachedInputTokens: 0 }
    const output = (text: string, step: MockStep = {}): MockTurnOutput => ({
      sessionId,
      text,
      exitCode: step.exit ?? 0,
      hang: step.hang ?? false,
      noiseBytes: step.noiseBytes ?? 0,
      costUsd: step.costUsd === undefined ? 0.001 : step.costUsd,
      usage: { ...usage, outputTokens: text.length }
    })

    if (input.mode === "review") {
      // Each review is a fresh session: the round comes from the framework's prompt.
      const round = Number(/## Review round (\d+)/.exec(input.prompt)?.[1] ?? memory.reviewRounds + 1)
      const verdicts = lookup(input.scenario.reviews, worker, cycle) ?? []
      const verdict = verdicts[Math.min(round, verdicts.length) - 1] ?? "APPROVED"
      await save({ reviewRounds: round })
      if (verdict === "FAIL") return { ...output("reviewer crashed"), exitCode: 1 }
      if (verdict === "NONE") return output("Looks fine to me, I think. NOT APPROVED yet though.")
      const feedback = verdict === "NEEDS_CHANGES" ? "Please add a short note on how this was checked.\n" : ""
      return output(`Reviewed the change for ${worker}.\n${feedback}VERDICT: ${verdict}`)
    }

    const steps = lookup(input.scenario.turns, worker, cycle) ?? []
    const step: MockStep = steps[memory.turns] ?? { auto: true }
    if (step.fail !== undefined) {
      await save({})
      const text = step.fail.message ?? `mock: scripted ${step.fail.class} failure`
      return { ...output(text, step), exitCode: step.exit ?? 1, failure: step.fail }
    }
    if (step.delayMs) {
      input.onStep?.({ name: "Think", detail: `for ${step.delayMs} ms` })
      await new Promise((resolve) => setTimeout(resolve, step.delayMs))
    }
    const task = claimed[claimed.length - 1] ?? "none"
    for (const [file, content] of Object.entries(step.write ?? {})) {
      const target = path.join(input.cwd, render(file, worker, task))
      input.onStep?.({ name: "Write", detail: render(file, worker, task) })
      await ( fs.mkdir(path.dirname(target), { recursive: true }).then(() => fs.writeFile(target, render(content, worker, task))))
    }
    for (const [file, content] of Object.entries(step.append ?? {})) {
      const target = path.join(input.cwd, render(file, worker, task))
      await ( fs.mkdir(path.dirname(target), { recursive: true }).then(() => fs.appendFile(target, render(content, worker, task) + "\n")))
    }
    for (const command of step.run ?? []) {
      input.onStep?.({ name: "Bash", detail: render(command, worker, task) })
      const result = await sh(render(command, worker, task), input.cwd, input.env)
      if (result.code !== 0) {
        await save({})
        return { ...output(`command failed: ${command}\n${result.out}`), exitCode: result.code }
      }
    }
    const autoText =
      step.auto || step.say === undefined ? await autoBehaviour(input, worker, claimed, newlyClaimed, summaries) : ""
    await save({})
    return output(step.say ?? autoText, step)
}

/** The diligent agent: what a good agent does with each kind of prompt. */
const autoBehaviour = async (
  input: MockTurnInput,
  worker: string,
  claimed: ReadonlyArray<string>,
  newlyClaimed: ReadonlyArray<string>,
  summaries: ReadonlyMap<string, string>
): Promise<string> => {
    const prompt = input.prompt
    if (prompt.includes("## Merge conflict")) {
      const unmerged = await sh("git diff --name-only --diff-filter=U", input.cwd)
      for (const file of unmerged.out.split("\n").filter((line) => line.trim().length > 0)) {
        const target = path.join(input.cwd, file)
        const text = await ( fs.readFile(target, "utf8"))
        // Keep both sides: drop only the marker lines.
        const resolved = text
          .split("\n")
          .filter((line) => !/^(<<<<<<<|=======|>>>>>>>)( |$)/.test(line))
          .join("\n")
        await ( fs.writeFile(target, resolved))
      }
      await sh("git add -A && git commit --no-edit -q", input.cwd)
      return `Resolved the merge conflict by keeping both sides.\n${MERGE_SIGNAL}`
    }
    if (prompt.includes("## Review feedback") || prompt.includes("## Test failure")) {
      for (const id of claimed) {
        await ( fs.appendFile(path.join(input.cwd, "work", `${id}.md`), `\nChecked by reading it twice (${worker}).\n`))
      }
      return `Addressed the feedback.\n${MERGE_SIGNAL}`
    }
    const doable = newlyClaimed.length > 0 ? newlyClaimed : prompt.includes("## Claim results") ? [] : claimed
    if (doable.length > 0) {
      await ( fs.mkdir(path.join(input.cwd, "work"), { recursive: true }))
      for (const id of doable) {
        input.onStep?.({ name: "Write", detail: `work/${id}.md` })
        await ( fs.writeFile(path.join(input.cwd, "work", `${id}.md`), `# ${id}\n\n${summaries.get(id) ?? id}: done by ${worker}.\n`))
      }
      return `Finished ${doable.join(", ")}.\n${MERGE_SIGNAL}`
    }
    const next = availableIds(prompt).find((id) => !claimed.includes(id))
    if (next !== undefined) return `I will take ${next}.\nCLAIM(${next})`
    return `Nothing is left for me to do.\n${DONE_SIGNAL}\n${MERGE_SIGNAL}`
}
