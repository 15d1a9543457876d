import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Effect, JSONSchema } from "effect"
import { bundledPromptNames, loadBundledPrompt } from "../../src/config/bundled.js"
import { packageRoot } from "../../src/paths.js"
import { OompaJson } from "../../src/config/OompaJson.js"
import { renderTemplate } from "../../src/config/render.js"
import { defaultSchemaName, schemaRegistry } from "../../src/cli/schemaRegistry.js"

const lines = (text: string) => text.split("\n").map((line) => line.trim())

layer(NodeContext.layer)("bundled prompts", (it) => {
  it.effect("packageRoot is the folder holding oompa's package.json", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const pkg = JSON.parse(yield* fs.readFileString(path.join(packageRoot, "package.json"))) as { name: string }
      expect(pkg.name).toBe("oompa")
    })
  )

  for (const name of bundledPromptNames) {
    it.effect(`${name} loads and is not empty`, () =>
      Effect.gen(function* () {
        const text = yield* loadBundledPrompt(name)
        expect(text.trim().length).toBeGreaterThan(200)
      })
    )
  }

  it.effect("the task header tells agents the queue, how to claim, the signals as whole lines, and the rules", () =>
    Effect.gen(function* () {
      const header = yield* loadBundledPrompt("_task_header.md")
      const rendered = renderTemplate(header, {
        TASKS_ROOT: "/repo/tasks",
        WORKER_ID: "w3",
        SWARM_ID: "ab12cd34",
        TARGET_BRANCH: "main"
      })
      expect(rendered).not.toMatch(/\{\{[A-Z_]+\}\}/)
      for (const folder of ["pending", "current", "complete"]) expect(rendered).toContain(`/repo/tasks/${folder}/`)
      expect(rendered).toContain("w3")
      expect(rendered).toContain("ab12cd34")
      // Each signal appears as a whole line, exactly as the agent must write it.
      for (const signal of ["COMPLETE_AND_READY_FOR_MERGE", "CLAIM(task-id-1, task-id-2)", "NEEDS_FOLLOWUP", "__DONE__"]) {
        expect(lines(rendered)).toContain(signal)
      }
      expect(rendered).toMatch(/whole lines/)
      expect(rendered).toMatch(/One task .* per cycle/)
      expect(rendered).toMatch(/Never move, rename, edit or delete/)
      // The task JSON format, with every field of SPEC §3.
      for (const field of ["id", "summary", "description", "difficulty", "files", "acceptance", "depends_on"]) {
        expect(rendered).toContain(`"${field}"`)
      }
    })
  )

  it.effect("the reviewer prompt asks for exactly one VERDICT line", () =>
    Effect.gen(function* () {
      const reviewer = yield* loadBundledPrompt("reviewer.md")
      for (const verdict of ["APPROVED", "NEEDS_CHANGES", "REJECTED"]) expect(reviewer).toContain(`VERDICT: ${verdict}`)
      expect(reviewer).toMatch(/exactly one verdict line/)
    })
  )

  it.effect("worker and planner prompts mention __DONE__; the executor one does not", () =>
    Effect.gen(function* () {
      expect(yield* loadBundledPrompt("worker.md")).toContain("__DONE__")
      expect(yield* loadBundledPrompt("planner.md")).toContain("__DONE__")
      expect(yield* loadBundledPrompt("executor.md")).not.toContain("__DONE__")
    })
  )
})

layer(NodeContext.layer)("schemas", (it) => {
  it.effect("the registry's default is the oompa.json Schema", () =>
    Effect.sync(() => {
      expect(schemaRegistry.get(defaultSchemaName)?.schema).toBe(OompaJson)
    })
  )

  it.effect("the JSON Schema of oompa.json lists every key and refuses unknown ones", () =>
    Effect.sync(() => {
      const schema = JSONSchema.make(OompaJson) as {
        $defs: Record<string, { properties?: Record<string, unknown>; additionalProperties?: boolean; required?: string[] }>
      }
      const top = schema.$defs["OompaJson"]
      const worker = schema.$defs["Worker"]
      expect(top?.additionalProperties).toBe(false)
      expect(top?.required).toEqual(["workers"])
      expect(Object.keys(top?.properties ?? {})).toEqual(
        expect.arrayContaining(["workers", "reviewer", "reviewers", "review_model", "review_models", "planner"])
      )
      expect(worker?.additionalProperties).toBe(false)
      expect(Object.keys(worker?.properties ?? {})).toEqual(
        expect.arrayContaining(["model", "prompt", "max_cycle", "iterations", "count", "can_plan", "timeout"])
      )
    })
  )
})
