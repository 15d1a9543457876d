import { Args, Command, Options } from "@effect/cli"
import { Console } from "effect"

const configOption = Options.file("config").pipe(Options.withDescription("Path to oompa.json"), Options.optional)
const configArg = Args.file({ name: "config" }).pipe(Args.optional)

const handler = () => Console.log("swarm: arrives with the engine")

export const swarmCommand = Command.make("swarm", { config: configOption, configPath: configArg }, handler).pipe(
  Command.withDescription("Run the swarm described by oompa.json")
)
export const runCommand = Command.make("run", { config: configOption, configPath: configArg }, handler).pipe(
  Command.withDescription("Alias of swarm")
)
