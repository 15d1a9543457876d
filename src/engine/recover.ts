import * as NodeFs from "node:fs"
import { FileSystem, Path } from "@effect/platform"
import { Clock, Effect, Option, Schema } from "effect"
import { branchOf, branchPrefixOf, cycleFileName, cycleName, keptRefOf, ownerOf, parseBranch, parseOwner, runsDirOf, type CycleRef } from "../domain/naming.js"
import { make as runEvent } from "../domain/RunEvent.js"
import { RunEventLine, StartedFile } from "../domain/RunFiles.js"
import { emptyUsage } from "../domain/Usage.js"
import { readCycleFiles, summarizeWorkers } from "../runs/summaries.js"
import { Git } from "../services/Git.js"
import { commitLeftWork, keepWork } from "./keepWork.js"
import { heldOwnHead } from "./train.js"
import { deleteBranch } from "./merge.js"
import { processAlive, terminateSwarmProcesses } from "../services/processTree.js"
import { makeRunLog, nowIso, stagingPidOf, type RunLog } from "../services/RunLog.js"
import type { TaskQueue } from "../services/TaskQueue.js"

const decodeStarted = Schema.decodeUnknownOption(Schema.parseJson(StartedFile))

/**
 * Finds runs that crashed (started.json, no stopped.json, owner pid dead) and
 * recovers them as an interruption would have (SPEC §8): their agents' processes
 * (found by the run's turn-marker prefix) are ended, work in their
 * worktrees is committed and kept under `refs/oompa/kept/<swarm>/…`, the
 * worktrees and branches removed, their claims put back in pending, and a
 * stopped.json written saying so. Live runs are never touched.
 */
