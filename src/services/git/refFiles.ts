/**
 * Refs read from the files git keeps them in (the "files" ref backend), so that
 * resolving a branch or HEAD needs no git process: a loose ref is a file under
 * the git dir holding a sha or `ref: <other ref>`, and refs not loose are lines
 * of `packed-refs`. git replaces both by renaming a finished lock file, so a read
 * sees a whole old or a whole new value — the same read git itself does.
 *
 * Anything unusual is "unknown" (undefined) and the caller asks git instead: the
 * reftable backend, a name that is not HEAD or a full `refs/…` name, a file that
 * holds neither a sha nor a symbolic ref, an error other than "no such file",
 * symbolic refs nested deeper than git follows.
 *
 * Reads are synchronous: each is one small file, cheaper than a round trip
 * through the thread pool, and far cheaper than the git process it replaces.
 * The same goes for the parents of a commit that is still a loose object.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as NodeZlib from "node:zlib"

/** Where a repository's refs live: the common git dir, and the git dir of one worktree (its HEAD). */
export interface RefDirs {
  readonly common: string
  readonly gitDir: string
}

/** A ref's value: its sha, or known to be absent. */
export type RefValue = { readonly _tag: "Sha"; readonly sha: string } | { readonly _tag: "Absent" }

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/
/** git's own limit on nested symbolic refs (refs.c: SYMREF_MAXDEPTH). */
const MAX_DEPTH = 5

