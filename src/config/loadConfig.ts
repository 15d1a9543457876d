import { FileSystem, Path } from "@effect/platform"
import { Duration, Effect, Either, Schema } from "effect"
import { parseModelString, type ModelSpec } from "../domain/Model.js"
import { ConfigError } from "../domain/errors.js"
import type { OompaConfig, PlannerSpec, ReviewerSpec, WorkerSpec } from "./OompaConfig.js"
import { defaults, MAX_WORKERS, OompaJson, reviewerKeys, type PlannerJson, type WorkerJson } from "./OompaJson.js"
import { displayPath } from "./includes.js"
import { configIssues } from "./issues.js"
import { parseJson } from "../formats/json.js"
import { bundledPrices } from "../domain/prices.js"
import { loadPromptSource, type PromptContext } from "./prompts.js"
import { resolveWorktree } from "./worktree.js"

export { defaults } from "./OompaJson.js"

export interface LoadConfigOptions {
  /** The folder oompa runs in: discovery starts here and it is the project root. */
  readonly cwd: string
  /** An explicit config file (`--config` or the positional path), relative to cwd. */
  readonly configPath?: string | undefined
  /**
   * The harness names model strings may use: the registry's (`Harnesses.names`;
   * `builtinHarnessNames` without an embedder's additions).
   */
  readonly harnesses: ReadonlyArray<string>
}

const decodeOompaJson = Schema.decodeUnknownEither(OompaJson, { onExcessProperty: "error", errors: "all" })

/** Finds the config file: `configPath`, then `./oompa.json`, then `./oompa/oompa.json`. */
export const discoverConfig = (
  options: Pick<LoadConfigOptions, "cwd" | "configPath">
): Effect.Effect<string, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const cwd = path.resolve(options.cwd)
    const isFile = (file: string) =>
      fs.stat(file).pipe(
        Effect.map((info) => info.type === "File"),
        Effect.orElseSucceed(() => false)
      )
    if (options.configPath !== undefined) {
      const file = path.resolve(cwd, options.configPath)
      if (yield* isFile(file)) return file
      const isFolder = yield* fs.stat(file).pipe(
        Effect.map((info) => info.type === "Directory"),
        Effect.orElseSucceed(() => false)
      )
      if (isFolder) {
        return yield* new ConfigError({
          file: options.configPath,
          path: "",
          message: `${file} is a folder, not a config file: pass the oompa.json inside it (--config ${path.join(options.configPath, "oompa.json")})`
        })
      }
      return yield* new ConfigError({
        file: options.configPath,
        path: "",
        message: `config file not found: ${file}`
      })
    }
    const candidates = [path.join(cwd, "oompa.json"), path.join(cwd, "oompa", "oompa.json")]
    for (const candidate of candidates) {
      if (yield* isFile(candidate)) return candidate
    }
    return yield* new ConfigError({
      file: "oompa.json",
      path: "",
      message: `no config file found (looked for ${candidates.join(" and ")}); run "oompa init" to create one, or pass --config PATH`
    })
  })

/** The largest oompa.json oompa reads; a real one is a few kilobytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024

/**
 * Reads the config file as UTF-8 text: refuses a file over MAX_CONFIG_BYTES
 * (before reading it) and bytes that are not UTF-8 (which a lenient decoder
 * would turn into U+FFFD and a confusing error later), naming the byte offset.
 */
const readConfigText = (file: string, display: string): Effect.Effect<string, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const fail = (message: string) => new ConfigError({ file: display, path: "", message })
    const cannotRead = (error: { readonly message: string }) => fail(`cannot read config file ${file}: ${error.message}`)
    const info = yield* fs.stat(file).pipe(Effect.mapError(cannotRead))
    if (Number(info.size) > MAX_CONFIG_BYTES) {
      return yield* fail(
        `the config file is ${(Number(info.size) / 1024 / 1024).toFixed(1)} MB; oompa reads at most ${MAX_CONFIG_BYTES / 1024 / 1024} MB (an oompa.json is a few KB: is this the right file?)`
      )
    }
    const bytes = yield* fs.readFile(file).pipe(Effect.mapError(cannotRead))
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes)
    } catch {
      const at = firstInvalidUtf8(bytes)
      return yield* fail(`not UTF-8 text (an invalid byte 0x${(bytes[at] ?? 0).toString(16).padStart(2, "0")} at byte offset ${at}): save the file as UTF-8`)
    }
  })

/**
 * The offset of the first byte that does not start a well-formed UTF-8
 * sequence (lead byte and continuation bytes only; the decoder has already
 * said the file is invalid, this only says where).
 */
