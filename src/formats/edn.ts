import { Either } from "effect"
import { MAX_JSON_DEPTH } from "./jsonDepth.js"

/**
 * A small EDN reader, enough for oompa 0.6 task files (`tasks/pending/*.edn`).
 *
 * Reads: maps, vectors, lists, sets, strings (with escapes), characters,
 * keywords, symbols, integers, floats, ratios-as-floats, booleans, nil,
 * `;` comments, `#_` discard, commas as whitespace, and tagged literals
 * (`#inst "…"` reads as its value).
 *
 * The result is plain JSON-shaped data: maps become objects (keys written as
 * keywords lose their `:`; `-` in a keyword *key* becomes `_`, so 0.6's
 * `:depends-on` reads as `depends_on`), keywords and symbols in value position
 * become strings without the `:`, vectors, lists and sets become arrays, nil
 * becomes null. Pure: no I/O.
 *
 * Why hand-written, not a library (checked December 2026 with `npm view` and
 * a probe of the packed tarball): edn-data 1.2.2 (~430k downloads/month,
 * published Aug 2026, no dependencies) is the well-kept one, but it cannot
 * keep the error quality a quarantined task file's reason needs: it throws
 * no error at all for `{:id "a"` or `"abc` (it returns null), reads `{:id}`
 * as `{}` and `{:id "a" :n}` as `{id: "a"}` (odd maps silently dropped), gives
 * no line or column for any error, and its reader recurses, so 100,000 `[`
 * end in "Maximum call stack size exceeded". jsedn 0.4.1 (~43k/month) is
 * unmaintained and depends on `latest` of three packages. This reader
 * recurses at most MAX_EDN_DEPTH levels, refuses deeper nesting with a
 * position, and says what is wrong at which line and column (see
 * test/formats/edn.test.ts, including its property tests).
 */
export type EdnValue =
  | null
  | boolean
  | number
  | string
  | ReadonlyArray<EdnValue>
  | { readonly [key: string]: EdnValue }

export interface EdnParseError {
  readonly message: string
  /** 1-based line and column of the offending character. */
  readonly line: number
  readonly column: number
}

export const formatEdnError = (error: EdnParseError): string =>
  `EDN syntax error at line ${error.line}, column ${error.column}: ${error.message}`

/** Parse exactly one EDN value (surrounding whitespace and comments allowed). */
export const parseEdn = (text: string): Either.Either<EdnValue, EdnParseError> => {
  return new Reader(text).readTop()
}

const WHITESPACE = new Set([" ", "\t", "\n", "\r", ",", "\f", "\v"])
const DELIMITERS = new Set(["(", ")", "[", "]", "{", "}", '"', ";"])

/** Marker for `#_` discarded forms. */
const DISCARD: unique symbol = Symbol("discard")
/** Marker for "a syntax error was recorded in `Reader.error`": the reader unwinds by returning it. */
const FAIL: unique symbol = Symbol("fail")
type Fail = typeof FAIL

type Read = EdnValue | typeof DISCARD

/**
 * The deepest nesting of forms the reader follows (collections, tagged
 * literals, discards): it recurses once per level, so a file nested 100,000
 * levels deep is refused with a message instead of overflowing the stack.
 */
export const MAX_EDN_DEPTH = MAX_JSON_DEPTH

class Reader {
  private pos = 0
  private depth = 0
  /** The first syntax error; set together with returning FAIL. */
  private error: EdnParseError | undefined
  constructor(private readonly text: string) {}

  readTop(): Either.Either<EdnValue, EdnParseError> {
    const value = this.readTopValue()
    if (value === FAIL) {
      return Either.left(this.error ?? { message: "syntax error", line: 1, column: 1 })
    }
    return Either.right(value)
  }

  private readTopValue(): EdnValue | Fail {
    this.skipSpace()
    let value: Read | Fail = DISCARD
    while (value === DISCARD) {
      if (this.pos >= this.text.length) return this.fail("empty input: expected one EDN value")
      value = this.readForm()
      if (value === FAIL) return FAIL
      this.skipSpace()
    }
    if (this.pos < this.text.length) return this.fail("unexpected text after the value")
    return value
  }

