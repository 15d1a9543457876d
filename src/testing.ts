/**
 * `oompa/testing`: the mock harness, for embedders' own tests. The mock agent
 * runs inside the test process (no child process), follows a scenario
 * (`MockScenario`: what each turn writes, runs and says, what reviewers
 * answer) and otherwise behaves diligently: claims the first task, commits a
 * file, asks for merge, says __DONE__ when the queue is empty.
 *
 *   const TestLive = oompaTestLive({ baseDir: repo })   // "mock:<scenario>.json" models run in-process
 */
import { Effect, type Layer } from "effect"
import type { Harness } from "./harness/Harness.js"
import { makeInProcessMockHarness } from "./harness/mock.js"
import { builtinHarnesses, withHarness, type HarnessEntry } from "./harness/registry.js"
import { oompaLive, type OompaServices } from "./layers.js"

export { makeInProcessMockHarness } from "./harness/mock.js"
export { emptyScenario, MockScenario, MockStep } from "./harness/mock/Scenario.js"

/** A registry row for the in-process mock (its session memory in `stateDir`, else beside the run's logs). */
export const inProcessMockEntry = (options: { readonly stateDir?: string } = {}): HarnessEntry => ({
  make: ({ baseDir }): Effect.Effect<Harness> =>
    Effect.succeed(makeInProcessMockHarness({ baseDir, ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}) }))
})

/** The built-in table with `mock` run in-process: fast and deterministic. */
export const mockHarnesses = (options: { readonly stateDir?: string } = {}) =>
  withHarness(builtinHarnesses, "mock", inProcessMockEntry(options))

/** OompaLive with the in-process mock: real git and files, `mock:` models without a child process. */
export const oompaTestLive = (options: { readonly baseDir?: string; readonly stateDir?: string } = {}): Layer.Layer<OompaServices> =>
  oompaLive({ ...(options.baseDir !== undefined ? { baseDir: options.baseDir } : {}), harnesses: mockHarnesses(options) })
