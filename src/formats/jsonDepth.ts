/**
 * How deeply nested a JSON text is, found without recursion.
 *
 * oompa's files are shallow (oompa.json needs 6 levels, a task file 3), but a
 * hand-made or agent-written file may be nested 100,000 levels deep. V8's
 * `JSON.parse` copes with that, but everything that walks the value afterwards
 * (our syntax-error scanner, Schema's error formatter, `JSON.stringify` when a
 * task is stamped) recurses and dies with "Maximum call stack size exceeded".
 * So every JSON file oompa reads is measured first, by this one loop over the
 * characters, and refused with a plain message past MAX_JSON_DEPTH.
 */

/** The deepest nesting of objects and arrays oompa reads in any JSON file. */
export const MAX_JSON_DEPTH = 64

/**
 * The UTF-16 offset of the first `{` or `[` that opens level `max + 1`, or
 * undefined when the text never nests deeper than `max`. Brackets inside
 * strings do not count. The text need not be valid JSON.
 */
export const tooDeepAt = (text: string, max: number = MAX_JSON_DEPTH): number | undefined => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
      continue
    }
    if (c === 0x22) inString = true
    else if (c === 0x7b || c === 0x5b) {
      depth++
      if (depth > max) return i
    } else if ((c === 0x7d || c === 0x5d) && depth > 0) depth--
  }
  return undefined
}

export const tooDeepMessage = (max: number = MAX_JSON_DEPTH): string =>
  `nested deeper than ${max} levels of {} and [] (oompa reads at most ${max})`
