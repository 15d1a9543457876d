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

const NEWLINE = 0x0a
const CARRIAGE_RETURN = 0x0d
const OPEN_BRACE = 0x7b
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

interface LineSplitter {
  /** Feeds the next bytes; `onLine` is called for each line they complete. */
  readonly push: (bytes: Uint8Array) => void
  /** The input ended: a last line without a newline is passed on too. */
  readonly end: () => void
}

/**
 * Splits bytes into lines (`\n` or `\r\n`, without them), holding at most the one
 * line not yet complete. `onLine` gets a view of the bytes, valid only during the
 * call (the caller may reuse its buffer): a line within one chunk is passed
 * without a copy; only the start of a line cut by a chunk's end is copied.
 * A line longer than `maxLineBytes` is dropped whole.
 */
const lineSplitter = (maxLineBytes: number, onLine: (line: Uint8Array) => void): LineSplitter => {
  let parts: Array<Uint8Array> = []
  let length = 0
  /** Inside a line that has already exceeded the limit: drop bytes until the next newline. */
  let overflow = false
  const emit = (line: Uint8Array) =>
    onLine(line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN ? line.subarray(0, line.length - 1) : line)
  return {
    push: (bytes) => {
      let start = 0
      while (start <= bytes.length) {
        const newline = bytes.indexOf(NEWLINE, start)
        const end = newline === -1 ? bytes.length : newline
        if (!overflow) {
          if (length + (end - start) > maxLineBytes) {
            overflow = true
            parts = []
            length = 0
          } else if (newline === -1) {
            // Copied: the caller may reuse its buffer.
            if (end > start) parts.push(bytes.slice(start, end))
            length += end - start
          } else {
            // Complete line: a newline byte never occurs inside a multi-byte UTF-8 sequence.
            emit(length === 0 ? bytes.subarray(start, end) : concatParts([...parts, bytes.subarray(start, end)], length + end - start))
          }
        }
        if (newline === -1) break
        parts = []
        length = 0
        overflow = false
        start = newline + 1
      }
    },
    end: () => {
      if (length > 0 && !overflow) emit(concatParts(parts, length))
      parts = []
      length = 0
      overflow = false
    }
  }
}

/** Splits a byte stream into lines (`\n` or `\r\n`), keeping at most one line in memory. */
export const splitLines =
  (maxLineBytes: number = defaultMaxLineBytes) =>
  <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<string, E, R> =>
    Stream.suspend(() => {
      // One splitter per run of the stream; each chunk's lines are handed on as they complete.
      let lines: Array<string> = []
      const splitter = lineSplitter(maxLineBytes, (line) => lines.push(decoder.decode(line)))
      return bytes.pipe(
        // The end marker flushes a last line that has no newline.
        Stream.concat(Stream.succeed(END)),
        Stream.mapConcatChunk((chunk) => {
          if (chunk === END) splitter.end()
          else splitter.push(chunk)
          const complete = lines
          lines = []
          return Chunk.unsafeFromArray(complete)
        })
      )
    })

/** The lines of a file, read as a stream. */
export const fileLines = (
  path: string,
  maxLineBytes: number = defaultMaxLineBytes
): Stream.Stream<string, PlatformError, FileSystem.FileSystem> =>
  Stream.unwrap(
    Effect.map(FileSystem.FileSystem, (fs) => fs.stream(path, { chunkSize: 64 * 1024 }).pipe(splitLines(maxLineBytes)))
  )

/** What a log is read in: one buffer per reader, reused for every read. */
const READ_BUFFER_BYTES = 64 * 1024

/**
 * Calls `step` with each line of a file, as bytes (a view valid only during the call),
 * reading the file into one reused buffer: a reader holds that buffer and at most one
 * line, however big the file, and allocates nothing per chunk. (The platform's
 * `FileSystem.stream` reads 16 chunks ahead, each a new 64 KiB buffer: 16 agents'
 * 200 MB logs decoded at once cost oompa ~100 MiB of peak RSS that way.)
 */
const foldFileLines = <S>(
  path: string,
  maxLineBytes: number,
  initial: S,
  step: (state: S, line: Uint8Array) => S
): Effect.Effect<S, PlatformError, FileSystem.FileSystem> =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const file = yield* fs.open(path, { flag: "r" })
      const buffer = new Uint8Array(READ_BUFFER_BYTES)
      let state = initial
      const splitter = lineSplitter(maxLineBytes, (line) => {
        state = step(state, line)
      })
      for (;;) {
        const read = Number(yield* file.read(buffer))
        if (read === 0) break
        splitter.push(buffer.subarray(0, read))
      }
      splitter.end()
      return state
    })
  )

/**
 * Whether a line can hold a JSON object, from its bytes: its first byte that is not
 * ASCII white space is `{`, or not ASCII (white space `trim` removes, such as a BOM,
 * may come first). Agents print far more lines than events (tool output, 200 MB of
 * noise): the others are never decoded to strings.
 */
const mayBeJsonObject = (line: Uint8Array): boolean => {
  for (const byte of line) {
    if (byte === 0x20 || (byte >= 0x09 && byte <= 0x0d)) continue
    return byte === OPEN_BRACE || byte >= 0x80
  }
  return false
}

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
  return foldFileLines(path, defaultMaxLineBytes, initial, (state, line) => {
    if (!mayBeJsonObject(line)) return state
    const event = decode(decoder.decode(line))
    return Option.isSome(event) ? step(state, event.value) : state
  })
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
