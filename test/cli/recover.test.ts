/**
 * A dead run leaves nothing running (SPEC §8 "Processes"): the built binary,
 * mock agents as real processes whose turn starts `setsid sleep 300` (out of
 * the agent's process group, as claude, gemini and opencode run tool
 * commands). One swarm is killed with SIGKILL mid-turn, another stays alive;
 * `oompa cleanup` ends the dead run's processes — found by its turn-marker
 * prefix — before it keeps the work, and leaves the live run's alone.
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { git, listDir, makeProject } from "../support/cliProject.js"
import { binPath, ensureBuilt, runCli } from "../support/runCli.js"

interface Marked {
  readonly pid: number
  readonly marker: string
  readonly comm: string
}

const alive = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]
    return state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

/** Live processes with an OOMPA_TURN marker whose working directory is inside `dir`. */
const markedIn = (dir: string): ReadonlyArray<Marked> => {
  const found: Array<Marked> = []
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    try {
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`)
      if (!cwd.startsWith(dir + "/")) continue
      const marker = fs
        .readFileSync(`/proc/${pid}/environ`, "utf8")
        .split("\0")
        .find((e) => e.startsWith("OOMPA_TURN="))
      if (marker === undefined || !alive(pid)) continue
      found.push({ pid, marker: marker.slice("OOMPA_TURN=".length), comm: fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() })
    } catch {
      // gone, or not ours
    }
  }
  return found
}

const swarmOf = (m: Marked) => m.marker.split("/")[0]!

/** Polls `probe` until it returns a value (deadline 60 s). */
const waitFor = async <A>(what: string, probe: () => A | undefined): Promise<A> => {
  const deadline = Date.now() + 60_000
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const startSwarm = (dir: string): { child: ChildProcess; exited: Promise<number | null> } => {
  const child = spawn(process.execPath, [binPath, "swarm"], { cwd: dir, stdio: ["ignore", "ignore", "ignore"] })
  return { child, exited: new Promise((resolve) => child.on("exit", (code) => resolve(code))) }
}

describe("recovery ends a dead run's agent processes (built binary)", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it("kill -9 mid-turn, then oompa cleanup: the dead run's setsid'd sleep and agent are gone, work kept, claim back; a live run's processes untouched", async () => {
    const scenario = {
      turns: {
        // Turn 1 claims; turn 2 writes work, starts a sleep in a new session, and never ends.
        w0: [{ auto: true }, { write: { "wip.txt": "half done\n" }, run: ["setsid sleep 300 >/dev/null 2>&1 </dev/null &"], hang: true }]
      }
    }
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 1 }] }, 2, scenario)
    const worktrees = path.join(dir, ".oompa", "worktrees")
    const sleepOf = (swarm: string | undefined) => () =>
      markedIn(worktrees).find((m) => m.comm === "sleep" && (swarm === undefined ? true : swarmOf(m) !== swarm))
    const leftovers: Array<ChildProcess> = []
    try {
      const a = startSwarm(dir)
      leftovers.push(a.child)
      const swarmA = swarmOf(await waitFor("swarm A's marked sleep", sleepOf(undefined)))
      const b = startSwarm(dir)
      leftovers.push(b.child)
      const swarmB = swarmOf(await waitFor("swarm B's marked sleep", sleepOf(swarmA)))
      // The mock agent (node) and its sleep, each side; the sleep is in a session of its own.
      // The shell that started the sleep in the background exits just after it: until it has,
      // it is one more marked process (seen under load), so the set is read once it has settled.
      const settledOf = (swarm: string) => () => {
        const marked = markedIn(worktrees).filter((m) => swarmOf(m) === swarm)
        return marked.some((m) => m.comm === "sh") ? undefined : marked
      }
      const ofA = await waitFor("swarm A's shell to exit", settledOf(swarmA))
      const ofB = await waitFor("swarm B's shell to exit", settledOf(swarmB))
      expect(ofA.map((m) => m.comm).sort()).toEqual(["node", "sleep"])
      expect(ofB.map((m) => m.comm).sort()).toEqual(["node", "sleep"])
      expect(ofA.every((m) => m.marker === `${swarmA}/w0-c1-t2`)).toBe(true)

      a.child.kill("SIGKILL")
      expect(await a.exited).toBeNull()
      // A kill -9 leaves its agents running.
      expect(ofA.filter((m) => alive(m.pid))).toHaveLength(2)

      const cleanup = await runCli(["cleanup"], { cwd: dir, timeoutMs: 60_000 })
      expect(cleanup.code, cleanup.stderr).toBe(0)
      expect(cleanup.stdout).toContain(`left alone: swarm ${swarmB} is running`)
      expect(cleanup.stdout).toContain(`recovered crashed run ${swarmA}`)
      // The dead run's processes are gone; the live run's are not.
      expect(ofA.filter((m) => alive(m.pid))).toEqual([])
      expect(ofB.filter((m) => alive(m.pid))).toEqual(ofB)
      // Its worktree removed, its work kept, its claim back in pending; B keeps its own.
      expect(listDir(worktrees)).toEqual([`${swarmB}-w0-c1`])
      expect(git(dir, "show", `refs/oompa/kept/${swarmA}/w0-c1:wip.txt`)).toBe("half done")
      const stopped = JSON.parse(fs.readFileSync(path.join(dir, ".oompa", "runs", swarmA, "stopped.json"), "utf8"))
      expect(stopped.reason).toBe("error")
      expect(listDir(path.join(dir, "tasks", "pending"))).toHaveLength(1)
      // The claim carries the crashed attempt, so the next cycle continues from the kept work.
      const [putBack] = listDir(path.join(dir, "tasks", "pending"))
      const attempts = JSON.parse(fs.readFileSync(path.join(dir, "tasks", "pending", putBack!), "utf8")).attempts
      expect(attempts).toMatchObject([
        { worker: "w0", swarm: swarmA, cycle: "w0-c1", outcome: "crashed", kept_ref: `refs/oompa/kept/${swarmA}/w0-c1` }
      ])
      expect(listDir(path.join(dir, "tasks", "current"))).toHaveLength(1)
      const current = JSON.parse(fs.readFileSync(path.join(dir, "tasks", "current", listDir(path.join(dir, "tasks", "current"))[0]!), "utf8"))
      expect(current.claimed_by).toBe(`w0@${swarmB}`)

      // The live run, interrupted, ends its own processes — the setsid'd sleep included.
      b.child.kill("SIGINT")
      expect(await b.exited).toBe(130)
      expect(ofB.filter((m) => alive(m.pid))).toEqual([])
      expect(listDir(worktrees)).toEqual([])
      expect(listDir(path.join(dir, "tasks", "pending"))).toHaveLength(2)
    } finally {
      for (const child of leftovers) child.kill("SIGKILL")
      for (const m of markedIn(worktrees)) {
        try {
          process.kill(m.pid, "SIGKILL")
        } catch {
          // gone
        }
      }
    }
  }, 180_000)
})
