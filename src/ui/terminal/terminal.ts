import { Effect, Queue, type Scope } from "effect"
import { clearScreen, enterAltScreen, hideCursor, leaveAltScreen, resetStyle, showCursor } from "./ansi.js"
import { keysOf, type Key } from "./keys.js"

/**
 * The terminal while the live view owns it, as a scoped resource: the
 * alternate screen, a hidden cursor and raw keyboard input on acquire, all of
 * it undone on release — and, should the process end without releasing (an
 * uncaught defect, `process.exit` on a third Ctrl-C), by an `exit` hook, so a
 * terminal is never left broken. (A SIGKILL cannot be caught; `reset` mends that.)
 *
 * While the alternate screen is up, whatever the process writes to stderr
 * ("stopping…", a diagnostic) is held and written after leaving it: on the
 * screen it would scribble over the view, and on the normal screen it stays
 * in the record.
 */
export interface Size {
  readonly columns: number
  readonly rows: number
}

export interface Terminal {
  /** Writes bytes to the screen (a TTY write is synchronous in Node on Unix). */
  readonly write: (bytes: string) => void
  readonly size: Effect.Effect<Size>
  /** Keys as they are pressed (none when stdin is no terminal). */
  readonly keys: Queue.Dequeue<Key>
  /** A wake-up after each change of size (many collapse into one). */
  readonly resized: Queue.Dequeue<void>
}

/** The smallest size laid out; a smaller terminal shows the top left of that. */
const MIN_SIZE: Size = { columns: 40, rows: 10 }

const sizeOf = (output: NodeJS.WriteStream): Size => ({
  columns: Math.max(MIN_SIZE.columns, output.columns || 80),
  rows: Math.max(MIN_SIZE.rows, output.rows || 24)
})

export const useTerminal = (
  output: NodeJS.WriteStream = process.stdout,
  input: NodeJS.ReadStream = process.stdin
): Effect.Effect<Terminal, never, Scope.Scope> =>
  Effect.gen(function* () {
    const keys = yield* Queue.unbounded<Key>()
    const resized = yield* Queue.sliding<void>(1)
    const rawInput = input.isTTY === true
    const write = (bytes: string) => {
      output.write(bytes)
    }

    yield* Effect.acquireRelease(
      Effect.sync(() => {
        const held: Array<string | Uint8Array> = []
        const stderrWrite = process.stderr.write
        process.stderr.write = ((chunk: string | Uint8Array, ...rest: Array<unknown>) => {
          held.push(chunk)
          const done = rest.find((r) => typeof r === "function") as (() => void) | undefined
          if (done !== undefined) queueMicrotask(done)
          return true
        }) as typeof process.stderr.write
        const onData = (chunk: Buffer | string) => {
          for (const key of keysOf(typeof chunk === "string" ? chunk : chunk.toString("utf8"))) Queue.unsafeOffer(keys, key)
        }
        const onResize = () => {
          Queue.unsafeOffer(resized, undefined)
        }
        let restored = false
        const restore = () => {
          if (restored) return
          restored = true
          process.removeListener("exit", restore)
          output.removeListener("resize", onResize)
          if (rawInput) {
            input.removeListener("data", onData)
            input.setRawMode(false)
            input.pause()
          }
          output.write(resetStyle + showCursor + leaveAltScreen)
          process.stderr.write = stderrWrite
          for (const chunk of held) process.stderr.write(chunk)
        }
        process.on("exit", restore)
        output.on("resize", onResize)
        if (rawInput) {
          input.setRawMode(true)
          input.on("data", onData)
          input.resume()
        }
        output.write(enterAltScreen + hideCursor + clearScreen)
        return restore
      }),
      (restore) => Effect.sync(restore)
    )
    return { write, size: Effect.sync(() => sizeOf(output)), keys, resized }
  })
