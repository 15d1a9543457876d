/**
 * Property tests of the parsers oompa keeps hand-written (src/formats/: the EDN
 * reader, the JSON reader with positions, the JSONL line splitter): what they
 * read round-trips, no input makes them throw, every error has a position
 * inside the text, and deep nesting is refused with a message, not a crash.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import * as fc from "fast-check"
import { MAX_EDN_DEPTH, parseEdn, type EdnValue } from "../../src/formats/edn.js"
import { parseJson } from "../../src/formats/json.js"
import { MAX_JSON_DEPTH } from "../../src/formats/jsonDepth.js"
import { splitLines } from "../../src/formats/jsonl.js"

/** JSON-shaped values as EDN reads them (string keys, finite numbers, no -0). */
const ednValue: fc.Arbitrary<EdnValue> = fc.letrec<{ value: EdnValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", maxDepth: 6 },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x)),
    fc.string({ unit: "binary" }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(
      fc.string({ unit: "binary" }).filter((key) => key !== "__proto__"),
      tie("value"),
      { maxKeys: 5 }
    )
  )
})).value

/** EDN text for a value; `pad` puts commas, comments and discards between forms (all whitespace to EDN). */
const renderEdn = (value: EdnValue, pad: string): string => {
  if (value === null) return "nil"
  if (typeof value === "boolean" || typeof value === "number") return String(value)
  // EDN strings take JSON's escapes (\" \\ \n \t \r \b \f \uXXXX).
  if (typeof value === "string") return JSON.stringify(value)
  if (Array.isArray(value)) return `[${pad}${value.map((item) => renderEdn(item, pad)).join(` ${pad}`)}${pad}]`
  const entries = Object.entries(value as Record<string, EdnValue>)
  return `{${pad}${entries.map(([key, item]) => `${JSON.stringify(key)} ${renderEdn(item, pad)}`).join(` ${pad}`)}${pad}}`
}

const separator = fc.constantFrom(" ", ",", "\n", " ; a comment\n", " #_ :dropped ", "\t")

/** Text built from the characters EDN and JSON give meaning to, so the arbitrary inputs reach deep paths. */
const syntaxSoup = fc
  .array(
    fc.constantFrom("{", "}", "[", "]", "(", ")", "#{", "#_", "#inst", '"', "\\", ":", ";", ",", " ", "\n", "a", "1", "-", ".", "/", "N", "M", "e", "nil", "true", "\\u00", "\\newline", "1/2"),
    { maxLength: 200 }
  )
  .map((parts) => parts.join(""))

const anyText = fc.oneof(fc.string({ unit: "binary" }), syntaxSoup)

/** An error's line and column lie within the text. */
const expectInside = (text: string, error: { readonly line: number; readonly column: number }) => {
  const lines = text.split("\n")
  expect(error.line).toBeGreaterThanOrEqual(1)
  expect(error.line).toBeLessThanOrEqual(lines.length)
  expect(error.column).toBeGreaterThanOrEqual(1)
  expect(error.column).toBeLessThanOrEqual(lines[error.line - 1]!.length + 1)
}

describe("formats/edn (property)", () => {
  it.prop("reads back every value it is given as EDN text", { value: ednValue, pad: separator }, ({ value, pad }) => {
    expect(parseEdn(renderEdn(value, pad))).toEqual(Either.right(value))
  })

  it.prop("never throws; an error has a message and a position inside the text", { text: anyText }, ({ text }) => {
    const result = parseEdn(text)
    if (Either.isLeft(result)) {
      expect(result.left.message.length).toBeGreaterThan(0)
      expectInside(text, result.left)
    }
  })

  it.prop(
    "refuses nesting past MAX_EDN_DEPTH with a message, however deep (no stack overflow)",
    { depth: fc.integer({ min: MAX_EDN_DEPTH + 1, max: 200_000 }), open: fc.constantFrom("[", "(", "#{", "{:k ", "#_", "#inst "), closed: fc.boolean() },
    ({ depth, open, closed }) => {
      const close = { "[": "]", "(": ")", "#{": "}", "{:k ": "}", "#_": "", "#inst ": "" }[open]!
      const text = open.repeat(depth) + "1" + (closed ? close.repeat(depth) : "")
      const result = parseEdn(text)
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left.message).toContain(String(MAX_EDN_DEPTH))
        expectInside(text, result.left)
      }
    },
    { fastCheck: { numRuns: 30 } }
  )
})

