/**
 * oompa's command line: every command's name, options, arguments and help, the
 * only part of the CLI `--version`, `--help` and a usage error load. What a
 * command does lives in its own module (check.ts, list.ts, …), imported when it
 * runs (lazyHandler.ts).
 */
import { Args, Command, Options } from "@effect/cli"
import { version } from "../paths.js"
import { jsonOption } from "./json.js"
import { lazyHandler } from "./lazyHandler.js"
import { defaultSchemaName, schemaNames } from "./schemaNames.js"

// ---- shared ---------------------------------------------------------------------

const swarmArg = Args.text({ name: "swarm" }).pipe(
  Args.withDescription("The swarm id, or a unique prefix of it (default: the newest run)"),
  Args.optional
)
const configOption = Options.file("config").pipe(
  Options.withAlias("c"),
  Options.withDescription("Path to oompa.json (default: ./oompa.json, then ./oompa/oompa.json)"),
  Options.optional
)

// ---- oompa swarm / run --------------------------------------------------------------

const swarmOptions = {
  config: configOption,
  configPath: Args.file({ name: "config" }).pipe(Args.withDescription("Path to oompa.json"), Args.optional),
  detach: Options.boolean("detach").pipe(Options.withDescription("Run in the background; output goes to .oompa/swarm-<id>.log")),
  swarmId: Options.text("swarm-id").pipe(
    Options.withDescription("Use this swarm id (8 hex characters) instead of a random one"),
    Options.optional
  ),
  ui: Options.boolean("ui").pipe(
    Options.withDescription("Also serve the local web dashboard (127.0.0.1, a free port) while the swarm runs, and print its URL")
  ),
  plain: Options.boolean("plain").pipe(Options.withDescription("Print one line per event even on a terminal (no live view)"))
}
const swarmHandler = lazyHandler(async () => (await import("./swarm.js")).handleSwarm)
const swarmCommand = Command.make("swarm", swarmOptions, swarmHandler).pipe(
  Command.withDescription("Run the swarm described by oompa.json")
)
const runCommand = Command.make("run", swarmOptions, swarmHandler).pipe(Command.withDescription("Alias of swarm"))

// ---- oompa demo -------------------------------------------------------------------

const demoCommand = Command.make(
  "demo",
  {
    dir: Options.directory("dir", { exists: "either" }).pipe(
      Options.withDescription("Create the demo repository here (a new or empty folder) instead of a temp folder"),
      Options.optional
    )
  },
  lazyHandler(async () => (await import("./demo.js")).handleDemo)
).pipe(Command.withDescription("Run a swarm of mock agents on a throwaway repository (no model API needed)"))

// ---- oompa init -------------------------------------------------------------------

const initCommand = Command.make(
  "init",
  {
    force: Options.boolean("force").pipe(Options.withDescription("Overwrite an existing oompa.json and prompt copies")),
    dir: Args.text({ name: "dir" }).pipe(Args.withDescription("The project folder (default: the current folder)"), Args.optional)
  },
  lazyHandler(async () => (await import("./init.js")).handleInit)
).pipe(Command.withDescription("Set up oompa in a project: oompa.json, editable prompts, task folders"))

// ---- oompa tasks [add | requeue | quarantine] -------------------------------------

const tasksConfigOption = Options.file("config").pipe(
  Options.withAlias("c"),
  Options.withDescription("Path to oompa.json (default: ./oompa.json, then ./oompa/oompa.json, else the queue is ./tasks)"),
  Options.optional
)
const tasksAddCommand = Command.make(
  "add",
  {
    config: tasksConfigOption,
    summary: Args.text({ name: "summary" }).pipe(Args.withDescription("One line saying what the task is")),
    description: Options.text("description").pipe(
      Options.withAlias("d"),
      Options.withDescription("Longer description of the task"),
      Options.optional
    ),
    files: Options.text("files").pipe(
      Options.withDescription("Comma-separated files the task is about: --files src/a.ts,src/b.ts"),
      Options.optional
    ),
    id: Options.text("id").pipe(Options.withDescription("The task id (letters, digits, . _ -); default task-<n>"), Options.optional)
  },
  lazyHandler(async () => (await import("./tasks.js")).handleTasksAdd)
).pipe(Command.withDescription("Add a pending task; prints its id"))
const tasksRequeueCommand = Command.make(
  "requeue",
  {
    config: tasksConfigOption,
    ids: Args.text({ name: "id" }).pipe(
      Args.withDescription("Tasks to move back to pending: from current (default: every task in current), or from complete/ or invalid/"),
      Args.repeated
    )
  },
  lazyHandler(async () => (await import("./tasks.js")).handleTasksRequeue)
).pipe(
  Command.withDescription(
    "Move tasks back to pending: from current (all of them when no id is given), complete/ or invalid/; through the swarm when one runs"
  )
)
const tasksQuarantineCommand = Command.make(
  "quarantine",
  { config: tasksConfigOption },
  lazyHandler(async () => (await import("./tasks.js")).handleTasksQuarantine)
).pipe(
  Command.withDescription(
    "Move the pending files that are no task to invalid/, each with its reason beside it (as a swarm does), then show the queue"
  )
)
const tasksCommand = Command.make(
  "tasks",
  { config: tasksConfigOption, json: jsonOption("tasks.json") },
  lazyHandler(async () => (await import("./tasks.js")).handleTasks)
).pipe(
  Command.withDescription("Show the task queue: counts and the tasks in each folder"),
  Command.withSubcommands([tasksAddCommand, tasksRequeueCommand, tasksQuarantineCommand])
)

// ---- oompa check --------------------------------------------------------------------

