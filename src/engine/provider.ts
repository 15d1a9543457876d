import type { Provider } from "./governor.js"

/**
 * Where each built-in CLI sends its requests when the user points it
 * elsewhere (docs/cli-facts.md): two workers of one harness share a provider
 * (and so its rate limit) unless their base URLs differ. codex and opencode
 * take their base URL from their own config files, which oompa does not read:
 * all their workers count as one provider. Accounts are not told apart.
 */
const baseUrlEnv: Readonly<Record<string, ReadonlyArray<string>>> = {
  claude: ["ANTHROPIC_BASE_URL"],
  codex: ["OPENAI_BASE_URL"],
  gemini: ["GOOGLE_GEMINI_BASE_URL", "GEMINI_BASE_URL"]
}

/** The provider of a turn of `harness`, given the environment the CLI inherits (the user's plus the turn's own). */
export const providerOf = (harness: string, env: Readonly<Record<string, string | undefined>>): Provider => {
  const url = (baseUrlEnv[harness] ?? []).map((name) => env[name]).find((value) => value !== undefined && value !== "")
  return { harness, label: url === undefined ? harness : `${harness} ${url}` }
}
