/** The real CLIs the end-to-end tests run: one row per CLI, its profile in its own file. */
import { claude } from "./claude.js"
import { codex } from "./codex.js"
import { copilot } from "./copilot.js"
import { gemini } from "./gemini.js"
import { kilo } from "./kilo.js"
import { opencode } from "./opencode.js"
import { pi } from "./pi.js"
import { qwen } from "./qwen.js"
import type { CliProfile } from "./profile.js"

export const profiles = {
  claude,
  codex,
  opencode,
  gemini,
  pi,
  copilot,
  qwen,
  kilo
} satisfies Record<string, CliProfile>
