import { Path } from "@effect/platform"
import { Console, Effect, Option } from "effect"
import { discoverConfig } from "../config/loadConfig.js"
import { loadSwarmConfig } from "../engine/loadConfig.js"
import { recoverDeadRuns } from "../engine/recover.js"
import { describeProblems, findRuns, listRuns } from "../runs/readRuns.js"
import { Git } from "../services/Git.js"
import type { RunLog } from "../services/RunLog.js"
import { makeTaskQueue } from "../services/TaskQueue.js"

/** The task queue whose claims a crashed run may hold: oompa.json's tasks_dir, or ./tasks without one. */
const queueDir = (cwd: string) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const configPath = Option.getOrUndefined(yield* Effect.option(discoverConfig({ cwd })))
    return configPath === undefined ? path.resolve(cwd, "tasks") : (yield* loadSwarmConfig({ cwd, configPath })).tasksDir
  })

/**
 * `oompa cleanup` (SPEC §8, §10): recovers the leftovers of dead runs exactly
 * as a swarm start does (`recoverDeadRuns`: work kept under
 * refs/oompa/kept/…, worktrees and branches removed, claims back to pending,
 * stopped.json written). A run whose process is alive is never touched.
 * Then lists the kept refs, so the user knows where unmerged work is.
 */
export const handleCleanup = (_: {}) =>
  Effect.gen(function* () {
    const git = yield* Git
    const cwd = process.cwd()
    const { root, runsDir } = yield* findRuns(cwd)
    const runs = yield* listRuns(runsDir)
    for (const run of runs.filter((r) => r.status === "running" || (r.status === "starting" && r.problems.length === 0))) {
      const pid = Option.match(run.started, { onNone: () => "", onSome: (s) => ` (pid ${s.pid})` })
      yield* Console.log(`left alone: swarm ${run.id} is ${run.status}${pid}`)
    }
    // A run whose files cannot be read is never recovered (nor removed): say which and why.
    for (const run of runs) for (const line of describeProblems(run)) yield* Console.error(line)
    for (const run of runs.filter((r) => Option.isNone(r.started) && Option.isNone(r.stopped) && r.problems.length > 0)) {
      yield* Console.log(`left alone: swarm ${run.id}: its started.json cannot be read (fix or remove ${run.dir} by hand)`)
    }
    const crashed = runs.filter((r) => r.status === "crashed")
    if (crashed.length === 0) yield* Console.log("nothing to recover: no crashed run")
    const queue = yield* makeTaskQueue(yield* queueDir(cwd))
    const report: Pick<RunLog, "dir" | "emit"> = {
      // No run of ours to skip: every dead run is recovered.
      dir: "",
      emit: (event) => Console.log(event.message)
    }
    // Also without a crashed run: it removes run folders whose creation was cut short.
    yield* recoverDeadRuns({ root, queue, runLog: report, recoveredBy: "oompa cleanup" })
    const kept = yield* git.listRefs(root, "refs/oompa/kept/")
    if (kept.length === 0) {
      yield* Console.log("no kept work (refs/oompa/kept/* is empty)")
    } else {
      yield* Console.log(`kept work (not merged; see it with git log <ref>, delete with git update-ref -d <ref>):`)
      for (const { ref, sha } of kept) yield* Console.log(`  ${ref}  ${sha.slice(0, 12)}`)
    }
  })
