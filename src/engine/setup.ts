import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Either, Option, ParseResult, Schema } from "effect"
import { displayPath } from "../config/includes.js"
import { formatJsonPath } from "../config/issues.js"
import { parseJson } from "../formats/json.js"
import type { OompaConfig } from "../config/OompaConfig.js"
import { ConfigError } from "../domain/errors.js"
import { formatModel, type ModelSpec } from "../domain/Model.js"
import { readScenario, scenarioPathOf } from "../harness/mock/scenarioFile.js"
import { MockScenario } from "../harness/mock/Scenario.js"
import { Git } from "../services/Git.js"
import { tasksDirProblem } from "./tasksDir.js"
import { copyProblem } from "./worktreeSetup.js"

/** The swarm could not start: not a git repository, no target branch, … Bad input: exit 2. */
export class SwarmSetupError extends Schema.TaggedError<SwarmSetupError>()("SwarmSetupError", {
  message: Schema.String
}) {
  get exitCode() {
    return 2
  }
  override toString() {
    return this.message
  }
}

/** What the checks found out: the repository root and the branch work lands on. */
export interface SwarmStart {
  readonly root: string
  readonly targetBranch: string
}

/** The largest mock scenario file read; scenarios are test fixtures of a few KB. */
const MAX_SCENARIO_BYTES = 10 * 1024 * 1024

const isNotFound = (error: PlatformError): boolean => error._tag === "SystemError" && error.reason === "NotFound"

/**
 * Everything `oompa swarm` checks about a loaded config before it writes
 * anything, and the one function `oompa check` runs too, so the two give the
 * same answer with the same message (SPEC §10). Reads only: it never writes.
 *
 * - the project root is inside a git repository;
 * - the target branch (`target_branch`, else the checked-out branch) exists;
 * - `tasks_dir` is a folder or can be created as one, and its queue folders
 *   that exist are folders;
 * - `.oompa` is not a file;
 * - every `mock:<file>` scenario reads and decodes;
 * - every `worktree.copy` path exists in the project root.
 *
 * (Agent CLIs that are not installed are not a config problem: `check`
 * lists them, `swarm` refuses them in requireClis.)
 */
export const validateSwarmStart = Effect.fn("engine.validateSwarmStart")(function* (config: OompaConfig) {
  const git = yield* Git
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const file = displayPath(path, config.configPath, config.projectRoot)
  const show = (target: string) => displayPath(path, target, config.projectRoot)
  const configError = (jsonPath: string, message: string) => new ConfigError({ file, path: jsonPath, message })

  const root = yield* git
    .toplevel(config.projectRoot)
    .pipe(Effect.mapError(() => new SwarmSetupError({ message: `${config.projectRoot} is not inside a git repository (run git init first)` })))
  const targetBranch =
    config.targetBranch ??
    Option.getOrUndefined(yield* git.currentBranch(root)) ??
    (yield* new SwarmSetupError({ message: `HEAD is detached in ${root}: check out a branch or set "target_branch" in ${config.configPath}` }))
  if (!(yield* git.branchExists(root, targetBranch))) {
    if (config.targetBranch !== undefined) {
      return yield* configError(
        "target_branch",
        `branch ${JSON.stringify(targetBranch)} does not exist in ${root}: set "target_branch" to an existing branch, or create it (git branch ${targetBranch})`
      )
    }
    return yield* new SwarmSetupError({
      message: `target branch ${targetBranch} does not exist in ${root} (it needs at least one commit): commit once, or set "target_branch" in ${config.configPath}`
    })
  }

  const tasksProblem = yield* tasksDirProblem(config.tasksDir, show, `"tasks_dir"`)
  if (tasksProblem !== undefined) return yield* configError("tasks_dir", tasksProblem)

  const runsType = yield* fs.stat(path.join(root, ".oompa")).pipe(
    Effect.map((info) => Option.some(info.type)),
    Effect.orElseSucceed(() => Option.none<FileSystem.File.Type>())
  )
  if (Option.isSome(runsType) && runsType.value !== "Directory") {
    return yield* new SwarmSetupError({
      message: `${path.join(root, ".oompa")} is a file: oompa keeps its run files in the folder .oompa/; move the file away`
    })
  }

  // Every mock scenario file the config names must decode, or every cycle would fail the same way.
  const usersByModel = new Map<string, { readonly model: ModelSpec; readonly users: Array<string> }>()
  const use = (model: ModelSpec, user: string) => {
    if (model.harness !== "mock") return
    const key = formatModel(model)
    const entry = usersByModel.get(key) ?? { model, users: [] }
    if (!entry.users.includes(user)) entry.users.push(user)
    usersByModel.set(key, entry)
  }
  for (const worker of config.workers) {
    use(worker.model, worker.id)
    for (const reviewer of worker.reviewers) use(reviewer.model, `${worker.id}'s reviewer`)
  }
  for (const reviewer of config.reviewers) use(reviewer.model, "reviewer")
  if (config.planner !== undefined) use(config.planner.model, "planner")
  for (const [name, { model, users }] of usersByModel) {
    const scenario = scenarioPathOf(model.model, config.projectRoot)
    if (scenario === undefined) continue
    const problem = yield* scenarioProblem(scenario)
    if (problem !== undefined) {
      return yield* configError(
        "",
        `model ${JSON.stringify(name)} (${users.join(", ")}): mock scenario ${show(scenario)} ${problem}: fix the scenario file or the model string`
      )
    }
  }

  yield* copyProblem(config, file)

  return { root, targetBranch } satisfies SwarmStart
})

const decodeScenario = Schema.decodeUnknownEither(MockScenario, { onExcessProperty: "error", errors: "all" })

/** Why a mock scenario file cannot be used, in words, or undefined when it can. */
const scenarioProblem = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* Effect.either(fs.stat(file))
    if (Either.isLeft(info)) return isNotFound(info.left) ? "does not exist" : `cannot be read (${info.left.message})`
    if (info.right.type !== "File") return "is not a file"
    if (Number(info.right.size) > MAX_SCENARIO_BYTES) return `is over ${MAX_SCENARIO_BYTES / 1024 / 1024} MB`
    const text = yield* Effect.either(fs.readFileString(file))
    if (Either.isLeft(text)) return `cannot be read (${text.left.message})`
    const parsed = parseJson(text.right)
    if (Either.isLeft(parsed)) {
      const { line, column, message, kind } = parsed.left
      return kind === "depth" ? `is ${message}` : `is not valid JSON at line ${line}, column ${column}: ${message}`
    }
    const decoded = decodeScenario(parsed.right)
    if (Either.isLeft(decoded)) {
      const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
      const shown = issues.slice(0, 3).map((issue) => `${formatJsonPath(issue.path) || "(top level)"}: ${issue.message}`)
      return `does not decode: ${shown.join("; ")}${issues.length > 3 ? ` (and ${issues.length - 3} more)` : ""}`
    }
    // The harness reads it with its own reader: whatever that refuses is refused here too.
    const read = readScenario(file)
    if (Either.isLeft(read)) return `cannot be used: ${read.left}`
    return undefined
  })
