import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ensureBuilt, repoRoot, runCli } from "../support/runCli.js"

describe("oompa (the built binary)", () => {
  beforeAll(() => ensureBuilt(), 300_000)
  const cwd = os.tmpdir()

  it("--version prints the package version", async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string }
    const result = await runCli(["--version"], { cwd })
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe(version)
  })

  it("--help lists every command", async () => {
    const result = await runCli(["--help"], { cwd })
    expect(result.code).toBe(0)
    for (const command of ["swarm", "run", "demo", "init", "tasks", "check", "schema", "watch", "report"]) {
      expect(result.stdout).toMatch(new RegExp(`- ${command}\\b`))
    }
  })

  it("an unknown command exits 2 and names the valid ones", async () => {
    const result = await runCli(["swarmm"], { cwd })
    expect(result.code).toBe(2)
    expect(`${result.stdout}${result.stderr}`).toContain("swarm")
  })
})
