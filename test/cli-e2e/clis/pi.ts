import * as fs from "node:fs"
import * as path from "node:path"
import { type CliProfile, firstString } from "./profile.js"

/** `provider/id`: the provider named in models.json below (oompa model `pi:fake/fake-model`). */
const model = "fake/fake-model"
const agentDir = (home: string) => path.join(home, ".pi", "agent")

/** The model's prices in USD per million tokens: pi computes each message's cost from them. */
export const PI_PRICES = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 }

export const pi: CliProfile = {
  bin: "pi",
  model,
  choosesSessionId: false,
  // Review mode is pi's read-only tool allowlist (read, grep, find, ls): no shell offered.
  reviewOffersShell: false,
  reportsCost: true,
  // In --mode json a failed API call still exits 0 (the error is in the last assistant message).
  apiErrorExitsZero: true,
  env: (server, home) => {
    fs.mkdirSync(agentDir(home), { recursive: true })
    fs.writeFileSync(
      path.join(agentDir(home), "models.json"),
      JSON.stringify(
        {
          providers: {
            fake: {
              baseUrl: server.openaiUrl,
              api: "openai-completions",
              // The name of the environment variable holding the key.
              apiKey: "PI_FAKE_API_KEY",
              compat: { supportsDeveloperRole: false, supportsReasoningEffort: false },
              models: [{ id: "fake-model", cost: PI_PRICES }]
            }
          }
        },
        null,
        2
      )
    )
    return {
      PI_FAKE_API_KEY: "sk-fake-key-for-tests",
      // No startup network operations (version check, package updates), no install telemetry.
      PI_OFFLINE: "1",
      PI_TELEMETRY: "0"
    }
  },
  // pi's own retries (3, backing off from 2 s) off, and the provider SDK's (2 by default).
  lowRetries: (home) => {
    fs.mkdirSync(agentDir(home), { recursive: true })
    fs.writeFileSync(path.join(agentDir(home), "settings.json"), JSON.stringify({ retry: { enabled: false, provider: { maxRetries: 0 } } }))
    return {}
  },
  direct: (session, prompt) => ({
    args: ["--mode", "json", "-p", "--model", model, ...(session._tag === "Resume" ? ["--session", session.id] : []), prompt]
  }),
  sessionIdOf: (events) => firstString(events, (e) => (e.type === "session" ? e.id : undefined)),
  finalTextOf: (events) => {
    // The text parts of the last assistant message.
    const last = events.filter((e) => e.type === "message_end" && e.message?.role === "assistant").at(-1)
    const content: ReadonlyArray<any> = Array.isArray(last?.message?.content) ? last.message.content : []
    return content
      .filter((part) => part.type === "text")
      .map((part) => String(part.text))
      .join("\n")
  }
}
