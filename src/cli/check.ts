import { Command } from "@effect/cli"
import { Console } from "effect"

// Placeholder: filled in by the foundation work.
export const checkCommand = Command.make("check", {}, () => Console.log("check: not yet implemented")).pipe(
  Command.withDescription("check")
)
