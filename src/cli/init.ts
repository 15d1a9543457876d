import { Command } from "@effect/cli"
import { Console } from "effect"

// Placeholder: filled in by the foundation work.
export const initCommand = Command.make("init", {}, () => Console.log("init: not yet implemented")).pipe(
  Command.withDescription("init")
)
