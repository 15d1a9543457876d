/**
 * The four built-in agent CLI harnesses alone, behind their own tag, for the
 * tests that drive each CLI adapter directly. Their names and specs are rows
 * of the one registry table (registry.ts); the engine uses `Harnesses`.
 */
import { Context, Effect, Layer } from "effect"
import type { FileSystem } from "@effect/platform"
import type { ProcessRunner } from "../services/ProcessRunner.js"
import { makeCliHarness } from "./cliAdapter.js"
import type { Harness } from "./Harness.js"
import { cliSpecs, type CliHarnessName } from "./registry.js"

export { cliSpecs, isCliHarness, type CliHarnessName } from "./registry.js"

export class CliHarnesses extends Context.Tag("oompa/CliHarnesses")<
  CliHarnesses,
  Readonly<Record<CliHarnessName, Harness>>
>() {}

/** Requires FileSystem (to read the logs) and ProcessRunner (to run the CLIs), provided by the caller. */
export const CliHarnessesLive: Layer.Layer<CliHarnesses, never, FileSystem.FileSystem | ProcessRunner> = Layer.effect(
  CliHarnesses,
  Effect.gen(function* () {
    const built: Partial<Record<CliHarnessName, Harness>> = {}
    for (const [name, spec] of Object.entries(cliSpecs)) built[name as CliHarnessName] = yield* makeCliHarness(spec)
    return built as Record<CliHarnessName, Harness>
  })
)
