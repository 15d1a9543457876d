import { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import { ConfigError } from "../domain/errors.js"
import type { PromptSource } from "./OompaConfig.js"
import { packageRoot } from "../paths.js"
import { bundledPromptPath, type BundledPromptName } from "./bundled.js"
import { readPromptFile } from "./includes.js"

/**
 * Prompt references in oompa.json resolve relative to the config file's
 * folder first, then to oompa's package root, so the original's
 * `"config/prompts/executor.md"` finds our bundled prompt (SPEC §2).
 * A file found nowhere is a config error, never silence.
 */
export interface PromptContext {
  /** Folder of the oompa.json being loaded. */
  readonly configDir: string
  /** How the config file is named in messages. */
  readonly configDisplay: string
  /** Messages name files relative to this folder when inside it. */
  readonly displayRoot: string
}

const exists = (fs: FileSystem.FileSystem, file: string) => fs.exists(file).pipe(Effect.orElseSucceed(() => false))

/** The absolute file a prompt reference names, or a ConfigError saying where we looked. */
export const resolvePromptRef = (
  ref: string,
  jsonPath: string,
  context: PromptContext
): Effect.Effect<string, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (ref.trim().length === 0) {
      return yield* new ConfigError({
        file: context.configDisplay,
        path: jsonPath,
        message: "expected a prompt file path, got an empty string"
      })
    }
    const candidates = path.isAbsolute(ref)
      ? [ref]
      : [path.resolve(context.configDir, ref), path.resolve(packageRoot, ref)]
    for (const candidate of candidates) {
      if (yield* exists(fs, candidate)) return candidate
    }
    const where = path.isAbsolute(ref)
      ? "(an absolute path)"
      : `(looked relative to ${context.configDir} and to the bundled prompts in ${packageRoot})`
    return yield* new ConfigError({
      file: context.configDisplay,
      path: jsonPath,
      message: `prompt file not found: ${candidates[0] ?? ref} ${where}; fix the path or remove "prompt" to use the bundled default`
    })
  })

const joinPrompts = (texts: ReadonlyArray<string>): string =>
  texts.map((text) => text.replace(/\s+$/, "")).join("\n\n") + "\n"

/** Reads absolute prompt files, includes inlined, into a PromptSource. */
export const promptSourceFromFiles = (
  files: ReadonlyArray<string>,
  displayRoot?: string
): Effect.Effect<PromptSource, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const texts: Array<string> = []
    for (const file of files) texts.push(yield* readPromptFile(file, { displayRoot }))
    return { files, text: joinPrompts(texts) }
  })

/**
 * Loads the prompt a `prompt` key names (a path or a list of paths), or the
 * bundled default when the key is absent.
 */
export const loadPromptSource = (
  ref: string | ReadonlyArray<string> | undefined,
  jsonPath: string,
  fallback: BundledPromptName,
  context: PromptContext
): Effect.Effect<PromptSource, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    if (ref === undefined) return yield* promptSourceFromFiles([bundledPromptPath(fallback)], context.displayRoot)
    const refs = typeof ref === "string" ? [ref] : ref
    if (refs.length === 0) {
      return yield* new ConfigError({
        file: context.configDisplay,
        path: jsonPath,
        message: "expected at least one prompt file, got []; remove \"prompt\" to use the bundled default"
      })
    }
    const files: Array<string> = []
    for (const [index, item] of refs.entries()) {
      files.push(yield* resolvePromptRef(item, typeof ref === "string" ? jsonPath : `${jsonPath}[${index}]`, context))
    }
    return yield* promptSourceFromFiles(files, context.displayRoot)
  })
