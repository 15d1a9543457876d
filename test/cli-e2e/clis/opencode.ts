import * as fs from "node:fs"
import * as path from "node:path"
import { type CliProfile, firstString } from "./profile.js"

const model = "fake/fake-model"

export const opencode: CliProfile = {
  bin: "opencode",
  model,
  choosesSessionId: false,
  reviewOffersShell: false,
  env: (server, home) => {
    const config = path.join(home, "opencode.json")
    fs.writeFileSync(
      config,
      JSON.stringify(
        {
          $schema: "https://opencode.ai/config.json",
          provider: {
            fake: {
              npm: "@ai-sdk/openai-compatible",
              name: "Fake",
              options: { baseURL: server.openaiUrl, apiKey: "sk-fake-key-for-tests" },
              models: { "fake-model": { name: "Fake model" } }
            }
          },
          model,
          small_model: model,
          autoupdate: false,
          share: "disabled"
        },
        null,
        2
      )
    )
    return {
      OPENCODE_CONFIG: config,
      OPENCODE_DISABLE_MODELS_FETCH: "1",
      OPENCODE_DISABLE_AUTOUPDATE: "1",
      OPENCODE_DISABLE_SHARE: "1",
      OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
      OPENCODE_DISABLE_DEFAULT_PLUGINS: "1",
      OPENCODE_DISABLE_CLAUDE_CODE: "1",
      OPENCODE_EXPERIMENTAL_DISABLE_FILEWATCHER: "1"
    }
  },
  // No retry setting: the scripted retry-after-ms keeps its five retries short.
  direct: (session, prompt, cwd) => ({
    args: [
      "run",
      "--format",
      "json",
      "-m",
      model,
      // It works in $PWD, not in its cwd: name the directory explicitly.
      "--dir",
      cwd,
      ...(session._tag === "Resume" ? ["-s", session.id] : []),
      prompt
    ]
  }),
  sessionIdOf: (events) => firstString(events, (e) => e.sessionID),
  finalTextOf: (events) => {
    // Text parts of the last assistant message (the last step).
    const texts = events.filter((e) => e.type === "text")
    const lastMessage = texts[texts.length - 1]?.part?.messageID
    return texts
      .filter((e) => e.part?.messageID === lastMessage)
      .map((e) => String(e.part.text))
      .join("")
  }
}
