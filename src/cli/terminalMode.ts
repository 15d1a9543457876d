/**
 * Whether a command may take the terminal over with the live view (issue 10),
 * or must print today's line stream: a TTY, and nothing that asks for plain
 * lines — `--plain`, a CI runner (CI set, as every CI service sets it), or a
 * terminal that cannot move its cursor (TERM=dumb).
 */
export interface TerminalFacts {
  readonly stdoutIsTty: boolean
  readonly env: Readonly<Record<string, string | undefined>>
}

export const processTerminal = (): TerminalFacts => ({ stdoutIsTty: process.stdout.isTTY === true, env: process.env })

export const liveViewWanted = (plain: boolean, facts: TerminalFacts = processTerminal()): boolean =>
  facts.stdoutIsTty && !plain && !isCi(facts.env.CI) && facts.env.TERM !== "dumb"

const isSet = (value: string | undefined): boolean => value !== undefined && value !== ""
/** CI=false and CI=0 are how some runners say "not CI". */
const isCi = (value: string | undefined): boolean => isSet(value) && value !== "false" && value !== "0"
