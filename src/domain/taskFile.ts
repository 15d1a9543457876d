import { Either, ParseResult, Schema } from "effect"
import { formatEdnError, parseEdn } from "./edn.js"
import { Task, TaskId } from "./Task.js"

/**
 * Decoding one task file (SPEC §3): `<id>.json`, or a 0.6-style `<id>.edn`.
 * Pure. The raw object is kept next to the decoded Task so the queue can stamp
 * fields onto the raw object and preserve keys agents added that Task does not know.
 */

export type TaskFileFormat = "json" | "edn"

export interface TaskFileName {
  /** The file name stem, which must equal the task id. */
  readonly stem: string
  readonly format: TaskFileFormat
}

/** `x.json` → {stem: "x", format: "json"}; anything else (temp files, READMEs) → undefined. */
export const parseTaskFileName = (name: string): TaskFileName | undefined => {
  const match = /^(.+)\.(json|edn)$/.exec(name)
  if (match === null) return undefined
  return { stem: match[1]!, format: match[2] === "edn" ? "edn" : "json" }
}

export const isTaskId: (u: unknown) => u is TaskId = Schema.is(TaskId)

export interface DecodedTaskFile {
  readonly raw: Record<string, unknown>
  readonly task: Task
}

const decodeTask = Schema.decodeUnknownEither(Task)

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const parseJson = (text: string): Either.Either<unknown, string> =>
  Either.try({
    try: () => JSON.parse(text) as unknown,
    catch: (error) => `not valid JSON: ${error instanceof Error ? error.message : String(error)}`
  })

/** Parses the text of a task file into its raw object (no Task checks yet). */
export const parseTaskText = (format: TaskFileFormat, text: string): Either.Either<Record<string, unknown>, string> => {
  const parsed: Either.Either<unknown, string> =
    format === "json" ? parseJson(text) : Either.mapLeft(parseEdn(text), formatEdnError)
  return Either.flatMap(parsed, (value) =>
    isPlainObject(value)
      ? Either.right(value)
      : Either.left(`expected a ${format === "json" ? "JSON object" : "EDN map"} at the top level`)
  )
}

/**
 * Decodes a task file's text. Fails with a one-paragraph reason (written beside
 * the file when it is moved to `invalid/`): bad syntax, bad or missing id, a
 * field of the wrong type, or an id that is not the file name stem.
 */
export const decodeTaskFile = (fileName: string, text: string): Either.Either<DecodedTaskFile, string> => {
  const name = parseTaskFileName(fileName)
  if (name === undefined) return Either.left(`${fileName}: task files are named <id>.json (or <id>.edn)`)
  return Either.flatMap(parseTaskText(name.format, text), (raw) =>
    Either.flatMap(
      Either.mapLeft(decodeTask(raw), (error) => `not a valid task: ${ParseResult.TreeFormatter.formatErrorSync(error)}`),
      (task): Either.Either<DecodedTaskFile, string> =>
        task.id === name.stem
          ? Either.right({ raw, task })
          : Either.left(`the task id ${JSON.stringify(task.id)} does not match the file name ${JSON.stringify(fileName)} (expected id ${JSON.stringify(name.stem)})`)
    )
  )
}

/** The text the queue writes for a (stamped) raw task object. */
export const renderTaskJson = (raw: Record<string, unknown>): string => `${JSON.stringify(raw, null, 2)}\n`
