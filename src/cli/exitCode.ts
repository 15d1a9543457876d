import { Cause, Exit, Option } from "effect"
import { ValidationError } from "@effect/cli"

/**
 * Exit codes (SPEC §10): 0 ok, 1 the swarm ran but a worker failed (or an
 * unexpected failure), 2 bad input, 3 a budget stopped the run (the swarm's,
 * stopped.json reason `budget`, or a worker's, stop reason `budget`:
 * docs/budgets.md; 1 outranks it), 130 interrupted (Ctrl-C, SIGTERM, or a
 * steering `stop`, whose stopped.json says stopped-by-user: docs/steering.md).
 * An error chooses its own code by carrying an `exitCode` getter.
 */
export const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return 0
  if (Cause.isInterruptedOnly(exit.cause)) return 130
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (ValidationError.isValidationError(error)) return 2
    if (typeof error === "object" && error !== null && "exitCode" in error && typeof error.exitCode === "number") {
      return error.exitCode
    }
  }
  return 1
}

/** What an expected failure says to the user: its own toString, else its JSON (`check --json` reports it too). */
export const errorText = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "toString" in error) {
    const text = String(error)
    if (text !== "[object Object]") return text
  }
  return JSON.stringify(error)
}

/** One line for the user, or the full cause for a defect (a bug in oompa). */
export const describeFailure = (cause: Cause.Cause<unknown>): string | undefined => {
  if (Cause.isInterruptedOnly(cause)) return undefined
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    // @effect/cli has already printed its own validation message.
    if (ValidationError.isValidationError(error)) return undefined
    return `error: ${errorText(error)}`
  }
  return `oompa crashed (this is a bug, please report it):\n${Cause.pretty(cause)}`
}
