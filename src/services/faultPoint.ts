import { Effect } from "effect"

/**
 * The instants where a crash does the most harm, for fault-injection tests
 * (SPEC §8): with `OOMPA_FAULT=<point>` in its environment the oompa process
 * SIGKILLs itself when it reaches that point, as a power cut would. Unset (as
 * for every user), it does nothing.
 */
export type FaultPoint =
  /** The target branch has just been fast-forwarded; nothing has recorded it yet. */
  "after-advance"

export const faultPoint = (point: FaultPoint): Effect.Effect<void> =>
  Effect.sync(() => {
    if (process.env["OOMPA_FAULT"] === point) process.kill(process.pid, "SIGKILL")
  })
