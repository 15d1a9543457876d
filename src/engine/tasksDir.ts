import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Option } from "effect"

/** The folders of a task queue (SPEC §4); any that exist must be folders. */
export const QUEUE_FOLDERS = ["pending", "current", "complete", "invalid"] as const

const isNotFound = (error: PlatformError): boolean => error._tag === "SystemError" && error.reason === "NotFound"
/** ENOTDIR and friends: a path through a file. */
const isBadPath = (error: PlatformError): boolean => error._tag === "SystemError" && error.reason === "BadResource"

/**
 * Why `tasksDir` cannot hold a task queue, in words, or undefined when it can:
 * it is a folder whose queue folders that exist are folders, or it can be
 * created (its nearest existing ancestor is a folder). Reads only. Used by
 * `swarm`/`check` (as a config error on "tasks_dir") and by `oompa tasks`,
 * so they refuse the same folders with the same words before writing anything.
 *
 * `show` renders a path for the message; `field` names what the user changes.
 */
export const tasksDirProblem = (tasksDir: string, show: (target: string) => string, field: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const typeOf = (target: string) =>
      fs.stat(target).pipe(
        Effect.map((info) => Option.some(info.type)),
        Effect.catchIf(
          (error) => isNotFound(error) || isBadPath(error),
          () => Effect.succeed(Option.none<FileSystem.File.Type>())
        ),
        Effect.catchAll((error) => Effect.fail(`cannot use ${show(target)}: ${error.message}`))
      )
    const tasksType = yield* typeOf(tasksDir)
    if (Option.isSome(tasksType)) {
      if (tasksType.value !== "Directory") {
        return `${show(tasksDir)} is a file, not a folder: point ${field} at a folder (the task queue), or move the file away`
      }
      for (const folder of QUEUE_FOLDERS) {
        const sub = path.join(tasksDir, folder)
        const subType = yield* typeOf(sub)
        if (Option.isSome(subType) && subType.value !== "Directory") {
          return `${show(sub)} is a file, but the task queue needs a folder there: move the file away, or point ${field} elsewhere`
        }
      }
      return undefined
    }
    let ancestor = path.dirname(tasksDir)
    for (;;) {
      const type = yield* typeOf(ancestor)
      if (Option.isSome(type)) {
        if (type.value !== "Directory") {
          return `${show(tasksDir)} cannot be created: ${show(ancestor)} is a file, not a folder; point ${field} elsewhere`
        }
        return undefined
      }
      const parent = path.dirname(ancestor)
      if (parent === ancestor) return undefined
      ancestor = parent
    }
  }).pipe(Effect.catchAll((message: string) => Effect.succeed(message)))
