/**
 * What the tmux tests of the live view share: a mock scenario slow enough for
 * the view to show states, the pane's command, and the state word of each
 * worker row read off a captured pane.
 */
import { binPath } from "../../support/runCli.js"

/** Every turn takes a while, so the swarm runs for several seconds and the view has states to show. */
export const slowScenario = { turns: { "*": Array.from({ length: 6 }, () => ({ auto: true, delayMs: 1500 })) } }

/** The pane's command: oompa as a user starts it (CI unset: the test may run under CI), then its exit code. */
export const shell = (args: string) =>
  `env -u CI TERM=xterm-256color ${process.execPath} ${binPath} ${args}; echo "oompa exited with $?"; sleep 600`

/** The state word of each worker row on the pane. */
export const statesOf = (pane: string): Map<string, string> => {
  const states = new Map<string, string>()
  for (const match of pane.matchAll(/^(w\d+)\s+(?:mock:\S+\s+)?(starting|working|claiming|reviewing|fixing|merging|waiting for tasks|backing off|rate-limited|stopped(?::\s\S+)?)/gm)) {
    states.set(match[1]!, match[2]!)
  }
  return states
}
