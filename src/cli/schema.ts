import { Command } from "@effect/cli"
import { Console } from "effect"

// Placeholder: filled in by the foundation work.
export const schemaCommand = Command.make("schema", {}, () => Console.log("schema: not yet implemented")).pipe(
  Command.withDescription("schema")
)
