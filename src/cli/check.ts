/**
 * `oompa check [--config F] [--probe]` (SPEC §10): validate the config exactly
 * as `swarm` would (loadConfig, then validateSwarmStart: exit 2 on a bad one), then list each agent CLI harness:
 * installed or not, where (PATH lookup, no shell) and its `--version`. With no
 * config found, all harnesses are still listed. `--probe` sends every
 * configured model a tiny prompt (30 s limit, read-only mode, in a scratch
 * folder) and prints a table; a failing probe names harness, model and the
 * CLI's error, and the command exits 1. `--json` prints the same facts as one
 * document (domain/JsonOutput.ts CheckJson), also when a check fails.
 */
import { FileSystem, Path } from "@effect/platform"
import { Console, Duration, Effect, Either, Option, Schema } from "effect"
import { discoverConfig } from "../config/loadConfig.js"
import { loadSwarmConfig } from "../engine/loadConfig.js"
import type { OompaConfig } from "../config/OompaConfig.js"
import { formatModel, type ModelSpec } from "../domain/Model.js"
import { validateSwarmStart } from "../engine/setup.js"
import { resolveBinary } from "../harness/cliAdapter.js"
import { Harnesses, turnFailed } from "../harness/Harness.js"
import { cliSpecs, isCliHarness } from "../harness/registry.js"
import { ProcessRunner } from "../services/ProcessRunner.js"
import { humanDuration } from "../domain/humanDuration.js"
import { CheckJson, type ConfigCheckJson, type HarnessCheckJson, type ProbeJson } from "../domain/JsonOutput.js"
import { errorText } from "./exitCode.js"
import { printJson } from "./json.js"

export class ProbeFailed extends Schema.TaggedError<ProbeFailed>()("ProbeFailed", {
  failed: Schema.Number,
  total: Schema.Number
}) {
  get exitCode() {
    return 1
  }
  override toString() {
    return `${this.failed} of ${this.total} probe${this.total === 1 ? "" : "s"} failed`
  }
}


const versionTimeout = Duration.seconds(15)
const probeTimeout = Duration.seconds(30)
export const probePrompt = "This is a connectivity check. Reply with exactly one word: pong"

/** Every model the config uses, with who uses it, in config order, without repeats. */
export const configuredModels = (config: OompaConfig): ReadonlyArray<{ readonly model: ModelSpec; readonly users: ReadonlyArray<string> }> => {
  const byKey = new Map<string, { model: ModelSpec; users: Array<string> }>()
  const add = (model: ModelSpec, user: string) => {
    const key = formatModel(model)
    const entry = byKey.get(key)
    if (entry === undefined) byKey.set(key, { model, users: [user] })
    else if (!entry.users.includes(user)) entry.users.push(user)
  }
  for (const worker of config.workers) {
    add(worker.model, worker.id)
    worker.reviewers.forEach((reviewer, index) => add(reviewer.model, `${worker.id}.reviewer${worker.reviewers.length > 1 ? `[${index}]` : ""}`))
  }
  config.reviewers.forEach((reviewer, index) => add(reviewer.model, `reviewer${config.reviewers.length > 1 ? `[${index}]` : ""}`))
  if (config.planner !== undefined) add(config.planner.model, "planner")
  return [...byKey.values()]
}

/** Lays rows out in columns (the last column is not padded). */
export const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths: Array<number> = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd()
    )
    .join("\n")
}

const firstLine = (text: string, max: number): string => {
  const line = text.trim().split("\n").find((l) => l.trim().length > 0)?.trim() ?? ""
  return line.length > max ? line.slice(0, max - 1) + "…" : line
}

/** What `--version` told: its first line, or why there is none. */
interface VersionFound {
  readonly version?: string
  readonly error?: string
}

/** `<binary> --version`, with a timeout, through ProcessRunner (no shell, group killed on timeout). */
const versionOf = (binary: string, scratch: string, name: string): Effect.Effect<VersionFound, never, ProcessRunner | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const runner = yield* ProcessRunner
    const fs = yield* FileSystem.FileSystem
    const stdoutPath = `${scratch}/${name}.version.log`
    const stderrPath = `${scratch}/${name}.version.stderr.log`
    const run = yield* runner.run({
      command: binary,
      args: ["--version"],
      cwd: scratch,
      stdoutPath,
      stderrPath,
      timeout: versionTimeout,
      killGrace: Duration.seconds(1)
    })
    if (run.timedOut) return { error: `--version timed out after ${humanDuration(versionTimeout)}` }
    const out = yield* fs.readFileString(stdoutPath).pipe(Effect.orElseSucceed(() => ""))
    const err = yield* fs.readFileString(stderrPath).pipe(Effect.orElseSucceed(() => ""))
    if (run.exitCode !== 0) return { error: `--version failed: ${firstLine(err || out, 80) || `exit ${run.exitCode ?? run.signal}`}` }
    const version = firstLine(out || err, 60)
    return version === "" ? { error: "no version printed" } : { version }
  }).pipe(Effect.catchTag("ProcessError", (error) => Effect.succeed({ error: `cannot run: ${error.message}` })))

