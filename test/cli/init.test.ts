import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { beforeAll } from "vitest"
import { bundledPromptPath } from "../../src/config/bundled.js"
import { loadConfig } from "../../src/config/loadConfig.js"
import { makeProject, snapshot } from "../config/support.js"
import { ensureBuilt, runCliEffect } from "../support/runCli.js"
import { builtinHarnessNames } from "../../src/harness/registry.js"

beforeAll(() => ensureBuilt(), 300_000)

const gitInit = (dir: string) =>
  Effect.sync(() => {
    const result = spawnSync("git", ["init", "-q", dir], { encoding: "utf8" })
    if (result.status !== 0) throw new Error(`git init failed: ${result.stderr}`)
  })

const read = (file: string) => Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file))

const expectedFiles = [
  "oompa.json",
  "oompa/prompts/worker.md",
  "oompa/prompts/planner.md",
  "oompa/prompts/executor.md",
  "oompa/prompts/reviewer.md",
  "tasks/pending/.gitkeep",
  "tasks/current/.gitkeep",
  "tasks/complete/.gitkeep"
]

layer(NodeContext.layer)("oompa init (the built binary)", (it) => {
  it.scoped("sets up a git project: config, prompt copies, task folders, .oompa/ excluded", () =>
    Effect.gen(function* () {
      const path = yield* Path.Path
      const dir = yield* makeProject({ "README.md": "# my project\n" })
      yield* gitInit(dir)
      const result = yield* runCliEffect(["init"], { cwd: dir })
      expect(result.stderr).toBe("")
      expect(result.code).toBe(0)
      for (const file of expectedFiles) expect(result.stdout).toContain(`created ${file}`)

      const files = yield* snapshot(dir)
      for (const file of expectedFiles) expect(files).toHaveProperty([file])
      for (const name of ["worker.md", "planner.md", "executor.md", "reviewer.md"]) {
        expect(files[`oompa/prompts/${name}`]).toBe(yield* read(bundledPromptPath(name)))
      }
      const exclude = yield* read(path.join(dir, ".git/info/exclude"))
      expect(exclude.split("\n")).toContain(".oompa/")

      // The written config loads, and uses the copies, not the bundled files.
      const config = yield* loadConfig({ cwd: dir, harnesses: builtinHarnessNames })
      expect(config.workers.map((w) => w.id)).toEqual(["w0", "w1"])
      expect(config.workers[0]?.prompt.files).toEqual([path.join(dir, "oompa/prompts/worker.md")])
      expect(config.reviewers[0]?.prompt.files).toEqual([path.join(dir, "oompa/prompts/reviewer.md")])
      expect(config.tasksDir).toBe(path.join(dir, "tasks"))
    })
  )

  it.scoped("refuses to overwrite oompa.json without --force, writing nothing", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({ "oompa.json": '{"workers": [{"model": "mock"}]}\n' })
      yield* gitInit(dir)
      const before = yield* snapshot(dir)
      const result = yield* runCliEffect(["init"], { cwd: dir })
      expect(result.code).toBe(2)
      expect(result.stdout).toBe("")
      expect(result.stderr).toContain(`${dir}/oompa.json: already exists`)
      expect(result.stderr).toContain("--force")
      expect(yield* snapshot(dir)).toEqual(before)
    })
  )

  it.scoped("refuses when only a prompt copy exists, writing nothing (not even oompa.json)", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({ "oompa/prompts/reviewer.md": "my own reviewer\n" })
      const before = yield* snapshot(dir)
      const result = yield* runCliEffect(["init"], { cwd: dir })
      expect(result.code).toBe(2)
      expect(result.stderr).toContain("oompa/prompts/reviewer.md: already exists")
      expect(yield* snapshot(dir)).toEqual(before)
    })
  )

  it.scoped("--force overwrites, keeps existing tasks, and does not repeat the exclude line", () =>
    Effect.gen(function* () {
      const path = yield* Path.Path
      const dir = yield* makeProject({ "tasks/pending/t1.json": '{"id": "t1"}' })
      yield* gitInit(dir)
      expect((yield* runCliEffect(["init"], { cwd: dir })).code).toBe(0)
      const fs = yield* FileSystem.FileSystem
      yield* fs.writeFileString(path.join(dir, "oompa.json"), "{}")
      const result = yield* runCliEffect(["init", "--force"], { cwd: dir })
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("overwrote oompa.json")
      expect(JSON.parse(yield* read(path.join(dir, "oompa.json")))).toHaveProperty("workers")
      expect(yield* read(path.join(dir, "tasks/pending/t1.json"))).toBe('{"id": "t1"}')
      const exclude = (yield* read(path.join(dir, ".git/info/exclude"))).split("\n")
      expect(exclude.filter((line) => line === ".oompa/")).toHaveLength(1)
    })
  )

  it.scoped("takes a folder argument, creating it, and works outside a git repository", () =>
    Effect.gen(function* () {
      const path = yield* Path.Path
      const fs = yield* FileSystem.FileSystem
      const dir = yield* makeProject({})
      const result = yield* runCliEffect(["init", "new/project"], { cwd: dir })
      expect(result.stderr).toBe("")
      expect(result.code).toBe(0)
      const files = yield* snapshot(path.join(dir, "new/project"))
      for (const file of expectedFiles) expect(files).toHaveProperty([file])
      expect(yield* fs.exists(path.join(dir, "new/project/.git"))).toBe(false)
      expect(result.stdout).not.toContain("exclude")
    })
  )
})
