import { Option } from "effect"

/**
 * The names oompa gives the things of a run (SPEC §5, §8, §11), each with its
 * inverse: the cycle builds them, crash recovery and the run reader read them
 * back, so both sides go through this one module and cannot drift apart.
 *
 * The parts, and what keeps the parsers exact:
 * - a swarm id is 8 hex characters (SPEC §1): it holds no `/`, `@` or `-`;
 * - a worker id (`w0`, `w1`, …) holds no `/`;
 * - a cycle number is a non-negative integer, written without leading zeros.
 * Every parser returns None for a name that is not one oompa builds.
 */

/** One cycle of one worker of one swarm. */
export interface CycleRef {
  readonly swarm: string
  readonly worker: string
  readonly cycle: number
}

/** One worker of one swarm: who holds a claim. */
export interface OwnerRef {
  readonly swarm: string
  readonly worker: string
}

const NUMBER = /^(0|[1-9][0-9]*)$/
const SWARM = /^[^/@-]+$/
const WORKER = /^[^/]+$/

const parseNumber = (text: string): Option.Option<number> =>
  NUMBER.test(text) && Number.isSafeInteger(Number(text)) ? Option.some(Number(text)) : Option.none()

const isSwarm = (text: string): boolean => SWARM.test(text)

// ---------------------------------------------------------------------------
// Cycle name: `<worker>-c<N>` (cycle files, logs, commit messages, task attempts)

export const cycleName = (worker: string, cycle: number): string => `${worker}-c${cycle}`

export const parseCycleName = (name: string): Option.Option<{ readonly worker: string; readonly cycle: number }> => {
  const match = /^(.+)-c([0-9]+)$/.exec(name)
  if (match === null || !WORKER.test(match[1]!)) return Option.none()
  const worker = match[1]!
  return Option.map(parseNumber(match[2]!), (cycle) => ({ worker, cycle }))
}

/** `cycles/<worker>-c<N>.json` of a run folder: the file name alone. */
export const cycleFileName = (worker: string, cycle: number): string => `${cycleName(worker, cycle)}.json`

export const parseCycleFileName = (name: string) =>
  name.endsWith(".json") ? parseCycleName(name.slice(0, -".json".length)) : Option.none()

/**
 * The files beside a turn's (or a reviewer's) raw log `logs/<name>.log`: the
 * prompt oompa sent and the agent's final message, as plain text (the
 * dashboard's cycle page shows them; the raw log holds them only in each
 * CLI's own format, if at all).
 */
export const promptFileOf = (logPath: string): string => logPath.replace(/\.log$/, "") + ".prompt.txt"
export const finalMessageFileOf = (logPath: string): string => logPath.replace(/\.log$/, "") + ".final.txt"

// ---------------------------------------------------------------------------
// Branch: `oompa/<swarm>/<worker>-c<N>` (the cycle's worktree branch)

/** Every branch of one swarm starts with this (a short branch name, no `refs/heads/`). */
export const branchPrefixOf = (swarm: string): string => `oompa/${swarm}/`

export const branchOf = (swarm: string, worker: string, cycle: number): string =>
  `${branchPrefixOf(swarm)}${cycleName(worker, cycle)}`

/** A short branch name or a full `refs/heads/…` ref. */
export const parseBranch = (branch: string): Option.Option<CycleRef> => {
  const short = branch.startsWith("refs/heads/") ? branch.slice("refs/heads/".length) : branch
  return parseUnder("oompa/", short)
}

/** `<prefix><swarm>/<worker>-c<N>` → its parts. */
const parseUnder = (prefix: string, name: string): Option.Option<CycleRef> => {
  if (!name.startsWith(prefix)) return Option.none()
  const rest = name.slice(prefix.length)
  const slash = rest.indexOf("/")
  if (slash === -1) return Option.none()
  const swarm = rest.slice(0, slash)
  if (!isSwarm(swarm)) return Option.none()
  return Option.map(parseCycleName(rest.slice(slash + 1)), ({ worker, cycle }) => ({ swarm, worker, cycle }))
}

// ---------------------------------------------------------------------------
// Kept ref: `refs/oompa/kept/<swarm>/<worker>-c<N>` (work not merged, SPEC §8)

/** Every kept ref starts with this; only work oompa itself kept is carried into a later cycle. */
export const KEPT_REF_PREFIX = "refs/oompa/kept/"

export const keptRefOf = (swarm: string, worker: string, cycle: number): string =>
  `${KEPT_REF_PREFIX}${swarm}/${cycleName(worker, cycle)}`

export const parseKeptRef = (ref: string): Option.Option<CycleRef> => parseUnder(KEPT_REF_PREFIX, ref)

// ---------------------------------------------------------------------------
// Owner: `<worker>@<swarm>` (a task's `claimed_by`: unique across swarms on one repo)

export const ownerOf = (swarm: string, worker: string): string => `${worker}@${swarm}`

export const parseOwner = (owner: string): Option.Option<OwnerRef> => {
  const at = owner.lastIndexOf("@")
  if (at === -1) return Option.none()
  const worker = owner.slice(0, at)
  const swarm = owner.slice(at + 1)
  return WORKER.test(worker) && isSwarm(swarm) ? Option.some({ swarm, worker }) : Option.none()
}

// ---------------------------------------------------------------------------
// Worktree: `<root>/.oompa/worktrees/<swarm>-<worker>-c<N>`

export const worktreesDirOf = (root: string): string => `${root}/.oompa/worktrees`

export const worktreePathOf = (root: string, swarm: string, worker: string, cycle: number): string =>
  `${worktreesDirOf(root)}/${swarm}-${cycleName(worker, cycle)}`

export const parseWorktreePath = (path: string): Option.Option<CycleRef & { readonly root: string }> => {
  const marker = "/.oompa/worktrees/"
  const at = path.lastIndexOf(marker)
  if (at === -1) return Option.none()
  const root = path.slice(0, at)
  const name = path.slice(at + marker.length)
  // The swarm id holds no "-": the first one ends it.
  const dash = name.indexOf("-")
  if (dash === -1) return Option.none()
  const swarm = name.slice(0, dash)
  if (!isSwarm(swarm)) return Option.none()
  return Option.map(parseCycleName(name.slice(dash + 1)), ({ worker, cycle }) => ({ root, swarm, worker, cycle }))
}

// ---------------------------------------------------------------------------
// Run folder: `<root>/.oompa/runs/<swarm>` (SPEC §11)

export const runsDirOf = (root: string): string => `${root}/.oompa/runs`

export const runDirOf = (root: string, swarm: string): string => `${runsDirOf(root)}/${swarm}`

export const parseRunDir = (dir: string): Option.Option<{ readonly root: string; readonly swarm: string }> => {
  const marker = "/.oompa/runs/"
  const at = dir.lastIndexOf(marker)
  if (at === -1) return Option.none()
  const swarm = dir.slice(at + marker.length)
  return isSwarm(swarm) ? Option.some({ root: dir.slice(0, at), swarm }) : Option.none()
}

/** A run's steering folder (docs/steering.md): requests `control/<id>.json`, mode 0700. */
export const controlDirOf = (runDir: string): string => `${runDir}/control`
/** Where the swarm answers each request: `control/done/<id>.json`. */
export const controlDoneDirOf = (runDir: string): string => `${runDir}/control/done`
