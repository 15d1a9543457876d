import { Command } from "@effect/cli"
import { Console } from "effect"

// Placeholder: filled in by the foundation work.
export const tasksCommand = Command.make("tasks", {}, () => Console.log("tasks: not yet implemented")).pipe(
  Command.withDescription("tasks")
)
