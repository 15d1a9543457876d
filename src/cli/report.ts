import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { ReportJson } from "../domain/JsonOutput.js"
import { findRuns, listRuns, selectRun } from "../runs/readRuns.js"
import { loadReport } from "../runs/report.js"
import { reportMarkdown } from "../runs/reportMarkdown.js"
import { jsonOption, printJson } from "./json.js"
import { swarmArg } from "./view.js"

/** `oompa report [swarm]`: the morning report of one run (default the newest), as Markdown or report.json. */
export const reportCommand = Command.make("report", { swarm: swarmArg, json: jsonOption("report.json") }, ({ json, swarm }) =>
  Effect.gen(function* () {
    const { root, runsDir } = yield* findRuns(process.cwd())
    const run = yield* selectRun(yield* listRuns(runsDir), swarm)
    const report = yield* loadReport(run, root)
    if (json) return yield* printJson(ReportJson, report)
    yield* Console.log(reportMarkdown(report))
  })
).pipe(
  Command.withDescription(
    "The morning report of one run, in Markdown: merged, not merged (and where it is kept), tasks left, cost, waits, what needs a human"
  )
)
