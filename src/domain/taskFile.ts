import { Either, ParseResult, Schema } from "effect"
import { parseJson as parseJsonText } from "../formats/json.js"
import { formatEdnError, parseEdn } from "../formats/edn.js"
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

/**
 * `x.json` → {stem: "x", format: "json"}; anything else (temp files, READMEs) → undefined.
 * Any name ending in `.json` or `.edn` is a task file, even one whose stem is not a task id
 * (`a\nb.json`, `my task.json`): decodeTaskFile refuses those, so they are quarantined
 * with a reason instead of being ignored for ever.
 */
export const parseTaskFileName = (name: string): TaskFileName | undefined => {
  const match = /^([\s\S]+)\.(json|edn)$/.exec(name)
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

/** JSON with the line and column of a syntax error, refused past MAX_JSON_DEPTH levels. */
const parseJson = (text: string): Either.Either<unknown, string> =>
  Either.mapLeft(parseJsonText(text), (error) =>
    error.kind === "depth"
      ? `${error.message} (line ${error.line}, column ${error.column}); a task file needs 3 at most`
      : `not valid JSON at line ${error.line}, column ${error.column}: ${error.message}`
  )

/** Parses the text of a task file into its raw object (no Task checks yet). */
export const parseTaskText = (format: TaskFileFormat, text: string): Either.Either<Record<string, unknown>, string> => {
  const parsed: Either.Either<unknown, string> =
    format === "json" ? parseJson(text) : Either.mapLeft(parseEdn(text), formatEdnError)
  return Either.flatMap(parsed, (value) =>
    isPlainObject(value)
      ? Either.right(value)
      : Either.left(
          `expected a ${format === "json" ? 'JSON object such as {"id": "…", "summary": "…"}' : 'EDN map such as {:id "…"}'} ` +
            `at the top level, got ${Array.isArray(value) ? "a list" : value === null ? "null" : `a ${typeof value}`}`
        )
  )
}

/** The longest reason written for one task file (a field's value is cut long before). */
const MAX_REASON = 600

/** Characters a reader would not see, shown escaped in reasons. */
const hasControl = (text: string): boolean => /[\u0000-\u001f\u007f]/.test(text)

const show = (value: unknown): string => {
  const text = value === undefined ? "nothing" : (JSON.stringify(value) ?? String(value))
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

const ID_RULE = "must match [A-Za-z0-9._-]+ and equal the file name"

/** What each Task key holds, in words. */
const expectedByKey: Readonly<Record<string, string>> = {
  summary: "a string",
  description: "a string",
  difficulty: "a string or a number",
  files: "a list of strings (file paths)",
  acceptance: "a string or a list of strings",
  depends_on: "a list of task ids",
  claimed_by: "a string (stamped by oompa)",
  claimed_at: "a string (stamped by oompa)",
  completed_by: "a string (stamped by oompa)",
  completed_at: "a string (stamped by oompa)",
  merged_commit: "a string (stamped by oompa)",
  review_rounds: "a number (stamped by oompa)",
  attempts: "a list of attempts (stamped by oompa)",
  budget: 'an object {"max_cost_usd", "max_tokens", "max_runtime"} of positive numbers',
  budget_reached: "an object (stamped by oompa)"
}

const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const segment of path) out += typeof segment === "number" ? `[${segment}]` : out.length === 0 ? String(segment) : `.${String(segment)}`
  return out
}

const valueAt = (input: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
  let current = input
  for (const segment of path) {
    if (typeof current !== "object" || current === null) return undefined
    current = (current as Record<PropertyKey, unknown>)[segment]
  }
  return current
}

/**
 * Schema's issues for a task as a person would write them, one per field:
 * `id: must match [A-Za-z0-9._-]+ and equal the file name, got "../evil"`,
 * `files: expected a list of strings (file paths), got "a.ts"`.
 */
const taskIssues = (error: ParseResult.ParseError, raw: Record<string, unknown>, stem: string): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const seen = new Set<string>()
  const out: Array<string> = []
  for (const issue of issues) {
    const top = issue.path[0]
    const key = typeof top === "string" ? top : ""
    if (seen.has(key)) continue
    seen.add(key)
    const actual = valueAt(raw, issue.path)
    if (key === "id") {
      out.push(
        issue._tag === "Missing"
          ? `id: missing; add "id": ${JSON.stringify(isTaskIdText(stem) ? stem : "<id>")} (the file name without its extension)`
          : `id: ${ID_RULE}, got ${show(actual)}`
      )
      continue
    }
    const expected = expectedByKey[key]
    const where = key === "attempts" ? formatPath(issue.path) : key
    out.push(`${where || "task"}: expected ${expected ?? "a valid value"}, got ${show(issue.path.length > 1 && key !== "attempts" ? valueAt(raw, [key]) : actual)}`)
  }
  return out.join("; ")
}

const isTaskIdText = (text: string): boolean => /^[A-Za-z0-9._-]+$/.test(text) && text !== "." && text !== ".."

const cap = (text: string): string => (text.length <= MAX_REASON ? text : `${text.slice(0, MAX_REASON - 1)}…`)

/**
 * Decodes a task file's text. Fails with a one-line reason in plain words
 * (written beside the file when it is moved to `invalid/`, and in the
 * `task-invalid` event): bad syntax with its line and column, too deep,
 * not an object, a bad or missing id, a field of the wrong type, an id that
 * is not the file name stem, or a file name that cannot be a task's.
 */
export const decodeTaskFile = (fileName: string, text: string): Either.Either<DecodedTaskFile, string> =>
  Either.mapLeft(decodeTaskFileRaw(fileName, text), cap)

const decodeTaskFileRaw = (fileName: string, text: string): Either.Either<DecodedTaskFile, string> => {
  const name = parseTaskFileName(fileName)
  if (name === undefined) return Either.left(`${JSON.stringify(fileName)}: task files are named <id>.json (or <id>.edn)`)
  if (!isTaskIdText(name.stem)) {
    return Either.left(
      `file name: ${JSON.stringify(fileName)} is not <id>.${name.format}: an id is letters, digits, ".", "_" and "-" only` +
        (hasControl(fileName) ? " (this name holds a newline or another control character)" : "") +
        `; rename the file`
    )
  }
  return Either.flatMap(parseTaskText(name.format, text), (raw) =>
    Either.flatMap(
      Either.mapLeft(decodeTask(raw, { errors: "all" }), (error) => taskIssues(error, raw, name.stem)),
      (task): Either.Either<DecodedTaskFile, string> =>
        task.id === name.stem
          ? Either.right({ raw, task })
          : Either.left(
              `id: ${ID_RULE}, got ${show(task.id)} in ${JSON.stringify(fileName)} (the task id does not match the file name): ` +
                `set "id" to ${JSON.stringify(name.stem)} or rename the file to ${task.id}.${name.format}`
            )
    )
  )
}

/** The text the queue writes for a (stamped) raw task object. */
export const renderTaskJson = (raw: Record<string, unknown>): string => `${JSON.stringify(raw, null, 2)}\n`