const checkCommand = Command.make(
  "check",
  {
    config: configOption,
    probe: Options.boolean("probe").pipe(
      Options.withDescription("Send each configured model a tiny prompt (30 s limit) and report the answers")
    ),
    json: jsonOption("check.json")
  },
  lazyHandler(async () => (await import("./check.js")).handleCheck)
).pipe(Command.withDescription("Validate oompa.json and show which agent CLIs are installed (--probe: try each model)"))

// ---- oompa schema -------------------------------------------------------------------

const schemaCommand = Command.make(
  "schema",
  {
    name: Args.text({ name: "name" }).pipe(
      Args.withDescription(`Which schema: ${schemaNames.join(", ")} (default ${defaultSchemaName})`),
      Args.optional
    )
  },
  lazyHandler(async () => (await import("./schema.js")).handleSchema)
).pipe(Command.withDescription("Print the JSON Schema of oompa.json (or of another file oompa reads or writes)"))

// ---- oompa list / view / report / watch / logs --------------------------------------

const listCommand = Command.make(
  "list",
  { json: jsonOption("list.json") },
  lazyHandler(async () => (await import("./list.js")).handleList)
).pipe(Command.withDescription("List the runs of this repository, newest first"))

const viewCommand = Command.make(
  "view",
  { swarm: swarmArg, json: jsonOption("view.json") },
  lazyHandler(async () => (await import("./view.js")).handleView)
).pipe(Command.withDescription("Show one run: status, per-worker summary, cycles, last events"))

const reportCommand = Command.make(
  "report",
  { swarm: swarmArg, json: jsonOption("report.json") },
  lazyHandler(async () => (await import("./report.js")).handleReport)
).pipe(
  Command.withDescription(
    "The morning report of one run, in Markdown: merged, not merged (and where it is kept), tasks left, cost, waits, what needs a human"
  )
)

const watchCommand = Command.make(
  "watch",
  {
    swarm: Args.text({ name: "swarm" }).pipe(
      Args.withDescription("The swarm id, or a unique prefix of it (default: the running swarm, else the newest run)"),
      Args.optional
    ),
    plain: Options.boolean("plain").pipe(
      Options.withDescription(
        "Print instead of taking the screen over, as when stdout is no terminal, CI is set or TERM=dumb: " +
          "a finished run's final state once ($COLUMNS wide, else 80); a running swarm's state now, " +
          "then a line per new event until it ends, then its final state"
      )
    )
  },
  lazyHandler(async () => (await import("./watch.js")).handleWatch)
).pipe(
  Command.withDescription(
    "Watch a swarm's live view from its run files (a detached one too, or a finished run's final state); q leaves, the swarm keeps running"
  )
)

const logsCommand = Command.make(
  "logs",
  {
    swarm: swarmArg,
    worker: Options.text("worker").pipe(
      Options.withAlias("w"),
      Options.withDescription("Only this worker's events (w0, w1, …, planner)"),
      Options.optional
    ),
    follow: Options.boolean("follow").pipe(
      Options.withAlias("f"),
      Options.withDescription("Keep printing new events until the run stops (or Ctrl-C)")
    ),
    turn: Options.text("turn").pipe(
      Options.withDescription("Print the raw agent output of one turn instead: <worker>-c<N>-t<T> (e.g. w0-c1-t2)"),
      Options.optional
    )
  },
  lazyHandler(async () => (await import("./logs.js")).handleLogs)
).pipe(Command.withDescription("Print a run's events (the swarm's terminal lines), or one turn's raw agent output"))

// ---- oompa ui -----------------------------------------------------------------------

const uiCommand = Command.make(
  "ui",
  {
    port: Options.integer("port").pipe(
      Options.withDescription("Listen on this port of 127.0.0.1 (default: a free one)"),
      Options.optional
    )
  },
  lazyHandler(async () => (await import("./ui.js")).handleUi)
).pipe(Command.withDescription("Serve the local web dashboard of this repository's runs on 127.0.0.1"))

// ---- oompa stop / pause / resume / cleanup ------------------------------------------

const stopCommand = Command.make(
  "stop",
  {
    swarm: swarmArg,
    worker: Options.text("worker").pipe(
      Options.withAlias("w"),
      Options.withDescription("Stop only this worker, after its current cycle (the others go on)"),
      Options.optional
    )
  },
  lazyHandler(async () => (await import("./stop.js")).handleStop)
).pipe(Command.withDescription("Stop a running swarm as Ctrl-C would (or one worker after its cycle, --worker) and wait for it"))

const pauseCommand = Command.make(
  "pause",
  { swarm: swarmArg },
  lazyHandler(async () => (await import("./stop.js")).handleSteer("pause"))
).pipe(Command.withDescription("Pause a running swarm: no new agent turn starts (running ones go on) until `oompa resume`"))

const resumeCommand = Command.make(
  "resume",
  { swarm: swarmArg },
  lazyHandler(async () => (await import("./stop.js")).handleSteer("resume"))
).pipe(Command.withDescription("Resume a paused swarm: agent turns start again"))

const cleanupCommand = Command.make(
  "cleanup",
  {},
  lazyHandler(async () => (await import("./cleanup.js")).handleCleanup)
).pipe(Command.withDescription("Recover the leftovers of crashed runs (never a live one) and list kept work"))

const root = Command.make("oompa").pipe(
  Command.withDescription("Run a swarm of AI coding agents on one git repository."),
  Command.withSubcommands([
    swarmCommand,
    runCommand,
    demoCommand,
    initCommand,
    tasksCommand,
    checkCommand,
    schemaCommand,
    listCommand,
    viewCommand,
    reportCommand,
    watchCommand,
    logsCommand,
    uiCommand,
    stopCommand,
    pauseCommand,
    resumeCommand,
    cleanupCommand
  ])
)

export const cli = Command.run(root, { name: "oompa", version })
