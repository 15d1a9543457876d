import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect } from "effect"
import * as NodePath from "node:path"

/**
 * `<common-dir>/info/exclude`, git's own per-repository ignore file: oompa
 * lists `.oompa/` there so its run files and worktrees never show up in the
 * user's `git status` and never need a `.gitignore` change (SPEC §12).
 */

/** The text to append so `existing` lists `pattern`, or undefined when a line already says it. */
export const excludeAddition = (existing: string, pattern: string): string | undefined => {
  if (existing.split(/\r?\n/).some((line) => line.trim() === pattern)) return undefined
  const prefix = existing === "" || existing.endsWith("\n") ? "" : "\n"
  return `${prefix}${pattern}\n`
}

/**
 * Appends `pattern` to the exclude file of the git dir `commonDir` unless a
 * line already says it; a missing file (or info/ folder) is created. The
 * caller serialises calls (read, then append).
 */
export const appendExclude = (commonDir: string, pattern: string): Effect.Effect<void, PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const file = excludeFileOf(commonDir)
    const existing = yield* fs.readFileString(file).pipe(
      Effect.catchIf(
        (e) => e._tag === "SystemError" && e.reason === "NotFound",
        () => Effect.succeed("")
      )
    )
    const addition = excludeAddition(existing, pattern)
    if (addition === undefined) return
    yield* fs.makeDirectory(NodePath.dirname(file), { recursive: true })
    yield* fs.writeFileString(file, addition, { flag: "a" })
  })

export const excludeFileOf = (commonDir: string): string => NodePath.join(commonDir, "info", "exclude")
