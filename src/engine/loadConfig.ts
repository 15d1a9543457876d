import { Effect } from "effect"
import { loadConfig, type LoadConfigOptions } from "../config/loadConfig.js"
import { Harnesses } from "../harness/Harness.js"

/**
 * Loads oompa.json with its model strings checked against the harness
 * registry in use (`Harnesses.names`): the built-in harnesses, plus an
 * embedder's own when its live layer added them. What every command and
 * `runSwarm({ configPath })` load a config with.
 */
export const loadSwarmConfig = (options: Omit<LoadConfigOptions, "harnesses">) =>
  Effect.flatMap(Harnesses, (harnesses) => loadConfig({ ...options, harnesses: harnesses.names }))
