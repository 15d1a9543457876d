/**
 * Keys pressed in the live view, read from the terminal in raw mode (where
 * Ctrl-C arrives as a byte, not as SIGINT). Escape sequences (arrows, function
 * keys) are recognised so that their bytes are not read as letters.
 */
export type Key =
  | { readonly kind: "char"; readonly char: string }
  | { readonly kind: "ctrl-c" }
  | { readonly kind: "escape" }
  | { readonly kind: "enter" }
  | { readonly kind: "other" }

// An escape sequence: CSI (ESC [ … final byte) or SS3 (ESC O x).
const SEQUENCE = /^\u001b(\[[0-9;?]*[@-~]|O.)/

/** The keys in one chunk read from the terminal, in order. */
export const keysOf = (chunk: string): ReadonlyArray<Key> => {
  const keys: Array<Key> = []
  let rest = chunk
  while (rest.length > 0) {
    const sequence = SEQUENCE.exec(rest)
    if (sequence !== null) {
      keys.push({ kind: "other" })
      rest = rest.slice(sequence[0].length)
      continue
    }
    const ch = String.fromCodePoint(rest.codePointAt(0)!)
    rest = rest.slice(ch.length)
    if (ch === "\u0003") keys.push({ kind: "ctrl-c" })
    else if (ch === "\u001b") keys.push({ kind: "escape" })
    else if (ch === "\r" || ch === "\n") keys.push({ kind: "enter" })
    else if (ch >= " " && ch !== "\u007f") keys.push({ kind: "char", char: ch })
    else keys.push({ kind: "other" })
  }
  return keys
}
