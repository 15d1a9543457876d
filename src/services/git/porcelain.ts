import { Option } from "effect"

/**
 * Readers of git's machine output: pure functions of the text git printed, so
 * they are tested without a repository (property tests: what `render` writes,
 * `parse` reads back; arbitrary text never throws). The Git service runs the
 * commands; this file only reads what they print.
 */

/** One entry of `git worktree list --porcelain -z`. */
export interface Worktree {
  readonly path: string
  /** Commit checked out; None for a bare entry. */
  readonly head: Option.Option<string>
  /** Full ref name (`refs/heads/x`); None when detached or bare. */
  readonly branch: Option.Option<string>
  readonly bare: boolean
  readonly detached: boolean
  readonly locked: boolean
  readonly prunable: boolean
}

export interface RefEntry {
  readonly ref: string
  readonly sha: string
}

/** NUL-separated fields, empty ones dropped (`-z` output). */
export const splitNul = (s: string): Array<string> => s.split("\0").filter((x) => x !== "")

/** Lines, empty ones dropped. */
export const splitLines = (s: string): Array<string> => s.split("\n").filter((x) => x !== "")

/**
 * `git worktree list --porcelain -z`: each entry a run of NUL-terminated
 * `key value` (or bare `key`) fields starting with `worktree <path>`, entries
 * separated by an empty field. Fields before the first `worktree` and keys
 * this reader does not know (git adds some over time) are skipped; `locked`
 * and `prunable` may carry a reason, which is not kept.
 */
export const parseWorktrees = (text: string): Array<Worktree> => {
  const result: Array<Worktree> = []
  let current:
    | {
        path: string
        head: Option.Option<string>
        branch: Option.Option<string>
        bare: boolean
        detached: boolean
        locked: boolean
        prunable: boolean
      }
    | undefined
  for (const field of text.split("\0")) {
    if (field === "") {
      if (current !== undefined) result.push(current)
      current = undefined
      continue
    }
    const space = field.indexOf(" ")
    const key = space === -1 ? field : field.slice(0, space)
    const value = space === -1 ? "" : field.slice(space + 1)
    if (key === "worktree") {
      if (current !== undefined) result.push(current)
      current = {
        path: value,
        head: Option.none(),
        branch: Option.none(),
        bare: false,
        detached: false,
        locked: false,
        prunable: false
      }
    } else if (current !== undefined) {
      if (key === "HEAD") current.head = Option.some(value)
      else if (key === "branch") current.branch = Option.some(value)
      else if (key === "bare") current.bare = true
      else if (key === "detached") current.detached = true
      else if (key === "locked") current.locked = true
      else if (key === "prunable") current.prunable = true
    }
  }
  if (current !== undefined) result.push(current)
  return result
}

/** What git prints for these worktrees with `worktree list --porcelain -z` (the inverse of `parseWorktrees`). */
export const renderWorktrees = (worktrees: ReadonlyArray<Worktree>): string =>
  worktrees
    .map((w) =>
      [
        `worktree ${w.path}`,
        ...Option.match(w.head, { onNone: () => [], onSome: (sha) => [`HEAD ${sha}`] }),
        ...Option.match(w.branch, { onNone: () => [], onSome: (ref) => [`branch ${ref}`] }),
        ...(w.bare ? ["bare"] : []),
        ...(w.detached ? ["detached"] : []),
        ...(w.locked ? ["locked"] : []),
        ...(w.prunable ? ["prunable"] : [])
      ]
        .map((field) => `${field}\0`)
        .join("") + "\0"
    )
    .join("")

/** `git for-each-ref --format='%(objectname) %(refname)'`: one `<sha> <ref>` a line. */
export const parseRefLines = (text: string): Array<RefEntry> =>
  splitLines(text).flatMap((line) => {
    const space = line.indexOf(" ")
    return space === -1 ? [] : [{ sha: line.slice(0, space), ref: line.slice(space + 1) }]
  })

/** What for-each-ref prints for these refs (the inverse of `parseRefLines`). */
export const renderRefLines = (refs: ReadonlyArray<RefEntry>): string => refs.map((r) => `${r.sha} ${r.ref}\n`).join("")

/**
 * The files named by git's refusal to overwrite local changes ("Your local
 * changes to the following files would be overwritten by merge:" and "The
 * following untracked working tree files would be overwritten by merge:"),
 * each list being the tab-indented lines after its header. C-quoted names
 * (`core.quotePath`) are unquoted.
 */
export const filesInTheWay = (message: string): ReadonlyArray<string> => {
  const files: Array<string> = []
  let inList = false
  for (const line of message.split("\n")) {
    if (/would be overwritten by \w+:\s*$/.test(line)) {
      inList = true
      continue
    }
    if (inList && line.startsWith("\t")) {
      const name = unquoteGitPath(line.slice(1).trimEnd())
      if (name !== "" && !files.includes(name)) files.push(name)
      continue
    }
    inList = false
  }
  return files
}

/** Undoes git's C-style path quoting (`"a\\tb"`, octal bytes for non-ASCII); other names pass through. */
export const unquoteGitPath = (name: string): string => {
  if (!(name.length >= 2 && name.startsWith('"') && name.endsWith('"'))) return name
  // Byte-wise: a backslash (0x5c) is never part of a multi-byte UTF-8 sequence.
  const input = Buffer.from(name.slice(1, -1), "utf8")
  const simple: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, "\\": 92 }
  const out: Array<number> = []
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== 92 || i + 1 >= input.length) {
      out.push(input[i]!)
      continue
    }
    const rest = input.subarray(i + 1, i + 4).toString("latin1")
    const escape = String.fromCharCode(input[i + 1]!)
    if (/^[0-3][0-7]{2}$/.test(rest)) {
      out.push(parseInt(rest, 8))
      i += 3
    } else if (escape in simple) {
      out.push(simple[escape]!)
      i += 1
    } else {
      out.push(92)
    }
  }
  return Buffer.from(out).toString("utf8")
}

/** git's C-style quoting of a path (what `core.quotePath` prints), the inverse of `unquoteGitPath`. */
export const quoteGitPath = (name: string): string => {
  const named: Record<number, string> = { 7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r", 34: '"', 92: "\\" }
  const bytes = Buffer.from(name, "utf8")
  if (!bytes.some((b) => b < 0x20 || b >= 0x7f || b === 34 || b === 92)) return name
  let out = ""
  for (const b of bytes) {
    if (named[b] !== undefined) out += `\\${named[b]}`
    else if (b < 0x20 || b >= 0x7f) out += `\\${b.toString(8).padStart(3, "0")}`
    else out += String.fromCharCode(b)
  }
  return `"${out}"`
}

/** The XY codes of `git status --porcelain` that mean an unmerged path (git-status(1), "Short Format"). */
const UNMERGED_CODES = new Set(["DD", "AU", "UD", "UA", "DU", "AA", "UU"])

/**
 * The unmerged paths of `git status --porcelain=v1 -z` output, each once, in
 * git's order. Entries are `XY path`; a rename or copy (X or Y is R or C) is
 * followed by one more field, its source path.
 */
export const unmergedOfStatus = (text: string): Array<string> => {
  const fields = text.split("\0")
  const paths: Array<string> = []
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!
    if (field.length < 4) continue
    const code = field.slice(0, 2)
    if (UNMERGED_CODES.has(code)) paths.push(field.slice(3))
    else if (/[RC]/.test(code)) i++ // skip the source path
  }
  return [...new Set(paths)]
}
