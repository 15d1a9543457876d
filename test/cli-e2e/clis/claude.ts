import { type CliProfile, firstString, isRoot } from "./profile.js"

const model = "claude-sonnet-4-5"

export const claude: CliProfile = {
  bin: "claude",
  model,
  choosesSessionId: true,
  reviewOffersShell: true,
  reportsCost: true,
  env: (server) => ({
    ANTHROPIC_BASE_URL: server.url,
    ANTHROPIC_API_KEY: "sk-ant-fake-key-for-tests",
    DISABLE_AUTOUPDATER: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_ERROR_REPORTING: "1",
    ...(isRoot ? { IS_SANDBOX: "1" } : {})
  }),
  lowRetries: () => ({ CLAUDE_CODE_MAX_RETRIES: "0" }),
  direct: (session, prompt) => ({
    args: [
      "-p",
      "--dangerously-skip-permissions",
      "--output-format",
      "stream-json",
      "--verbose",
      "--model",
      model,
      ...(session._tag === "Resume" ? ["--resume", session.id] : session.id !== undefined ? ["--session-id", session.id] : [])
    ],
    stdin: prompt
  }),
  sessionIdOf: (events) => firstString(events, (e) => e.session_id),
  finalTextOf: (events) => events.filter((e) => e.type === "result").map((e) => String(e.result ?? ""))[0] ?? ""
}
