import { FileSystem, Path } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { StartedFile } from "../domain/RunFiles.js"
import { Git } from "../services/Git.js"
import { terminateSwarmProcesses } from "../services/processTree.js"
import { makeRunLog, nowIso, type RunLog } from "../services/RunLog.js"
import type { TaskQueue } from "../services/TaskQueue.js"

/** Is a process with this pid alive on this machine? (EPERM: alive, not ours.) */
export const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

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
  const runsDir = path.join(options.root, ".oompa", "runs")
  const runs = yield* fs.readDirectory(runsDir).pipe(Effect.orElseSucceed(() => [] as Array<string>))
  for (const swarm of runs) {
    const dir = path.join(runsDir, swarm)
    if (dir === options.runLog.dir) continue
    if (yield* fs.exists(path.join(dir, "stopped.json")).pipe(Effect.orElseSucceed(() => true))) continue
    const started = yield* fs.readFileString(path.join(dir, "started.json")).pipe(
      Effect.map(decodeStarted),
      Effect.orElseSucceed(() => Option.none())
    )
    if (Option.isNone(started) || pidAlive(started.value.pid)) continue
    // Its agents may outlive it (a kill -9 leaves them running in its worktrees): end them first.
    yield* terminateSwarmProcesses(swarm)

    const kept: Array<string> = []
    const worktrees = yield* git.listWorktrees(options.root)
    for (const worktree of worktrees) {
      const branch = Option.getOrUndefined(worktree.branch)?.replace(/^refs\/heads\//, "")
      if (branch === undefined || !branch.startsWith(`oompa/${swarm}/`)) continue
      const name = branch.slice(`oompa/${swarm}/`.length)
      yield* Effect.gen(function* () {
        if (yield* git.isMergeInProgress(worktree.path)) yield* git.abortMerge(worktree.path)
        yield* git.commitAll(worktree.path, `oompa: work kept from ${name} (crashed run ${swarm})`)
      }).pipe(Effect.ignore)
      yield* git.removeWorktree(options.root, worktree.path).pipe(Effect.ignore)
    }
    const branches = yield* git.listRefs(options.root, `refs/heads/oompa/${swarm}/`)
    for (const { ref, sha } of branches) {
      const name = ref.slice(`refs/heads/oompa/${swarm}/`.length)
      const keptRef = `refs/oompa/kept/${swarm}/${name}`
      const base = yield* git.isAncestor(options.root, sha, started.value.targetBranch).pipe(Effect.orElseSucceed(() => false))
      if (!base) {
        yield* git.keepWork(options.root, keptRef, sha, `oompa: recovered from crashed run ${swarm}`)
        kept.push(keptRef)
      }
      yield* git
        .deleteBranch(options.root, ref.slice("refs/heads/".length), { verifiedMergedInto: base ? started.value.targetBranch : keptRef })
        .pipe(Effect.ignore)
    }
    const listing = yield* options.queue.list
    const claims = listing.current.filter((entry) => entry.task.claimed_by?.endsWith(`@${swarm}`)).map((entry) => entry.id)
    if (claims.length > 0) yield* options.queue.recycle(claims)

    const deadLog = yield* makeRunLog({ dir, print: () => Effect.void })
    yield* deadLog.writeStopped({
      swarm,
      reason: "error",
      detail: `crashed (pid ${started.value.pid} gone without stopped.json); recovered by ${options.recoveredBy ?? `swarm ${options.runLog.dir.split("/").pop()}`}`,
      stoppedAt: yield* nowIso,
      exitCode: 1,
      workers: []
    })
    yield* options.runLog.emit(
      "recovered",
      `recovered crashed run ${swarm}: ${kept.length} branch(es) kept${kept.length ? ` (${kept.join(", ")})` : ""}, ${claims.length} claim(s) back to pending`,
      { data: { swarm, kept, claims } }
    )
  }
})
