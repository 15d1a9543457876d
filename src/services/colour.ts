import { stripVTControlCharacters } from "node:util"
import { Console } from "effect"

/**
 * The one answer to "may oompa print colour (any ANSI escape) to this
 * stream?", for everything that prints: @effect/cli's help and errors (through
 * `colourAwareConsole`, installed once in bin.ts), and the terminal view.
 *
 * - `NO_COLOR` set and non-empty (https://no-color.org): never;
 * - else `FORCE_COLOR` set, non-empty and not `0`/`false`: always (a pager or CI
 *   log that renders colour);
 * - else `TERM=dumb`: never;
 * - else only when the stream is a terminal.
 *
 * Decided per stream: `oompa --help | less` gets no escape on stdout, while an
 * error on a terminal's stderr may still be coloured.
 */
export type Environment = Readonly<Record<string, string | undefined>>

export const mayColour = (stream: { readonly isTTY?: boolean | undefined }, env: Environment = process.env): boolean => {
  if ((env["NO_COLOR"] ?? "") !== "") return false
  const force = env["FORCE_COLOR"] ?? ""
  if (force !== "" && force !== "0" && force !== "false") return true
  if (env["TERM"] === "dumb") return false
  return stream.isTTY === true
}

/** `text` without ANSI escapes (colours, cursor moves, hyperlinks): Node's own stripper. */
export const stripColour = (text: string): string => stripVTControlCharacters(text)

const plainArgs = (args: ReadonlyArray<unknown>): Array<unknown> =>
  args.map((arg) => (typeof arg === "string" ? stripColour(arg) : arg))

/**
 * `base` with the escapes taken out of what goes to a stream that may not be
 * coloured: log/info/debug/dir/table go to stdout, error/warn/trace to stderr
 * (as Node's console writes them). @effect/cli renders help and validation
 * messages with ANSI styles unconditionally and prints them through the
 * Console service, so this is the one place that can make them plain.
 */
export const colourAwareConsole = (
  base: Console.Console,
  colour: { readonly stdout: boolean; readonly stderr: boolean }
): Console.Console => {
  if (colour.stdout && colour.stderr) return base
  const out = (args: ReadonlyArray<unknown>) => (colour.stdout ? [...args] : plainArgs(args))
  const err = (args: ReadonlyArray<unknown>) => (colour.stderr ? [...args] : plainArgs(args))
  return {
    ...base,
    log: (...args) => base.log(...out(args)),
    info: (...args) => base.info(...out(args)),
    debug: (...args) => base.debug(...out(args)),
    error: (...args) => base.error(...err(args)),
    warn: (...args) => base.warn(...err(args)),
    trace: (...args) => base.trace(...err(args)),
    unsafe: {
      ...base.unsafe,
      log: (...args) => base.unsafe.log(...out(args)),
      info: (...args) => base.unsafe.info(...out(args)),
      debug: (...args) => base.unsafe.debug(...out(args)),
      error: (...args) => base.unsafe.error(...err(args)),
      warn: (...args) => base.unsafe.warn(...err(args)),
      trace: (...args) => base.unsafe.trace(...err(args))
    }
  }
}

/** The Console for this process's streams and environment. */
export const processConsole = (base: Console.Console): Console.Console =>
  colourAwareConsole(base, { stdout: mayColour(process.stdout), stderr: mayColour(process.stderr) })
