import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { ensureBuilt, repoRoot } from "../support/runCli.js"

const claimer = path.join(repoRoot, "test", "fixtures", "taskQueue", "claimer.mjs")

interface Racer {
  readonly ready: Promise<void>
  readonly go: () => void
  readonly done: Promise<{ readonly won: ReadonlyArray<string>; readonly other: ReadonlyArray<unknown> }>
}

/** Starts a claimer process; it claims `ids` when `go` is called. Killed if the test ends early. */
const startRacer = (tasksDir: string, owner: string, ids: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync((): Racer & { readonly kill: () => void } => {
      const child = spawn(process.execPath, [claimer, tasksDir, owner, ...ids], { stdio: ["pipe", "pipe", "pipe"] })
      let out = ""
      let err = ""
      let readyResolve: () => void = () => {}
      const ready = new Promise<void>((resolve) => (readyResolve = resolve))
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8")
        if (out.startsWith("ready\n")) readyResolve()
      })
      child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")))
      const done = new Promise<{ won: ReadonlyArray<string>; other: ReadonlyArray<unknown> }>((resolve, reject) =>
        child.on("close", (code) => {
          const last = out.trim().split("\n").at(-1) ?? ""
          if (code === 0 && last.startsWith("{")) resolve(JSON.parse(last) as { won: Array<string>; other: Array<unknown> })
          else reject(new Error(`claimer ${owner} exited ${String(code)}: ${out}\n${err}`))
        })
      )
      return { ready, go: () => child.stdin.end("go\n"), done, kill: () => child.kill("SIGKILL") }
    }),
    (racer) => Effect.sync(() => racer.kill())
  )

describe("TaskQueue across processes", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it.scoped("8 processes racing over 20 tasks: every task claimed exactly once", () =>
    Effect.gen(function* () {
      const root = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "oompa-tqp-"))),
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
      )
      const tasksDir = path.join(root, "tasks")
      for (const state of ["pending", "current", "complete", "invalid"]) fs.mkdirSync(path.join(tasksDir, state), { recursive: true })
      const ids = Array.from({ length: 20 }, (_, i) => `t${String(i).padStart(2, "0")}`)
      for (const id of ids) fs.writeFileSync(path.join(tasksDir, "pending", `${id}.json`), JSON.stringify({ id }))

      const racers = yield* Effect.forEach(Array.from({ length: 8 }, (_, i) => i), (i) =>
        startRacer(tasksDir, `p${i}`, [...ids.slice((i * 5) % 20), ...ids.slice(0, (i * 5) % 20)])
      )
      // Everyone loaded and waiting, then all start at once.
      yield* Effect.promise(() => Promise.all(racers.map((r) => r.ready)))
      for (const racer of racers) racer.go()
      const results = yield* Effect.promise(() => Promise.all(racers.map((r) => r.done)))

      const wins = results.flatMap((r, i) => r.won.map((id) => ({ id, owner: `p${i}` })))
      expect(wins.map((w) => w.id).sort()).toEqual(ids)
      expect(results.flatMap((r) => r.other)).toEqual([])
      expect(fs.readdirSync(path.join(tasksDir, "pending"))).toEqual([])
      expect(fs.readdirSync(path.join(tasksDir, "current")).sort()).toEqual(ids.map((id) => `${id}.json`))
      for (const { id, owner } of wins) {
        const stamped = JSON.parse(fs.readFileSync(path.join(tasksDir, "current", `${id}.json`), "utf8")) as Record<string, unknown>
        expect(stamped.claimed_by).toBe(owner)
      }
    }),
    120_000
  )
})
