// oompa embedded in an Effect program: a swarm on a fresh git repository,
// driven by a harness of our own that runs in this process (no agent CLI, no
// child process), with every event of the run printed as it happens.
//
//   (in the oompa checkout) npm run build && npm pack && mv oompa-*.tgz examples/embed/oompa.tgz
//   cd examples/embed && npm install && node main.js [folder]
//
// The last argument, when given, is an empty folder to make the repository in.
import { execFileSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Fiber, Logger, LogLevel, Option, PubSub, Ref, Stream } from "effect"
import { builtinHarnesses, oompaLive, runSwarm, withHarness } from "oompa"

// --- The project: a git repository with two tasks in its queue. -------------
const repo = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), "oompa-embed-"))
const git = (...args) => execFileSync("git", args, { cwd: repo, encoding: "utf8" }).trim()
fs.mkdirSync(repo, { recursive: true })
git("init", "-q", "-b", "main")
git("config", "user.email", "embed@example.invalid")
git("config", "user.name", "embed example")
fs.writeFileSync(path.join(repo, "README.md"), "# notes\n")
git("add", "README.md")
git("commit", "-q", "-m", "start")
const tasksDir = path.join(repo, "tasks")
for (const dir of ["pending", "current", "complete"]) fs.mkdirSync(path.join(tasksDir, dir), { recursive: true })
for (const id of ["first-note", "second-note"]) {
  fs.writeFileSync(path.join(tasksDir, "pending", `${id}.json`), JSON.stringify({ id, summary: `Write the note ${id}` }))
}
// "notes" is not a built-in harness: the registry below adds it, and config validation knows it from there.
fs.writeFileSync(path.join(repo, "oompa.json"), JSON.stringify({ workers: [{ model: "notes", max_cycle: 5 }] }, null, 2))
console.log(`repository: ${repo}`)

// --- The harness: an Effect per turn. ---------------------------------------
// A new session claims the first pending task (or says __DONE__ when there is
// none); resumed, it writes the task's note into the worktree and asks for the
// merge. oompa commits the worktree, merges it into main and completes the task.
const notesHarness = {
  make: () =>
    Effect.gen(function* () {
      const claimed = yield* Ref.make(new Map()) // session id -> task id
      const turn = (request) =>
        Effect.gen(function* () {
          const started = Date.now()
          let session
          let text
          if (request.session._tag === "New") {
            session = request.session.id ?? `notes-${randomUUID()}`
            const pending = fs.readdirSync(path.join(tasksDir, "pending")).filter((name) => name.endsWith(".json")).sort()
            if (pending.length === 0) {
              text = "Nothing left to do.\n__DONE__"
            } else {
              const id = pending[0].replace(/\.json$/, "")
              yield* Ref.update(claimed, (all) => new Map(all).set(session, id))
              text = `CLAIM(${id})`
            }
          } else {
            session = request.session.id
            const id = (yield* Ref.get(claimed)).get(session)
            fs.mkdirSync(path.join(request.cwd, "notes"), { recursive: true })
            fs.writeFileSync(path.join(request.cwd, "notes", `${id}.md`), `# ${id}\n\nWritten by the notes harness.\n`)
            text = `Wrote notes/${id}.md.\nCOMPLETE_AND_READY_FOR_MERGE`
          }
          fs.mkdirSync(path.dirname(request.logPath), { recursive: true })
          fs.writeFileSync(request.logPath, JSON.stringify({ type: "result", text }) + "\n")
          return {
            text,
            sessionId: Option.some(session),
            exitCode: 0,
            timedOut: false,
            usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 },
            costUsd: Option.none(),
            logPath: request.logPath,
            durationMs: Date.now() - started
          }
        })
      return { name: "notes", runTurn: turn }
    })
}

// --- The run: subscribe first, then run; the last event is swarm-stopped. ----
const program = Effect.gen(function* () {
  const events = yield* PubSub.unbounded()
  const subscription = yield* PubSub.subscribe(events)
  const printer = yield* Stream.fromQueue(subscription).pipe(
    Stream.takeUntil((event) => event.type === "swarm-stopped"),
    Stream.runForEach((event) =>
      Effect.sync(() => console.log(`event ${event.type}${event.worker ? ` [${event.worker}]` : ""}: ${event.message}`))
    ),
    Effect.fork
  )
  // print: the terminal lines and summary table are the CLI's; here the events are printed above.
  const result = yield* runSwarm({ cwd: repo }, { events, print: () => Effect.void })
  yield* Fiber.join(printer)
  console.log(`swarm ${result.swarm}: ${result.workers.map((w) => `${w.id} ${w.stopReason}`).join(", ")}`)
  console.log(`main: ${git("log", "--format=%s", "main").split("\n").join(" | ")}`)
})

const live = oompaLive({ baseDir: repo, harnesses: withHarness(builtinHarnesses, "notes", notesHarness) })

Effect.runPromise(
  program.pipe(Effect.scoped, Effect.provide(live), Logger.withMinimumLogLevel(LogLevel.Warning))
).catch((error) => {
  console.error(String(error))
  process.exit(1)
})
