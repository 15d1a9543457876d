/**
 * Standalone launcher for the fake model server:
 *
 *   npx vite-node test/fake-model-server/main.ts -- [--scripts scripts.json] [--log requests.jsonl] [--port N]
 *
 * Prints `FAKE_MODEL_SERVER_URL=http://127.0.0.1:<port>` once listening and
 * runs until interrupted (Ctrl-C / SIGTERM).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import * as fs from "node:fs"
import * as FakeModelServer from "./server.js"

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const program = Effect.gen(function* () {
  const scriptsFile = argValue("--scripts")
  const logFile = argValue("--log")
  const port = argValue("--port")
  const scripts =
    scriptsFile === undefined
      ? []
      : yield* FakeModelServer.loadScripts(JSON.parse(fs.readFileSync(scriptsFile, "utf8")) as unknown)
  const server = yield* FakeModelServer.make({
    scripts,
    ...(logFile !== undefined ? { logFile } : {}),
    ...(port !== undefined ? { port: Number(port) } : {})
  })
  yield* Console.log(`FAKE_MODEL_SERVER_URL=${server.url}`)
  return yield* Effect.never
})

NodeRuntime.runMain(Effect.scoped(program))
