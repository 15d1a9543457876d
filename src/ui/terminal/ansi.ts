/**
 * The few terminal control sequences the live view uses, and the width of
 * text as a terminal shows it. Hand-written: the whole vocabulary is a dozen
 * ECMA-48 / xterm sequences, smaller than any library that offers them.
 */

const ESC = "\u001b["

/** Switch to the alternate screen (the user's scrollback stays untouched) and back. */
export const enterAltScreen = `${ESC}?1049h`
export const leaveAltScreen = `${ESC}?1049l`
export const hideCursor = `${ESC}?25l`
export const showCursor = `${ESC}?25h`
export const clearScreen = `${ESC}2J`
/** Erase from the cursor to the end of the line. */
export const clearToEndOfLine = `${ESC}K`
/**
 * Synchronized output (DEC mode 2026): a terminal that knows it shows the
 * frame between begin and end at once; one that does not ignores both.
 */
export const beginFrame = `${ESC}?2026h`
export const endFrame = `${ESC}?2026l`
export const resetStyle = `${ESC}0m`

/** Moves the cursor to a row and column, both counted from 1. */
export const moveTo = (row: number, column = 1): string => `${ESC}${row};${column}H`

export type Style = "bold" | "dim" | "red" | "green" | "yellow" | "blue" | "magenta" | "cyan" | "inverse"

const codes: Readonly<Record<Style, string>> = {
  bold: "1",
  dim: "2",
  inverse: "7",
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  magenta: "35",
  cyan: "36"
}

/** `text` in `styles`, or plain when colour is off. */
export const paint = (colour: boolean, text: string, ...styles: ReadonlyArray<Style>): string =>
  !colour || styles.length === 0 || text === "" ? text : `${ESC}${styles.map((s) => codes[s]).join(";")}m${text}${resetStyle}`

const SGR = /\u001b\[[0-9;]*m/g
// Control characters (C0, DEL, C1) would move the cursor or change modes if written raw.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g

/** Text from outside (an agent's output, a task id) made safe to put on one line of the screen. */
export const oneLine = (text: string): string => text.replace(/\s+/g, " ").replace(CONTROL, "").trim()

/** Columns a code point takes: 2 for East Asian wide and emoji, 0 for combining marks, else 1. */
const widthOf = (cp: number): number => {
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  )
    return 2
  return 1
}

/** The columns `text` takes on the screen (style sequences take none). */
export const visibleWidth = (text: string): number => {
  let width = 0
  for (const ch of text.replace(SGR, "")) width += widthOf(ch.codePointAt(0)!)
  return width
}

/** Plain `text` cut to `width` columns, with "…" where it was cut. */
export const truncate = (text: string, width: number): string => {
  if (width <= 0) return ""
  if (visibleWidth(text) <= width) return text
  let out = ""
  let used = 0
  for (const ch of text) {
    const w = widthOf(ch.codePointAt(0)!)
    if (used + w > width - 1) break
    out += ch
    used += w
  }
  return out + "…"
}

/** Plain `text` cut or padded to exactly `width` columns. */
export const fit = (text: string, width: number, align: "left" | "right" = "left"): string => {
  const cut = truncate(text, width)
  const pad = " ".repeat(Math.max(0, width - visibleWidth(cut)))
  return align === "left" ? cut + pad : pad + cut
}
