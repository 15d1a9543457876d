import { cliSpecs, isCliHarness } from "../harness/registry.js"
import type { Provider } from "./governor.js"

/**
 * The provider of a turn of `harness`, given the environment the CLI inherits
 * (the user's plus the turn's own): two workers of one harness share a
 * provider (and so its rate limit) unless the base URLs their CLI's spec names
 * (`CliSpec.baseUrlEnv`) differ. A CLI whose base URL lives in its own config
 * files (opencode, pi, …), and a harness that is not a built-in CLI, is one
 * provider for all its workers. Accounts are not told apart.
 */
export const providerOf = (harness: string, env: Readonly<Record<string, string | undefined>>): Provider => {
  const names = isCliHarness(harness) ? (cliSpecs[harness].baseUrlEnv ?? []) : []
  const url = names.map((name) => env[name]).find((value) => value !== undefined && value !== "")
  return { harness, label: url === undefined ? harness : `${harness} ${url}` }
}
