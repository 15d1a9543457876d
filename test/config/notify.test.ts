import { NodeContext } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { loadConfig } from "../../src/config/loadConfig.js"
import { builtinHarnessNames } from "../../src/harness/registry.js"
import { expectConfigError, makeProject } from "./support.js"

/** `notify` in oompa.json (docs/notifications.md): what it resolves to, and each way it can be wrong. */

const withNotify = (notify: unknown) => ({ "oompa.json": { workers: [{ model: "mock" }], notify } })

layer(NodeContext.layer)("notify config", (it) => {
  it.scoped("a command and a webhook, the threshold defaulting to 600 s", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject(withNotify({ command: ["notify-send", "oompa"], webhook: "https://hooks.example.com/x?t=1" }))
      const config = yield* loadConfig({ cwd: dir, harnesses: builtinHarnessNames })
      expect(config.notify).toEqual({
        command: ["notify-send", "oompa"],
        webhook: "https://hooks.example.com/x?t=1",
        rateLimitedAfter: Duration.seconds(600)
      })
    })
  )

  it.scoped("no notify: none", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({ "oompa.json": { workers: [{ model: "mock" }] } })
      expect((yield* loadConfig({ cwd: dir, harnesses: builtinHarnessNames })).notify).toBeUndefined()
    })
  )

  describe("errors: the file, the field and the fix, exit 2", () => {
    const table: ReadonlyArray<[string, unknown, string]> = [
      ["a webhook that is not a URL", { webhook: "hooks.example.com" }, 'oompa.json: notify.webhook: expected an http(s) URL such as "https://hooks.example.com/oompa", got "hooks.example.com"'],
      ["a webhook of another scheme", { webhook: "ftp://example.com/x" }, 'oompa.json: notify.webhook: expected an http(s) URL such as "https://hooks.example.com/oompa", got "ftp://example.com/x"'],
      [
        "a command given as one string",
        { command: "notify-send oompa" },
        'oompa.json: notify.command: expected a non-empty list of non-empty strings, the program and its arguments (run without a shell), e.g. ["notify-send", "oompa"], got "notify-send oompa"'
      ],
      [
        "an empty command",
        { command: [] },
        'oompa.json: notify.command: expected a non-empty list of non-empty strings, the program and its arguments (run without a shell), e.g. ["notify-send", "oompa"], got []'
      ],
      [
        "a number in the command",
        { command: ["beep", 3] },
        'oompa.json: notify.command[1]: expected a non-empty list of non-empty strings, the program and its arguments (run without a shell), e.g. ["notify-send", "oompa"], got 3'
      ],
      ["neither command nor webhook", {}, 'oompa.json: notify: give "command" (a program and its arguments) or "webhook" (an http(s) URL), or remove "notify"'],
      ["a misspelt key", { webhok: "http://x" }, 'oompa.json: notify.webhok: unknown key (did you mean "webhook"?)'],
      ["a negative threshold", { webhook: "http://127.0.0.1:9/x", rate_limited_after: -1 }, "oompa.json: notify.rate_limited_after: expected a number of seconds from 0 to 86400 (24 h), got -1"],
      ["notify that is a string", "http://x", 'oompa.json: notify: expected an object {"command": [...], "webhook": "https://…", "rate_limited_after": seconds} with a command or a webhook, got "http://x"']
    ]
    for (const [name, notify, expected] of table) {
      it.scoped(name, () =>
        Effect.gen(function* () {
          const dir = yield* makeProject(withNotify(notify))
          const { error, text } = yield* expectConfigError(dir)
          expect(text).toBe(expected)
          expect(error.exitCode).toBe(2)
        })
      )
    }
  })
})