/** One per registered harness, in registry order: an agent CLI's install, or built in for the rest (the mock, an embedder's). */
const harnessChecks = (config: Option.Option<OompaConfig>, scratch: string) =>
  Effect.gen(function* () {
    const { names } = yield* Harnesses
    const usersOf = (name: string): ReadonlyArray<string> =>
      Option.match(config, {
        onNone: () => [],
        onSome: (c) =>
          configuredModels(c)
            .filter((entry) => entry.model.harness === name)
            .flatMap((entry) => entry.users)
      })
    const builtIn = (name: string): HarnessCheckJson => ({
      harness: name,
      builtIn: true,
      installed: true,
      path: null,
      source: null,
      npmPackage: null,
      binEnv: null,
      version: null,
      versionError: null,
      usedBy: usersOf(name)
    })
    return yield* Effect.forEach(
      names,
      (name) => {
        if (!isCliHarness(name)) return Effect.succeed(builtIn(name))
        const spec = cliSpecs[name]
        const missing: HarnessCheckJson = {
          ...builtIn(spec.name),
          builtIn: false,
          installed: false,
          npmPackage: spec.npmPackage,
          binEnv: spec.binEnv
        }
        return resolveBinary(spec).pipe(
          Effect.matchEffect({
            onFailure: () => Effect.succeed(missing),
            onSuccess: (binary) =>
              Effect.map(versionOf(binary.path, scratch, spec.name), (version): HarnessCheckJson => ({
                ...missing,
                installed: true,
                path: binary.path,
                source: binary.source,
                version: version.version ?? null,
                versionError: version.error ?? null
              }))
          })
        )
      },
      { concurrency: 4 }
    )
  })

const harnessTable = (harnesses: ReadonlyArray<HarnessCheckJson>, withConfig: boolean): string => {
  const rows = harnesses.map((h) => {
    const usedBy = h.usedBy.join(", ")
    if (h.builtIn) return [h.harness, "built in", "-", "-", usedBy]
    if (!h.installed || h.path === null) return [h.harness, "no", `- (install ${h.npmPackage}, or set ${h.binEnv})`, "-", usedBy]
    const where = h.source === "PATH" ? h.path : `${h.path} (${h.source})`
    return [h.harness, "yes", where, h.version ?? `(${h.versionError})`, usedBy]
  })
  return table([["harness", "installed", "where", "version", withConfig ? "used by" : ""], ...rows])
}

const probeModels = (config: OompaConfig, scratch: string) =>
  Effect.gen(function* () {
    const harnesses = yield* Harnesses
    return yield* Effect.forEach(
      configuredModels(config),
      ({ model }, index): Effect.Effect<ProbeJson> => {
        const name = formatModel(model)
        const failed = (durationMs: number | null, why: string): ProbeJson => ({
          model: name,
          result: "failed",
          durationMs,
          message: `${model.harness} ${model.model ?? "(default model)"}: ${why}`
        })
        // Only agent CLIs are probed: the mock (and an embedder's own harness) runs in oompa and needs no connection.
        if (!isCliHarness(model.harness)) {
          return Effect.succeed({ model: name, result: "skipped", durationMs: null, message: `the ${model.harness} harness is built in` })
        }
        const harness = harnesses.get(model.harness)
        return harness
          .runTurn({
            prompt: probePrompt,
            cwd: scratch,
            model,
            session: { _tag: "New" },
            mode: "review",
            timeout: probeTimeout,
            logPath: `${scratch}/probe-${index}.log`
          })
          .pipe(
            Effect.map((result): ProbeJson => {
              if (result.timedOut) return failed(result.durationMs, `no answer within ${humanDuration(probeTimeout)}`)
              if (turnFailed(result) || result.text.trim().length === 0) {
                const why = result.error ?? (result.exitCode !== 0 ? `exit code ${result.exitCode}` : "empty answer")
                return failed(result.durationMs, firstLine(why, 200))
              }
              return { model: name, result: "ok", durationMs: result.durationMs, message: `answered: ${firstLine(result.text, 60)}` }
            }),
            Effect.catchTag("HarnessError", (error) => Effect.succeed(failed(null, error.message)))
          )
      },
      { concurrency: 4 }
    )
  })

