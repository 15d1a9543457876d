/**
 * The four real agent CLI adapters, built once with their dependencies.
 * The engine's registry (harness/registry) combines these with the mock harness
 * behind the `Harnesses` tag.
 */
import { Context, Effect, Layer } from "effect"
import { FileSystem } from "@effect/platform"
import { ProcessRunner } from "../services/ProcessRunner.js"
import { claudeSpec } from "./claude.js"
import { type CliSpec, makeCliHarness } from "./cliAdapter.js"
import { codexSpec } from "./codex.js"
import { geminiSpec } from "./gemini.js"
import type { Harness } from "./Harness.js"
import { opencodeSpec } from "./opencode.js"

export type CliHarnessName = CliSpec["name"]

/** The specs, in the order `oompa check` lists them. */
export const cliSpecs: Readonly<Record<CliHarnessName, CliSpec>> = {
  claude: claudeSpec,
  codex: codexSpec,
  opencode: opencodeSpec,
  gemini: geminiSpec
}

export const isCliHarness = (name: string): name is CliHarnessName => Object.hasOwn(cliSpecs, name)

export class CliHarnesses extends Context.Tag("oompa/CliHarnesses")<
  CliHarnesses,
  Readonly<Record<CliHarnessName, Harness>>
>() {}

/** Requires FileSystem (to read the logs); ProcessRunner is provided. */
export const CliHarnessesLive: Layer.Layer<CliHarnesses, never, FileSystem.FileSystem> = Layer.effect(
  CliHarnesses,
  Effect.gen(function* () {
    return {
      claude: yield* makeCliHarness(claudeSpec),
      codex: yield* makeCliHarness(codexSpec),
      opencode: yield* makeCliHarness(opencodeSpec),
      gemini: yield* makeCliHarness(geminiSpec)
    }
  })
).pipe(Layer.provide(ProcessRunner.Default))
