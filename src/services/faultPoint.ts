import { Effect } from "effect"

/**
 * The instants where a crash does the most harm, for fault-injection tests
 * (SPEC §8): with `OOMPA_FAULT=<point>` in its environment the oompa process
 * SIGKILLs itself when it reaches that point, as a power cut would. Unset (as
 * for every user), it does nothing.
 */
export type FaultPoint =
  /** The target branch has just been fast-forwarded; nothing has recorded it yet. */
  | "after-advance"
  /** A merged cycle's claims have just moved to complete/; its cycle file is not written yet. */
  | "after-complete"

export const faultPoint = (point: FaultPoint): Effect.Effect<void> =>
  Effect.sync(() => {
    if (process.env["OOMPA_FAULT"] === point) process.kill(process.pid, "SIGKILL")
  })
