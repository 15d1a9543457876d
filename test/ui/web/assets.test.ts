import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { dashboardAssetsDir, swarmViewScript } from "../../../src/paths.js"
import { ensureBuilt, repoRoot, runCommand } from "../../support/runCli.js"

/**
 * The dashboard's page ships in the package with no build chain: the files
 * of ui/ as written, and the live views' fold as tsc compiled it, which the
 * page imports as it is (one definition of the fold, in the browser too).
 */
/** What a module imports: every `import … from "x"`, `export … from "x"` and `import("x")`. */
const importsIn = (text: string): Array<string> =>
  [...text.matchAll(/\b(?:import|export)\b[^;'"`]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1] ?? m[2]!)

describe("the dashboard's page files", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it("are in the package npm would publish", async () => {
    const packed = await runCommand("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: repoRoot })
    expect(packed.code).toBe(0)
    const files = (JSON.parse(packed.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path)
    expect(files).toEqual(expect.arrayContaining(["ui/index.html", "ui/app.js", "ui/style.css", "dist/domain/swarmView.js"]))
  })

  it("the compiled fold imports nothing, and the page's module imports only it", () => {
    expect(importsIn(fs.readFileSync(swarmViewScript, "utf8"))).toEqual([])
    expect(importsIn(fs.readFileSync(path.join(dashboardAssetsDir, "app.js"), "utf8"))).toEqual(["/swarmView.js"])
  })
})
