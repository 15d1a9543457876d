import { Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { bundledPromptPath } from "../../src/config/bundled.js"
import { packageRoot } from "../../src/paths.js"
import { loadConfig } from "../../src/config/loadConfig.js"
import type { OompaConfig, WorkerSpec } from "../../src/config/OompaConfig.js"
import { expectConfigError, makeProject } from "./support.js"
import { builtinHarnessNames } from "../../src/harness/registry.js"

const load = (files: Readonly<Record<string, string | object>>, configPath?: string) =>
  Effect.gen(function* () {
    const dir = yield* makeProject(files)
    const config = yield* loadConfig({ cwd: dir, configPath, harnesses: builtinHarnessNames })
    return { dir, config }
  })

const loadError = (files: Readonly<Record<string, string | object>>, configPath?: string) =>
  Effect.flatMap(makeProject(files), (dir) =>
    Effect.map(expectConfigError(dir, configPath), (result) => ({ ...result, dir }))
  )

const oneWorker = (extra: object) => ({ workers: [{ model: "claude:opus", ...extra }] })

const worker0 = (config: OompaConfig): WorkerSpec => {
  const worker = config.workers[0]
  if (worker === undefined) throw new Error("no worker")
  return worker
}

layer(NodeContext.layer)("loadConfig", (it) => {
  describe("budgets and prices (docs/budgets.md)", () => {
    it.scoped("budget, a worker's budget and task_budget as written; prices over the bundled table, key by key", () =>
      Effect.gen(function* () {
        const { config } = yield* load({
          "oompa.json": {
            workers: [{ model: "codex", budget: { max_tokens: 1000 } }, { model: "gemini" }],
            budget: { max_cost_usd: 20, max_runtime: 3600 },
            task_budget: { max_cost_usd: 2 },
            prices: { codex: { input_per_mtok: 3, output_per_mtok: 12 }, "mock:x": { input_per_mtok: 1, output_per_mtok: 1, cache_read_per_mtok: 0 } }
          }
        })
        expect(config.budget).toEqual({ max_cost_usd: 20, max_runtime: 3600 })
        expect(config.taskBudget).toEqual({ max_cost_usd: 2 })
        expect(config.workers.map((w) => w.budget)).toEqual([{ max_tokens: 1000 }, undefined])
        expect(config.prices?.["codex"]).toEqual({ input_per_mtok: 3, output_per_mtok: 12 })
        expect(config.prices?.["mock:x"]).toEqual({ input_per_mtok: 1, output_per_mtok: 1, cache_read_per_mtok: 0 })
        expect(config.prices?.["gemini"]).toEqual({ input_per_mtok: 1.25, output_per_mtok: 10, cache_read_per_mtok: 0.125 })
      })
    )
  })

  describe("defaults", () => {
    it.scoped("a minimal file gets every default of SPEC §2", () =>
      Effect.gen(function* () {
        const path = yield* Path.Path
        const { dir, config } = yield* load({ "oompa.json": oneWorker({}) })
        expect(config.configPath).toBe(path.join(dir, "oompa.json"))
        expect(config.projectRoot).toBe(dir)
        expect(config.tasksDir).toBe(path.join(dir, "tasks"))
        expect(config.targetBranch).toBeUndefined()
        expect(config.testCommand).toBeUndefined()
        expect(config.maxReviewRounds).toBe(3)
        expect(config.maxConsecutiveErrors).toBe(3)
        expect(config.maxMergeRetries).toBe(5)
        expect(Duration.toSeconds(config.mergeWait)).toBe(600)
        expect(config.reviewers).toEqual([])
        expect(config.planner).toBeUndefined()
        expect(config.workers).toHaveLength(1)
        const w = worker0(config)
        expect(w.id).toBe("w0")
        expect(w.model).toEqual({ harness: "claude", model: "opus" })
        expect(w.maxCycle).toBe(10)
        expect(w.canPlan).toBe(true)
        expect(Duration.toSeconds(w.maxWaitForTasks)).toBe(600)
        expect(w.maxResumes).toBe(7)
        expect(w.maxWorkingResumes).toBe(5)
        expect(Duration.toSeconds(w.waitBetween)).toBe(0)
        expect(Duration.toSeconds(w.timeout)).toBe(1800)
        // No stall rule unless stall_timeout is set.
        expect(w.stallTimeout).toBeUndefined()
        expect(w.reviewers).toEqual([])
        expect(w.prompt.files).toEqual([bundledPromptPath("worker.md")])
      })
    )

    const workerKeys: ReadonlyArray<[string, unknown, (w: WorkerSpec) => unknown, unknown]> = [
      ["max_cycle", 4, (w) => w.maxCycle, 4],
      ["iterations", 6, (w) => w.maxCycle, 6],
      ["can_plan", false, (w) => w.canPlan, false],
      ["max_wait_for_tasks", 30, (w) => Duration.toSeconds(w.maxWaitForTasks), 30],
      ["max_resumes", 2, (w) => w.maxResumes, 2],
      ["max_working_resumes", 0, (w) => w.maxWorkingResumes, 0],
      ["wait_between", 1.5, (w) => Duration.toMillis(w.waitBetween), 1500],
      ["timeout", 90, (w) => Duration.toSeconds(w.timeout), 90],
      ["stall_timeout", 2.5, (w) => (w.stallTimeout === undefined ? undefined : Duration.toMillis(w.stallTimeout)), 2500]
    ]
    for (const [key, value, read, expected] of workerKeys) {
      it.scoped(`worker key ${key}: ${JSON.stringify(value)}`, () =>
        Effect.gen(function* () {
          const { config } = yield* load({ "oompa.json": oneWorker({ [key]: value }) })
          expect(read(worker0(config))).toEqual(expected)
        })
      )
    }

    it.scoped("top-level stall_timeout is the default of every worker; a worker's own overrides it", () =>
      Effect.gen(function* () {
        const { config } = yield* load({
          "oompa.json": { workers: [{ model: "claude:opus", count: 2 }, { model: "claude:opus", stall_timeout: 60 }], stall_timeout: 300 }
        })
        expect(config.workers.map((w) => (w.stallTimeout === undefined ? undefined : Duration.toSeconds(w.stallTimeout)))).toEqual([300, 300, 60])
      })
    )

    const topKeys: ReadonlyArray<[string, unknown, (c: OompaConfig, dir: string) => unknown, (dir: string) => unknown]> =
      [
        ["target_branch", "main", (c) => c.targetBranch, () => "main"],
        ["tasks_dir", "work/queue", (c) => c.tasksDir, (dir) => `${dir}/work/queue`],
        ["test_command", "npm test", (c) => c.testCommand, () => "npm test"],
        ["max_review_rounds", 0, (c) => c.maxReviewRounds, () => 0],
        ["max_consecutive_errors", 5, (c) => c.maxConsecutiveErrors, () => 5],
        ["max_merge_retries", 0, (c) => c.maxMergeRetries, () => 0],
        ["merge_wait", 2.5, (c) => Duration.toMillis(c.mergeWait), () => 2500],
        ["max_concurrent", { mock: 2 }, (c) => c.maxConcurrent, () => ({ mock: 2 })]
      ]
    for (const [key, value, read, expected] of topKeys) {
      it.scoped(`top-level key ${key}: ${JSON.stringify(value)}`, () =>
        Effect.gen(function* () {
          const { config, dir } = yield* load({ "oompa.json": { ...oneWorker({}), [key]: value } })
          expect(read(config, dir)).toEqual(expected(dir))
        })
      )
    }

    it.scoped("an absolute tasks_dir is kept as it is", () =>
      Effect.gen(function* () {
        const { config } = yield* load({ "oompa.json": { ...oneWorker({}), tasks_dir: "/srv/queue" } })
        expect(config.tasksDir).toBe("/srv/queue")
      })
    )

    it.scoped("count expands workers into w0, w1, … in config order", () =>
      Effect.gen(function* () {
        const { config } = yield* load({
          "oompa.json": {
            workers: [
              { model: "claude:opus", count: 2 },
              { model: "codex:gpt-5.3-codex:medium", count: 3, can_plan: false },
              { model: "mock" }
            ]
          }
        })
        expect(config.workers.map((w) => [w.id, w.model.harness, w.canPlan])).toEqual([
          ["w0", "claude", true],
          ["w1", "claude", true],
          ["w2", "codex", false],
          ["w3", "codex", false],
          ["w4", "codex", false],
          ["w5", "mock", true]
        ])
      })
    )

    it.scoped("the $schema key is accepted and ignored", () =>
      Effect.gen(function* () {
        const { config } = yield* load({ "oompa.json": { $schema: "./oompa.schema.json", ...oneWorker({}) } })
        expect(config.workers).toHaveLength(1)
      })
    )
  })

  describe("models", () => {
    const cases: ReadonlyArray<[string, object]> = [
      ["claude:opus", { harness: "claude", model: "opus" }],
      ["codex:gpt-5.3-codex:medium", { harness: "codex", model: "gpt-5.3-codex", reasoning: "medium" }],
      ["opencode:openrouter/x:y:high", { harness: "opencode", model: "openrouter/x:y", reasoning: "high" }],
      ["opencode:openrouter/x:y", { harness: "opencode", model: "openrouter/x:y" }],
      ["gemini:gemini-3-pro-preview", { harness: "gemini", model: "gemini-3-pro-preview" }],
      ["mock", { harness: "mock" }]
    ]
    for (const [text, expected] of cases) {
      it.scoped(`"${text}"`, () =>
        Effect.gen(function* () {
          const { config } = yield* load({ "oompa.json": { workers: [{ model: text }] } })
          expect(worker0(config).model).toEqual(expected)
        })
      )
    }
  })

  describe("reviewers", () => {
    const bundledReviewer = bundledPromptPath("reviewer.md")
    const forms: ReadonlyArray<[string, unknown, ReadonlyArray<[string, number]>]> = [
      ["reviewer", "codex:gpt-5.4", [["codex:gpt-5.4", 1]]],
      ["reviewer", { model: "claude:opus", prompt: "r.md" }, [["claude:opus", 1]]],
      ["reviewers", ["claude:opus", { model: "codex:gpt-5.4:high" }], [["claude:opus", 1], ["codex:gpt-5.4:high", 1]]],
      ["review_model", "gemini:gemini-3-pro-preview", [["gemini:gemini-3-pro-preview", 1]]],
      ["review_models", ["claude:opus", "mock"], [["claude:opus", 1], ["mock", 1]]]
    ]
    for (const [key, value, expected] of forms) {
      it.scoped(`${key}: ${JSON.stringify(value)}`, () =>
        Effect.gen(function* () {
          const path = yield* Path.Path
          const { config, dir } = yield* load({
            "oompa.json": { ...oneWorker({}), [key]: value },
            "r.md": "custom review prompt"
          })
          const models = config.reviewers.map((r) =>
            [r.model.harness, r.model.model, r.model.reasoning].filter((x) => x !== undefined).join(":")
          )
          expect(models).toEqual(expected.map(([m]) => m))
          for (const [index, reviewer] of config.reviewers.entries()) {
            const custom = typeof value === "object" && !Array.isArray(value)
            expect(reviewer.prompt.files).toEqual([custom && index === 0 ? path.join(dir, "r.md") : bundledReviewer])
          }
        })
      )
    }

    it.scoped("per-worker reviewers are kept apart from the global chain", () =>
      Effect.gen(function* () {
        const { config } = yield* load({
          "oompa.json": {
            workers: [{ model: "claude:opus", reviewers: ["codex:gpt-5.4"] }, { model: "claude:sonnet" }],
            reviewer: "claude:opus"
          }
        })
        expect(config.workers[0]?.reviewers.map((r) => r.model.harness)).toEqual(["codex"])
        expect(config.workers[1]?.reviewers).toEqual([])
        expect(config.reviewers.map((r) => r.model.harness)).toEqual(["claude"])
        expect(config.reviewers[0]?.prompt.text).toContain("VERDICT: APPROVED")
      })
    )

    it.scoped("a reviewer object may have its own timeout; without one the worker's applies (undefined here)", () =>
      Effect.gen(function* () {
        const { config } = yield* load({
          "oompa.json": { ...oneWorker({ timeout: 600 }), reviewers: [{ model: "claude:opus", timeout: 90 }, "codex:gpt-5.4"] }
        })
        expect(config.reviewers.map((r) => (r.timeout === undefined ? undefined : Duration.toSeconds(r.timeout)))).toEqual([90, undefined])
        const { text } = yield* loadError({ "oompa.json": { ...oneWorker({}), reviewer: { model: "claude:opus", timeout: 0 } } })
        expect(text).toContain("reviewer.timeout")
      })
    )

    it.scoped("two spellings at once are refused", () =>
      Effect.gen(function* () {
        const { text } = yield* loadError({
          "oompa.json": { ...oneWorker({}), reviewer: "claude:opus", review_model: "codex:gpt-5.4" }
        })
        expect(text).toBe(
          "oompa.json: review_model: use only one of reviewer, reviewers, review_model, review_models " +
            "(found reviewer and review_model); put every reviewer in one list, tried in order"
        )
      })
    )
  })

  describe("planner", () => {
    it.scoped("gets the bundled planner prompt and max_pending 10 by default", () =>
      Effect.gen(function* () {
        const { config } = yield* load({ "oompa.json": { ...oneWorker({}), planner: { model: "claude:opus" } } })
        expect(config.planner?.model).toEqual({ harness: "claude", model: "opus" })
        expect(config.planner?.maxPending).toBe(10)
        expect(config.planner?.prompt.files).toEqual([bundledPromptPath("planner.md")])
      })
    )

    it.scoped("takes its own prompt and max_pending", () =>
      Effect.gen(function* () {
        const { config } = yield* load({
          "oompa.json": { ...oneWorker({}), planner: { model: "mock", prompt: "p.md", max_pending: 4 } },
          "p.md": "plan well\n"
        })
        expect(config.planner?.maxPending).toBe(4)
        expect(config.planner?.prompt.text).toBe("plan well\n")
      })
    )
  })

  describe("prompts", () => {
    it.scoped("resolve relative to the config file's folder, not the cwd", () =>
      Effect.gen(function* () {
        const path = yield* Path.Path
        const { config, dir } = yield* load(
          {
            "sub/oompa.json": oneWorker({ prompt: "prompts/mine.md" }),
            "sub/prompts/mine.md": "mine"
          },
          "sub/oompa.json"
        )
        expect(worker0(config).prompt.files).toEqual([path.join(dir, "sub/prompts/mine.md")])
        expect(worker0(config).prompt.text).toBe("mine\n")
        expect(config.projectRoot).toBe(dir)
      })
    )

    it.scoped("fall back to the package root, so config/prompts/executor.md is the bundled one", () =>
      Effect.gen(function* () {
        const { config } = yield* load({
          "oompa.json": oneWorker({ prompt: ["config/prompts/executor.md"], can_plan: false })
        })
        expect(worker0(config).prompt.files).toEqual([bundledPromptPath("executor.md")])
      })
    )

    it.scoped("a file next to the config wins over the bundled one of the same name", () =>
      Effect.gen(function* () {
        const path = yield* Path.Path
        const { config, dir } = yield* load({
          "oompa.json": oneWorker({ prompt: "config/prompts/executor.md" }),
          "config/prompts/executor.md": "project's own executor"
        })
        expect(worker0(config).prompt.files).toEqual([path.join(dir, "config/prompts/executor.md")])
      })
    )

    it.scoped("a list is concatenated in order with a blank line between files", () =>
      Effect.gen(function* () {
        const { config } = yield* load({
          "oompa.json": oneWorker({ prompt: ["a.md", "b.md"] }),
          "a.md": "first\n\n",
          "b.md": "second"
        })
        expect(worker0(config).prompt.text).toBe("first\n\nsecond\n")
      })
    )

    it.scoped("can_plan: false workers without a prompt get the bundled executor prompt", () =>
      Effect.gen(function* () {
        const { config } = yield* load({
          "oompa.json": { workers: [{ model: "claude:opus", can_plan: false }] }
        })
        expect(worker0(config).prompt.files).toEqual([bundledPromptPath("executor.md")])
        expect(worker0(config).prompt.text).toContain("executor")
      })
    )

    it.scoped("an absolute prompt path is used as is", () =>
      Effect.gen(function* () {
        const { config } = yield* load({ "oompa.json": oneWorker({ prompt: bundledPromptPath("planner.md") }) })
        expect(worker0(config).prompt.files).toEqual([bundledPromptPath("planner.md")])
      })
    )

    it.scoped("includes are inlined, relative to the including file", () =>
      Effect.gen(function* () {
        const { config } = yield* load({
          "oompa.json": oneWorker({ prompt: "prompts/main.md" }),
          "prompts/main.md": 'top\n#oompa_directive:include_file "parts/rules.md"\nbottom\n',
          "prompts/parts/rules.md": 'rules\n  #oompa_directive:include_file "../../shared.md"  \n',
          "shared.md": "shared\n"
        })
        expect(worker0(config).prompt.text).toBe("top\nrules\nshared\nbottom\n")
      })
    )

    it.scoped("the same file may be included twice when there is no cycle", () =>
      Effect.gen(function* () {
        const { config } = yield* load({
          "oompa.json": oneWorker({ prompt: "main.md" }),
          "main.md": '#oompa_directive:include_file "x.md"\n#oompa_directive:include_file "x.md"\n',
          "x.md": "x"
        })
        expect(worker0(config).prompt.text).toBe("x\nx\n")
      })
    )
  })

  describe("discovery", () => {
    it.scoped("./oompa.json before ./oompa/oompa.json", () =>
      Effect.gen(function* () {
        const { config } = yield* load({
          "oompa.json": oneWorker({ max_cycle: 1 }),
          "oompa/oompa.json": oneWorker({ max_cycle: 2 })
        })
        expect(worker0(config).maxCycle).toBe(1)
      })
    )

    it.scoped("./oompa/oompa.json when there is no ./oompa.json, prompts relative to it", () =>
      Effect.gen(function* () {
        const path = yield* Path.Path
        const { config, dir } = yield* load({
          "oompa/oompa.json": oneWorker({ max_cycle: 2, prompt: "prompts/w.md" }),
          "oompa/prompts/w.md": "w"
        })
        expect(worker0(config).maxCycle).toBe(2)
        expect(config.configPath).toBe(path.join(dir, "oompa/oompa.json"))
        expect(config.projectRoot).toBe(dir)
      })
    )

    it.scoped("an explicit path wins over both", () =>
      Effect.gen(function* () {
        const { config } = yield* load(
          { "oompa.json": oneWorker({ max_cycle: 1 }), "other.json": oneWorker({ max_cycle: 3 }) },
          "other.json"
        )
        expect(worker0(config).maxCycle).toBe(3)
      })
    )

    it.scoped("no file anywhere names the places looked", () =>
      Effect.gen(function* () {
        const { text, dir, error } = yield* loadError({ "README.md": "hi" })
        expect(error.exitCode).toBe(2)
        expect(text).toContain(`${dir}/oompa.json`)
        expect(text).toContain(`${dir}/oompa/oompa.json`)
        expect(text).toContain("oompa init")
      })
    )

    it.scoped("a missing explicit path is an error naming it", () =>
      Effect.gen(function* () {
        const { text, dir } = yield* loadError({ "oompa.json": oneWorker({}) }, "nope.json")
        expect(text).toBe(`nope.json: config file not found: ${dir}/nope.json`)
      })
    )
  })

  it.effect("packageRoot holds package.json", () =>
    Effect.sync(() => {
      expect(packageRoot.endsWith("/")).toBe(false)
      expect(bundledPromptPath("worker.md")).toBe(`${packageRoot}/config/prompts/worker.md`)
    })
  )
})
