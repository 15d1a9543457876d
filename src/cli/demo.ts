import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { loadSwarmConfig } from "../engine/loadConfig.js"
import { UsageError } from "../domain/errors.js"
import { runSwarm } from "../engine/swarm.js"

const SPEC = `# textkit — a tiny text utilities library

A demo project for oompa. The swarm's mock agents each claim a task from
\`tasks/pending/\`, write a note for it under \`work/\`, and ask for a merge;
a mock reviewer checks every change (and asks for one round of changes).
`

const TASKS: ReadonlyArray<{ readonly id: string; readonly summary: string; readonly depends_on?: ReadonlyArray<string> }> = [
  { id: "slugify", summary: "Add slugify(text): lower-case, dashes for spaces" },
  { id: "truncate", summary: "Add truncate(text, n) with an ellipsis" },
  { id: "word-count", summary: "Add wordCount(text)" },
  { id: "title-case", summary: "Add titleCase(text)" },
  { id: "strip-ansi", summary: "Add stripAnsi(text)" },
  { id: "wrap", summary: "Add wrap(text, width) for plain paragraphs" },
  { id: "readme", summary: "Document every function in README.md", depends_on: ["slugify", "truncate"] },
  { id: "changelog", summary: "Write CHANGELOG.md for 0.1.0 (costs $0 to ship)" }
]

const CONFIG = {
  workers: [{ model: "mock", count: 3, max_cycle: 6, can_plan: false, max_wait_for_tasks: 60 }],
  reviewer: "mock:demo"
}

const git = (cwd: string, ...args: ReadonlyArray<string>) =>
  execFileSync("git", [...args], { cwd, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" })

/** A throwaway repository with a spec, a config and a task queue. */
const createDemoRepo = (dir: string) =>
  Effect.try({
    try: () => {
      fs.mkdirSync(dir, { recursive: true })
      if (fs.readdirSync(dir).length > 0) throw new Error("not empty")
      git(dir, "init", "-q", "-b", "main")
      // A local identity, so the demo works on a machine where git has none.
      git(dir, "config", "user.name", "oompa demo")
      git(dir, "config", "user.email", "demo@oompa.invalid")
      fs.writeFileSync(path.join(dir, "SPEC.md"), SPEC)
      fs.writeFileSync(path.join(dir, "oompa.json"), JSON.stringify(CONFIG, null, 2) + "\n")
      git(dir, "add", "SPEC.md", "oompa.json")
      git(dir, "commit", "-q", "-m", "textkit: spec and swarm config")
      for (const state of ["pending", "current", "complete"]) fs.mkdirSync(path.join(dir, "tasks", state), { recursive: true })
      for (const task of TASKS) {
        fs.writeFileSync(path.join(dir, "tasks", "pending", `${task.id}.json`), JSON.stringify(task, null, 2) + "\n")
      }
      // The queue is shared state, never committed.
      fs.appendFileSync(path.join(dir, ".git", "info", "exclude"), "tasks/\n")
    },
    catch: (error) =>
      new UsageError({
        message: `--dir ${dir}: ${error instanceof Error && error.message === "not empty" ? "the folder is not empty; give a new or empty folder" : String(error)}`
      })
  })

const dirOption = Options.directory("dir", { exists: "either" }).pipe(
  Options.withDescription("Create the demo repository here (a new or empty folder) instead of a temp folder"),
  Options.optional
)

export const demoCommand = Command.make("demo", { dir: dirOption }, ({ dir }) =>
  Effect.gen(function* () {
    const target = Option.getOrElse(dir, () => fs.mkdtempSync(path.join(os.tmpdir(), "oompa-demo-")))
    const root = path.resolve(target)
    yield* createDemoRepo(root)
    yield* Console.log(`oompa demo: ${TASKS.length} tasks, 3 mock workers and a mock reviewer in ${root}\n`)
    const config = yield* loadSwarmConfig({ cwd: root })
    const result = yield* runSwarm(config)
    yield* Console.log(`\nThe demo repository is ${root}; its history:\n`)
    yield* Console.log(git(root, "log", "--oneline", "--graph", "-n", "30", "main").trimEnd())
    yield* Console.log(`\nTry: cd ${root} && git show --stat HEAD && ls work/ tasks/complete/`)
    yield* Console.log(`Run files: ${result.runDir}`)
  })
).pipe(Command.withDescription("Run a swarm of mock agents on a throwaway repository (no model API needed)"))
