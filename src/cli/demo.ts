import { Command } from "@effect/cli"
import { Console } from "effect"

export const demoCommand = Command.make("demo", {}, () =>
  Console.log("oompa demo arrives with the engine.")
).pipe(Command.withDescription("Run a swarm of mock agents on a throwaway repository"))
