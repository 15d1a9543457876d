import { Console, Effect, Option } from "effect"
import { UsageError } from "../domain/errors.js"
import { findRuns } from "../runs/readRuns.js"
import { startDashboard, type Dashboard } from "../ui/web/server.js"

/**
 * `oompa ui [--port N]` (issue 10): the local web dashboard of every run of
 * this repository, read from its run files, whether a swarm runs or not.
 * `oompa swarm --ui` starts the same server inside the swarm's process.
 */

export const checkPort = (port: Option.Option<number>) =>
  Option.match(port, {
    onNone: () => Effect.succeed(0),
    onSome: (n) =>
      n >= 0 && n <= 65535 ? Effect.succeed(n) : Effect.fail(new UsageError({ message: `--port: expected 0–65535, got ${n}` }))
  })

/**
 * Starts the dashboard for the repository around `cwd` (for as long as the
 * scope lasts) and prints where to open it; `run` opens that run's page.
 */
export const serveDashboard = (cwd: string, port: number, run?: string, closesWith?: string) =>
  Effect.gen(function* () {
    const { root, runsDir } = yield* findRuns(cwd)
    const dashboard = yield* startDashboard({ root, runsDir, port, ...(closesWith === undefined ? {} : { closesWith }) })
    yield* Console.log(`dashboard: ${dashboardUrl(dashboard, run)}`)
    return dashboard
  })

export const dashboardUrl = (dashboard: Dashboard, run?: string): string =>
  run === undefined ? dashboard.url : `${dashboard.url}#/run/${run}`

export const handleUi = ({ port }: { readonly port: Option.Option<number> }) =>
  Effect.gen(function* () {
    yield* serveDashboard(process.cwd(), yield* checkPort(port))
    yield* Console.log("every run of this repository, live; only this user can open it (the token). Ctrl-C stops.")
    return yield* Effect.never
  }).pipe(Effect.scoped)
