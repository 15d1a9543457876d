import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ensureBuilt, repoRoot, runCli } from "../support/runCli.js"

// The bin's V8 code cache (src/codeCache.ts) only ever saves time: whatever state its
// folder is in, `oompa` behaves the same.
describe("oompa's code cache", () => {
  beforeAll(() => ensureBuilt(), 300_000)
  const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string }
  const cwd = os.tmpdir()
  const cacheFiles = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith(".v8cache")) : [])

  it("is written to $XDG_CACHE_HOME/oompa, used on the next start, rewritten when corrupt", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-cache-"))
    try {
      const dir = path.join(home, "oompa")
      const first = await runCli(["--version"], { cwd, env: { XDG_CACHE_HOME: home } })
      expect([first.code, first.stdout.trim()]).toEqual([0, version])
      const [file] = cacheFiles(dir)
      expect(file).toBeDefined()
      const written = fs.readFileSync(path.join(dir, file!))
      expect(written.length).toBeGreaterThan(0)

      const second = await runCli(["--version"], { cwd, env: { XDG_CACHE_HOME: home } })
      expect([second.code, second.stdout.trim()]).toEqual([0, version])
      expect(fs.readFileSync(path.join(dir, file!)).equals(written)).toBe(true)

      fs.writeFileSync(path.join(dir, file!), "not a code cache")
      const third = await runCli(["--version"], { cwd, env: { XDG_CACHE_HOME: home } })
      expect([third.code, third.stdout.trim(), third.stderr]).toEqual([0, version, ""])
      expect(fs.readFileSync(path.join(dir, file!)).toString()).not.toBe("not a code cache")
      // No temporary file is left behind.
      expect(fs.readdirSync(dir)).toEqual([file])
    } finally {
      fs.rmSync(home, { recursive: true, force: true })
    }
  })

  it("an unusable cache folder changes nothing the user sees", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-cache-"))
    try {
      // The folder oompa would create is a file.
      fs.writeFileSync(path.join(home, "oompa"), "")
      const result = await runCli(["--version"], { cwd, env: { XDG_CACHE_HOME: home } })
      expect([result.code, result.stdout.trim(), result.stderr]).toEqual([0, version, ""])
      const failed = await runCli(["swarmm"], { cwd, env: { XDG_CACHE_HOME: home } })
      expect(failed.code).toBe(2)
    } finally {
      fs.rmSync(home, { recursive: true, force: true })
    }
  })
})
