import { Either } from "effect"
import { MAX_JSON_DEPTH, tooDeepAt, tooDeepMessage } from "./jsonDepth.js"

/*
 * JSON with the line:column of an error, and duplicate keys refused where asked.
 * JSON.parse reads; the hand-written scanner below only finds where a text is
 * wrong. Why not a library (commit 3838ee9 has the figures): jsonc-parser and
 * @humanwhocodes/momoa parse by recursive descent (100,000 levels overflow the
 * stack), report no duplicate keys, and jsonc-parser is error-tolerant JSONC;
 * parse-json takes its positions from V8's message, the thing this avoids.
 */

/** Where and why a JSON text failed to parse; line and column are 1-based. */
export interface JsonSyntaxError {
  readonly line: number
  readonly column: number
  readonly message: string
  /** "depth": the text nests deeper than MAX_JSON_DEPTH (it may be valid JSON). */
  readonly kind: "syntax" | "depth"
}

/**
 * Parses JSON text (a leading byte-order mark is ignored). On failure the
 * error carries the line and column of the first offending character, found
 * by our own scanner: V8's messages do not always give a position, and
 * sometimes quote the whole input. A text nested deeper than MAX_JSON_DEPTH
 * is refused before anything else looks at it (see formats/jsonDepth.ts), so
 * the scanner's recursion is bounded by that depth.
 */
export const parseJson = (
  text: string,
  options: {
    /** "refuse": a key given twice in one object is an error (JSON.parse would keep the last silently). */
    readonly duplicateKeys?: "refuse" | "last wins"
  } = {}
): Either.Either<unknown, JsonSyntaxError> => {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  const deep = tooDeepAt(source, MAX_JSON_DEPTH)
  if (deep !== undefined) return Either.left({ ...lineColumn(source, deep), message: tooDeepMessage(), kind: "depth" })
  const parsed = Either.try({
    try: (): unknown => JSON.parse(source),
    catch: () => locateSyntaxError(source)
  })
  if (Either.isLeft(parsed) || options.duplicateKeys !== "refuse") return parsed
  const duplicate = scan(source, true)
  return duplicate === undefined
    ? parsed
    : Either.left({ ...lineColumn(source, duplicate.offset), message: duplicate.message, kind: "syntax" })
}

/** Line and column (1-based) of a UTF-16 offset in `text`. */
export const lineColumn = (text: string, offset: number): { readonly line: number; readonly column: number } => {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line += 1
      lineStart = i + 1
    }
  }
  return { line, column: offset - lineStart + 1 }
}

class SyntaxFailure {
  constructor(
    readonly offset: number,
    readonly message: string
  ) {}
}

const describeChar = (text: string, at: number): string =>
  at >= text.length ? "end of file" : JSON.stringify(text[at])

/**
 * A strict JSON scanner that only looks for the first syntax error.
 * Returns its position and a short message.
 */
export const locateSyntaxError = (text: string): JsonSyntaxError => {
  const failure = scan(text, false)
  const at = failure?.offset ?? 0
  return { ...lineColumn(text, at), message: failure?.message ?? "not valid JSON", kind: "syntax" }
}

/**
 * The scanner behind locateSyntaxError: the first syntax error (and, with
 * `duplicates`, the first key given twice in one object), or undefined.
 * It recurses once per level of nesting: callers measure the depth first.
 */
const scan = (text: string, duplicates: boolean): SyntaxFailure | undefined => {
  let i = 0
  const fail = (message: string, at: number = i): SyntaxFailure => new SyntaxFailure(at, message)
  const ws = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++
  }
  const literal = (word: string): SyntaxFailure | undefined => {
    for (let k = 0; k < word.length; k++) {
      if (text[i + k] !== word[k]) return fail(`unexpected ${describeChar(text, i + k)} (expected "${word}")`, i + k)
    }
    i += word.length
    return undefined
  }
  const string = (): SyntaxFailure | undefined => {
    i++ // opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i)
      if (c === 0x22) {
        i++
        return undefined
      }
      if (c < 0x20) return fail("control character in a string (write \\n, \\t … instead)")
      if (c === 0x5c) {
        const e = text[i + 1]
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return fail("invalid \\u escape in a string")
          i += 6
          continue
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) return fail(`invalid escape "\\${e ?? ""}" in a string`)
        i += 2
        continue
      }
      i++
    }
    return fail("unexpected end of file inside a string")
  }
  const number = (): SyntaxFailure | undefined => {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i))
    if (match === null || match[0] === "-" || match[0].length === 0) return fail(`invalid number`)
    i += match[0].length
    return undefined
  }
  const value = (): SyntaxFailure | undefined => {
    ws()
    const c = text[i]
    if (c === undefined) return fail("unexpected end of file (expected a value)")
    if (c === "{") return object()
    if (c === "[") return array()
    if (c === '"') return string()
    if (c === "t") return literal("true")
    if (c === "f") return literal("false")
    if (c === "n") return literal("null")
    if (c === "-" || (c >= "0" && c <= "9")) return number()
    if (c === "'") return fail("strings must use double quotes")
    return fail(`unexpected ${describeChar(text, i)} (expected a value)`)
  }
  const object = (): SyntaxFailure | undefined => {
    i++
    ws()
    if (text[i] === "}") {
      i++
      return undefined
    }
    const seen = new Set<string>()
    for (;;) {
      ws()
      if (text[i] !== '"') {
        return text[i] === "}"
          ? fail("trailing comma before }")
          : fail(`unexpected ${describeChar(text, i)} (expected a double-quoted key)`)
      }
      const keyStart = i
      const keyError = string()
      if (keyError) return keyError
      if (duplicates) {
        const key = JSON.parse(text.slice(keyStart, i)) as string
        if (seen.has(key)) return fail(`duplicate key ${JSON.stringify(key)} (JSON would keep only the last one): remove one of them`, keyStart)
        seen.add(key)
      }
      ws()
      if (text[i] !== ":") return fail(`unexpected ${describeChar(text, i)} (expected ":" after the key)`)
      i++
      const valueError = value()
      if (valueError) return valueError
      ws()
      if (text[i] === ",") {
        i++
        continue
      }
      if (text[i] === "}") {
        i++
        return undefined
      }
      return fail(`unexpected ${describeChar(text, i)} (expected "," or "}")`)
    }
  }
  const array = (): SyntaxFailure | undefined => {
    i++
    ws()
    if (text[i] === "]") {
      i++
      return undefined
    }
    for (;;) {
      ws()
      if (text[i] === "]") return fail("trailing comma before ]")
      const valueError = value()
      if (valueError) return valueError
      ws()
      if (text[i] === ",") {
        i++
        continue
      }
      if (text[i] === "]") {
        i++
        return undefined
      }
      return fail(`unexpected ${describeChar(text, i)} (expected "," or "]")`)
    }
  }
  return (
    value() ??
    (() => {
      ws()
      return i < text.length ? fail(`unexpected ${describeChar(text, i)} after the end of the JSON value`) : undefined
    })()
  )
}
