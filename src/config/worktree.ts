import { Either } from "effect"
import { copyPath, isEnvName, placeholderList, unknownPlaceholders } from "../domain/worktreeValues.js"
import type { WorktreeSpec } from "./OompaConfig.js"
import type { WorktreeJson } from "./OompaJson.js"

/** A refused `worktree` field: its JSON path and why. */
export interface WorktreeIssue {
  readonly path: string
  readonly message: string
}

/**
 * A worker's `worktree`: its own entry over the top-level one, field by field —
 * a `copy` or `setup` it gives replaces the top-level list, its `env` is merged
 * over the top-level `env` variable by variable. Each field is checked where it
 * was written (the error names that field): copy paths stay inside the project
 * root, env names are variable names, placeholders are known ones. Whether the
 * copied files exist is the pre-flight's to say (src/engine/worktreeSetup.ts).
 */
export const resolveWorktree = (
  top: WorktreeJson | undefined,
  own: WorktreeJson | undefined,
  ownPrefix: string
): Either.Either<WorktreeSpec | undefined, WorktreeIssue> => {
  if (top === undefined && own === undefined) return Either.right(undefined)
  const from = (field: "copy" | "setup") =>
    own?.[field] !== undefined
      ? { values: own[field]!, at: `${ownPrefix}worktree.${field}` }
      : { values: top?.[field] ?? [], at: `worktree.${field}` }

  const copy: Array<WorktreeSpec["copy"][number]> = []
  const copies = from("copy")
  for (const [i, entry] of copies.values.entries()) {
    const field = `${copies.at}[${i}]`
    const checked = copyPath(entry)
    if (checked._tag === "Refused") return Either.left({ path: field, message: `${JSON.stringify(entry)} ${checked.why}` })
    copy.push({ path: checked.path, field })
  }

  const unknown = (text: string, at: string): WorktreeIssue | undefined => {
    const [name] = unknownPlaceholders(text)
    return name === undefined ? undefined : { path: at, message: `unknown placeholder {{${name}}}: use ${placeholderList()}` }
  }
  const commands = from("setup")
  for (const [i, command] of commands.values.entries()) {
    const issue = unknown(command, `${commands.at}[${i}]`)
    if (issue !== undefined) return Either.left(issue)
  }

  const env: Record<string, string> = {}
  for (const [source, prefix] of [[top?.env, "worktree.env"], [own?.env, `${ownPrefix}worktree.env`]] as const) {
    for (const [name, value] of Object.entries(source ?? {})) {
      const at = `${prefix}.${name}`
      if (!isEnvName(name)) {
        return Either.left({ path: at, message: `${JSON.stringify(name)} is not an environment variable name (letters, digits and _, not starting with a digit)` })
      }
      const issue = unknown(value, at)
      if (issue !== undefined) return Either.left(issue)
      env[name] = value
    }
  }
  return Either.right({ copy, setup: commands.values, env })
}
