import { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import * as nodePath from "node:path"
import type { ConfigError } from "../domain/errors.js"
import { bundledPromptsDir } from "../paths.js"
import { readPromptFile } from "./includes.js"

/** The prompts shipped with oompa. */
export const bundledPromptNames = ["_task_header.md", "worker.md", "planner.md", "executor.md", "reviewer.md"] as const
export type BundledPromptName = (typeof bundledPromptNames)[number]

/** Absolute path of a bundled prompt (`config/prompts/<name>` under the package root). */
export const bundledPromptPath = (name: BundledPromptName | (string & {})): string =>
  nodePath.join(bundledPromptsDir, name)

/** Reads a bundled prompt, includes inlined, tokens not rendered. */
export const loadBundledPrompt = (
  name: BundledPromptName | (string & {})
): Effect.Effect<string, ConfigError, FileSystem.FileSystem | Path.Path> => readPromptFile(bundledPromptPath(name))
