import { NodeContext } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { expectConfigError, makeProject } from "./support.js"

/**
 * Every invalid input gives one clear ConfigError naming the file and the
 * JSON path, exit code 2, and leaves the folder exactly as it was
 * (`expectConfigError` compares a snapshot of every file before and after).
 */
const loadError = (files: Readonly<Record<string, string | object>>, configPath?: string) =>
  Effect.flatMap(makeProject(files), (dir) =>
    Effect.map(expectConfigError(dir, configPath), (result) => ({ ...result, dir }))
  )

const config = (json: object) => ({ "oompa.json": json })
const workers = (...list: ReadonlyArray<object>) => config({ workers: list })

layer(NodeContext.layer)("config errors", (it) => {
  const table: ReadonlyArray<[string, Readonly<Record<string, string | object>>, string]> = [
    [
      "a model without a harness",
      workers({ model: "claude:opus" }, { model: "opus" }),
      'oompa.json: workers[1].model: expected "harness:model[:reasoning]" with harness one of claude, codex, opencode, gemini, pi, copilot, qwen, kilo, mock, got "opus"'
    ],
    [
      "an unknown harness",
      workers({ model: "cursor:gpt-5" }),
      'oompa.json: workers[0].model: expected "harness:model[:reasoning]" with harness one of claude, codex, opencode, gemini, pi, copilot, qwen, kilo, mock, got "cursor:gpt-5"'
    ],
    [
      "an empty model after the harness",
      workers({ model: "claude::high" }),
      'oompa.json: workers[0].model: expected "harness:model[:reasoning]" with a non-empty model, got "claude::high"'
    ],
    [
      "a model that is not a string",
      workers({ model: 42 }),
      'oompa.json: workers[0].model: expected "harness:model[:reasoning]" (harness one of claude, codex, opencode, gemini, pi, copilot, qwen, kilo, mock), got 42'
    ],
    [
      "a misspelt worker key",
      workers({ model: "claude:opus", max_cycels: 3 }),
      'oompa.json: workers[0].max_cycels: unknown key (did you mean "max_cycle"?)'
    ],
    [
      "a misspelt top-level key",
      config({ workers: [{ model: "mock" }], reviewr: "claude:opus" }),
      'oompa.json: reviewr: unknown key (did you mean "reviewer"?)'
    ],
    [
      "a key unlike any other",
      config({ workers: [{ model: "mock" }], banana: 1 }),
      "oompa.json: banana: unknown key (allowed here: $schema, workers, reviewer, reviewers, review_model, review_models, planner, target_branch, tasks_dir, test_command, max_review_rounds, max_consecutive_errors, max_merge_retries, merge_wait, max_concurrent, stall_timeout, notify, worktree, budget, task_budget, prices)"
    ],
    [
      "a worker key at the top level",
      config({ workers: [{ model: "mock" }], max_cycle: 3 }),
      'oompa.json: max_cycle: unknown key here: "max_cycle" belongs inside each entry of "workers"'
    ],
    [
      "a top-level key inside a worker",
      workers({ model: "mock", test_command: "npm test" }),
      'oompa.json: workers[0].test_command: unknown key here: "test_command" belongs at the top level of oompa.json'
    ],
    [
      "an unknown key inside a reviewer object",
      config({ workers: [{ model: "mock" }], reviewer: { model: "claude:opus", promt: "r.md" } }),
      'oompa.json: reviewer.promt: unknown key (did you mean "prompt"?)'
    ],
    [
      "an unknown key inside the planner",
      config({ workers: [{ model: "mock" }], planner: { model: "mock", max_pendng: 3 } }),
      'oompa.json: planner.max_pendng: unknown key (did you mean "max_pending"?)'
    ],
    [
      "a string where a number belongs",
      workers({ model: "mock", max_cycle: "5" }),
      'oompa.json: workers[0].max_cycle: expected a whole number from 1 to 10000, got "5"'
    ],
    ["a fraction for count", workers({ model: "mock", count: 1.5 }), "oompa.json: workers[0].count: expected a whole number from 1 to 64, got 1.5"],
    ["a zero timeout", workers({ model: "mock", timeout: 0 }), "oompa.json: workers[0].timeout: expected a number of seconds > 0 and at most 86400 (24 h), got 0"],
    [
      "a zero stall_timeout",
      workers({ model: "mock", stall_timeout: 0 }),
      "oompa.json: workers[0].stall_timeout: expected a number of seconds > 0 and at most 86400 (24 h), got 0"
    ],
    [
      "a string for the top-level stall_timeout",
      config({ workers: [{ model: "mock" }], stall_timeout: "5m" }),
      'oompa.json: stall_timeout: expected a number of seconds > 0 and at most 86400 (24 h), got "5m"'
    ],
    [
      "a misspelt budget limit",
      config({ workers: [{ model: "mock" }], budget: { max_cost: 5 } }),
      'oompa.json: budget.max_cost: unknown key (did you mean "max_cost_usd"?)'
    ],
    [
      "a negative budget",
      workers({ model: "mock", budget: { max_cost_usd: -1 } }),
      "oompa.json: workers[0].budget.max_cost_usd: expected a number > 0 and at most 1000000, got -1"
    ],
    [
      "a fractional max_tokens in task_budget",
      config({ workers: [{ model: "mock" }], task_budget: { max_tokens: 1.5 } }),
      "oompa.json: task_budget.max_tokens: expected a whole number from 1 to 1000000000000, got 1.5"
    ],
    [
      "a max_runtime in minutes",
      config({ workers: [{ model: "mock" }], budget: { max_runtime: "8h" } }),
      'oompa.json: budget.max_runtime: expected a number of seconds > 0 and at most 2592000 (720 h), got "8h"'
    ],
    [
      "a price row without its output price",
      config({ workers: [{ model: "mock" }], prices: { "codex:gpt-6-sol": { input_per_mtok: 2 } } }),
      'oompa.json: prices.codex:gpt-6-sol.output_per_mtok: required key is missing: expected a number from 0 to 10000'
    ],
    [
      "a misspelt price key",
      config({ workers: [{ model: "mock" }], prices: { gemini: { input_per_mtok: 1, output_per_mtok: 2, cache_per_mtok: 0.1 } } }),
      'oompa.json: prices.gemini.cache_per_mtok: unknown key (allowed here: input_per_mtok, output_per_mtok, cache_read_per_mtok)'
    ],
    [
      "a negative wait",
      workers({ model: "mock", wait_between: -1 }),
      "oompa.json: workers[0].wait_between: expected a number of seconds from 0 to 86400 (24 h), got -1"
    ],
    ["a string for can_plan", workers({ model: "mock", can_plan: "no" }), 'oompa.json: workers[0].can_plan: expected true or false, got "no"'],
    [
      "a number for prompt",
      workers({ model: "mock", prompt: 3 }),
      "oompa.json: workers[0].prompt: expected a prompt file path or a list of paths, got 3"
    ],
    [
      "a number inside a prompt list",
      workers({ model: "mock", prompt: ["a.md", 3] }),
      "oompa.json: workers[0].prompt[1]: expected a prompt file path (a string), got 3"
    ],
    [
      "a bad reviewer model",
      config({ workers: [{ model: "mock" }], reviewers: ["claude:opus", "gpt"] }),
      'oompa.json: reviewers[1]: expected "harness:model[:reasoning]" with harness one of claude, codex, opencode, gemini, pi, copilot, qwen, kilo, mock, got "gpt"'
    ],
    [
      "a reviewer that is a number",
      config({ workers: [{ model: "mock" }], reviewer: 5 }),
      'oompa.json: reviewer: expected a model string, {"model", "prompt", "timeout"}, or a list of those, got 5'
    ],
    [
      "a per-worker reviewer object without a model",
      workers({ model: "mock", reviewer: { prompt: "r.md" } }),
      'oompa.json: workers[0].reviewer.model: required key is missing: expected "harness:model[:reasoning]" (harness one of claude, codex, opencode, gemini, pi, copilot, qwen, kilo, mock)'
    ],
    [
      "a worker without a model",
      workers({ count: 2 }),
      'oompa.json: workers[0].model: required key is missing: expected "harness:model[:reasoning]" (harness one of claude, codex, opencode, gemini, pi, copilot, qwen, kilo, mock)'
    ],
    [
      "no workers key",
      config({ reviewer: "claude:opus" }),
      'oompa.json: workers: required key is missing: expected a non-empty list of workers ({"model": "claude:opus", …})'
    ],
    [
      "an empty worker list",
      config({ workers: [] }),
      'oompa.json: workers: expected a non-empty list of workers ({"model": "claude:opus", …}), got []'
    ],
    [
      "a list at the top",
      { "oompa.json": "[]" },
      'oompa.json: expected a JSON object such as {"workers": [{"model": "claude:opus"}]}, got []'
    ],
    [
      "a worker given as a bare model string",
      config({ workers: ["claude:opus"] }),
      'oompa.json: workers[0]: expected a worker object such as {"model": "claude:opus"}, got "claude:opus"'
    ],
    [
      "a planner given as a string",
      config({ workers: [{ model: "mock" }], planner: "claude:opus" }),
      'oompa.json: planner: expected an object {"model", "prompt", "max_pending"}, got "claude:opus"'
    ],
    [
      "an empty tasks_dir",
      config({ workers: [{ model: "mock" }], tasks_dir: "" }),
      'oompa.json: tasks_dir: expected a folder path (non-empty string), got ""'
    ],
    [
      "an empty prompt path",
      workers({ model: "mock", prompt: "" }),
      "oompa.json: workers[0].prompt: expected a prompt file path, got an empty string"
    ],
    [
      "a null value",
      workers({ model: "mock", count: null }),
      "oompa.json: workers[0].count: expected a whole number from 1 to 64, got null"
    ],
    [
      "iterations and max_cycle together",
      workers({ model: "mock", max_cycle: 3, iterations: 4 }),
      'oompa.json: workers[0].iterations: "iterations" is the 0.6 name of "max_cycle"; give only one of them'
    ],
    [
      "bad JSON: a missing value",
      { "oompa.json": '{\n  "workers": [\n    {"model": }\n  ]\n}\n' },
      'oompa.json:3:15: invalid JSON: unexpected "}" (expected a value)'
    ],
    [
      "bad JSON: a trailing comma",
      { "oompa.json": '{\n  "workers": [{"model": "mock"}],\n}' },
      "oompa.json:3:1: invalid JSON: trailing comma before }"
    ],
    [
      "bad JSON: an unquoted key",
      { "oompa.json": '{ workers: [] }' },
      'oompa.json:1:3: invalid JSON: unexpected "w" (expected a double-quoted key)'
    ],
    ["bad JSON: cut short", { "oompa.json": '{"workers": [' }, "oompa.json:1:14: invalid JSON: unexpected end of file (expected a value)"],
    ["bad JSON: an empty file", { "oompa.json": "" }, "oompa.json:1:1: invalid JSON: unexpected end of file (expected a value)"],
    [
      "bad JSON: two values",
      { "oompa.json": '{"workers": []}\n{}' },
      'oompa.json:2:1: invalid JSON: unexpected "{" after the end of the JSON value'
    ],
    [
      "bad JSON: single quotes",
      { "oompa.json": "{'workers': []}" },
      'oompa.json:1:2: invalid JSON: unexpected "\'" (expected a double-quoted key)'
    ],
    [
      "bad JSON: a raw newline inside a string",
      { "oompa.json": '{"workers": [{"model": "mo\nck"}]}' },
      "oompa.json:1:27: invalid JSON: control character in a string (write \\n, \\t … instead)"
    ]
  ]

  for (const [name, files, expected] of table) {
    it.scoped(name, () =>
      Effect.gen(function* () {
        const { error, text } = yield* loadError(files)
        expect(text).toBe(expected)
        expect(error.exitCode).toBe(2)
      })
    )
  }

  it.scoped("several problems: the first in the fields, all of them in the message", () =>
    Effect.gen(function* () {
      const { error, text } = yield* loadError(workers({ model: "opus", count: 0 }, { model: "mock", timout: 5 }))
      expect(error.path).toBe("workers[0].model")
      expect(text.split("\n")).toEqual([
        'oompa.json: workers[0].model: expected "harness:model[:reasoning]" with harness one of claude, codex, opencode, gemini, pi, copilot, qwen, kilo, mock, got "opus"',
        "oompa.json: workers[0].count: expected a whole number from 1 to 64, got 0",
        'oompa.json: workers[1].timout: unknown key (did you mean "timeout"?)'
      ])
    })
  )

  it.scoped("the error names the config file relative to the cwd", () =>
    Effect.gen(function* () {
      const { error } = yield* loadError({ "oompa/oompa.json": { workers: [{ model: "x" }] } })
      expect(error.file).toBe("oompa/oompa.json")
      expect(error.path).toBe("workers[0].model")
    })
  )

  it.scoped("a folder as the config path says so and where the file would be", () =>
    Effect.gen(function* () {
      const { text, dir } = yield* loadError({ "conf/notes.txt": "x" }, "conf")
      expect(text).toBe(`conf: ${dir}/conf is a folder, not a config file: pass the oompa.json inside it (--config conf/oompa.json)`)
    })
  )

  it.scoped("a deep config and a duplicate key get a position and a plain message", () =>
    Effect.gen(function* () {
      expect((yield* loadError({ "oompa.json": `{"workers": ${"[".repeat(100_000)}` })).text).toBe(
        'oompa.json:1:76: nested deeper than 64 levels of {} and [] (oompa reads at most 64); oompa.json needs 6 at most ({"workers": [{"reviewers": [{"prompt": [...]}]}]})'
      )
      expect((yield* loadError({ "oompa.json": '{"workers": [{"model": "mock", "model": "x"}]}' })).text).toBe(
        'oompa.json:1:32: invalid JSON: duplicate key "model" (JSON would keep only the last one): remove one of them'
      )
    })
  )

  describe("prompt files", () => {
    it.scoped("a missing prompt names the JSON path and both places looked", () =>
      Effect.gen(function* () {
        const { error, text, dir } = yield* loadError({
          "oompa.json": { workers: [{ model: "mock", prompt: ["a.md", "prompts/nope.md"] }] },
          "a.md": "a"
        })
        expect(error.path).toBe("workers[0].prompt[1]")
        expect(text).toContain(`oompa.json: workers[0].prompt[1]: prompt file not found: ${dir}/prompts/nope.md`)
        expect(text).toContain(`looked relative to ${dir} and to the bundled prompts`)
      })
    )

    it.scoped("a missing reviewer prompt names its path", () =>
      Effect.gen(function* () {
        const { error } = yield* loadError(
          config({ workers: [{ model: "mock" }], reviewers: ["mock", { model: "mock", prompt: "r.md" }] })
        )
        expect(error.path).toBe("reviewers[1].prompt")
        expect(error.message).toContain("prompt file not found")
      })
    )

    it.scoped("a missing planner prompt names its path", () =>
      Effect.gen(function* () {
        const { error } = yield* loadError(config({ workers: [{ model: "mock" }], planner: { model: "mock", prompt: "p.md" } }))
        expect(error.path).toBe("planner.prompt")
      })
    )

    it.scoped("an empty prompt list is refused", () =>
      Effect.gen(function* () {
        const { text } = yield* loadError(workers({ model: "mock", prompt: [] }))
        expect(text).toBe(
          'oompa.json: workers[0].prompt: expected at least one prompt file, got []; remove "prompt" to use the bundled default'
        )
      })
    )

    it.scoped("an include cycle is refused, naming the chain", () =>
      Effect.gen(function* () {
        const { text } = yield* loadError({
          "oompa.json": { workers: [{ model: "mock", prompt: "prompts/a.md" }] },
          "prompts/a.md": 'a\n#oompa_directive:include_file "b.md"\n',
          "prompts/b.md": 'b\n\n#oompa_directive:include_file "a.md"\n'
        })
        expect(text).toBe(
          "prompts/a.md: include cycle: a.md -> b.md -> a.md; remove the #oompa_directive:include_file line 3 of b.md"
        )
      })
    )

    it.scoped("a file including itself is refused", () =>
      Effect.gen(function* () {
        const { text } = yield* loadError({
          "oompa.json": { workers: [{ model: "mock", prompt: "self.md" }] },
          "self.md": '#oompa_directive:include_file "self.md"'
        })
        expect(text).toBe(
          "self.md: include cycle: self.md -> self.md; remove the #oompa_directive:include_file line 1 of self.md"
        )
      })
    )

    it.scoped("a missing included file names the including file and line", () =>
      Effect.gen(function* () {
        const { text, dir } = yield* loadError({
          "oompa.json": { workers: [{ model: "mock", prompt: "p/main.md" }] },
          "p/main.md": 'x\n#oompa_directive:include_file "gone.md"\n'
        })
        expect(text).toBe(
          `p/main.md: line 2: included file not found: ${dir}/p/gone.md ` +
            "(#oompa_directive:include_file paths are relative to the including file)"
        )
      })
    )
  })
})