/** HEAD or a full ref name git would accept (git check-ref-format's rules, the parts that matter for a path). */
export const isPlainRefName = (name: string): boolean =>
  name === "HEAD" ||
  (name.startsWith("refs/") &&
    !/[\x00-\x20\x7f~^:?*[\\]|\.\.|\/\/|@\{|\/\.|\.lock(\/|$)|\/$|\.$/.test(name))

/** Refs that belong to one worktree (git's per-worktree refs), read from its own git dir. */
const isPerWorktree = (name: string) =>
  name === "HEAD" || /^refs\/(worktree|bisect|rewritten)\//.test(name)

const readOrAbsent = (file: string): string | null | undefined => {
  try {
    return NodeFs.readFileSync(file, "utf8")
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT" ? null : undefined
  }
}

interface Packed {
  readonly signature: string
  readonly refs: ReadonlyMap<string, string>
}
const packedCache = new Map<string, Packed>()

/** The refs of `<common>/packed-refs` (null: no such file), parsed again only when the file changed. */
const packedRefs = (common: string): ReadonlyMap<string, string> | null | undefined => {
  const file = NodePath.join(common, "packed-refs")
  let stat: NodeFs.Stats
  try {
    stat = NodeFs.statSync(file)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT" ? null : undefined
  }
  const signature = `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`
  const cached = packedCache.get(common)
  if (cached !== undefined && cached.signature === signature) return cached.refs
  const text = readOrAbsent(file)
  if (text === null) return null
  if (text === undefined) return undefined
  const refs = new Map<string, string>()
  for (const line of text.split("\n")) {
    // "# pack-refs with: …" header, "^<sha>" peeled lines and blanks are not refs.
    if (line === "" || line.startsWith("#") || line.startsWith("^")) continue
    const space = line.indexOf(" ")
    const sha = line.slice(0, space)
    if (space === -1 || !SHA.test(sha)) return undefined
    refs.set(line.slice(space + 1), sha)
  }
  packedCache.set(common, { signature, refs })
  return refs
}

const reftableCache = new Map<string, boolean>()

/** The repository keeps its refs in a reftable (git ≥ 2.45), not in files: asked once per common dir. */
const usesReftable = (common: string): boolean => {
  const known = reftableCache.get(common)
  if (known !== undefined) return known
  const config = readOrAbsent(NodePath.join(common, "config")) ?? ""
  const answer = NodeFs.existsSync(NodePath.join(common, "reftable")) || /^\s*refstorage\s*=\s*reftable\s*$/im.test(config)
  reftableCache.set(common, answer)
  return answer
}

/** The value of ref `name` (HEAD, refs/heads/x, refs/oompa/…), following symbolic refs; undefined: ask git. */
export const readRef = (dirs: RefDirs, name: string, depth = 0): RefValue | undefined => {
  if (depth > MAX_DEPTH || !isPlainRefName(name) || usesReftable(dirs.common)) return undefined
  const loose = readOrAbsent(NodePath.join(isPerWorktree(name) ? dirs.gitDir : dirs.common, name))
  if (loose === undefined) return undefined
  if (loose === null) {
    if (isPerWorktree(name)) return name === "HEAD" ? undefined : { _tag: "Absent" }
    const packed = packedRefs(dirs.common)
    if (packed === undefined) return undefined
    const sha = packed?.get(name)
    return sha === undefined ? { _tag: "Absent" } : { _tag: "Sha", sha }
  }
  const value = loose.trim()
  if (SHA.test(value)) return { _tag: "Sha", sha: value }
  if (value.startsWith("ref: ")) return readRef(dirs, value.slice("ref: ".length).trim(), depth + 1)
  return undefined
}

/**
 * The common git dir and the git dir of the checkout `cwd`, read from the files git
 * itself reads (`.git`, `<gitdir>/commondir`); undefined when the layout is not
 * the usual one (a subfolder of a checkout, GIT_DIR set…) and git must be asked.
 */
export const refDirsOf = (cwd: string): RefDirs | undefined => {
  // git would look where these say, not at cwd/.git.
  if (process.env.GIT_DIR !== undefined || process.env.GIT_COMMON_DIR !== undefined || process.env.GIT_WORK_TREE !== undefined) return undefined
  const dotGit = NodePath.join(cwd, ".git")
  let stat: NodeFs.Stats
  try {
    stat = NodeFs.statSync(dotGit)
  } catch {
    return undefined
  }
  if (stat.isDirectory()) return { common: dotGit, gitDir: dotGit }
  const text = readOrAbsent(dotGit)
  const match = typeof text === "string" ? /^gitdir: (.+)$/m.exec(text) : null
  if (match === null) return undefined
  const gitDir = NodePath.resolve(cwd, match[1]!.trim())
  const common = readOrAbsent(NodePath.join(gitDir, "commondir"))
  return { common: typeof common === "string" ? NodePath.resolve(gitDir, common.trim()) : gitDir, gitDir }
}

/**
 * The parents of commit `sha` when it is a loose object under `<common>/objects`
 * (commits oompa and its agents just made are); undefined when it is packed, not
 * a commit, or unreadable — then git must be asked.
 */
export const looseCommitParents = (common: string, sha: string): ReadonlyArray<string> | undefined => {
  let raw: Buffer
  try {
    raw = NodeZlib.inflateSync(NodeFs.readFileSync(NodePath.join(common, "objects", sha.slice(0, 2), sha.slice(2))))
  } catch {
    return undefined
  }
  const nul = raw.indexOf(0)
  if (nul === -1 || raw.toString("latin1", 0, 7) !== "commit ") return undefined
  // The header lines end at the first blank line; the parents follow the tree.
  const end = raw.indexOf("\n\n", nul)
  const header = raw.toString("utf8", nul + 1, end === -1 ? raw.length : end).split("\n")
  if (!header[0]?.startsWith("tree ")) return undefined
  const parents: Array<string> = []
  for (const line of header.slice(1)) {
    if (!line.startsWith("parent ")) break
    parents.push(line.slice("parent ".length))
  }
  return parents
}

/**
 * Whether `ancestor` is reachable from `descendant` through the parents of loose
 * commits, visiting at most `limit` of them: true when a path is found (that is
 * proof); undefined when none was found within what could be read (not proof of
 * the contrary: ask git).
 */
export const reachableThroughLooseCommits = (
  common: string,
  ancestor: string,
  descendant: string,
  limit: number
): true | undefined => {
  if (ancestor === descendant) return true
  const seen = new Set([descendant])
  const queue = [descendant]
  while (queue.length > 0 && seen.size <= limit) {
    const parents = looseCommitParents(common, queue.shift()!)
    if (parents === undefined) continue
    for (const parent of parents) {
      if (parent === ancestor) return true
      if (!seen.has(parent)) {
        seen.add(parent)
        queue.push(parent)
      }
    }
  }
  return undefined
}

/**
 * Are the parents written in commit objects the ancestry git uses here? Not in a
 * shallow clone (its boundary commits count as parentless), nor with grafts or
 * replace refs (`git replace`), which rewrite parents.
 */
export const parentsAreAsWritten = (common: string): boolean => {
  if (NodeFs.existsSync(NodePath.join(common, "shallow")) || NodeFs.existsSync(NodePath.join(common, "info", "grafts"))) return false
  try {
    if (NodeFs.readdirSync(NodePath.join(common, "refs", "replace")).length > 0) return false
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") return false
  }
  const packed = packedRefs(common)
  if (packed === undefined) return false
  return packed === null || ![...packed.keys()].some((ref) => ref.startsWith("refs/replace/"))
}

/** What this worktree's HEAD file says (`ref: refs/heads/x`, or a sha when detached), trimmed; undefined: ask git. */
export const readHeadFile = (dirs: RefDirs): string | undefined => {
  if (usesReftable(dirs.common)) return undefined
  const head = readOrAbsent(NodePath.join(dirs.gitDir, "HEAD"))
  if (typeof head !== "string") return undefined
  const value = head.trim()
  return SHA.test(value) || /^ref: refs\/\S+$/.test(value) ? value : undefined
}

/** Where a branch is checked out, and where a rebase of it is under way (paths of worktrees). */
export interface BranchCheckouts {
  readonly holders: ReadonlyArray<string>
  readonly rebasing: ReadonlyArray<string>
}

/**
 * The worktrees (the main one and each of `<common>/worktrees/*`) whose HEAD names
 * `branchRef`, and those detached by a rebase of it, read from their git dirs as
 * `git worktree list` reads them; undefined for anything unusual (a separate git
 * dir, a relative or missing `gitdir` file, the reftable backend): ask git.
 */
export const branchCheckoutsOf = (common: string, branchRef: string): BranchCheckouts | undefined => {
  if (usesReftable(common) || NodePath.basename(common) !== ".git") return undefined
  const config = readOrAbsent(NodePath.join(common, "config"))
  if (typeof config !== "string") return undefined
  const gitDirs: Array<{ readonly path: string; readonly gitDir: string }> = []
  if (!/^\s*bare\s*=\s*true\s*$/im.test(config)) gitDirs.push({ path: NodePath.dirname(common), gitDir: common })
  let ids: Array<string>
  try {
    ids = NodeFs.readdirSync(NodePath.join(common, "worktrees"))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") return undefined
    ids = []
  }
  for (const id of ids) {
    const gitDir = NodePath.join(common, "worktrees", id)
    const pointer = readOrAbsent(NodePath.join(gitDir, "gitdir"))
    if (typeof pointer !== "string") return undefined
    const dotGit = pointer.trim()
    if (!NodePath.isAbsolute(dotGit) || NodePath.basename(dotGit) !== ".git") return undefined
    gitDirs.push({ path: NodePath.dirname(dotGit), gitDir })
  }
  const holders: Array<string> = []
  const rebasing: Array<string> = []
  for (const { path, gitDir } of gitDirs) {
    const head = readHeadFile({ common, gitDir })
    if (head === undefined) return undefined
    if (head === `ref: ${branchRef}`) holders.push(path)
    else if (SHA.test(head)) {
      for (const state of ["rebase-merge", "rebase-apply"]) {
        const headName = readOrAbsent(NodePath.join(gitDir, state, "head-name"))
        if (headName === undefined) return undefined
        if (headName?.trim() === branchRef) rebasing.push(path)
      }
    }
  }
  return { holders, rebasing }
}