const probeTable = (probes: ReadonlyArray<ProbeJson>): string =>
  table([
    ["model", "probe", "time", "result"],
    ...probes.map((p) => [
      p.model,
      p.result === "ok" ? "OK" : p.result === "failed" ? "FAIL" : "skipped",
      p.durationMs === null ? "-" : humanDuration(p.durationMs),
      p.message
    ])
  ])

/**
 * The config as `swarm` would take it, validated as `swarm` validates it
 * (SPEC §10: the same checks, the same messages). None: no config given or
 * found. A config `swarm` would refuse fails with the file as given or found and why.
 */
const loadChecked = (configPath: string | undefined) =>
  Effect.gen(function* () {
    const cwd = process.cwd()
    // With no --config and nothing discovered, still list the harnesses.
    const found = configPath === undefined ? yield* Effect.option(discoverConfig({ cwd })) : Option.some(configPath)
    if (Option.isNone(found)) return Option.none<OompaConfig>()
    return yield* loadSwarmConfig({ cwd, configPath }).pipe(
      Effect.tap((config) => validateSwarmStart(config)),
      Effect.map(Option.some),
      Effect.mapError((error) => ({ file: found.value, error }))
    )
  })

export const handleCheck = (args: { readonly config: Option.Option<string>; readonly probe: boolean; readonly json: boolean }) =>
  Effect.scoped(
    Effect.gen(function* () {
      const cwd = process.cwd()
      const path = yield* Path.Path
      const fs = yield* FileSystem.FileSystem
      const say = (text: string) => (args.json ? Effect.void : Console.log(text))
      const checked = yield* Effect.either(loadChecked(Option.getOrUndefined(args.config)))
      if (Either.isLeft(checked)) {
        const { file, error } = checked.left
        // The document says what failed; the error still goes to stderr and sets the exit code (2).
        if (args.json) {
          yield* printJson(CheckJson, {
            schema: "check.json@1",
            ok: false,
            config: { status: "invalid", path: path.resolve(cwd, file), error: errorText(error) },
            harnesses: null,
            probes: null
          })
        }
        return yield* Effect.fail(error)
      }
      const config = checked.right
      const configCheck: ConfigCheckJson = Option.match(config, {
        onNone: () => ({ status: "missing" }),
        onSome: (c) => ({
          status: "valid",
          path: c.configPath,
          workers: c.workers.length,
          reviewers: c.reviewers.length,
          planner: c.planner !== undefined
        })
      })
      if (configCheck.status === "valid") {
        const { workers, reviewers } = configCheck
        yield* say(
          `config: ${path.relative(cwd, configCheck.path) || configCheck.path} is valid (${workers} worker${workers === 1 ? "" : "s"}, ${reviewers} reviewer${reviewers === 1 ? "" : "s"}${configCheck.planner ? ", a planner" : ""})`
        )
      } else {
        yield* say("config: no oompa.json found (run `oompa init` to create one); listing all harnesses")
      }
      const scratch = yield* fs.makeTempDirectoryScoped({ prefix: "oompa-check-" })
      const harnesses = yield* harnessChecks(config, scratch)
      yield* say("")
      yield* say(harnessTable(harnesses, Option.isSome(config)))
      let probes: ReadonlyArray<ProbeJson> | null = null
      if (args.probe && Option.isNone(config)) {
        yield* say("\nprobe: no config, so no models to probe")
        probes = []
      } else if (args.probe && Option.isSome(config)) {
        yield* say(`\nprobing ${configuredModels(config.value).length} model(s), ${humanDuration(probeTimeout)} limit each…`)
        probes = yield* probeModels(config.value, scratch)
        yield* say(probeTable(probes))
      }
      const failed = (probes ?? []).filter((probe) => probe.result === "failed").length
      if (args.json) {
        yield* printJson(CheckJson, { schema: "check.json@1", ok: failed === 0, config: configCheck, harnesses, probes })
      }
      if (failed > 0) return yield* new ProbeFailed({ failed, total: probes?.length ?? 0 })
    })
  )

