import { Command } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import {
  describeProblems,
  findRuns,
  formatCost,
  formatTable,
  listRuns,
  localDateTime,
  totalsOf
} from "../runs/readRuns.js"

/** `oompa list` (SPEC §10): one line per run, newest first, from the run files only. */
export const listCommand = Command.make("list", {}, () =>
  Effect.gen(function* () {
    const { runsDir } = yield* findRuns(process.cwd())
    const runs = yield* listRuns(runsDir)
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
        formatCost(totals.costUsd),
        started === undefined ? "?" : started.targetBranch
      ]
    })
    yield* Console.log(
      formatTable([["swarm", "started", "status", "workers", "merged/cycles", "tokens in/out", "cost", "target"], ...rows])
    )
    for (const run of runs) for (const line of describeProblems(run)) yield* Console.error(line)
  })
).pipe(Command.withDescription("List the runs of this repository, newest first"))
