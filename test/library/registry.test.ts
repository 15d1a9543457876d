import { NodeContext } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect, Either, Layer, Option } from "effect"
import { loadConfig } from "../../src/config/loadConfig.js"
import { Harnesses, type Harness } from "../../src/harness/Harness.js"
import { builtinHarnesses, builtinHarnessNames, cliSpecs, harnessesLayer, inProcessHarness, withHarness } from "../../src/harness/registry.js"
import { ProcessRunnerLive } from "../../src/services/ProcessRunner.js"
import { expectConfigError, makeProject } from "../config/support.js"

/** An embedder's harness: answers every turn with __DONE__, in process. */
const notes: Harness = {
  name: "notes",
  runTurn: (request) =>
    Effect.succeed({
      text: "__DONE__",
      sessionId: Option.some("s"),
      exitCode: 0,
      timedOut: false,
      usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 },
      costUsd: Option.none(),
      logPath: request.logPath,
      durationMs: 0
    })
}
const withNotes = withHarness(builtinHarnesses, "notes", inProcessHarness(notes))

describe("the harness registry: one table, names derived, an embedder's row added", () => {
  layer(NodeContext.layer)((it) => {
    it.effect("the built-in table: four agent CLIs then the mock; each CLI row's spec carries its own name", () =>
      Effect.sync(() => {
        expect(builtinHarnessNames).toEqual(["claude", "codex", "opencode", "gemini", "pi", "copilot", "qwen", "kilo", "mock"])
        expect(Object.keys(cliSpecs)).toEqual(["claude", "codex", "opencode", "gemini", "pi", "copilot", "qwen", "kilo"])
        for (const [name, spec] of Object.entries(cliSpecs)) expect(spec.name).toBe(name)
      })
    )

    it.scoped("config validation knows the names of the registry in use: an added harness is valid, the message lists it", () =>
      Effect.gen(function* () {
        const names = Object.keys(withNotes)
        const dir = yield* makeProject({ "oompa.json": { workers: [{ model: "notes" }, { model: "notes:fast:high" }] } })
        const config = yield* loadConfig({ cwd: dir, harnesses: names })
        expect(config.workers.map((w) => w.model)).toEqual([{ harness: "notes" }, { harness: "notes", model: "fast", reasoning: "high" }])
        // Without the row, the same file is refused, naming the harnesses there are.
        const { text } = yield* expectConfigError(dir)
        expect(text).toBe(
          'oompa.json: workers[0].model: expected "harness:model[:reasoning]" with harness one of claude, codex, opencode, gemini, pi, copilot, qwen, kilo, mock, got "notes"\n' +
            'oompa.json: workers[1].model: expected "harness:model[:reasoning]" with harness one of claude, codex, opencode, gemini, pi, copilot, qwen, kilo, mock, got "notes:fast:high"'
        )
        const other = yield* makeProject({ "oompa.json": { workers: [{ model: "cursor:x" }] } })
        const refused = yield* Effect.either(loadConfig({ cwd: other, harnesses: names }))
        expect(Either.isLeft(refused) && String(refused.left)).toBe(
          'oompa.json: workers[0].model: expected "harness:model[:reasoning]" with harness one of claude, codex, opencode, gemini, pi, copilot, qwen, kilo, mock, notes, got "cursor:x"'
        )
      })
    )
  })

  layer(Layer.merge(NodeContext.layer, ProcessRunnerLive))((it) => {
    it.effect("the registry built from the extended table holds the row; an unknown name fails its turn, typed", () =>
      Effect.gen(function* () {
        const harnesses = yield* Harnesses
        expect(harnesses.names).toEqual([...builtinHarnessNames, "notes"])
        expect(harnesses.get("notes")).toBe(notes)
        const missing = yield* Effect.flip(
          harnesses.get("nope").runTurn({
            prompt: "",
            cwd: "/",
            model: { harness: "nope" },
            session: { _tag: "New" },
            mode: "work",
            timeout: Duration.seconds(1),
            logPath: "/dev/null"
          })
        )
        expect(missing._tag).toBe("HarnessError")
        expect(missing.message).toBe("no harness named nope (registered: claude, codex, opencode, gemini, pi, copilot, qwen, kilo, mock, notes)")
      }).pipe(Effect.provide(harnessesLayer(withNotes, { baseDir: "/" })))
    )
  })
})