const firstInvalidUtf8 = (bytes: Uint8Array): number => {
  let i = 0
  while (i < bytes.length) {
    const lead = bytes[i]!
    const more = lead < 0x80 ? 0 : lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : -1
    if (more < 0) return i
    for (let k = 1; k <= more; k++) {
      if (i + k >= bytes.length || (bytes[i + k]! & 0xc0) !== 0x80) return i
    }
    i += more + 1
  }
  return Math.max(0, bytes.length - 1)
}

type ReviewerInput =
  | string
  | { readonly model: string; readonly prompt?: string | ReadonlyArray<string> | undefined; readonly timeout?: number | undefined }
type WithReviewers = { readonly [K in (typeof reviewerKeys)[number]]?: ReviewerInput | ReadonlyArray<ReviewerInput> | undefined }

/** Loads, validates and resolves oompa.json into the config the engine runs on. Writes nothing. */
export const loadConfig = (
  options: LoadConfigOptions
): Effect.Effect<OompaConfig, ConfigError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const cwd = path.resolve(options.cwd)
    const configPath = yield* discoverConfig(options)
    const file = displayPath(path, configPath, cwd)
    const fail = (jsonPath: string, message: string) => new ConfigError({ file, path: jsonPath, message })

    const text = yield* readConfigText(configPath, file)
    const parsed = parseJson(text, { duplicateKeys: "refuse" })
    if (Either.isLeft(parsed)) {
      const { line, column, message, kind } = parsed.left
      return yield* new ConfigError({
        file: `${file}:${line}:${column}`,
        path: "",
        message:
          kind === "depth"
            ? `${message}; oompa.json needs 6 at most ({"workers": [{"reviewers": [{"prompt": [...]}]}]})`
            : `invalid JSON: ${message}`
      })
    }
    const decoded = decodeOompaJson(parsed.right)
    const issues = configIssues(Either.isLeft(decoded) ? decoded.left : undefined, parsed.right, options.harnesses)
    if (Either.isLeft(decoded) || issues.length > 0) {
      const [first, ...rest] = issues
      const more = rest.map((issue) => `\n${file}: ${issue.path}: ${issue.message}`).join("")
      return yield* fail(first?.path ?? "", (first?.message ?? "invalid configuration") + more)
    }
    const json = decoded.right

    const context: PromptContext = { configDir: path.dirname(configPath), configDisplay: file, displayRoot: cwd }

    const model = (text: string, jsonPath: string): Effect.Effect<ModelSpec, ConfigError> =>
      Either.match(parseModelString(text, options.harnesses), {
        onLeft: (message) => Effect.fail(fail(jsonPath, message)),
        onRight: Effect.succeed
      })

    const reviewersOf = (owner: WithReviewers, prefix: string) =>
      Effect.gen(function* () {
        const given = reviewerKeys.filter((key) => owner[key] !== undefined)
        const [key, second] = given
        if (key === undefined) return [] as ReadonlyArray<ReviewerSpec>
        if (second !== undefined) {
          return yield* fail(
            `${prefix}${second}`,
            `use only one of ${reviewerKeys.join(", ")} (found ${given.join(" and ")}); put every reviewer in one list, tried in order`
          )
        }
        const value = owner[key]!
        const entries: ReadonlyArray<ReviewerInput> = Array.isArray(value) ? value : [value as ReviewerInput]
        const out: Array<ReviewerSpec> = []
        for (const [index, entry] of entries.entries()) {
          const at = Array.isArray(value) ? `${prefix}${key}[${index}]` : `${prefix}${key}`
          const modelText = typeof entry === "string" ? entry : entry.model
          const prompt = typeof entry === "string" ? undefined : entry.prompt
          out.push({
            model: yield* model(modelText, typeof entry === "string" ? at : `${at}.model`),
            prompt: yield* loadPromptSource(prompt, `${at}.prompt`, "reviewer.md", context),
            ...(typeof entry !== "string" && entry.timeout !== undefined ? { timeout: Duration.seconds(entry.timeout) } : {})
          })
        }
        return out
      })

    // Off unless set: the worker's own, else the top-level default for all workers.
    const stallTimeout = (worker: WorkerJson): number | undefined => worker.stall_timeout ?? json.stall_timeout

    const workerEntry = (worker: WorkerJson, index: number) =>
      Effect.gen(function* () {
        const at = `workers[${index}]`
        if (worker.max_cycle !== undefined && worker.iterations !== undefined) {
          return yield* fail(
            `${at}.iterations`,
            `"iterations" is the 0.6 name of "max_cycle"; give only one of them`
          )
        }
        const canPlan = worker.can_plan ?? defaults.can_plan
        const worktree = resolveWorktree(json.worktree, worker.worktree, `${at}.`)
        if (Either.isLeft(worktree)) return yield* fail(worktree.left.path, worktree.left.message)
        return {
          count: worker.count ?? defaults.count,
          spec: {
            model: yield* model(worker.model, `${at}.model`),
            prompt: yield* loadPromptSource(worker.prompt, `${at}.prompt`, canPlan ? "worker.md" : "executor.md", context),
            maxCycle: worker.max_cycle ?? worker.iterations ?? defaults.max_cycle,
            canPlan,
            maxWaitForTasks: Duration.seconds(worker.max_wait_for_tasks ?? defaults.max_wait_for_tasks),
            maxResumes: worker.max_resumes ?? defaults.max_resumes,
            maxWorkingResumes: worker.max_working_resumes ?? defaults.max_working_resumes,
            waitBetween: Duration.seconds(worker.wait_between ?? defaults.wait_between),
            timeout: Duration.seconds(worker.timeout ?? defaults.timeout),
            ...(stallTimeout(worker) !== undefined ? { stallTimeout: Duration.seconds(stallTimeout(worker)!) } : {}),
            reviewers: yield* reviewersOf(worker, `${at}.`),
            ...(worktree.right !== undefined ? { worktree: worktree.right } : {}),
            ...(worker.budget !== undefined ? { budget: worker.budget } : {})
          } satisfies Omit<WorkerSpec, "id">
        }
      })

    // Checked before expanding `count`: a typo such as "count": 1000000000 must not allocate a billion workers.
    const total = json.workers.reduce((sum, worker) => sum + (worker.count ?? defaults.count), 0)
    if (total > MAX_WORKERS) {
      const counted = json.workers.map((worker) => String(worker.count ?? defaults.count)).join(" + ")
      return yield* fail(
        "workers",
        `at most ${MAX_WORKERS} workers in total, got ${total} (${counted}, with count expanded): lower "count"`
      )
    }
    const workers: Array<WorkerSpec> = []
    for (const [index, worker] of json.workers.entries()) {
      const { count, spec } = yield* workerEntry(worker, index)
      for (let n = 0; n < count; n++) workers.push({ id: `w${workers.length}`, ...spec })
    }

    const plannerOf = (planner: PlannerJson | undefined) =>
      Effect.gen(function* () {
        if (planner === undefined) return undefined
        const spec: PlannerSpec = {
          model: yield* model(planner.model, "planner.model"),
          prompt: yield* loadPromptSource(planner.prompt, "planner.prompt", "planner.md", context),
          maxPending: planner.max_pending ?? defaults.max_pending
        }
        return spec
      })

    for (const harness of Object.keys(json.max_concurrent ?? {})) {
      if (!options.harnesses.includes(harness)) {
        return yield* fail(`max_concurrent.${harness}`, `unknown harness "${harness}": use one of ${options.harnesses.join(", ")}`)
      }
    }

    if (json.notify !== undefined && json.notify.command === undefined && json.notify.webhook === undefined) {
      return yield* fail("notify", 'give "command" (a program and its arguments) or "webhook" (an http(s) URL), or remove "notify"')
    }

    const config: OompaConfig = {
      configPath,
      projectRoot: cwd,
      workers,
      reviewers: yield* reviewersOf(json, ""),
      planner: yield* plannerOf(json.planner),
      targetBranch: json.target_branch,
      tasksDir: path.resolve(cwd, json.tasks_dir ?? defaults.tasks_dir),
      testCommand: json.test_command,
      maxReviewRounds: json.max_review_rounds ?? defaults.max_review_rounds,
      maxConsecutiveErrors: json.max_consecutive_errors ?? defaults.max_consecutive_errors,
      maxMergeRetries: json.max_merge_retries ?? defaults.max_merge_retries,
      mergeWait: Duration.seconds(json.merge_wait ?? defaults.merge_wait),
      maxConcurrent: json.max_concurrent ?? {},
      ...(json.notify !== undefined
        ? {
            notify: {
              ...(json.notify.command !== undefined ? { command: json.notify.command } : {}),
              ...(json.notify.webhook !== undefined ? { webhook: json.notify.webhook } : {}),
              rateLimitedAfter: Duration.seconds(json.notify.rate_limited_after ?? defaults.rate_limited_after)
            }
          }
        : {}),
      ...(json.budget !== undefined ? { budget: json.budget } : {}),
      ...(json.task_budget !== undefined ? { taskBudget: json.task_budget } : {}),
      prices: { ...bundledPrices, ...json.prices }
    }
    return config
  }).pipe(Effect.withSpan("loadConfig"))
