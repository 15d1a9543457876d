/**
 * `oompa check [--config F] [--probe]` (SPEC §10): validate the config exactly
 * as `swarm` would (loadConfig, then validateSwarmStart: exit 2 on a bad one), then list each agent CLI harness:
 * installed or not, where (PATH lookup, no shell) and its `--version`. With no
 * config found, all harnesses are still listed. `--probe` sends every
 * configured model a tiny prompt (30 s limit, read-only mode, in a scratch
 * folder) and prints a table; a failing probe names harness, model and the
 * CLI's error, and the command exits 1.
 */
import { Command, Options } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import { Console, Duration, Effect, Option, Schema } from "effect"
import { discoverConfig } from "../config/loadConfig.js"
import { loadSwarmConfig } from "../engine/loadConfig.js"
import type { OompaConfig } from "../config/OompaConfig.js"
import { formatModel, type ModelSpec } from "../domain/Model.js"
import { validateSwarmStart } from "../engine/setup.js"
import { resolveBinary } from "../harness/cliAdapter.js"
import { Harnesses } from "../harness/Harness.js"
import { cliSpecs, isCliHarness } from "../harness/registry.js"
import { ProcessRunner } from "../services/ProcessRunner.js"
import { humanDuration } from "../domain/humanDuration.js"

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

const configOption = Options.file("config").pipe(
  Options.withAlias("c"),
  Options.withDescription("Path to oompa.json (default: ./oompa.json, then ./oompa/oompa.json)"),
  Options.optional
)
const probeOption = Options.boolean("probe").pipe(
  Options.withDescription("Send each configured model a tiny prompt (30 s limit) and report the answers")
)

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

/** `<binary> --version`, with a timeout, through ProcessRunner (no shell, group killed on timeout). */
const versionOf = (binary: string, scratch: string, name: string) =>
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
    if (run.timedOut) return `(--version timed out after ${humanDuration(versionTimeout)})`
    const out = yield* fs.readFileString(stdoutPath).pipe(Effect.orElseSucceed(() => ""))
    const err = yield* fs.readFileString(stderrPath).pipe(Effect.orElseSucceed(() => ""))
    if (run.exitCode !== 0) return `(--version failed: ${firstLine(err || out, 80) || `exit ${run.exitCode ?? run.signal}`})`
    return firstLine(out || err, 60) || "(no version printed)"
  }).pipe(Effect.catchTag("ProcessError", (error) => Effect.succeed(`(cannot run: ${error.message})`)))

/** One row per registered harness, in registry order: an agent CLI's install, or "built in" for the rest (the mock, an embedder's). */
const installedTable = (config: Option.Option<OompaConfig>, scratch: string) =>
  Effect.gen(function* () {
    const { names } = yield* Harnesses
    const usersOf = (name: string): string =>
      Option.match(config, {
        onNone: () => "",
        onSome: (c) =>
          configuredModels(c)
            .filter((entry) => entry.model.harness === name)
            .flatMap((entry) => entry.users)
            .join(", ")
      })
    const rows = yield* Effect.forEach(
      names,
      (name) => {
        if (!isCliHarness(name)) return Effect.succeed([name, "built in", "-", "-", usersOf(name)])
        const spec = cliSpecs[name]
        return resolveBinary(spec).pipe(
          Effect.matchEffect({
            onFailure: () =>
              Effect.succeed([spec.name, "no", `- (install ${spec.npmPackage}, or set ${spec.binEnv})`, "-", usersOf(spec.name)]),
            onSuccess: (binary) =>
              Effect.map(versionOf(binary.path, scratch, spec.name), (version) => [
                spec.name,
                "yes",
                binary.source === "PATH" ? binary.path : `${binary.path} (${binary.source})`,
                version,
                usersOf(spec.name)
              ])
          })
        )
      },
      { concurrency: 4 }
    )
    const header = ["harness", "installed", "where", "version", Option.isSome(config) ? "used by" : ""]
    return table([header, ...rows])
  })

interface ProbeRow {
  readonly ok: boolean
  readonly cells: ReadonlyArray<string>
}