  private fail(message: string, at: number = this.pos): Fail {
    let line = 1
    let column = 1
    for (let i = 0; i < at && i < this.text.length; i++) {
      if (this.text[i] === "\n") {
        line += 1
        column = 1
      } else {
        column += 1
      }
    }
    this.error ??= { message, line, column }
    return FAIL
  }

  private skipSpace(): void {
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!
      if (WHITESPACE.has(c)) {
        this.pos += 1
      } else if (c === ";") {
        while (this.pos < this.text.length && this.text[this.pos] !== "\n") this.pos += 1
      } else {
        return
      }
    }
  }

  /** Reads one form; returns DISCARD for `#_ form`. */
  private readForm(): Read | Fail {
    if (this.depth >= MAX_EDN_DEPTH) return this.fail(`nested deeper than ${MAX_EDN_DEPTH} levels (oompa reads at most ${MAX_EDN_DEPTH})`)
    this.depth += 1
    try {
      return this.readFormAt()
    } finally {
      this.depth -= 1
    }
  }

  private readFormAt(): Read | Fail {
    const c = this.text[this.pos]
    if (c === undefined) return this.fail("unexpected end of input")
    switch (c) {
      case "{":
        this.pos += 1
        return this.readMap()
      case "[":
        this.pos += 1
        return this.readUntil("]")
      case "(":
        this.pos += 1
        return this.readUntil(")")
      case '"':
        this.pos += 1
        return this.readString()
      case "\\":
        this.pos += 1
        return this.readChar()
      case ":":
        return this.readKeyword()
      case "#":
        return this.readDispatch()
      case ")":
      case "]":
      case "}":
        return this.fail(`unmatched ${c}`)
      default:
        return this.readAtom()
    }
  }

  /** Reads forms up to `close`, skipping discards. */
  private readUntil(close: string): ReadonlyArray<EdnValue> | Fail {
    const items: Array<EdnValue> = []
    const start = this.pos - 1
    for (;;) {
      this.skipSpace()
      if (this.pos >= this.text.length) return this.fail(`missing ${close}`, start)
      if (this.text[this.pos] === close) {
        this.pos += 1
        return items
      }
      const value = this.readForm()
      if (value === FAIL) return FAIL
      if (value !== DISCARD) items.push(value)
    }
  }

  /** Reads the next non-discarded form of a map, or fails if the map ends first. */
  private readMapForm(mapStart: number, keyAt: number): Read | Fail {
    for (;;) {
      this.skipSpace()
      if (this.pos >= this.text.length) return this.fail("missing }", mapStart)
      if (this.text[this.pos] === "}") return this.fail("a map needs an even number of forms", keyAt)
      const value = this.readForm()
      if (value !== DISCARD) return value
    }
  }

  private readMap(): { readonly [key: string]: EdnValue } | Fail {
    const mapStart = this.pos - 1
    const object: Record<string, EdnValue> = {}
    for (;;) {
      this.skipSpace()
      if (this.pos >= this.text.length) return this.fail("missing }", mapStart)
      if (this.text[this.pos] === "}") {
        this.pos += 1
        return object
      }
      const keyAt = this.pos
      const isKeyword = this.text[this.pos] === ":"
      const key = this.readForm()
      if (key === FAIL) return FAIL
      if (key === DISCARD) continue
      const value = this.readMapForm(mapStart, keyAt)
      if (value === FAIL || value === DISCARD) return FAIL
      const name = this.keyName(key, isKeyword, keyAt)
      if (name === FAIL) return FAIL
      if (Object.prototype.hasOwnProperty.call(object, name)) {
        return this.fail(`duplicate map key ${JSON.stringify(name)}`, keyAt)
      }
      // defineProperty: a key named "__proto__" stays an ordinary key.
      Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true })
    }
  }

  private keyName(key: EdnValue, isKeyword: boolean, at: number): string | Fail {
    if (typeof key === "string") return isKeyword ? key.replace(/-/g, "_") : key
    if (typeof key === "number" || typeof key === "boolean") return String(key)
    return this.fail("map keys must be keywords, strings, symbols, numbers or booleans", at)
  }

  private readString(): string | Fail {
    const start = this.pos - 1
    let out = ""
    for (;;) {
      if (this.pos >= this.text.length) return this.fail("unterminated string", start)
      const c = this.text[this.pos]!
      this.pos += 1
      if (c === '"') return out
      if (c !== "\\") {
        out += c
        continue
      }
      const e = this.text[this.pos]
      this.pos += 1
      switch (e) {
        case '"':
          out += '"'
          break
        case "\\":
          out += "\\"
          break
        case "n":
          out += "\n"
          break
        case "t":
          out += "\t"
          break
        case "r":
          out += "\r"
          break
        case "b":
          out += "\b"
          break
        case "f":
          out += "\f"
          break
        case "u": {
          const hex = this.text.slice(this.pos, this.pos + 4)
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) return this.fail("bad \\u escape: expected 4 hex digits", this.pos - 2)
          out += String.fromCharCode(parseInt(hex, 16))
          this.pos += 4
          break
        }
        default:
          return this.fail(`unknown string escape \\${e ?? ""}`, this.pos - 2)
      }
    }
  }

  private readToken(): string {
    const start = this.pos
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!
      if (WHITESPACE.has(c) || DELIMITERS.has(c)) break
      this.pos += 1
    }
    return this.text.slice(start, this.pos)
  }

  private readChar(): string | Fail {
    const at = this.pos - 1
    // A character literal is at least one character, even a delimiter: `\(`.
    const first = this.text[this.pos]
    if (first === undefined) return this.fail("unexpected end of input after \\", at)
    this.pos += 1
    const token = first + this.readToken()
    if (token.length === 1) return token
    switch (token) {
      case "newline":
        return "\n"
      case "return":
        return "\r"
      case "space":
        return " "
      case "tab":
        return "\t"
    }
    if (/^u[0-9a-fA-F]{4}$/.test(token)) return String.fromCharCode(parseInt(token.slice(1), 16))
    return this.fail(`unknown character literal \\${token}`, at)
  }

  private readKeyword(): string | Fail {
    const at = this.pos
    this.pos += 1
    // `::kw` (auto-resolved) reads as `kw`; we have no namespaces to resolve.
    if (this.text[this.pos] === ":") this.pos += 1
    const token = this.readToken()
    if (token.length === 0) return this.fail("empty keyword", at)
    return token
  }

  private readDispatch(): Read | Fail {
    const at = this.pos
    this.pos += 1
    const next = this.text[this.pos]
    if (next === "{") {
      this.pos += 1
      return this.readUntil("}")
    }
    if (next === "_") {
      this.pos += 1
      this.skipSpace()
      if (this.pos >= this.text.length) return this.fail("#_ with nothing to discard", at)
      const discarded = this.readForm()
      return discarded === FAIL ? FAIL : DISCARD
    }
    // Tagged literal: `#inst "2024-…"`, `#uuid "…"`, `#my/tag value` → the value.
    const tag = this.readToken()
    if (tag.length === 0) return this.fail("bad # dispatch", at)
    this.skipSpace()
    if (this.pos >= this.text.length) return this.fail(`#${tag} with no value`, at)
    const value = this.readForm()
    if (value === DISCARD) return this.fail(`#${tag} with no value`, at)
    return value
  }

  private readAtom(): EdnValue | Fail {
    const at = this.pos
    const token = this.readToken()
    if (token.length === 0) return this.fail(`unexpected character ${JSON.stringify(this.text[this.pos])}`)
    if (token === "nil") return null
    if (token === "true") return true
    if (token === "false") return false
    if (/^[+-]?\d/.test(token)) return this.readNumber(token, at)
    // A symbol: read as its name.
    return token
  }

  private readNumber(token: string, at: number): number | Fail {
    // Integers (with optional N), floats (with optional M), ratios.
    const integer = /^([+-]?\d+)N?$/.exec(token)
    if (integer) return Number(integer[1])
    const float = /^([+-]?\d+(\.\d*)?([eE][+-]?\d+)?)M?$/.exec(token)
    if (float) return Number(float[1])
    const ratio = /^([+-]?\d+)\/(\d+)$/.exec(token)
    if (ratio && Number(ratio[2]) !== 0) return Number(ratio[1]) / Number(ratio[2])
    return this.fail(`bad number ${token}`, at)
  }
}