export const recoverDeadRuns = Effect.fn("engine.recoverDeadRuns")(function* (options: {
  readonly root: string
  readonly queue: TaskQueue
  /** Where the recovery is reported; only `dir` (this run's own folder, skipped) and `emit` are used. */
  readonly runLog: Pick<RunLog, "dir" | "emit">
  /** Who recovered, for stopped.json's detail; default `swarm <id of runLog.dir>`. */
  readonly recoveredBy?: string
}) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const git = yield* Git
  const runsDir = runsDirOf(options.root)
  const recoveredBy = options.recoveredBy ?? `swarm ${options.runLog.dir.split("/").pop()}`
  const runs = yield* fs.readDirectory(runsDir).pipe(Effect.orElseSucceed(() => [] as Array<string>))
  /** Other runs still alive: a claim they are making may not be stamped yet. */
  let othersAlive = false
  for (const swarm of runs) {
    // A run folder whose creation was cut short (its creator is gone): nothing in it ran.
    const stagingPid = stagingPidOf(swarm)
    if (stagingPid !== undefined) {
      if (processAlive(stagingPid)) othersAlive = true
      else yield* fs.remove(path.join(runsDir, swarm), { recursive: true }).pipe(Effect.ignore)
      continue
    }
    const dir = path.join(runsDir, swarm)
    if (dir === options.runLog.dir) continue
    if (yield* fs.exists(path.join(dir, "stopped.json")).pipe(Effect.orElseSucceed(() => true))) continue
    const started = yield* fs.readFileString(path.join(dir, "started.json")).pipe(
      Effect.map(decodeStarted),
      Effect.orElseSucceed(() => Option.none())
    )
    if (Option.isNone(started)) continue
    if (processAlive(started.value.pid)) {
      othersAlive = true
      continue
    }
    // Its agents may outlive it (a kill -9 leaves them running in its worktrees): end them first.
    yield* terminateSwarmProcesses(swarm)

    const kept: Array<string> = []
    const worktrees = yield* git.listWorktrees(options.root)
    for (const worktree of worktrees) {
      const cycle = Option.getOrUndefined(Option.flatMap(worktree.branch, parseBranch))
      if (cycle === undefined || cycle.swarm !== swarm) continue
      // Killed while it held a merge-train candidate (others' unlanded work): back to its own work first.
      const ownHead = yield* heldOwnHead(worktree.path)
      if (Option.isSome(ownHead)) yield* git.run(worktree.path, ["reset", "-q", "--hard", ownHead.value]).pipe(Effect.ignore)
      // The same first step as a cycle's own ending; the ref is set below, once per branch.
      yield* commitLeftWork(worktree.path, cycle, `crashed run ${swarm}`).pipe(Effect.ignore)
      yield* git.removeWorktree(options.root, worktree.path).pipe(Effect.ignore)
    }
    const target = started.value.targetBranch
    const bases = yield* cycleBasesOf(path.join(dir, "events.jsonl"))
    const merged: Array<CycleRef & { readonly name: string; readonly owner: string; readonly commit: string; readonly startedAt: string }> = []
    // Each worker's unmerged cycle, for the attempt stamped on the claims it held.
    const unmerged = new Map<string, { readonly name: string; readonly keptRef?: string; readonly commit: string }>()
    const branches = yield* git.listRefs(options.root, `refs/heads/${branchPrefixOf(swarm)}`)
    for (const { ref, sha } of branches) {
      // A branch under the prefix that oompa did not name is not a cycle's: left alone.
      const parsed = parseBranch(ref)
      if (Option.isNone(parsed) || parsed.value.swarm !== swarm) continue
      const { worker, cycle } = parsed.value
      const name = cycleName(worker, cycle)
      const branch = branchOf(swarm, worker, cycle)
      const owner = ownerOf(swarm, worker)
      const keptRef = keptRefOf(swarm, worker, cycle)
      const inTarget = yield* git.isAncestor(options.root, sha, target).pipe(Effect.orElseSucceed(() => false))
      // In the target with commits of its own: the run died after the fast-forward and
      // before recording it. Its claims are done, not to be redone (SPEC §8).
      const cycleStart = bases.get(branch)
      if (inTarget && cycleStart !== undefined && cycleStart.base !== sha) {
        merged.push({ swarm, worker, cycle, name, owner, commit: sha, startedAt: cycleStart.at })
      }
      // Kept as a cycle's own ending keeps it; a tip in the target holds nothing new.
      const keptWork = yield* keepWork({
        root: options.root,
        cycle: parsed.value,
        why: `crashed run ${swarm}`,
        reflogMessage: `oompa: recovered from crashed run ${swarm}`,
        nothingNew: () => Effect.succeed(inTarget)
      })
      if (Option.isSome(keptWork)) {
        kept.push(keptWork.value.ref)
        unmerged.set(owner, { name, keptRef: keptWork.value.ref, commit: keptWork.value.commit })
      } else if (!merged.some((m) => m.name === name)) {
        unmerged.set(owner, { name, commit: sha })
      }
      yield* deleteBranch(options.root, branch, { verifiedMergedInto: inTarget ? target : keptRef })
        .pipe(Effect.ignore)
    }
    const listing = yield* options.queue.list
    const ours = listing.current.filter((entry) => Option.exists(parseOwner(entry.task.claimed_by ?? ""), (owner) => owner.swarm === swarm))
    const completed: Array<string> = []
    const deadLog = yield* makeRunLog({ dir, print: () => Effect.void })
    for (const cycle of merged) {
      const ids = ours.filter((entry) => entry.task.claimed_by === cycle.owner).map((entry) => entry.id)
      if (ids.length > 0) yield* options.queue.complete(ids, { by: cycle.owner, mergedCommit: cycle.commit, reviewRounds: 0 })
      completed.push(...ids)
      // Killed between completing its claims and writing its cycle file: they are in complete/ already, stamped with this merge.
      const completedByIt = listing.complete
        .filter((entry) => entry.task.completed_by === cycle.owner && entry.task.merged_commit === cycle.commit)
        .map((entry) => entry.id)
      // The cycle file the dead run could not write: `view` and `list` count this merge.
      const worker = cycle.worker
      if (yield* fs.exists(path.join(dir, "cycles", cycleFileName(worker, cycle.cycle))).pipe(Effect.orElseSucceed(() => true))) continue
      yield* deadLog.writeCycle({
        swarm,
        worker,
        cycle: cycle.cycle,
        model: started.value.workers.find((w) => w.id === worker)?.model ?? "?",
        outcome: "merged",
        detail: `merged into ${target} at ${cycle.commit.slice(0, 12)}; the run stopped before recording it (recovered)`,
        branch: branchOf(swarm, worker, cycle.cycle),
        claims: [...completedByIt, ...ids],
        turns: [],
        signals: [],
        reviewRounds: 0,
        mergedCommit: cycle.commit,
        startedAt: cycle.startedAt,
        endedAt: yield* nowIso,
        durationMs: 0,
        usage: emptyUsage
      })
    }
    const claims = ours.map((entry) => entry.id).filter((id) => !completed.includes(id))
    const endedAt = yield* nowIso
    const owners = new Set(ours.filter((entry) => claims.includes(entry.id)).map((entry) => entry.task.claimed_by!))
    for (const owner of owners) {
      const ids = ours.filter((entry) => entry.task.claimed_by === owner && claims.includes(entry.id)).map((entry) => entry.id)
      const cycle = unmerged.get(owner)
      const worker = Option.match(parseOwner(owner), { onNone: () => owner, onSome: (o) => o.worker })
      yield* options.queue.recycle(ids, {
        worker,
        swarm,
        cycle: cycle?.name ?? `${worker}-c?`,
        outcome: "crashed",
        reason: `the run died during this cycle (pid ${started.value.pid} gone without stopped.json); recovered by ${recoveredBy}`,
        ...(cycle?.keptRef !== undefined ? { kept_ref: cycle.keptRef, kept_commit: cycle.commit } : {}),
        ended_at: endedAt
      })
    }

    // Its summary, from its cycle files as for any run (the merges recorded above included):
    // what `oompa view` shows for it too.
    const { cycles } = yield* readCycleFiles(dir)
    yield* deadLog.writeStopped({
      swarm,
      reason: "error",
      detail: `crashed (pid ${started.value.pid} gone without stopped.json); recovered by ${recoveredBy}`,
      stoppedAt: yield* nowIso,
      exitCode: 1,
      workers: summarizeWorkers(started.value.workers, cycles, (_id, own) => ({
        stopReason: "crashed",
        durationMs: own.reduce((n, c) => n + c.durationMs, 0)
      }))
    })
    yield* options.runLog.emit(runEvent.recovered({}, { swarm, kept, claims, completed }))
  }
  yield* recoverUnstampedClaims(options.queue, options.runLog, othersAlive, recoveredBy)
})

