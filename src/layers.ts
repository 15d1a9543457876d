import { NodeContext } from "@effect/platform-node"
import { Layer } from "effect"
import { harnessesLayer } from "./harness/registry.js"
import { GitLive } from "./services/Git.js"
import { MergeLockLive } from "./services/MergeLock.js"
import { ProcessRunner } from "./services/ProcessRunner.js"

/**
 * Everything the commands need, built once at the edge. Relative
 * `mock:<scenario>` paths resolve against `baseDir` (the folder oompa runs in).
 */
export const mainLayer = (options: { readonly baseDir: string }) =>
  Layer.mergeAll(
    GitLive,
    MergeLockLive.pipe(Layer.provide(GitLive)),
    ProcessRunner.Default,
    harnessesLayer(options)
  ).pipe(Layer.provideMerge(NodeContext.layer))
