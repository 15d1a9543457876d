import * as path from "node:path"
import { Console, Effect, Option } from "effect"
import { UsageError } from "../domain/errors.js"
import { randomSwarmId } from "../domain/ids.js"
import { prepareSwarm, runSwarmFrom } from "../engine/start.js"
import { ProcessRunner } from "../services/ProcessRunner.js"
import { dashboardUrl, serveDashboard } from "./ui.js"
import { withLiveSwarmView } from "../ui/terminal/liveSwarm.js"
import { runDirOf } from "../domain/naming.js"
import { Git } from "../services/Git.js"
import { mayColour } from "../services/colour.js"
import { liveViewWanted } from "./terminalMode.js"

/** `oompa swarm` and its alias `oompa run`. */
export const handleSwarm = (args: {
  readonly config: Option.Option<string>
  readonly configPath: Option.Option<string>
  readonly detach: boolean
  readonly swarmId: Option.Option<string>
  readonly ui: boolean
  readonly plain: boolean
}) =>
  Effect.gen(function* () {
    const cwd = process.cwd()
    const configPath = Option.getOrUndefined(Option.orElse(args.config, () => args.configPath))
    // Validate before anything is touched (and before detaching, so errors reach the user):
    // the config, the checks `oompa check` runs too, the agent CLIs — before --detach writes .oompa/.
    const config = yield* prepareSwarm({ cwd, configPath })
    const swarmId = Option.isSome(args.swarmId) ? args.swarmId.value : yield* randomSwarmId
    if (!/^[0-9a-f]{8}$/.test(swarmId)) {
      return yield* new UsageError({ message: `--swarm-id: expected 8 hex characters (like 3fa2b1c9), got ${JSON.stringify(swarmId)}` })
    }
    if (args.detach && args.ui) {
      return yield* new UsageError({
        message: "--ui cannot go with --detach (the dashboard lives in the swarm's process): run `oompa ui` to watch a detached swarm"
      })
    }
    if (args.detach) {
      const logFile = path.join(cwd, ".oompa", `swarm-${swarmId}.log`)
      const argv = [process.argv[1]!, "swarm", "--swarm-id", swarmId, "--config", config.configPath]
      const runner = yield* ProcessRunner
      const child = yield* runner.startDetached({ command: process.execPath, args: argv, cwd, logPath: logFile })
      yield* Console.log(`swarm ${swarmId} started in the background (pid ${child.pid}); output: ${path.relative(cwd, logFile)}`)
      yield* Console.log(`run files: .oompa/runs/${swarmId}/   watch it: oompa watch ${swarmId}   stop it: oompa stop ${swarmId} (or kill -INT ${child.pid})`)
      return
    }
    // The dashboard's scope is the swarm's: it closes when the swarm ends.
    yield* Effect.scoped(
      Effect.gen(function* () {
        const dashboard = args.ui ? Option.some(yield* serveDashboard(config.projectRoot, 0, swarmId, swarmId)) : Option.none()
        if (!liveViewWanted(args.plain)) return yield* runSwarmFrom(config, { swarmId })
        // q and Ctrl-C in the view stop the swarm exactly as SIGINT does (bin.ts: gently, then at once).
        const stop = Effect.sync(() => process.kill(process.pid, "SIGINT"))
        const root = yield* (yield* Git).toplevel(config.projectRoot).pipe(Effect.orDie)
        const runDir = runDirOf(root, swarmId)
        // The address printed above is under the view's screen: the view shows it too (URL first, so a narrow terminal cuts the label).
        const notes = Option.match(dashboard, { onNone: () => [], onSome: (d) => [`${dashboardUrl(d, swarmId)} (web dashboard)`] })
        return yield* withLiveSwarmView({ runDir, colour: mayColour(process.stdout), stop, notes }, (hooks) =>
          runSwarmFrom(config, { swarmId, print: hooks.print, events: hooks.events })
        )
      })
    )
  })