describe("formats/json (property)", () => {
  const jsonValue = fc.jsonValue({ maxDepth: 8 })

  it.prop("reads back what JSON.stringify wrote, and refuses no key twice when there is none", { value: jsonValue, indent: fc.constantFrom(0, 2) }, ({ value, indent }) => {
    const text = JSON.stringify(value, null, indent)
    const expected = JSON.parse(text) as unknown
    expect(parseJson(text)).toEqual(Either.right(expected))
    expect(parseJson(text, { duplicateKeys: "refuse" })).toEqual(Either.right(expected))
  })

  it.prop("never throws; an error has a message and a position inside the text", { text: anyText }, ({ text }) => {
    for (const duplicateKeys of ["refuse", "last wins"] as const) {
      const result = parseJson(text, { duplicateKeys })
      if (Either.isLeft(result)) {
        expect(result.left.message.length).toBeGreaterThan(0)
        expectInside(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, result.left)
      }
    }
  })

  it.prop(
    "refuses nesting past MAX_JSON_DEPTH with kind depth, however deep (no stack overflow)",
    { depth: fc.integer({ min: MAX_JSON_DEPTH + 1, max: 200_000 }), open: fc.constantFrom("[", '{"k":'), closed: fc.boolean() },
    ({ depth, open, closed }) => {
      const close = open === "[" ? "]" : "}"
      const text = open.repeat(depth) + "1" + (closed ? close.repeat(depth) : "")
      const result = parseJson(text, { duplicateKeys: "refuse" })
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left.kind).toBe("depth")
        expectInside(text, result.left)
      }
    },
    { fastCheck: { numRuns: 30 } }
  )
})

describe("formats/jsonl splitLines (property)", () => {
  const encoder = new TextEncoder()
  const linesOf = (chunks: ReadonlyArray<Uint8Array>, max?: number) =>
    Effect.runSync(Stream.runCollect(Stream.fromIterable(chunks).pipe(splitLines(max))).pipe(Effect.map(Chunk.toArray)))

  /** Bytes cut at arbitrary offsets (inside a UTF-8 sequence too). */
  const cut = (bytes: Uint8Array, at: ReadonlyArray<number>): Array<Uint8Array> => {
    const offsets = [...new Set(at.map((n) => n % (bytes.length + 1)))].sort((a, b) => a - b)
    const chunks: Array<Uint8Array> = []
    let start = 0
    for (const offset of [...offsets, bytes.length]) {
      chunks.push(bytes.slice(start, offset))
      start = offset
    }
    return chunks
  }

  it.prop(
    "gives the text's lines however the bytes are cut into chunks (\\n or \\r\\n, a last line without one)",
    {
      lines: fc.array(fc.string({ unit: "grapheme" }).map((line) => line.replace(/[\r\n]/g, "")), { maxLength: 20 }),
      crlf: fc.boolean(),
      trailing: fc.boolean(),
      at: fc.array(fc.nat(), { maxLength: 10 })
    },
    ({ lines, crlf, trailing, at }) => {
      const text = lines.join(crlf ? "\r\n" : "\n") + (trailing && lines.length > 0 ? "\n" : "")
      // A last empty line without a newline is no line.
      const expected = lines.length > 0 && lines.at(-1) === "" && !trailing ? lines.slice(0, -1) : lines
      expect(linesOf(cut(encoder.encode(text), at))).toEqual(expected)
    }
  )

  it.prop(
    "drops a line longer than the limit and keeps the lines around it",
    { before: fc.string({ unit: "grapheme-ascii" }), long: fc.integer({ min: 11, max: 200 }), after: fc.string({ unit: "grapheme-ascii" }), at: fc.array(fc.nat(), { maxLength: 10 }) },
    ({ before, long, after, at }) => {
      const clean = (s: string) => s.replace(/[\r\n]/g, "").slice(0, 10)
      const text = `${clean(before)}\n${"x".repeat(long)}\n${clean(after)}\n`
      expect(linesOf(cut(encoder.encode(text), at), 10)).toEqual([clean(before), clean(after)])
    }
  )
})
