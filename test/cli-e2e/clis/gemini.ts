import * as fs from "node:fs"
import * as path from "node:path"
import { type CliProfile, firstString } from "./profile.js"

const model = "gemini-2.5-pro"
const settingsFile = (home: string) => path.join(home, ".gemini", "settings.json")

export const gemini: CliProfile = {
  bin: "gemini",
  model,
  choosesSessionId: true,
  reviewOffersShell: false,
  env: (server, home) => {
    fs.mkdirSync(path.join(home, ".gemini"), { recursive: true })
    fs.writeFileSync(
      settingsFile(home),
      JSON.stringify(
        {
          security: { auth: { selectedType: "gemini-api-key" } },
          privacy: { usageStatisticsEnabled: false },
          telemetry: { enabled: false },
          general: { disableAutoUpdate: true, disableUpdateNag: true }
        },
        null,
        2
      )
    )
    return {
      GOOGLE_GEMINI_BASE_URL: server.url,
      GEMINI_API_KEY: "fake-key-for-tests",
      GEMINI_CLI_TRUST_WORKSPACE: "true",
      GEMINI_CLI_NO_RELAUNCH: "true"
    }
  },
  lowRetries: (home) => {
    // general.maxAttempts: its chat-model retry loop (1 = no retry); it has no env var for it.
    const settings = JSON.parse(fs.readFileSync(settingsFile(home), "utf8"))
    fs.writeFileSync(settingsFile(home), JSON.stringify({ ...settings, general: { ...settings.general, maxAttempts: 1 } }, null, 2))
    return {}
  },
  direct: (session, prompt) => ({
    args: [
      "--yolo",
      "-m",
      model,
      "--output-format",
      "stream-json",
      ...(session._tag === "Resume" ? ["--resume", session.id] : session.id !== undefined ? ["--session-id", session.id] : []),
      "-p",
      prompt
    ]
  }),
  sessionIdOf: (events) => firstString(events, (e) => (e.type === "init" ? e.session_id : undefined)),
  finalTextOf: (events) => {
    // Assistant deltas after the last tool result.
    let acc = ""
    for (const e of events) {
      if (e.type === "tool_use" || e.type === "tool_result") acc = ""
      else if (e.type === "message" && e.role === "assistant") acc += String(e.content)
    }
    return acc
  }
}
