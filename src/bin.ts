#!/usr/bin/env node
// First: heap settings before anything else is loaded.
import "./leanHeap.js"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Console, Effect, Exit, Fiber, Layer, Logger } from "effect"
import { cli } from "./cli/main.js"
import { describeFailure, exitCodeOf } from "./cli/exitCode.js"
import { CommandServices } from "./cli/lazyHandler.js"
import { killAllChildGroups } from "./services/childGroups.js"
import { interruptNote } from "./services/interruptNote.js"
import { mayColour, processConsole, stripColour } from "./services/colour.js"
import { logLevelOfArgv, oompaLogger } from "./services/diagnostics.js"

/**
 * The edge. We run the program ourselves rather than with NodeRuntime.runMain
 * so that the exit code follows SPEC §10 and signals escalate (SPEC §8):
 * - the first SIGINT/SIGTERM/SIGHUP interrupts the program, which ends its agents
 *   (SIGTERM, then SIGKILL after the grace), keeps their work, puts claims back
 *   and writes stopped.json;
 * - a second one SIGKILLs every agent process at once — the interruption then
 *   finishes in a few seconds, still recording the ending;
 * - only a third one exits at once, without waiting for that record.
 */
// Diagnostics (Effect.log*) reach the terminal only at `--log-level`; a swarm keeps them in its oompa.log.
const logger = Logger.replace(Logger.defaultLogger, oompaLogger(logLevelOfArgv(process.argv)))
// @effect/cli styles help and usage errors with ANSI escapes whatever the stream: the Console makes them plain
// where colour may not go (services/colour.ts: a pipe, NO_COLOR, TERM=dumb).
// The services are handed over undone and built only when a command runs (cli/lazyHandler.ts):
// `--version`, `--help` and a usage error load neither layers.ts nor what it brings (issue 13).
// Parsing and help need only the platform's FileSystem, Path and Terminal.
const baseDir = process.cwd()
const services = Layer.unwrapEffect(Effect.promise(async () => (await import("./layers.js")).oompaLive({ baseDir })))
const program = Console.consoleWith((console) =>
  cli(process.argv).pipe(
    Effect.withConsole(processConsole(console)),
    Effect.provideService(CommandServices, services),
    Effect.provide(NodeContext.layer),
    Effect.provide(logger)
  )
)
const fiber = Effect.runFork(program)

let signals = 0
const onSignal = () => {
  signals += 1
  if (signals === 1) {
    process.stderr.write(`\n${interruptNote()}\n`)
    Effect.runFork(Fiber.interrupt(fiber))
  } else if (signals === 2) {
    killAllChildGroups("SIGKILL")
    process.stderr.write("oompa: killed agent processes; recording the ending (Ctrl-C again to exit without it)\n")
  } else {
    killAllChildGroups("SIGKILL")
    process.stderr.write("oompa: exiting without recording the ending (`oompa cleanup` recovers it)\n")
    process.exit(130)
  }
}
process.on("SIGINT", onSignal)
process.on("SIGTERM", onSignal)
// The terminal closing (a window shut, an ssh connection lost, tmux kill-session) is a stop
// too: without a handler node exits at once and the agents, each in its own process group,
// keep running. A leak seen here: a tmux test's killed pane left two mock agents for hours.
process.on("SIGHUP", onSignal)
// With the terminal gone, writes to it fail (EIO, EPIPE): the stop must still end the agents
// and record its ending, so a failed write to our own output is not a crash.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {})

fiber.addObserver((exit) => {
  const code = signals > 0 && Exit.isFailure(exit) ? 130 : exitCodeOf(exit)
  if (Exit.isFailure(exit)) {
    const message = describeFailure(exit.cause)
    if (message !== undefined) process.stderr.write((mayColour(process.stderr) ? message : stripColour(message)) + "\n")
  }
  process.exitCode = code
  // Let stdout drain, then leave even if a stray handle is still open.
  setImmediate(() => process.exit(code))
})
