import { Command } from "@effect/cli"
import { checkCommand } from "./check.js"
import { demoCommand } from "./demo.js"
import { initCommand } from "./init.js"
import { schemaCommand } from "./schema.js"
import { runCommand, swarmCommand } from "./swarm.js"
import { tasksCommand } from "./tasks.js"
import { version } from "../version.js"

const root = Command.make("oompa").pipe(
  Command.withDescription("Run a swarm of AI coding agents on one git repository."),
  Command.withSubcommands([
    swarmCommand,
    runCommand,
    demoCommand,
    initCommand,
    tasksCommand,
    checkCommand,
    schemaCommand
  ])
)

export const cli = Command.run(root, { name: "oompa", version })
