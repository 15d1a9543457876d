import { Effect, Ref } from "effect"
import { beginFrame, clearScreen, clearToEndOfLine, endFrame, moveTo } from "./ansi.js"

/**
 * The diffing writer of the live view: each frame writes only the lines that
 * differ from the frame before, in one write, so nothing flickers and an idle
 * swarm costs a clock's tick a second. After a resize (or anything else that
 * may have scribbled on the screen) the next frame is written whole.
 */

/**
 * What to write to turn the screen showing `previous` into `next`: every
 * changed line, moved to and cleared to its end; everything, on a cleared
 * screen, when there is no previous frame. "" when nothing changed.
 */
export const frameUpdate = (previous: ReadonlyArray<string> | undefined, next: ReadonlyArray<string>): string => {
  let out = previous === undefined ? clearScreen : ""
  for (let row = 0; row < next.length; row++) {
    if (previous !== undefined && previous[row] === next[row]) continue
    out += moveTo(row + 1) + next[row]! + clearToEndOfLine
  }
  // A frame shorter than the last one (never when the size is fixed) clears the rest.
  for (let row = next.length; previous !== undefined && row < previous.length; row++) {
    if (previous[row] !== "") out += moveTo(row + 1) + clearToEndOfLine
  }
  return out === "" ? "" : beginFrame + out + endFrame
}

export interface Screen {
  /** Shows `lines`, writing what changed since the last frame. */
  readonly draw: (lines: ReadonlyArray<string>) => Effect.Effect<void>
  /** The next frame is written whole (after a resize, or stray output on the screen). */
  readonly invalidate: Effect.Effect<void>
}

export const makeScreen = (write: (bytes: string) => void): Effect.Effect<Screen> =>
  Effect.gen(function* () {
    const shown = yield* Ref.make<ReadonlyArray<string> | undefined>(undefined)
    return {
      draw: (lines) =>
        Ref.getAndSet(shown, lines).pipe(
          Effect.map((previous) => frameUpdate(previous, lines)),
          Effect.flatMap((bytes) => (bytes === "" ? Effect.void : Effect.sync(() => write(bytes))))
        ),
      invalidate: Ref.set(shown, undefined)
    }
  })
