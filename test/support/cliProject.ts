/**
 * Test helper for binary-level tests: a temp git project set up as a user
 * would — one commit on main, an oompa.json, tasks t1…tN in pending/, and an
 * optional mock scenario.json — plus the small fs/git readers those tests share.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export const git = (cwd: string, ...args: ReadonlyArray<string>): string =>
  execFileSync("git", [...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim()

export const makeProject = (config: unknown, tasks: number, scenario?: unknown): string => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "oompa-cli-project-")))
  git(dir, "init", "-q", "-b", "main")
  git(dir, "config", "user.name", "test")
  git(dir, "config", "user.email", "test@example.invalid")
  fs.writeFileSync(path.join(dir, "README.md"), "# project\n")
  git(dir, "add", ".")
  git(dir, "commit", "-q", "-m", "init")
  fs.writeFileSync(path.join(dir, "oompa.json"), JSON.stringify(config))
  if (scenario !== undefined) fs.writeFileSync(path.join(dir, "scenario.json"), JSON.stringify(scenario))
  for (const state of ["pending", "current", "complete"]) fs.mkdirSync(path.join(dir, "tasks", state), { recursive: true })
  for (let i = 1; i <= tasks; i++) {
    fs.writeFileSync(path.join(dir, "tasks", "pending", `t${i}.json`), JSON.stringify({ id: `t${i}`, summary: `task ${i}` }))
  }
  return dir
}

export const listDir = (dir: string): Array<string> => (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
