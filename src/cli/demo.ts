import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Console, Effect, Option } from "effect"
import { loadSwarmConfig } from "../engine/loadConfig.js"
import { UsageError } from "../domain/errors.js"
import { runSwarm } from "../engine/swarm.js"
import { Git } from "../services/Git.js"

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

/** A git command in the demo repository, through the Git service (no shell, stdin closed, killed on interruption). */
const git = (cwd: string, ...args: ReadonlyArray<string>) =>
  Effect.flatMap(Git, (service) => service.run(cwd, args)).pipe(Effect.map((result) => result.stdout))

const demoDirError = (dir: string, reason: string) => new UsageError({ message: `--dir ${dir}: ${reason}` })

/** A throwaway repository with a spec, a config and a task queue. */
const createDemoRepo = (dir: string) =>
  Effect.gen(function* () {
    const writeFiles = (write: () => void) =>
      Effect.try({ try: write, catch: (error) => demoDirError(dir, String(error)) })
    const empty = yield* Effect.try({
      try: () => {
        fs.mkdirSync(dir, { recursive: true })
        return fs.readdirSync(dir).length === 0
      },
      catch: (error) => demoDirError(dir, String(error))
    })
    if (!empty) return yield* demoDirError(dir, "the folder is not empty; give a new or empty folder")
    const inRepo = (...args: ReadonlyArray<string>) =>
      git(dir, ...args).pipe(Effect.mapError((error) => demoDirError(dir, error.message)))
    yield* inRepo("init", "-q", "-b", "main")
    // A local identity, so the demo works on a machine where git has none.
    yield* inRepo("config", "user.name", "oompa demo")
    yield* inRepo("config", "user.email", "demo@oompa.invalid")
    yield* writeFiles(() => {
      fs.writeFileSync(path.join(dir, "SPEC.md"), SPEC)
      fs.writeFileSync(path.join(dir, "oompa.json"), JSON.stringify(CONFIG, null, 2) + "\n")
    })
    yield* inRepo("add", "SPEC.md", "oompa.json")
    yield* inRepo("commit", "-q", "-m", "textkit: spec and swarm config")
    yield* writeFiles(() => {
      for (const state of ["pending", "current", "complete"]) fs.mkdirSync(path.join(dir, "tasks", state), { recursive: true })
      for (const task of TASKS) {
        fs.writeFileSync(path.join(dir, "tasks", "pending", `${task.id}.json`), JSON.stringify(task, null, 2) + "\n")
      }
      // The queue is shared state, never committed.
      fs.appendFileSync(path.join(dir, ".git", "info", "exclude"), "tasks/\n")
    })
  })

export const handleDemo = ({ dir }: { readonly dir: Option.Option<string> }) =>
  Effect.gen(function* () {
    const target = Option.getOrElse(dir, () => fs.mkdtempSync(path.join(os.tmpdir(), "oompa-demo-")))
    const root = path.resolve(target)
    yield* createDemoRepo(root)
    yield* Console.log(`oompa demo: ${TASKS.length} tasks, 3 mock workers and a mock reviewer in ${root}\n`)
    const config = yield* loadSwarmConfig({ cwd: root })
    const result = yield* runSwarm(config)
    yield* Console.log(`\nThe demo repository is ${root}; its history:\n`)
    yield* Console.log((yield* git(root, "log", "--oneline", "--graph", "-n", "30", "main")).trimEnd())
    yield* Console.log(`\nTry: cd ${root} && git show --stat HEAD && ls work/ tasks/complete/`)
    yield* Console.log(`Run files: ${result.runDir}`)
  })