const probeModels = (config: OompaConfig, scratch: string) =>
  Effect.gen(function* () {
    const harnesses = yield* Harnesses
    const rows = yield* Effect.forEach(
      configuredModels(config),
      ({ model }, index) => {
        const name = formatModel(model)
        // Only agent CLIs are probed: the mock (and an embedder's own harness) runs in oompa and needs no connection.
        if (!isCliHarness(model.harness)) {
          return Effect.succeed<ProbeRow>({ ok: true, cells: [name, "skipped", "-", `the ${model.harness} harness is built in`] })
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
            Effect.map((result): ProbeRow => {
              const seconds = humanDuration(result.durationMs)
              if (result.timedOut) {
                return { ok: false, cells: [name, "FAIL", seconds, `${model.harness} ${model.model ?? "(default model)"}: no answer within ${humanDuration(probeTimeout)}`] }
              }
              if (result.exitCode !== 0 || result.text.trim().length === 0) {
                const why = result.error ?? (result.exitCode !== 0 ? `exit code ${result.exitCode}` : "empty answer")
                return { ok: false, cells: [name, "FAIL", seconds, `${model.harness} ${model.model ?? "(default model)"}: ${firstLine(why, 200)}`] }
              }
              return { ok: true, cells: [name, "OK", seconds, `answered: ${firstLine(result.text, 60)}`] }
            }),
            Effect.catchTag("HarnessError", (error) =>
              Effect.succeed<ProbeRow>({
                ok: false,
                cells: [name, "FAIL", "-", `${model.harness} ${model.model ?? "(default model)"}: ${error.message}`]
              })
            )
          )
      },
      { concurrency: 4 }
    )
    return rows
  })

const handler = (args: { readonly config: Option.Option<string>; readonly probe: boolean }) =>
  Effect.scoped(
    Effect.gen(function* () {
      const cwd = process.cwd()
      const path = yield* Path.Path
      const fs = yield* FileSystem.FileSystem
      const configPath = Option.getOrUndefined(args.config)
      // With no --config and nothing discovered, still list the harnesses.
      const found = configPath === undefined ? yield* Effect.option(discoverConfig({ cwd })) : Option.some(configPath)
      const config = Option.isSome(found) ? Option.some(yield* loadSwarmConfig({ cwd, configPath })) : Option.none<OompaConfig>()
      // Exactly what `oompa swarm` checks before it starts, with the same messages (SPEC §10).
      if (Option.isSome(config)) yield* validateSwarmStart(config.value)
      if (Option.isSome(config)) {
        const c = config.value
        const reviewers = c.reviewers.length
        yield* Console.log(
          `config: ${path.relative(cwd, c.configPath) || c.configPath} is valid (${c.workers.length} worker${c.workers.length === 1 ? "" : "s"}, ${reviewers} reviewer${reviewers === 1 ? "" : "s"}${c.planner ? ", a planner" : ""})`
        )
      } else {
        yield* Console.log("config: no oompa.json found (run `oompa init` to create one); listing all harnesses")
      }
      const scratch = yield* fs.makeTempDirectoryScoped({ prefix: "oompa-check-" })
      yield* Console.log("")
      yield* Console.log(yield* installedTable(config, scratch))
      if (!args.probe) return
      if (Option.isNone(config)) {
        yield* Console.log("\nprobe: no config, so no models to probe")
        return
      }
      yield* Console.log(`\nprobing ${configuredModels(config.value).length} model(s), ${humanDuration(probeTimeout)} limit each…`)
      const rows = yield* probeModels(config.value, scratch)
      yield* Console.log(table([["model", "probe", "time", "result"], ...rows.map((row) => row.cells)]))
      const failed = rows.filter((row) => !row.ok).length
      if (failed > 0) return yield* new ProbeFailed({ failed, total: rows.length })
    })
  )

export const checkCommand = Command.make("check", { config: configOption, probe: probeOption }, handler).pipe(
  Command.withDescription("Validate oompa.json and show which agent CLIs are installed (--probe: try each model)")
)
