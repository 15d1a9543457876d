import { FileSystem, Path } from "@effect/platform"
import { Console, Effect, Option } from "effect"
import { bundledPromptPath } from "../config/bundled.js"
import { ConfigError } from "../domain/errors.js"
import { Git } from "../services/Git.js"

/**
 * `oompa init [--force] [dir]`: a ready-to-run project setup. Writes
 * oompa.json, copies of the bundled role prompts under oompa/prompts/ (so the
 * user can edit them), the task folders, and excludes `.oompa/` from git.
 * Every check happens before the first write: a refusal writes nothing.
 */

/** The role prompts copied into `oompa/prompts/` (the task header stays the framework's). */
export const initPromptNames = ["worker.md", "planner.md", "executor.md", "reviewer.md"] as const

export const initialConfig = {
  workers: [{ model: "claude:opus", prompt: "oompa/prompts/worker.md", max_cycle: 5, count: 2 }],
  reviewer: { model: "claude:opus", prompt: "oompa/prompts/reviewer.md" }
}

export interface InitOptions {
  /** The project folder (absolute or relative to the current directory). */
  readonly dir: string
  readonly force: boolean
}

export interface InitResult {
  /** What was done, one line each, paths relative to the project folder. */
  readonly actions: ReadonlyArray<string>
}

/** The git `info/exclude` file of the repository holding `dir`, if `dir` is inside one (through the Git service). */
const gitExcludeFile = (dir: string) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const git = yield* Git
    const { stdout } = yield* git.run(dir, ["rev-parse", "--git-path", "info/exclude"])
    return stdout.trim().length > 0 ? Option.some(path.resolve(dir, stdout.trim())) : Option.none<string>()
  }).pipe(
    // No git, or not a repository: nothing to exclude.
    Effect.orElseSucceed(() => Option.none<string>())
  )

const writeError = (file: string) => (error: { readonly message: string }) =>
  new ConfigError({ file, path: "", message: `cannot write: ${error.message}` })

export const runInit = (
  options: InitOptions
): Effect.Effect<InitResult, ConfigError, FileSystem.FileSystem | Path.Path | Git> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = path.resolve(options.dir)
    const exists = (file: string) => fs.exists(file).pipe(Effect.orElseSucceed(() => false))
    const show = (file: string) => path.relative(root, file) || "."

    const configFile = path.join(root, "oompa.json")
    const prompts = initPromptNames.map((name) => ({
      from: bundledPromptPath(name),
      to: path.join(root, "oompa", "prompts", name)
    }))

    // 1. Every check, before anything is written.
    if (!options.force) {
      const taken: Array<string> = []
      for (const file of [configFile, ...prompts.map((p) => p.to)]) {
        if (yield* exists(file)) taken.push(show(file))
      }
      if (taken.length > 0) {
        return yield* new ConfigError({
          file: path.join(root, taken[0] ?? "oompa.json"),
          path: "",
          message:
            `already exists${taken.length > 1 ? ` (so do ${taken.slice(1).join(", ")})` : ""}; ` +
            `nothing was written. Run "oompa init --force" to overwrite`
        })
      }
    }
    const promptTexts: Array<string> = []
    for (const prompt of prompts) {
      promptTexts.push(
        yield* fs.readFileString(prompt.from).pipe(
          Effect.mapError(
            (error) =>
              new ConfigError({ file: prompt.from, path: "", message: `bundled prompt unreadable: ${error.message}` })
          )
        )
      )
    }
    const exclude = yield* gitExcludeFile(root)

    // 2. The writes.
    const actions: Array<string> = []
    const write = (file: string, text: string) =>
      Effect.gen(function* () {
        yield* fs.makeDirectory(path.dirname(file), { recursive: true }).pipe(Effect.mapError(writeError(file)))
        const existed = yield* exists(file)
        yield* fs.writeFileString(file, text).pipe(Effect.mapError(writeError(file)))
        actions.push(`${existed ? "overwrote" : "created"} ${show(file)}`)
      })

    yield* write(configFile, JSON.stringify(initialConfig, null, 2) + "\n")
    for (const [index, prompt] of prompts.entries()) yield* write(prompt.to, promptTexts[index] ?? "")

    for (const state of ["pending", "current", "complete"]) {
      const folder = path.join(root, "tasks", state)
      const keep = path.join(folder, ".gitkeep")
      if (!(yield* exists(keep))) {
        yield* fs.makeDirectory(folder, { recursive: true }).pipe(Effect.mapError(writeError(folder)))
        yield* fs.writeFileString(keep, "").pipe(Effect.mapError(writeError(keep)))
        actions.push(`created ${show(keep)}`)
      }
    }

    if (Option.isSome(exclude)) {
      const file = exclude.value
      const current = (yield* exists(file)) ? yield* fs.readFileString(file).pipe(Effect.orElseSucceed(() => "")) : ""
      const lines = current.split(/\r?\n/).map((line) => line.trim())
      if (!lines.includes(".oompa/") && !lines.includes(".oompa") && !lines.includes("/.oompa/")) {
        const separator = current.length > 0 && !current.endsWith("\n") ? "\n" : ""
        yield* fs.makeDirectory(path.dirname(file), { recursive: true }).pipe(Effect.mapError(writeError(file)))
        yield* fs.writeFileString(file, `${current}${separator}.oompa/\n`).pipe(Effect.mapError(writeError(file)))
        actions.push(`added .oompa/ to ${file}`)
      }
    }
    return { actions }
  })

export const handleInit = ({ dir, force }: { readonly force: boolean; readonly dir: Option.Option<string> }) =>
  Effect.gen(function* () {
    const result = yield* runInit({ dir: Option.getOrElse(dir, () => "."), force })
    for (const line of result.actions) yield* Console.log(line)
    yield* Console.log(
      "\nNext: describe the work in a README or spec, optionally add tasks to tasks/pending/, then run: oompa swarm"
    )
  })
