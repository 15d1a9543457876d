import type * as NodeContext from "@effect/platform-node/NodeContext"
import { Context, Effect, type Layer } from "effect"
import type { Harnesses } from "../harness/Harness.js"
import type { Git } from "../services/Git.js"
import type { MergeLock } from "../services/MergeLock.js"
import type { ProcessRunner } from "../services/ProcessRunner.js"

/**
 * Why commands load lazily (issue 13): `oompa --version`, `--help` and a usage
 * error need only the command line (main.ts: names, options, descriptions),
 * not what the commands do. Each handler is a dynamic `import()` of its
 * command's module, which esbuild splits into its own chunk of dist/, and the
 * services (oompaLive: Git, the harness registry, …) are a layer the edge
 * hands over undone, built only inside a handler that runs.
 */

/** What a command's handler may use: oompaLive's services (src/layers.ts). */
export type CommandEnv = Git | MergeLock | ProcessRunner | Harnesses | NodeContext.NodeContext

/** The services' layer, from the edge (bin.ts provides oompaLive), built when a command runs. */
export class CommandServices extends Context.Tag("oompa/CommandServices")<CommandServices, Layer.Layer<CommandEnv>>() {}

/** A command handler that loads its module when it runs, then runs with the services built. */
export const lazyHandler =
  <A, E>(load: () => Promise<(args: A) => Effect.Effect<unknown, E, CommandEnv>>) =>
  (args: A): Effect.Effect<void, E, CommandServices> =>
    Effect.flatMap(Effect.zip(Effect.promise(load), CommandServices), ([handler, services]) =>
      Effect.provide(Effect.asVoid(handler(args)), services)
    )
