/**
 * The merge train (SPEC §7, issue 13): with a `test_command`, the workers of one
 * oompa process that are ready to land test speculatively stacked candidates in
 * parallel instead of re-testing one after another as each landing moves the
 * target. A worker joining the train merges not the target's tip but the newest
 * candidate ahead of it (the target plus the work of every worker ahead, each
 * merged and being tested), tests that, and lands once every entry ahead has
 * landed: then the target is at the candidate ahead, and its own candidate is a
 * fast forward from there. When an entry drops out (its tests failed, it
 * conflicted, it was interrupted, its landing failed), every candidate built on
 * it is void: those workers go back to their own work and join again at the end.
 *
 * The train only chooses what to merge and test; correctness is still the
 * verified fast forward of `advanceBranch`. It is per process: another swarm on
 * the same repository is serialised by the merge lock file and shows up here
 * as the target moving, which the caller handles as today (re-merge, re-test,
 * `max_merge_retries`).
 *
 * All bookkeeping happens in single synchronous steps, so a drop and the voiding
 * of everything built on it are one atomic change of the train.
 */
import { Deferred, Effect, Exit, Option } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"

export interface TrainEntry {
  readonly worker: string
  /** The entries whose work this entry's candidate holds, front first (set once its candidate is merged). */
  includes: ReadonlyArray<TrainEntry>
  /** Some(candidate commit) once merged onto the entry ahead; None when it dropped out before (or after: void). */
  readonly candidate: Deferred.Deferred<Option.Option<string>>
  /** How the entry left the train. */
  readonly settled: Deferred.Deferred<"landed" | "dropped">
}

export interface MergeTrain {
  /** The entries still in the train (neither landed nor dropped), front first. */
  readonly entries: Array<TrainEntry>
}

export const makeMergeTrain = (): MergeTrain => ({ entries: [] })

/** What to merge into a worker's own work to get its candidate. */
export type TrainBase =
  /** Nobody ahead: the target's tip, as without a train. */
  | { readonly _tag: "Target" }
  /** The candidate of the entry ahead, which holds the work of `includes`. */
  | { readonly _tag: "Candidate"; readonly commit: string; readonly includes: ReadonlyArray<TrainEntry> }

const settle = (entry: TrainEntry, how: "landed" | "dropped") => {
  Deferred.unsafeDone(entry.settled, Exit.succeed(how))
  // Someone waiting for the candidate of an entry that left before having one picks the entry ahead of it.
  Deferred.unsafeDone(entry.candidate, Exit.succeed(Option.none()))
}

/** A new entry at the end of the train. */
export const join = (train: MergeTrain, worker: string) =>
  Effect.gen(function* () {
    const entry: TrainEntry = {
      worker,
      includes: [],
      candidate: yield* Deferred.make<Option.Option<string>>(),
      settled: yield* Deferred.make<"landed" | "dropped">()
    }
    train.entries.push(entry)
    return entry
  })

/**
 * What `entry` merges: the candidate of the live entry just ahead of it, once
 * that one is merged, or the target when nobody is ahead. An entry ahead that
 * leaves meanwhile (landed: its work is on the target; dropped) is skipped.
 */
export const baseOf = (train: MergeTrain, entry: TrainEntry): Effect.Effect<TrainBase> =>
  Effect.gen(function* () {
    for (;;) {
      const at = train.entries.indexOf(entry)
      const ahead = at > 0 ? train.entries[at - 1] : undefined
      if (ahead === undefined) return { _tag: "Target" } as const
      const candidate = yield* Deferred.await(ahead.candidate)
      // Still in the train at this instant: its candidate holds only work that is landed or still in the train.
      if (Option.isSome(candidate) && train.entries.includes(ahead)) {
        entry.includes = [...ahead.includes, ahead]
        return { _tag: "Candidate", commit: candidate.value, includes: entry.includes } as const
      }
    }
  })

