/**
 * The pure rules of `worktree` in oompa.json (docs/worktree-setup.md): which
 * placeholders its `env` values and `setup` commands may use, and which `copy`
 * paths are allowed. loadConfig checks them when it reads the file; the engine
 * renders the placeholders per worker (src/engine/worktreeSetup.ts).
 */

/**
 * What each placeholder stands for. `PORT`: a TCP port free on 127.0.0.1 when
 * the worker started, distinct from every other worker's, the worker's for its
 * whole life; `WORKER_INDEX`: the worker's place in the config, 0, 1, … (`w3` is 3).
 */
export const worktreePlaceholders = {
  PORT: "a free TCP port on 127.0.0.1, distinct per worker and kept for its life",
  WORKER_INDEX: "the worker's index: 0 for w0, 1 for w1, …",
  WORKER_ID: "the worker's id: w0, w1, …",
  SWARM_ID: "the swarm's id"
} as const
export type WorktreePlaceholder = keyof typeof worktreePlaceholders

const PLACEHOLDER = /\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g

/** The names of every `{{NAME}}` in a text, in order. */
export const placeholdersIn = (text: string): ReadonlyArray<string> => [...text.matchAll(PLACEHOLDER)].map((match) => match[1]!)

/** The `{{NAME}}`s of a text that are not worktree placeholders. */
export const unknownPlaceholders = (text: string): ReadonlyArray<string> =>
  placeholdersIn(text).filter((name) => !Object.hasOwn(worktreePlaceholders, name))

/** "{{PORT}}, {{WORKER_INDEX}}, {{WORKER_ID}} or {{SWARM_ID}}": for messages. */
export const placeholderList = (): string => {
  const names = Object.keys(worktreePlaceholders).map((name) => `{{${name}}}`)
  return `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`
}

/** An environment variable name a shell accepts. */
export const isEnvName = (name: string): boolean => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)

/**
 * A `copy` entry made canonical (`./config//local.json` → `config/local.json`),
 * or why it is refused: it must stay inside the project root (no absolute path,
 * no `..`), name something below it (not the root itself) and not be git's own
 * folder, which a worktree has as a file of its own.
 */
export const copyPath = (
  entry: string
): { readonly _tag: "Ok"; readonly path: string } | { readonly _tag: "Refused"; readonly why: string } => {
  if (entry.startsWith("/") || /^[A-Za-z]:[\\/]/.test(entry)) {
    return { _tag: "Refused", why: "is an absolute path: give a path relative to the project root, e.g. \".env\"" }
  }
  const segments = entry.split(/[\\/]/).filter((segment) => segment !== "" && segment !== ".")
  if (segments.includes("..")) {
    return { _tag: "Refused", why: "leaves the project root (\"..\"): only files inside the project root are copied" }
  }
  if (segments.length === 0) return { _tag: "Refused", why: "names the project root itself: name the files or folders to copy" }
  if (segments[0] === ".git") return { _tag: "Refused", why: "is git's own folder: a worktree has its own .git and must keep it" }
  return { _tag: "Ok", path: segments.join("/") }
}
