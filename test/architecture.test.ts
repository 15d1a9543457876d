/**
 * The house's one-way flow (docs/architecture.md: cli/ui → engine → services/harness
 * → formats/domain/paths; config imports only domain/formats/paths), checked on
 * every import and re-export line of src/. A new import that runs against the
 * flow fails here with the file, the line and the rule it breaks.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const srcDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "src")

/**
 * The layers, highest first. A file may import from its own folder and from any
 * layer below its own, never from one above. Within the brief's tier
 * "services, harness, runs" the arrows are fixed too: harness and runs use
 * services (ProcessRunner, processTree), services use neither. Below config,
 * domain reads formats (task files are JSON or EDN) and formats read only
 * their own folder.
 */
const layers: ReadonlyArray<ReadonlyArray<string>> = [
  ["edge"], // bin.ts, binLoader.ts, codeCache.ts, mock-agent.ts, index.ts, testing.ts, layers.ts, leanHeap.ts: they wire everything
  ["cli"], // one file per command: it may show the live view
  ["ui"], // the live terminal view and the dashboard: what cli commands show
  ["engine"],
  ["harness", "runs"],
  ["services"],
  ["config"],
  ["domain"],
  ["formats"],
  ["paths"] // paths.ts / version.ts: package root and version, a leaf
]

/** The files at the top of src/ and the layer each belongs to. */
const topLevel: Readonly<Record<string, string>> = {
  "bin.ts": "edge",
  "binLoader.ts": "edge",
  "codeCache.ts": "edge",
  "mock-agent.ts": "edge",
  "index.ts": "edge",
  "testing.ts": "edge",
  "layers.ts": "edge",
  "leanHeap.ts": "edge",
  "paths.ts": "paths",
  "version.ts": "paths"
}

const rankOf = (layer: string): number => {
  const rank = layers.findIndex((names) => names.includes(layer))
  if (rank < 0) throw new Error(`src/${layer} is in no layer of test/architecture.test.ts: add it to the table`)
  return rank
}

/** The layer of a file under src/ (a path relative to src/). */
const layerOf = (relative: string): string => {
  const [first, ...rest] = relative.split("/")
  if (rest.length === 0) {
    const layer = topLevel[first!]
    if (layer === undefined) throw new Error(`src/${first} is in no layer of test/architecture.test.ts: add it to topLevel`)
    return layer
  }
  return first!
}

const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith(".ts") ? [full] : []
  })

interface ImportLine {
  readonly file: string
  readonly line: number
  readonly specifier: string
}

/** Every `import … from "x"`, `export … from "x"`, `import "x"` and `import("x")` of a file. */
export const importsOf = (file: string, text: string): Array<ImportLine> => {
  const found: Array<ImportLine> = []
  const pattern = /\b(?:import|export)\b[^;'"`]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(?\s*["']([^"']+)["']/g
  for (const match of text.matchAll(pattern)) {
    const specifier = match[1] ?? match[2]!
    found.push({ file, line: text.slice(0, match.index).split("\n").length, specifier })
  }
  return found
}

/** The broken rules among the imports of the files in `dir`, one line each. */
const violations = (dir: string): Array<string> =>
  sourceFiles(dir).flatMap((file) => {
    const from = path.relative(dir, file)
    const fromLayer = layerOf(from)
    return importsOf(file, fs.readFileSync(file, "utf8")).flatMap(({ line, specifier }) => {
      if (!specifier.startsWith(".")) return []
      const target = path.relative(dir, path.resolve(path.dirname(file), specifier)).replace(/\.js$/, ".ts")
      if (target.startsWith("..")) return [`src/${from}:${line} imports ${specifier}, outside src/`]
      const toLayer = layerOf(target)
      if (toLayer === fromLayer || rankOf(toLayer) > rankOf(fromLayer)) return []
      return [`src/${from}:${line} (${fromLayer}) imports ${target} (${toLayer}): ${toLayer} is not below ${fromLayer}`]
    })
  })

describe("imports follow the flow cli → engine → services/harness → domain", () => {
  it("no import in src/ runs against the layer table", () => {
    expect(violations(srcDir)).toEqual([])
  })

  it("reads every kind of import line, and names the one that runs against the flow", () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? "/tmp"), "oompa-arch-"))
    try {
      const put = (relative: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true })
        fs.writeFileSync(path.join(dir, relative), text)
      }
      put("domain/Task.ts", `export const task = 1\n`)
      put("engine/swarm.ts", `export const swarm = 1\n`)
      put("cli/main.ts", `import { swarm } from "../engine/swarm.js"\nexport { task } from "../domain/Task.js"\n`)
      expect(violations(dir)).toEqual([])
      put(
        "config/load.ts",
        [
          `import type { Task } from "../domain/Task.js"`,
          `import {`,
          `  swarm`,
          `} from "../engine/swarm.js"`,
          `export * from "../cli/main.js"`,
          `const lazy = () => import("../engine/swarm.js")`
        ].join("\n")
      )
      expect(violations(dir)).toEqual([
        "src/config/load.ts:2 (config) imports engine/swarm.ts (engine): engine is not below config",
        "src/config/load.ts:5 (config) imports cli/main.ts (cli): cli is not below config",
        "src/config/load.ts:6 (config) imports engine/swarm.ts (engine): engine is not below config"
      ])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("every process starts through ProcessRunner (agents, checks, --detach) or Git's gitProcess (git)", () => {
    /**
     * The modules that may start a process, and why. harness/mock/agent.ts is the
     * mock agent's own body (its `run:` steps are what a real agent CLI's tool
     * calls would be); the mock-agent executable runs it without loading Effect.
     */
    const allowed = new Set(["services/ProcessRunner.ts", "services/git/gitProcess.ts", "harness/mock/agent.ts"])
    const starters = sourceFiles(srcDir).flatMap((file) => {
      const text = fs.readFileSync(file, "utf8")
      const relative = path.relative(srcDir, file)
      const childProcess = importsOf(file, text).some(({ specifier }) => /^(node:)?child_process$/.test(specifier))
      const platformCommand =
        /import\s*(type\s*)?\{[^}]*\b(Command|CommandExecutor)\b[^}]*\}\s*from\s*["']@effect\/platform["']/.test(text) ||
        /from\s*["']@effect\/platform\/Command(Executor)?["']/.test(text)
      return (childProcess || platformCommand) && !allowed.has(relative) ? [`src/${relative}`] : []
    })
    expect(starters).toEqual([])
  })
})
