/**
 * Test helper: a temp git project ready for a swarm — oompa.json, tasks in
 * pending/, an optional mock scenario — and the layers an engine test needs
 * (real git, real files, the in-process mock agent unless a harness is given).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { loadConfig } from "../../src/config/loadConfig.js"
import { SwarmMergedNothing } from "../../src/engine/swarm.js"
import { runFileSchemas } from "../../src/domain/RunFiles.js"
import { RunEvent } from "../../src/domain/RunEvent.js"
import { Harnesses, type Harness } from "../../src/harness/Harness.js"
import { makeInProcessMockHarness } from "../../src/harness/mock.js"
import { GitLive } from "../../src/services/Git.js"
import { MergeLockLive } from "../../src/services/MergeLock.js"
import { ProcessRunnerLive } from "../../src/services/ProcessRunner.js"
import type { GitRepo } from "./gitRepo.js"
import { builtinHarnessNames } from "../../src/harness/registry.js"

export interface ProjectSpec {
  readonly config: Record<string, unknown>
  readonly tasks?: ReadonlyArray<Record<string, unknown>>
  readonly scenario?: Record<string, unknown>
}

/** Writes oompa.json, tasks/pending/*.json and scenario.json into the repo; returns the loaded config. */
export const setupProject = (repo: GitRepo, spec: ProjectSpec) =>
  Effect.gen(function* () {
    if (spec.scenario) yield* repo.write("scenario.json", JSON.stringify(spec.scenario, null, 2))
    yield* repo.write("oompa.json", JSON.stringify(spec.config, null, 2))
    for (const dir of ["pending", "current", "complete"]) fs.mkdirSync(path.join(repo.path, "tasks", dir), { recursive: true })
    for (const task of spec.tasks ?? []) {
      yield* repo.write(`tasks/pending/${String(task["id"])}.json`, JSON.stringify(task, null, 2))
    }
    return yield* loadConfig({ cwd: repo.path, harnesses: builtinHarnessNames }).pipe(Effect.orDie)
  })

export const makeTasks = (count: number): ReadonlyArray<Record<string, unknown>> =>
  Array.from({ length: count }, (_, i) => ({
    id: `task-${String(i + 1).padStart(2, "0")}`,
    summary: `Write note number ${i + 1}`
  }))

/** Layers for engine tests: real git and files; harness = in-process mock (or the one given). */
export const engineTestLayer = (options: { readonly baseDir: string; readonly harness?: Harness }) => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-mock-state-"))
  const harness = options.harness ?? makeInProcessMockHarness({ baseDir: options.baseDir, stateDir })
  return Layer.mergeAll(
    GitLive,
    MergeLockLive.pipe(Layer.provide(GitLive)),
    ProcessRunnerLive,
    Layer.succeed(Harnesses, { names: builtinHarnessNames, get: () => harness })
  ).pipe(Layer.provideMerge(NodeContext.layer))
}

export const inProcessMock = (baseDir: string): Harness =>
  makeInProcessMockHarness({ baseDir, stateDir: fs.mkdtempSync(path.join(os.tmpdir(), "oompa-mock-state-")) })

/** Reads the task files of one queue folder: id → parsed JSON. */
export const readTasks = (repoPath: string, state: "pending" | "current" | "complete" | "invalid") => {
  const dir = path.join(repoPath, "tasks", state)
  const out: Record<string, Record<string, unknown>> = {}
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (!name.endsWith(".json")) continue
    out[name.replace(/\.json$/, "")] = JSON.parse(fs.readFileSync(path.join(dir, name), "utf8"))
  }
  return out
}

/** Decodes every run file of a swarm against its Schema; throws with the file name on the first mismatch. */
export const validateRunFiles = (runDir: string) => {
  const check = (schema: Schema.Schema<any, any>, file: string, value: unknown) => {
    const result = Schema.decodeUnknownEither(schema, { onExcessProperty: "error" })(value)
    if (result._tag === "Left") throw new Error(`${file}: ${result.left.message}`)
  }
  const read = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"))
  check(runFileSchemas.started, "started.json", read(path.join(runDir, "started.json")))
  check(runFileSchemas.stopped, "stopped.json", read(path.join(runDir, "stopped.json")))
  const events = fs.readFileSync(path.join(runDir, "events.jsonl"), "utf8").trim().split("\n")
  // Each line as every version reads it, and as the typed event this version writes.
  events.forEach((line, i) => check(runFileSchemas.event, `events.jsonl:${i + 1}`, JSON.parse(line)))
  events.forEach((line, i) => check(RunEvent, `events.jsonl:${i + 1}`, JSON.parse(line)))
  const cycles = fs.readdirSync(path.join(runDir, "cycles"))
  for (const name of cycles) check(runFileSchemas.cycle, `cycles/${name}`, read(path.join(runDir, "cycles", name)))
  const reviews = fs.readdirSync(path.join(runDir, "reviews"))
  for (const name of reviews) check(runFileSchemas.review, `reviews/${name}`, read(path.join(runDir, "reviews", name)))
  return { events: events.length, cycles: cycles.map((name) => read(path.join(runDir, "cycles", name))), reviews: reviews.length }
}

/**
 * A swarm that ran, failed its cycles and merged nothing ends with SwarmMergedNothing (exit 1):
 * this expects exactly that and gives the run (swarm, runDir, workers) for the test to inspect.
 */
export const expectMergedNothing = <R>(swarm: Effect.Effect<unknown, unknown, R>) =>
  swarm.pipe(
    Effect.flatMap(() => Effect.die(new Error("expected the swarm to fail with SwarmMergedNothing, it succeeded"))),
    Effect.catchIf(
      (error): error is SwarmMergedNothing => error instanceof SwarmMergedNothing,
      (error) => Effect.succeed(error)
    )
  )
