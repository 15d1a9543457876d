import { Command } from "@effect/cli"
import { checkCommand } from "./check.js"
import { cleanupCommand } from "./cleanup.js"
import { demoCommand } from "./demo.js"
import { initCommand } from "./init.js"
import { listCommand } from "./list.js"
import { logsCommand } from "./logs.js"
import { reportCommand } from "./report.js"
import { schemaCommand } from "./schema.js"
import { pauseCommand, resumeCommand, stopCommand } from "./stop.js"
import { runCommand, swarmCommand } from "./swarm.js"
import { tasksCommand } from "./tasks.js"
import { uiCommand } from "./ui.js"
import { viewCommand } from "./view.js"
import { watchCommand } from "./watch.js"
import { version } from "../paths.js"

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
