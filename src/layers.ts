import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect, Layer } from "effect"
import type { Harnesses } from "./harness/Harness.js"
import { builtinHarnesses, harnessesLayer, type HarnessTable } from "./harness/registry.js"
import { Git, GitLive } from "./services/Git.js"
import { MergeLock, MergeLockLive } from "./services/MergeLock.js"
import { ProcessRunner, ProcessRunnerLive } from "./services/ProcessRunner.js"

export interface OompaLiveOptions<R = never> {
  /** The folder oompa runs in; relative `mock:<scenario>` paths resolve against it. Default: `process.cwd()`. */
  readonly baseDir?: string
  /** The harness table to build the registry from. Default: `builtinHarnesses` (the four agent CLIs and the mock). */
  readonly harnesses?: HarnessTable<R>
}

/** Every service oompa's commands and `runSwarm` need, beside the platform's (NodeContext). */
export type OompaServices = Git | MergeLock | ProcessRunner | Harnesses | NodeContext.NodeContext

/**
 * Everything the commands and `runSwarm` need, built once at the edge: the
 * CLI's bin.ts provides it, and so does an embedder (`Effect.provide(OompaLive)`).
 * A harness row's own requirements beyond these (`R`) stay for the caller to provide.
 */
export const oompaLive = <R = never>(
  options: OompaLiveOptions<R> = {}
): Layer.Layer<OompaServices, never, Exclude<R, Git | ProcessRunner | NodeContext.NodeContext>> => {
  const table: HarnessTable<R | ProcessRunner | NodeContext.NodeContext> = options.harnesses ?? builtinHarnesses
  const services = Layer.mergeAll(GitLive, ProcessRunnerLive).pipe(Layer.provideMerge(NodeContext.layer))
  // The folder is read when the layer is built, not when this module loads.
  const harnesses = Layer.unwrapEffect(Effect.sync(() => harnessesLayer(table, { baseDir: options.baseDir ?? process.cwd() })))
  return Layer.mergeAll(MergeLockLive, harnesses).pipe(
    Layer.provideMerge(services)
  )
}

/** `oompaLive()`: the built-in harnesses, relative paths against the current folder. */
export const OompaLive: Layer.Layer<OompaServices> = oompaLive()
