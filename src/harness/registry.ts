import { Effect, Layer } from "effect"
import { ProcessRunner } from "../services/ProcessRunner.js"
import { CliHarnesses, CliHarnessesLive } from "./cliHarnesses.js"
import { Harnesses, type Harness } from "./Harness.js"
import { makeProcessMockHarness } from "./mock.js"

/**
 * Every harness the product drives: the four real CLIs and the mock agent run
 * as a real child process (so `oompa demo` exercises the same process handling
 * as a real swarm). Relative `mock:<scenario>` paths resolve against `baseDir`.
 */
export const harnessesLayer = (options: { readonly baseDir: string }) =>
  Layer.effect(
    Harnesses,
    Effect.gen(function* () {
      const clis = yield* CliHarnesses
      const mock = yield* makeProcessMockHarness({ baseDir: options.baseDir })
      const all: Record<string, Harness> = { ...clis, mock }
      return { get: (name) => all[name]! }
    })
  ).pipe(Layer.provide(Layer.merge(CliHarnessesLive, ProcessRunner.Default)))
