import * as fs from "node:fs"
import * as path from "node:path"
import { type CliProfile, firstString } from "./profile.js"

const model = "fake-model"

export const copilot: CliProfile = {
  bin: "copilot",
  model,
  choosesSessionId: true,
  // Review mode offers only view/grep/glob (src/harness/copilot.ts): no shell at all.
  reviewOffersShell: false,
  env: (server, home) => {
    const copilotHome = path.join(home, ".copilot")
    fs.mkdirSync(copilotHome, { recursive: true })
    return {
      // Its state (sessions, session logs with the token usage) under the temp HOME.
      COPILOT_HOME: copilotHome,
      // BYOK: its own provider instead of GitHub's model routing, no GitHub login.
      COPILOT_PROVIDER_BASE_URL: server.openaiUrl,
      COPILOT_PROVIDER_TYPE: "openai",
      COPILOT_PROVIDER_API_KEY: "sk-fake-key-for-tests",
      COPILOT_MODEL: model,
      // No network but the provider: no GitHub auth, telemetry, web tools, GitHub MCP server, auto-update.
      COPILOT_OFFLINE: "true",
      COPILOT_AUTO_UPDATE: "false"
    }
  },
  direct: (session, prompt) => ({
    args: [
      `--prompt=${prompt}`,
      "--output-format",
      "json",
      "--allow-all-tools",
      "--model",
      model,
      ...(session._tag === "Resume" ? ["--resume", session.id] : session.id !== undefined ? ["--session-id", session.id] : [])
    ]
  }),
  sessionIdOf: (events) => firstString(events, (e) => (e.type === "result" ? e.sessionId : undefined)),
  finalTextOf: (events) => {
    let text = ""
    for (const e of events) {
      if (e.type === "assistant.message" && typeof e.data?.content === "string" && e.data.content.length > 0) text = e.data.content
    }
    return text
  }
}