/**
 * Each cycle's branch, the target tip it started from and when, from the run's
 * `cycle-started` events. A line that does not parse (the run died mid-write) is skipped.
 */
const cycleBasesOf = (eventsPath: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(eventsPath).pipe(Effect.orElseSucceed(() => ""))
    const bases = new Map<string, { readonly base: string; readonly at: string }>()
    for (const line of text.split("\n")) {
      const event = decodeEvent(line)
      if (Option.isNone(event) || event.value.type !== "cycle-started") continue
      const { branch, base } = event.value.data ?? {}
      if (typeof branch === "string" && typeof base === "string") bases.set(branch, { base, at: event.value.at })
    }
    return bases
  })

// Leniently: the crashed run may have been written by an earlier version.
const decodeEvent = Schema.decodeUnknownOption(Schema.parseJson(RunEventLine))

/** How long a claim in current/ may stay unstamped before it counts as orphaned (a live claimer stamps within milliseconds). */
const UNSTAMPED_GRACE_MS = 10_000

/**
 * A task in current/ without `claimed_by` was left by a run that died between two
 * steps of a queue move (the claim's rename and its stamp, or a recycle's unstamp and
 * its rename): no run will ever finish it. It goes back to pending — at once when no
 * other run is alive, else once it has been unstamped for longer than any live claimer takes.
 */
const recoverUnstampedClaims = (
  queue: TaskQueue,
  runLog: Pick<RunLog, "emit">,
  othersAlive: boolean,
  recoveredBy: string
) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const listing = yield* queue.list
    // rename(2) sets a file's ctime: it says when the task came to current/.
    const cameAt = (file: string) =>
      Effect.sync(() => {
        try {
          return NodeFs.statSync(file).ctimeMs
        } catch {
          return now
        }
      })
    const orphans: Array<string> = []
    for (const entry of listing.current) {
      if (entry.task.claimed_by !== undefined) continue
      if (!othersAlive || now - (yield* cameAt(entry.file)) > UNSTAMPED_GRACE_MS) orphans.push(entry.id)
    }
    if (orphans.length === 0) return
    yield* queue.recycle(orphans, {
      worker: "?",
      swarm: "?",
      cycle: "?",
      outcome: "crashed",
      reason: `left in current/ without a claim stamp by a run that stopped mid-move; recovered by ${recoveredBy}`,
      ended_at: yield* nowIso
    })
    yield* runLog.emit(runEvent.recovered({}, { orphans }))
  })
