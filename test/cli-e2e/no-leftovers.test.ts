/**
 * No process outlives its turn, on the real CLIs (SPEC §8 "Processes"). The
 * fake model server makes each CLI's shell tool run `sleep 200`; all of them run
 * tool commands in a session of their own (claude, gemini, opencode and kilo with
 * setsid, codex in a pty, pi's and copilot's bash tools detached, qwen's
 * run_shell_command in a session of its own), out of reach of a signal to the
 * CLI's process group.
 * Then:
 *
 *   (i)  the turn times out while the sleep runs → oompa exits, and
 *   (ii) SIGINT to `oompa swarm` while the sleep runs → oompa exits 130,
 *   (iii) the sleep keeps the turn silent past `stall_timeout` → the turn ends
 *        stalled, the resumed turn (the nudge) signals ready, the work merges,
 *
 * and in both cases no process carrying an OOMPA_TURN marker of that swarm,
 * and no `sleep 200` started in the test's folder, is left.
 */
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { CycleFile } from "../../src/domain/RunFiles.js"
import * as FakeModelServer from "../fake-model-server/server.js"
import { CLIS, type CliName, cliBinDir, cliEnv, git, initProject, MODEL, repoRoot, requireSetup, tempDir } from "./support.js"

const SLEEP = "sleep 200"

const workerScript: FakeModelServer.Script = {
  name: "worker",
  match: "\\[oompa:[0-9a-f]+:w\\d+\\]",
  rules: [
    // Should the CLI give up on the command and report back: hold the next answer past any timeout here.
    { afterToolResult: true, step: { text: "Still waiting.", delayMs: 600_000 } }
  ],
  // Not a bare `sleep 200`: claude's Bash tool refuses a standalone sleep ("Blocked: standalone sleep 200").
  // waitMs: the tool's own wait argument, where it has one (codex's exec_command returns after
  // yield_time_ms, default 10 s, capped at 30 s, leaving the command running in the background).
  fallback: { shell: `echo holding && ${SLEEP}`, waitMs: 300_000 }
}

/**
 * For the stall case: the worker claims the task, commits its work and then
 * runs `sleep 200` (silent); after oompa ended the stalled turn, the nudge gets
 * the ready signal.
 */
const stallScript: FakeModelServer.Script = {
  name: "worker",
  match: "\\[oompa:[0-9a-f]+:w\\d+\\]",
  rules: [
    { lastUser: "^## Nudge: you went silent", step: { text: "The work is committed.\nCOMPLETE_AND_READY_FOR_MERGE" } },
    { afterToolResult: true, step: { text: "Still waiting.", delayMs: 600_000 } },
    {
      lastUser: "^- task-01: claimed",
      step: {
        shell: `mkdir -p out && echo stalled-once > out/task-01.txt && git add out && git commit -qm "task-01: out/task-01.txt" && echo holding && ${SLEEP}`,
        waitMs: 300_000
      }
    },
    { lastUser: "^Available tasks:", step: { text: "CLAIM(task-01)" } }
  ],
  fallback: { text: "Nothing left.\n__DONE__" }
}

/** Silence (s) before a turn counts as stalled: past each CLI's quiet start-up, short of codex's 30 s cap on a tool's wait. */
const STALL_TIMEOUT = 20

interface Proc {
  readonly pid: number
  readonly cmdline: string
  readonly cwd: string
  readonly marker: string | undefined
  readonly ppid: number
  readonly pgid: number
  readonly sid: number
}

/** state, ppid, pgrp, session of /proc/<pid>/stat. */
const statOf = (pid: number): ReadonlyArray<string> => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")
}

