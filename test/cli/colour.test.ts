import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { binPath, ensureBuilt, runCli, runCommand } from "../support/runCli.js"

/**
 * No ANSI escape reaches a pipe, nor a terminal under NO_COLOR or TERM=dumb
 * (services/colour.ts), in @effect/cli's help and usage errors too, which it
 * styles whatever the stream. runCli sets NO_COLOR=1 by default: these cases
 * unset it where the point is that a pipe alone is enough.
 */

const ESC = "\x1b["
const colourEnv = { NO_COLOR: undefined, FORCE_COLOR: undefined, TERM: "xterm-256color" }
const hasScript = spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0

describe.concurrent("colour (built binary)", () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-colour-"))
  beforeAll(() => ensureBuilt(), 300_000)
  afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }))

  it("--help and a usage error into pipes carry no escape; NO_COLOR too; FORCE_COLOR brings the styles back", async () => {
    const [piped, noColor, subHelp, badUsage, forced, forcedButNoColor] = await Promise.all([
      runCli(["--help"], { cwd, env: colourEnv }),
      runCli(["--help"], { cwd, env: { ...colourEnv, NO_COLOR: "1" } }),
      runCli(["tasks", "--help"], { cwd, env: colourEnv }),
      runCli(["list", "--bogus"], { cwd, env: colourEnv }),
      runCli(["--help"], { cwd, env: { ...colourEnv, FORCE_COLOR: "1" } }),
      runCli(["--help"], { cwd, env: { ...colourEnv, FORCE_COLOR: "1", NO_COLOR: "1" } })
    ])
    for (const result of [piped, noColor, subHelp, forced, forcedButNoColor]) expect(result.code).toBe(0)
    expect(piped.stdout).toContain("USAGE")
    expect(piped.stdout).toContain("list")
    expect(subHelp.stdout).toContain("--json")
    for (const result of [piped, noColor, subHelp, badUsage, forcedButNoColor]) {
      expect(result.stdout).not.toContain(ESC)
      expect(result.stderr).not.toContain(ESC)
    }
    expect(badUsage.code).toBe(2)
    expect(badUsage.stderr).toContain("Received unknown argument: '--bogus'")
    // The same help, styled: what the stripping took out.
    expect(forced.stdout).toContain(ESC)
    expect(forced.stdout.replace(/\x1b\[[0-9;]*m/g, "")).toBe(piped.stdout)
  })

  it.skipIf(!hasScript)("on a terminal (script(1)): styled help, plain under NO_COLOR or TERM=dumb", async () => {
    const onTerminal = (env: Record<string, string | undefined>) => {
      const merged: NodeJS.ProcessEnv = { ...process.env, ...env }
      for (const [key, value] of Object.entries(env)) if (value === undefined) delete merged[key]
      return runCommand("script", ["-qec", `${JSON.stringify(process.execPath)} ${JSON.stringify(binPath)} --help`, "/dev/null"], {
        cwd,
        env: merged,
        timeoutMs: 120_000
      })
    }
    const [styled, noColor, dumb] = await Promise.all([
      onTerminal(colourEnv),
      onTerminal({ ...colourEnv, NO_COLOR: "1" }),
      onTerminal({ ...colourEnv, TERM: "dumb" })
    ])
    for (const result of [styled, noColor, dumb]) {
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("USAGE")
    }
    expect(styled.stdout).toContain(ESC)
    expect(noColor.stdout).not.toContain(ESC)
    expect(dumb.stdout).not.toContain(ESC)
  })
})
