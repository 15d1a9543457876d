/**
 * The harness registry: ONE table, name → how to build that harness. Every
 * list of harness names is derived from it — what model strings in oompa.json
 * may use (loadConfig's `harnesses`), the rows of `oompa check`, the CLIs
 * `oompa swarm` requires installed. A new agent CLI is one file (its
 * `CliSpec`, like claude.ts) plus one row here.
 *
 * An embedder extends it without touching oompa: a table of its own
 * (`{ ...builtinHarnesses, mine: inProcessHarness(myHarness) }`, or
 * `withHarness(builtinHarnesses, "mine", entry)`) given to `oompaLive`.
 */
import type { FileSystem } from "@effect/platform"
import { Effect, Layer } from "effect"
import type { ProcessRunner } from "../services/ProcessRunner.js"
import { claudeSpec } from "./claude.js"
import { type CliSpec, makeCliHarness } from "./cliAdapter.js"
import { codexSpec } from "./codex.js"
import { copilotSpec } from "./copilot.js"
import { geminiSpec } from "./gemini.js"
import { kiloSpec } from "./kilo.js"
import { opencodeSpec } from "./opencode.js"
import { piSpec } from "./pi.js"
import { qwenSpec } from "./qwen.js"
import { type Harness, Harnesses, harnessesOf } from "./Harness.js"
import { makeProcessMockHarness } from "./mock.js"

/** What every harness is built with. */
export interface HarnessOptions {
  /** The folder oompa runs in: relative paths in model strings (`mock:<scenario>.json`) resolve against it. */
  readonly baseDir: string
}

/** One row: how to build the harness (with whatever services it needs, `R`), and, for an agent CLI, its spec. */
export interface HarnessEntry<R = never> {
  readonly make: (options: HarnessOptions) => Effect.Effect<Harness, never, R>
  /** An agent CLI: `oompa check` lists where it is installed, `oompa swarm` requires it. */
  readonly cli?: CliSpec
}

export type HarnessTable<R = never> = Readonly<Record<string, HarnessEntry<R>>>

/** The row of an agent CLI: its harness runs the CLI through ProcessRunner. */
export const cliHarness = <const S extends CliSpec>(spec: S) => ({ cli: spec, make: () => makeCliHarness(spec) })

/** The row of a harness that is already built (an embedder's in-process harness, a test's scripted one). */
export const inProcessHarness = (harness: Harness): HarnessEntry => ({ make: () => Effect.succeed(harness) })

/** The table with one more row (or a row replaced). */
export const withHarness = <R, R2>(table: HarnessTable<R>, name: string, entry: HarnessEntry<R2>): HarnessTable<R | R2> => ({
  ...table,
  [name]: entry
})

/** The built-in harnesses: the agent CLIs and the mock agent, run as a real child process (as `oompa demo` does). */
export const builtinHarnesses = {
  claude: cliHarness(claudeSpec),
  codex: cliHarness(codexSpec),
  opencode: cliHarness(opencodeSpec),
  gemini: cliHarness(geminiSpec),
  pi: cliHarness(piSpec),
  copilot: cliHarness(copilotSpec),
  qwen: cliHarness(qwenSpec),
  kilo: cliHarness(kiloSpec),
  mock: { make: (options: HarnessOptions) => makeProcessMockHarness(options) }
} satisfies HarnessTable<ProcessRunner | FileSystem.FileSystem>

export type BuiltinHarnessName = keyof typeof builtinHarnesses
export const builtinHarnessNames: ReadonlyArray<BuiltinHarnessName> = Object.keys(builtinHarnesses) as Array<BuiltinHarnessName>

/** The built-in agent CLIs, in table order (the order `oompa check` lists them). */
export type CliHarnessName = {
  [K in BuiltinHarnessName]: (typeof builtinHarnesses)[K] extends { readonly cli: CliSpec } ? K : never
}[BuiltinHarnessName]
export const cliSpecs = Object.fromEntries(
  Object.entries(builtinHarnesses as HarnessTable<unknown>).flatMap(([name, entry]) => (entry.cli !== undefined ? [[name, entry.cli]] : []))
) as Readonly<Record<CliHarnessName, CliSpec>>
export const isCliHarness = (name: string): name is CliHarnessName => Object.hasOwn(cliSpecs, name)

/** The `Harnesses` registry service, every row of `table` built once. */
export const harnessesLayer = <R>(table: HarnessTable<R>, options: HarnessOptions): Layer.Layer<Harnesses, never, R> =>
  Layer.effect(
    Harnesses,
    Effect.gen(function* () {
      const built: Record<string, Harness> = {}
      for (const [name, entry] of Object.entries(table)) built[name] = yield* entry.make(options)
      return harnessesOf(built)
    })
  )
