import * as fs from "node:fs"
import * as path from "node:path"
import { type CliProfile, firstString } from "./profile.js"

const model = "fake-model"
const settingsFile = (home: string) => path.join(home, ".qwen", "settings.json")

export const qwen: CliProfile = {
  bin: "qwen",
  model,
  choosesSessionId: true,
  // Review mode is --approval-mode plan: qwen offers only read-only tools, no shell.
  reviewOffersShell: false,
  env: (server, home) => {
    fs.mkdirSync(path.join(home, ".qwen"), { recursive: true })
    fs.writeFileSync(
      settingsFile(home),
      JSON.stringify(
        {
          // What a configured user has (oompa passes no --auth-type): the OpenAI-compatible endpoint below.
          security: { auth: { selectedType: "openai" } },
          // Its "managed memory" subagent sends a second request after each turn (the whole conversation,
          // offering shell and write tools): it would take a scripted step and write to ~/.qwen/memories.
          memory: { enableManagedAutoMemory: false, enableManagedAutoDream: false },
          privacy: { usageStatisticsEnabled: false },
          telemetry: { enabled: false },
          general: { disableAutoUpdate: true, disableUpdateNag: true }
        },
        null,
        2
      )
    )
    return {
      OPENAI_BASE_URL: server.openaiUrl,
      OPENAI_API_KEY: "sk-fake-key-for-tests",
      OPENAI_MODEL: model
    }
  },
  // qwen retries a 429/529 ten times from 60 s (a retry-after only lengthens the wait), and 5xx too:
  // model.generationConfig.maxRetries 0, merged into env's settings.
  lowRetries: (home) => {
    const settings = JSON.parse(fs.readFileSync(settingsFile(home), "utf8"))
    settings.model = { ...settings.model, generationConfig: { ...settings.model?.generationConfig, maxRetries: 0 } }
    fs.writeFileSync(settingsFile(home), JSON.stringify(settings, null, 2))
    return {}
  },
  direct: (session, prompt) => ({
    args: [
      "--output-format",
      "stream-json",
      "--auth-type",
      "openai",
      "--yolo",
      "-m",
      model,
      ...(session._tag === "Resume" ? ["--resume", session.id] : session.id !== undefined ? ["--session-id", session.id] : []),
      prompt
    ]
  }),
  sessionIdOf: (events) => firstString(events, (e) => e.session_id),
  finalTextOf: (events) => events.filter((e) => e.type === "result").map((e) => String(e.result ?? ""))[0] ?? ""
}
