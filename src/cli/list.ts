import { Console, Effect, Option } from "effect"
import { ListJson, type ListedRun } from "../domain/JsonOutput.js"
import {
  describeProblems,
  findRuns,
  formatCost,
  formatTable,
  listRuns,
  localDateTime,
  cappedProblem,
  totalsOf,
  type RunInfo
} from "../runs/readRuns.js"
import { printJson } from "./json.js"

/** One run as `oompa list --json` shows it: the facts of its row, from the same run files. */
const listedRun = (run: RunInfo): ListedRun => ({
  id: run.id,
  dir: run.dir,
  status: run.status,
  started: run.started,
  stopped: run.stopped,
  totals: totalsOf(run.cycles),
  problems: run.problems.map(cappedProblem)
})

/** `oompa list` (SPEC §10): one line per run, newest first, from the run files only. */
export const handleList = ({ json }: { readonly json: boolean }) =>
  Effect.gen(function* () {
    const { runsDir } = yield* findRuns(process.cwd())
    const runs = yield* listRuns(runsDir)
    if (json) return yield* printJson(ListJson, { schema: "list.json@1", runs: runs.map(listedRun) })
    if (runs.length === 0) {
      yield* Console.log("No runs yet")
      return
    }
    const rows = runs.map((run) => {
      const totals = totalsOf(run.cycles)
      const started = Option.getOrUndefined(run.started)
      return [
        run.id,
        started === undefined ? "?" : localDateTime(started.startedAt),
        run.status,
        started === undefined ? "?" : String(started.workers.length),
        `${totals.merged}/${totals.cycles}`,
        `${totals.inputTokens}/${totals.outputTokens}`,
        formatCost(totals.costUsd, totals.costEstimated),
        started === undefined ? "?" : started.targetBranch
      ]
    })
    yield* Console.log(
      formatTable([["swarm", "started", "status", "workers", "merged/cycles", "tokens in/out", "cost", "target"], ...rows])
    )
    for (const run of runs) for (const line of describeProblems(run)) yield* Console.error(line)
  })
