import * as fs from "node:fs"
import * as path from "node:path"
import { type CliProfile, firstString } from "./profile.js"

const model = "gpt-5.1-codex"

export const codex: CliProfile = {
  bin: "codex",
  model,
  choosesSessionId: false,
  reviewOffersShell: true,
  env: (server, home) => {
    const codexHome = path.join(home, ".codex")
    fs.mkdirSync(codexHome, { recursive: true })
    fs.writeFileSync(
      path.join(codexHome, "config.toml"),
      [
        `model_provider = "fake"`,
        `model = "${model}"`,
        `check_for_update_on_startup = false`,
        ``,
        `[analytics]`,
        `enabled = false`,
        ``,
        // Else it tries to sync its curated plugins repo from github.com at start-up.
        `[features]`,
        `plugins = false`,
        ``,
        `[model_providers.fake]`,
        `name = "fake"`,
        `base_url = "${server.openaiUrl}"`,
        `wire_api = "responses"`,
        `env_key = "OPENAI_API_KEY"`,
        // Its own retries off (lowRetries has nothing to add).
        `request_max_retries = 0`,
        `stream_max_retries = 0`,
        ``
      ].join("\n")
    )
    return { CODEX_HOME: codexHome, OPENAI_API_KEY: "sk-fake-key-for-tests" }
  },
  direct: (session, prompt, cwd) => ({
    args: [
      "exec",
      "--dangerously-bypass-approvals-and-sandbox",
      "--skip-git-repo-check",
      "-C",
      cwd,
      "--model",
      model,
      "--json",
      ...(session._tag === "Resume" ? ["resume", session.id, prompt] : ["--", prompt])
    ]
  }),
  sessionIdOf: (events) => firstString(events, (e) => (e.type === "thread.started" ? e.thread_id : undefined)),
  finalTextOf: (events) =>
    events.filter((e) => e.type === "item.completed" && e.item?.type === "agent_message").map((e) => String(e.item.text)).pop() ?? ""
}
