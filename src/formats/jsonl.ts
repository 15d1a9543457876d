/**
 * Streaming readers for agent CLI output logs: split a file into lines with
 * bounded memory, and fold its JSON lines, each decoded with a Schema, into a
 * summary. Non-JSON lines and events that do not match the Schema (unknown
 * kinds, future fields changing shape) are skipped, never fatal.
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Chunk, Effect, Option, Schema, Stream } from "effect"

/** Lines longer than this are dropped (an agent dumping a huge blob on one line must not blow memory). */
export const defaultMaxLineBytes = 16 * 1024 * 1024

interface SplitState {
  readonly parts: ReadonlyArray<Uint8Array>
  readonly length: number
  /** Inside a line that has already exceeded the limit: drop bytes until the next newline. */
  readonly overflow: boolean
}

const NEWLINE = 0x0a
const NEWLINE_BYTES = new Uint8Array([NEWLINE])
/** Marks the end of the byte stream (compared by identity). */
const END = new Uint8Array(0)
const decoder = new TextDecoder("utf-8")

const concatParts = (parts: ReadonlyArray<Uint8Array>, length: number): Uint8Array => {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

const splitChunk = (state: SplitState, bytes: Uint8Array, maxLineBytes: number): readonly [SplitState, Array<string>] => {
  const lines: Array<string> = []
  let parts = state.parts as Array<Uint8Array>
  let length = state.length
  let overflow = state.overflow
  let start = 0
  while (start <= bytes.length) {
    const newline = bytes.indexOf(NEWLINE, start)
    const end = newline === -1 ? bytes.length : newline
    if (!overflow) {
      if (length + (end - start) > maxLineBytes) {
        overflow = true
        parts = []
        length = 0
      } else if (end > start) {
        parts = parts === state.parts ? [...parts] : parts
        // Copied: the stream may reuse its buffers.
        parts.push(bytes.slice(start, end))
        length += end - start
      }
    }
    if (newline === -1) break
    // Complete line: a newline byte never occurs inside a multi-byte UTF-8 sequence.
    if (!overflow) {
      let line = decoder.decode(concatParts(parts, length))
      if (line.endsWith("\r")) line = line.slice(0, -1)
      lines.push(line)
    }
    parts = []
    length = 0
    overflow = false
    start = newline + 1
  }
  return [{ parts, length, overflow }, lines]
}

/** Splits a byte stream into lines (`\n` or `\r\n`), keeping at most one line in memory. */
export const splitLines =
  (maxLineBytes: number = defaultMaxLineBytes) =>
  <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<string, E, R> =>
    bytes.pipe(
      // The end marker flushes a last line that has no newline.
      Stream.concat(Stream.succeed(END)),
      Stream.mapAccum({ parts: [], length: 0, overflow: false } as SplitState, (state, chunk) =>
        chunk === END
          ? ([state, state.length > 0 && !state.overflow ? splitChunk(state, NEWLINE_BYTES, maxLineBytes)[1] : []] as const)
          : splitChunk(state, chunk, maxLineBytes)
      ),
      Stream.mapConcatChunk((lines) => Chunk.unsafeFromArray(lines))
    )

/** The lines of a file, read as a stream. */
export const fileLines = (
  path: string,
  maxLineBytes: number = defaultMaxLineBytes
): Stream.Stream<string, PlatformError, FileSystem.FileSystem> =>
  Stream.unwrap(
    Effect.map(FileSystem.FileSystem, (fs) => fs.stream(path, { chunkSize: 64 * 1024 }).pipe(splitLines(maxLineBytes)))
  )

/** Decodes one line as a JSON event of the given Schema; None for anything else. */
export const decodeJsonLine = <A, I>(schema: Schema.Schema<A, I>): ((line: string) => Option.Option<A>) => {
  const decode = Schema.decodeUnknownOption(schema)
  return (line) => {
    const text = line.trim()
    if (!text.startsWith("{")) return Option.none()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return Option.none()
    }
    return decode(json)
  }
}

/** Folds the decodable JSON events of a log file into a summary, in order, with bounded memory. */
export const foldJsonLines = <S, A, I>(
  path: string,
  schema: Schema.Schema<A, I>,
  initial: S,
  step: (state: S, event: A) => S
): Effect.Effect<S, PlatformError, FileSystem.FileSystem> => {
  const decode = decodeJsonLine(schema)
  return fileLines(path).pipe(
    Stream.runFold(initial, (state, line) => {
      const event = decode(line)
      return Option.isSome(event) ? step(state, event.value) : state
    })
  )
}

/** Folds the decodable JSON events of in-memory text (tests, small outputs). */
export const foldJsonText = <S, A, I>(
  text: string,
  schema: Schema.Schema<A, I>,
  initial: S,
  step: (state: S, event: A) => S
): S => {
  const decode = decodeJsonLine(schema)
  let state = initial
  for (const line of text.split("\n")) {
    const event = decode(line)
    if (Option.isSome(event)) state = step(state, event.value)
  }
  return state
}
