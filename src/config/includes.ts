import { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import { ConfigError } from "../domain/errors.js"

/**
 * A line `#oompa_directive:include_file "path"` is replaced by the contents of
 * that file (relative to the including file's folder), itself with its
 * includes inlined. A file that includes itself, directly or not, is refused.
 */
const includeLine = /^[ \t]*#oompa_directive:include_file[ \t]+"([^"]+)"[ \t]*$/

export interface ReadPromptOptions {
  /** Error messages name files relative to this folder when they are inside it. */
  readonly displayRoot?: string | undefined
}

/** A path as the user should read it: relative to `root` when inside it, else absolute. */
export const displayPath = (path: Path.Path, file: string, root: string | undefined): string => {
  if (root === undefined) return file
  const relative = path.relative(root, file)
  return relative.length > 0 && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file
}

/** Reads a whole text file, or fails with a ConfigError naming it. */
export const readTextFile = (
  file: string,
  errorFile: string,
  errorPath: string,
  what: string
): Effect.Effect<string, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    return yield* fs.readFileString(file).pipe(
      Effect.mapError(
        (error) =>
          new ConfigError({
            file: errorFile,
            path: errorPath,
            message:
              error._tag === "SystemError" && error.reason === "NotFound"
                ? `${what} not found: ${file}`
                : `cannot read ${what} ${file}: ${error.message}`
          })
      )
    )
  })

const inline = (
  file: string,
  chain: ReadonlyArray<string>,
  options: ReadPromptOptions
): Effect.Effect<string, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const text = yield* readTextFile(file, displayPath(path, file, options.displayRoot), "", "prompt file")
    const lines = text.split("\n")
    const out: Array<string> = []
    for (let index = 0; index < lines.length; index++) {
      const line = lines[index] ?? ""
      const match = includeLine.exec(line.endsWith("\r") ? line.slice(0, -1) : line)
      const target = match?.[1]
      if (target === undefined) {
        out.push(line)
        continue
      }
      const included = path.resolve(path.dirname(file), target)
      const here = displayPath(path, file, options.displayRoot)
      if (included === file || chain.includes(included)) {
        const first = chain[0] ?? file
        const base = path.dirname(first)
        const names = [...chain, file, included].slice([...chain, file].indexOf(included))
        const name = (f: string) => path.relative(base, f)
        return yield* new ConfigError({
          file: displayPath(path, first, options.displayRoot),
          path: "",
          message:
            `include cycle: ${names.map(name).join(" -> ")}; ` +
            `remove the #oompa_directive:include_file line ${index + 1} of ${name(file)}`
        })
      }
      const fs = yield* FileSystem.FileSystem
      const exists = yield* fs.exists(included).pipe(Effect.orElseSucceed(() => false))
      if (!exists) {
        return yield* new ConfigError({
          file: here,
          path: "",
          message:
            `line ${index + 1}: included file not found: ${included} ` +
            `(#oompa_directive:include_file paths are relative to the including file)`
        })
      }
      const body = yield* inline(included, [...chain, file], options)
      out.push(body.replace(/\r?\n$/, ""))
    }
    return out.join("\n")
  })

/** Reads a prompt file (absolute path) with its includes inlined. Tokens are not rendered. */
export const readPromptFile = (
  file: string,
  options: ReadPromptOptions = {}
): Effect.Effect<string, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    return yield* inline(path.resolve(file), [], options)
  })