/** The entry's candidate is merged: those behind it may build on it. */
export const published = (entry: TrainEntry, commit: string) =>
  Effect.sync(() => Deferred.unsafeDone(entry.candidate, Exit.succeed(Option.some(commit))))

/** The entry landed: its work is on the target. */
export const landed = (train: MergeTrain, entry: TrainEntry) =>
  Effect.sync(() => {
    const at = train.entries.indexOf(entry)
    if (at >= 0) train.entries.splice(at, 1)
    settle(entry, "landed")
  })

/**
 * The entry leaves without landing: it and every entry whose candidate holds its
 * work leave the train, void. Returns how many were voided besides itself.
 */
export const drop = (train: MergeTrain, entry: TrainEntry) =>
  Effect.sync(() => {
    const leaving = train.entries.filter((e) => e === entry || e.includes.includes(entry))
    for (const e of leaving) train.entries.splice(train.entries.indexOf(e), 1)
    settle(entry, "dropped")
    for (const e of leaving) settle(e, "dropped")
    return leaving.filter((e) => e !== entry).length
  })

/**
 * Waits until every entry whose work the candidate holds has landed ("go"), or
 * until one of them dropped out, which voids the candidate ("void").
 */
export const awaitIncluded = (entry: TrainEntry): Effect.Effect<"go" | "void"> =>
  Effect.gen(function* () {
    for (const ahead of entry.includes) {
      if ((yield* Deferred.await(ahead.settled)) === "dropped") return "void" as const
    }
    return "go" as const
  })

/** `awaitIncluded` for an entry still in the train: also "void" as soon as the entry itself is voided. */
export const awaitTurn = (entry: TrainEntry): Effect.Effect<"go" | "void"> =>
  Effect.raceFirst(Deferred.await(entry.settled).pipe(Effect.as("void" as const)), awaitIncluded(entry))

/** Waits until every entry now ahead of `entry` (or, for one not in the train, every entry now in it) has left. */
export const awaitAhead = (train: MergeTrain, entry?: TrainEntry) =>
  Effect.gen(function* () {
    const at = entry === undefined ? -1 : train.entries.indexOf(entry)
    const ahead = at >= 0 ? train.entries.slice(0, at) : [...train.entries]
    yield* Effect.forEach(ahead, (e) => Deferred.await(e.settled), { discard: true })
  })

/**
 * While a worktree holds a candidate with others' unlanded work, a file in its
 * private git dir names the worker's own head, so that recovery of a run killed
 * meanwhile (SIGKILL: no finalizer ran) keeps the worker's own work, not the
 * candidate (src/engine/recover.ts). It goes with the worktree.
 */
const holdingFileOf = (worktree: string): string | undefined => {
  try {
    const dotGit = NodeFs.readFileSync(NodePath.join(worktree, ".git"), "utf8")
    const gitDir = /^gitdir: (.+)$/m.exec(dotGit)?.[1]?.trim()
    return gitDir === undefined ? undefined : NodePath.join(NodePath.resolve(worktree, gitDir), "oompa-train-own-head")
  } catch {
    return undefined
  }
}

export const markHolding = (worktree: string, ownHead: string) =>
  Effect.sync(() => {
    const file = holdingFileOf(worktree)
    if (file !== undefined) NodeFs.writeFileSync(file, `${ownHead}\n`)
  })

export const clearHolding = (worktree: string) =>
  Effect.sync(() => {
    const file = holdingFileOf(worktree)
    if (file !== undefined) NodeFs.rmSync(file, { force: true })
  })

/** The worker's own head, when the worktree was left holding a candidate. */
export const heldOwnHead = (worktree: string) =>
  Effect.sync(() => {
    const file = holdingFileOf(worktree)
    if (file === undefined || !NodeFs.existsSync(file)) return Option.none<string>()
    const sha = NodeFs.readFileSync(file, "utf8").trim()
    return /^[0-9a-f]{40,64}$/.test(sha) ? Option.some(sha) : Option.none<string>()
  })
