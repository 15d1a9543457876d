import { FileSystem, Path } from "@effect/platform"
import { Effect, Either } from "effect"
import type { ConfigError } from "../../src/domain/errors.js"
import { loadConfig } from "../../src/config/loadConfig.js"
import { builtinHarnessNames } from "../../src/harness/registry.js"

/** A temp folder (removed with the scope) holding `files` (path → contents). */
export const makeProject = (files: Readonly<Record<string, string | object>>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "oompa-config-" })
    for (const [name, contents] of Object.entries(files)) {
      const file = path.join(dir, name)
      yield* fs.makeDirectory(path.dirname(file), { recursive: true })
      yield* fs.writeFileString(file, typeof contents === "string" ? contents : JSON.stringify(contents, null, 2))
    }
    return dir
  }).pipe(Effect.orDie)

/** Every file under `dir` with its contents, to show that nothing was written. */
export const snapshot = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const names = yield* fs.readDirectory(dir, { recursive: true })
    const out: Record<string, string> = {}
    for (const name of names.sort()) {
      const file = path.join(dir, name)
      const info = yield* fs.stat(file)
      out[name] = info.type === "File" ? yield* fs.readFileString(file) : "<dir>"
    }
    return out
  }).pipe(Effect.orDie)

/**
 * Loads the config in `dir` expecting a ConfigError; checks that the folder
 * is byte-for-byte unchanged afterwards and returns the error.
 */
export const expectConfigError = (dir: string, configPath?: string) =>
  Effect.gen(function* () {
    const before = yield* snapshot(dir)
    const result = yield* Effect.either(loadConfig({ cwd: dir, configPath, harnesses: builtinHarnessNames }))
    const after = yield* snapshot(dir)
    if (JSON.stringify(before) !== JSON.stringify(after)) {
      return yield* Effect.dieMessage("loadConfig changed files on disk")
    }
    if (Either.isRight(result)) return yield* Effect.dieMessage("expected a ConfigError, got a config")
    const error: ConfigError = result.left
    return { error, text: String(error) }
  })
