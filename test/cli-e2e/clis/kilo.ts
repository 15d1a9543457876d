import * as fs from "node:fs"
import * as path from "node:path"
import { opencode } from "./opencode.js"
import type { CliProfile } from "./profile.js"

const model = "fake/fake-model"

/** kilo is an opencode fork: opencode's argv and events, its own config file and KILO_* environment. */
export const kilo: CliProfile = {
  ...opencode,
  bin: "kilo",
  model,
  env: (server, home) => {
    const config = path.join(home, "kilo.json")
    fs.writeFileSync(
      config,
      JSON.stringify(
        {
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
      KILO_CONFIG: config,
      KILO_DISABLE_MODELS_FETCH: "1",
      KILO_DISABLE_AUTOUPDATE: "1",
      KILO_DISABLE_SHARE: "1",
      KILO_DISABLE_LSP_DOWNLOAD: "1",
      KILO_DISABLE_DEFAULT_PLUGINS: "1",
      KILO_DISABLE_CLAUDE_CODE: "1",
      KILO_EXPERIMENTAL_DISABLE_FILEWATCHER: "1",
      KILO_DISABLE_SESSION_INGEST: "1",
      KILO_DISABLE_CODEBASE_INDEXING: "1",
      KILO_DISABLE_PRESENCE: "1",
      // Without these two it looks up us.i.posthog.com (telemetry) and api.kilo.ai on every run.
      KILO_TELEMETRY_LEVEL: "off",
      KILO_API_URL: `${server.url}/kilo-api`
    }
  },
  // Unlike opencode, it rejects the shell tool's permission request without --auto
  // ("run ended with an auto-rejected permission; pass --auto for autonomous use", exit 1).
  direct: (session, prompt, cwd) => ({
    args: ["run", "--format", "json", "--auto", "-m", model, "--dir", cwd, ...(session._tag === "Resume" ? ["-s", session.id] : []), prompt]
  })
}
