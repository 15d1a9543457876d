import { Console, Effect, type Option } from "effect"
import { ReportJson } from "../domain/JsonOutput.js"
import { findRuns, listRuns, selectRun } from "../runs/readRuns.js"
import { loadReport } from "../runs/report.js"
import { reportMarkdown } from "../runs/reportMarkdown.js"
import { printJson } from "./json.js"

/** `oompa report [swarm]`: the morning report of one run (default the newest), as Markdown or report.json. */
export const handleReport = ({ json, swarm }: { readonly swarm: Option.Option<string>; readonly json: boolean }) =>
  Effect.gen(function* () {
    const { root, runsDir } = yield* findRuns(process.cwd())
    const run = yield* selectRun(yield* listRuns(runsDir), swarm)
    const report = yield* loadReport(run, root)
    if (json) return yield* printJson(ReportJson, report)
    yield* Console.log(reportMarkdown(report))
  })
