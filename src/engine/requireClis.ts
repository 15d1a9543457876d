import { Effect } from "effect"
import type { OompaConfig } from "../config/OompaConfig.js"
import type { ModelSpec } from "../domain/Model.js"
import { UsageError } from "../domain/errors.js"
import { resolveBinary } from "../harness/cliAdapter.js"
import { cliSpecs, isCliHarness } from "../harness/registry.js"

/** Every model the swarm would run: workers, their reviewers, the global reviewers, the planner. */
export const configuredModels = (config: OompaConfig): ReadonlyArray<ModelSpec> => [
  ...config.workers.flatMap((worker) => [worker.model, ...worker.reviewers.map((reviewer) => reviewer.model)]),
  ...config.reviewers.map((reviewer) => reviewer.model),
  ...(config.planner ? [config.planner.model] : [])
]

/**
 * Before a swarm touches anything: each agent CLI it needs must be installed.
 * Otherwise every cycle would fail the same way, slowly (error back-off), so
 * we stop at once with the fix (exit 2), naming the config file.
 */
export const requireClis = (config: OompaConfig) =>
  Effect.gen(function* () {
    const harnesses = [...new Set(configuredModels(config).map((model) => model.harness))].filter(isCliHarness)
    const missing: Array<string> = []
    for (const name of harnesses) {
      yield* resolveBinary(cliSpecs[name]).pipe(Effect.catchAll((error) => Effect.sync(() => missing.push(error.message))))
    }
    if (missing.length > 0) {
      return yield* new UsageError({
        message: `${config.configPath} needs agent CLIs that are not installed:\n  ${missing.join("\n  ")}\n(oompa check lists every harness)`
      })
    }
  })
