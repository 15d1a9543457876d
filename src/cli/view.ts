import { Console, Effect, Option } from "effect"
import { VIEW_EVENTS, ViewJson } from "../domain/JsonOutput.js"
import { oneLine } from "../domain/queue.js"
import type { ReviewFile } from "../domain/RunFiles.js"
import { formatSummaryTable } from "../engine/summary.js"
import {
  describeProblems,
  findRuns,
  formatCost,
  formatDuration,
  formatEvent,
  formatTable,
  listRuns,
  localDateTime,
  readEvents,
  readReviews,
  selectRun,
  cappedProblem,
  totalsOf,
  workerSummaries,
  type RunInfo
} from "../runs/readRuns.js"
import { printJson } from "./json.js"

const header = (run: RunInfo): string => {
  const started = Option.getOrUndefined(run.started)
  const stopped = Option.getOrUndefined(run.stopped)
  const status =
    stopped === undefined
      ? run.status
      : `${run.status} (exit ${stopped.exitCode}${stopped.detail === undefined ? "" : `: ${stopped.detail.split("\n")[0]}`})`
  return formatTable([
    ["swarm", run.id],
    ["status", status],
    ["pid", started === undefined ? "?" : `${started.pid} on ${started.host}`],
    ["started", started === undefined ? "?" : localDateTime(started.startedAt)],
    ...(stopped === undefined ? [] : [["stopped", localDateTime(stopped.stoppedAt)]]),
    ["target", started?.targetBranch ?? "?"],
    ["config", started?.configPath ?? "?"]
  ])
}

const cycleLines = (run: RunInfo): string =>
  formatTable(
    run.cycles.map((c) => [
      `${c.worker}-c${c.cycle}`,
      c.outcome,
      c.claims.length === 0 ? "no claims" : `claims ${c.claims.join(",")}`,
      `review rounds ${c.reviewRounds}`,
      c.mergedCommit !== undefined
        ? `merged ${c.mergedCommit.slice(0, 12)}`
        : c.keptRef !== undefined
          ? `kept ${c.keptRef}`
          : "-",
      formatDuration(c.durationMs),
      formatCost(c.costUsd ?? 0, c.costEstimated)
    ])
  )

/** Every reviewer attempt: its verdict, or why it gave none (the CLI's error for a failed reviewer). */
const reviewLines = (reviews: ReadonlyArray<ReviewFile>): string =>
  formatTable(
    reviews.map((r) => [
      `${r.worker}-c${r.cycle}`,
      `round ${r.round}`,
      `#${r.attempt}`,
      r.reviewer,
      r.verdict ?? `no verdict: ${oneLine(r.error ?? "?", 200)}`,
      formatDuration(r.durationMs),
      formatCost(r.costUsd ?? 0, r.costEstimated)
    ])
  )

/** `oompa view [swarm]` (SPEC §10): one run from its run files. */
export const handleView = ({ json, swarm }: { readonly swarm: Option.Option<string>; readonly json: boolean }) =>
  Effect.gen(function* () {
    const { runsDir } = yield* findRuns(process.cwd())
    const run = yield* selectRun(yield* listRuns(runsDir), swarm)
    const { events, problems } = yield* readEvents(run.dir)
    const { reviews, problems: reviewProblems } = yield* readReviews(run)
    const allProblems = [...run.problems, ...reviewProblems, ...problems]
    if (json) {
      return yield* printJson(ViewJson, {
        schema: "view.json@1",
        id: run.id,
        dir: run.dir,
        status: run.status,
        started: run.started,
        stopped: run.stopped,
        workers: workerSummaries(run),
        totals: totalsOf(run.cycles),
        cycles: run.cycles,
        reviews,
        eventCount: events.length,
        lastEvents: events.slice(-VIEW_EVENTS),
        problems: allProblems.map(cappedProblem)
      })
    }
    const out: Array<string> = [header(run), "", formatSummaryTable(workerSummaries(run)), ""]
    out.push(run.cycles.length === 0 ? "no cycle has ended yet" : `cycles:\n${cycleLines(run)}`)
    if (reviews.length > 0) out.push("", `reviews:\n${reviewLines(reviews)}`)
    out.push("", events.length > VIEW_EVENTS ? `last ${VIEW_EVENTS} of ${events.length} events:` : "events:")
    out.push(...events.slice(-VIEW_EVENTS).map(formatEvent))
    yield* Console.log(out.join("\n"))
    for (const line of describeProblems(run, allProblems)) yield* Console.error(line)
  })
