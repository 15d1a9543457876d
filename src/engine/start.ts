import { Effect } from "effect"
import type { OompaConfig } from "../config/OompaConfig.js"
import { loadSwarmConfig } from "./loadConfig.js"
import { requireClis } from "./requireClis.js"
import { validateSwarmStart } from "./setup.js"
import { runSwarm, type SwarmOptions } from "./swarm.js"

/**
 * What a swarm runs on: a config already decoded (`loadSwarmConfig`, or built
 * by the embedder), or where to find oompa.json (`configPath`, else
 * `./oompa.json` then `./oompa/oompa.json` under `cwd`, which defaults to the
 * current folder and is the project root).
 */
export type SwarmInput = OompaConfig | { readonly configPath?: string | undefined; readonly cwd?: string | undefined }

const isConfig = (input: SwarmInput): input is OompaConfig => "workers" in input

const loadInput = (input: SwarmInput) =>
  isConfig(input) ? Effect.succeed(input) : loadSwarmConfig({ cwd: input.cwd ?? process.cwd(), configPath: input.configPath })

/**
 * Everything checked before a swarm touches anything, in the order `oompa
 * swarm` checks it: the config loads (model strings against the registry in
 * use), the repository, target branch, tasks_dir and mock scenarios are fine
 * (validateSwarmStart, what `oompa check` runs too), and each agent CLI it
 * needs is installed. Writes nothing.
 */
export const prepareSwarm = Effect.fn("engine.prepareSwarm")(function* (input: SwarmInput) {
  const config = yield* loadInput(input)
  yield* validateSwarmStart(config)
  yield* requireClis(config)
  return config
})

/**
 * Runs one swarm to its end from a config or a path: the library's `runSwarm`
 * and what `oompa swarm` runs (SPEC §5–§11). Its events go to the run folder,
 * to `options.print` as terminal lines (stdout by default) and to
 * `options.events` as typed values. (runSwarm itself runs validateSwarmStart.)
 */
export const runSwarmFrom = (input: SwarmInput, options: SwarmOptions = {}) =>
  Effect.gen(function* () {
    const config = yield* loadInput(input)
    yield* requireClis(config)
    return yield* runSwarm(config, options)
  })