const alive = (pid: number): boolean => {
  try {
    const state = statOf(pid)[0]
    return state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

/** Every live process this user can read: command line, cwd, OOMPA_TURN. */
const processes = (): ReadonlyArray<Proc> => {
  const out: Array<Proc> = []
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((s) => s.length > 0).join(" ")
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`)
      const marker = fs
        .readFileSync(`/proc/${pid}/environ`, "utf8")
        .split("\0")
        .find((e) => e.startsWith("OOMPA_TURN="))
        ?.slice("OOMPA_TURN=".length)
      const [state, ppid, pgid, sid] = statOf(pid)
      if (state !== "Z" && state !== "X") out.push({ pid, cmdline, cwd, marker, ppid: Number(ppid), pgid: Number(pgid), sid: Number(sid) })
    } catch {
      // gone, or another user's
    }
  }
  return out
}

/** What the swarm (or anything started in `tmp`) left running. */
const leftovers = (tmp: string, swarm: string | undefined) =>
  processes().filter(
    (p) => (swarm !== undefined && p.marker?.startsWith(`${swarm}/`) === true) || (p.cmdline === SLEEP && p.cwd.startsWith(tmp))
  )

const waitFor = async <A>(what: string, probe: () => A | undefined, ms: number): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * The turn timeout (s) for (i): long enough for the CLI to start and call its
 * tool; for codex shorter than its 30 s cap on yield_time_ms, so the call is still waiting;
 * for kilo the longest (~15 s of CPU per run on the shared test machine).
 */
const TURN_TIMEOUT: Readonly<Partial<Record<CliName, number>>> = { claude: 30, codex: 20, gemini: 30, opencode: 45, pi: 30, copilot: 30, qwen: 30, kilo: 60 }

const setup = (cli: CliName, timeout: number, script = workerScript, worker: Record<string, unknown> = { max_cycle: 1 }) =>
  Effect.gen(function* () {
    const server = yield* FakeModelServer.make({ scripts: [script] })
    const tmp = fs.realpathSync(yield* tempDir(`oompa-leftovers-${cli}-`))
    const project = path.join(tmp, "project")
    yield* initProject(project, [{ id: "task-01", summary: "Wait" }])
    const config = path.join(tmp, "oompa.json")
    fs.writeFileSync(
      config,
      JSON.stringify({ workers: [{ model: `${cli}:${MODEL[cli]}`, ...worker, timeout }], max_consecutive_errors: 1 }, null, 2)
    )
    const env = { ...process.env, ...cliEnv(cli, server, path.join(tmp, "home")), PATH: `${cliBinDir}:${process.env.PATH ?? ""}` }
    return { tmp, project, config, env, server }
  })

/** Starts `oompa swarm`; resolves its exit code and output. Killed (SIGKILL) when the scope closes. */
const startSwarm = (project: string, config: string, env: NodeJS.ProcessEnv) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, [path.join(repoRoot, "dist", "bin.js"), "swarm", "--config", config], {
        cwd: project,
        env,
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout.on("data", (chunk) => (output += chunk))
      child.stderr.on("data", (chunk) => (output += chunk))
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
      return { child, exited, output: () => output }
    }),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

/** The ends of the swarm's turn logs, for a failure message. */
const turnLogs = (project: string): string => {
  const runs = path.join(project, ".oompa", "runs")
  const out: Array<string> = []
  for (const swarm of fs.existsSync(runs) ? fs.readdirSync(runs) : []) {
    const logs = path.join(runs, swarm, "logs")
    for (const name of fs.existsSync(logs) ? fs.readdirSync(logs) : []) {
      out.push(`--- ${name}\n${fs.readFileSync(path.join(logs, name), "utf8").slice(-3000)}`)
    }
  }
  return out.join("\n")
}

/** The swarm's sleep 200, once its shell tool runs it. */
const awaitMarkedSleep = (tmp: string, project: string, ms: number, output: () => string) =>
  Effect.promise(() =>
    waitFor(
      "the shell tool's sleep 200 with an OOMPA_TURN marker",
      () => processes().find((p) => p.cmdline === SLEEP && p.cwd.startsWith(tmp) && p.marker !== undefined),
      ms
    ).catch((error) => Promise.reject(new Error(`${error.message}\n${output()}\n${turnLogs(project)}`)))
  )

/**
 * The shell tool was still running the sleep when the turn ended: the CLI
 * never sent the model a tool result (it did not give up on the command).
 */
const expectToolHeld = (server: FakeModelServer.FakeModelServer) =>
  Effect.gen(function* () {
    const requests = yield* server.requests
    const worker = requests.filter((r) => r.script === "worker")
    expect(worker.filter((r) => r.reply?.tool !== undefined).length).toBeGreaterThanOrEqual(1)
    expect(worker.filter((r) => r.conversation?.lastIsToolResult === true).map((r) => r.conversation?.toolResults.at(-1))).toEqual([])
  })

/** Kills whatever a failing test left (so a failure leaks nothing). */
const reap = (tmp: string, swarm: () => string | undefined) =>
  Effect.addFinalizer(() =>
    Effect.sync(() => {
      for (const p of leftovers(tmp, swarm())) {
        try {
          process.kill(p.pid, "SIGKILL")
        } catch {
          // gone
        }
      }
    })
  )

describe("no process outlives its turn, on the real CLIs", () => {
  beforeAll(() => requireSetup({ dist: true }))
  for (const [cli, turnTimeout] of CLIS.flatMap((c) => (TURN_TIMEOUT[c] !== undefined ? [[c, TURN_TIMEOUT[c]] as const] : []))) {
    it.scopedLive(
      `${cli}: a turn timeout while the shell tool runs sleep 200 leaves nothing running`,
      () =>
        Effect.gen(function* () {
          const { tmp, project, config, env, server } = yield* setup(cli, turnTimeout)
          let swarm: string | undefined
          yield* reap(tmp, () => swarm)
          const run = yield* startSwarm(project, config, env)
          const sleep = yield* awaitMarkedSleep(tmp, project, turnTimeout * 1000, run.output)
          swarm = sleep.marker!.split("/")[0]
          expect(sleep.marker).toBe(`${swarm}/w0-c1-t1`)
          const code = yield* Effect.promise(() => run.exited)
          expect(run.output()).toContain("timed out")
          expect(code, run.output()).toBe(1)
          expect(alive(sleep.pid)).toBe(false)
          expect(leftovers(tmp, swarm)).toEqual([])
          yield* expectToolHeld(server)
        }).pipe(Effect.provide(NodeContext.layer)),
      180_000
    )

    it.scopedLive(
      `${cli}: SIGINT to oompa swarm while the shell tool runs sleep 200: exit 130, nothing left running`,
      () =>
        Effect.gen(function* () {
          const { tmp, project, config, env, server } = yield* setup(cli, 600)
          let swarm: string | undefined
          yield* reap(tmp, () => swarm)
          const run = yield* startSwarm(project, config, env)
          const sleep = yield* awaitMarkedSleep(tmp, project, 90_000, run.output)
          swarm = sleep.marker!.split("/")[0]
          // The CLI is the marked child of oompa; ProcessRunner made it a group leader.
          const leader = processes().find((p) => p.ppid === run.child.pid && p.marker === sleep.marker)
          expect(leader?.pgid).toBe(leader?.pid)
          console.log(`${cli}: the shell tool's sleep: pgid ${sleep.pgid}, session ${sleep.sid}; the CLI's group ${leader?.pgid}`)
          // Measured: all four run tool commands in a session of their own, out of the CLI's group
          // (claude, gemini and opencode with setsid, codex in a pty). claude and codex end them
          // themselves on SIGTERM; gemini and opencode do not, and nothing does after a SIGKILL.
          expect(sleep.sid).not.toBe(leader?.pgid)
          expect(sleep.pgid).not.toBe(leader?.pgid)
          run.child.kill("SIGINT")
          const code = yield* Effect.promise(() => run.exited)
          expect(code, run.output()).toBe(130)
          expect(alive(sleep.pid)).toBe(false)
          expect(leftovers(tmp, swarm)).toEqual([])
          yield* expectToolHeld(server)
        }).pipe(Effect.provide(NodeContext.layer)),
      180_000
    )

    it.scopedLive(
      `${cli}: a turn silent past stall_timeout (its shell tool in sleep 200) ends stalled with its tree, the nudge lands the work`,
      () =>
        Effect.gen(function* () {
          const { tmp, project, config, env } = yield* setup(cli, 600, stallScript, { max_cycle: 2, max_wait_for_tasks: 5, stall_timeout: STALL_TIMEOUT })
          let swarm: string | undefined
          yield* reap(tmp, () => swarm)
          const run = yield* startSwarm(project, config, env)
          const sleep = yield* awaitMarkedSleep(tmp, project, 90_000, run.output)
          swarm = sleep.marker!.split("/")[0]
          const code = yield* Effect.promise(() => run.exited)
          const cycle = JSON.parse(fs.readFileSync(path.join(project, ".oompa", "runs", swarm!, "cycles", "w0-c1.json"), "utf8")) as CycleFile
          const why = `${run.output()}\n${JSON.stringify(cycle.turns, null, 1)}`
          expect(code, why).toBe(0)
          expect(alive(sleep.pid)).toBe(false)
          expect(leftovers(tmp, swarm)).toEqual([])
          expect(cycle.outcome, why).toBe("merged")
          const stalled = cycle.turns.filter((t) => t.stalled === true)
          expect(stalled.map((t) => [t.timedOut, t.silenceMs]), why).toEqual([[false, STALL_TIMEOUT * 1000]])
          expect(cycle.turns[cycle.turns.indexOf(stalled[0]!) + 1]?.kind, why).toBe("stall-nudge")
          expect(yield* git(project, "show", "main:out/task-01.txt")).toBe("stalled-once")
          expect(fs.readdirSync(path.join(project, "tasks", "complete"))).toEqual(["task-01.json"])
        }).pipe(Effect.provide(NodeContext.layer)),
      240_000
    )
  }
})
