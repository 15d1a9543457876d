import { Either, ParseResult } from "effect"
import { parseModelString } from "../domain/Model.js"
import {
  aboveBound,
  budgetKeys,
  describeBound,
  expectedByKey,
  expectedModel,
  notifyKeys,
  numberBounds,
  plannerKeys,
  priceKeys,
  reviewerKeys,
  reviewerObjectKeys,
  topLevelKeys,
  workerKeys,
  worktreeKeys
} from "./OompaJson.js"

/**
 * Turns Schema decode issues of oompa.json into the messages users read:
 * `workers[1].model: expected "harness:model[:reasoning]" …, got "opus"`,
 * `workers[0].max_cycels: unknown key (did you mean "max_cycle"?)`.
 * Messages are computed from the JSON path and the offending value, so a
 * union's internal alternatives never leak into them.
 */

export type JsonPath = ReadonlyArray<PropertyKey>

/** `["workers", 1, "model"]` → `workers[1].model`; `[]` → `""`. */
export const formatJsonPath = (path: JsonPath): string => {
  let out = ""
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`
    else out += out.length === 0 ? String(segment) : `.${String(segment)}`
  }
  return out
}

export interface ConfigIssue {
  readonly path: string
  readonly message: string
}

const isReviewerKey = (key: string | undefined): boolean =>
  key !== undefined && (reviewerKeys as ReadonlyArray<string>).includes(key)

const lastKey = (path: JsonPath): string | undefined => {
  for (let i = path.length - 1; i >= 0; i--) {
    const segment = path[i]
    if (typeof segment === "string") return segment
  }
  return undefined
}

/** The keys allowed in the object found at `path`. */
export const allowedKeysAt = (path: JsonPath): ReadonlyArray<string> => {
  const key = lastKey(path)
  if (key === undefined) return topLevelKeys
  if (key === "workers") return workerKeys
  if (key === "planner") return plannerKeys
  if (key === "notify") return notifyKeys
  if (key === "worktree") return worktreeKeys
  if (isReviewerKey(key)) return reviewerObjectKeys
  if (key === "budget" || key === "task_budget") return budgetKeys
  if (path[path.length - 2] === "prices") return priceKeys
  return []
}

const valueAt = (input: unknown, path: JsonPath): unknown => {
  let current = input
  for (const segment of path) {
    if (typeof current !== "object" || current === null) return undefined
    current = (current as Record<PropertyKey, unknown>)[segment]
  }
  return current
}

const show = (value: unknown): string => {
  // 1e400 parses as Infinity, which JSON.stringify would show as null.
  const text = typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value))
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

const levenshtein = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/** The allowed key closest to `key`, if it is close enough to be a likely typo. */
export const didYouMean = (key: string, allowed: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of allowed) {
    const distance = levenshtein(key.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined
}

/** Where a key that is valid somewhere else belongs, for misplaced keys. */
const keyHomes: ReadonlyArray<{ readonly keys: ReadonlyArray<string>; readonly where: string }> = [
  { keys: topLevelKeys, where: "at the top level of oompa.json" },
  { keys: workerKeys, where: 'inside each entry of "workers"' },
  { keys: plannerKeys, where: 'inside "planner"' },
  { keys: notifyKeys, where: 'inside "notify"' }
]

/** Objects whose values are all one bounded number (`max_concurrent: {"claude": 4}`): a value's bound is its parent's. */
const recordsOfCounts: ReadonlyArray<string> = ["max_concurrent"]

/** The key whose bound and wording apply at `path`: its own, or for a value of a record of counts the record's. */
const valueKeyOf = (path: JsonPath): string | undefined => {
  const parent = path[path.length - 2]
  return typeof parent === "string" && recordsOfCounts.includes(parent) ? parent : lastKey(path)
}

/** What the value at `path` should be, in words. */
const expectedAt = (path: JsonPath, harnesses: ReadonlyArray<string>): string => {
  if (path.length === 0) return 'a JSON object such as {"workers": [{"model": "claude:opus"}]}'
  const last = path[path.length - 1]
  const key = valueKeyOf(path)
  if (key !== lastKey(path) && key !== undefined) return describeBound(numberBounds[key as keyof typeof numberBounds])
  if (typeof last === "number") {
    if (key === "workers") return 'a worker object such as {"model": "claude:opus"}'
    if (key === "copy") return "a path relative to the project root (a non-empty string)"
    if (key === "setup") return "a shell command (a non-empty string)"
    if (key === "prompt") return "a prompt file path (a string)"
    if (isReviewerKey(key)) return 'a model string or {"model", "prompt"}'
  }
  // A value of worktree.env: whatever its variable's name, a string.
  if (path[path.length - 2] === "env") return "a string (the variable's value)"
  if (key === "model") return expectedModel(harnesses)
  return (key !== undefined ? expectedByKey[key] : undefined) ?? "a valid value"
}

const isModelPosition = (path: JsonPath): boolean => {
  const last = path[path.length - 1]
  const key = lastKey(path)
  return key === "model" || (isReviewerKey(key) && (last === key || typeof last === "number"))
}

const messageFor = (issue: ParseResult.ArrayFormatterIssue, input: unknown, harnesses: ReadonlyArray<string>): string => {
  const path = issue.path
  switch (issue._tag) {
    case "Unexpected": {
      const key = String(path[path.length - 1])
      const allowed = allowedKeysAt(path.slice(0, -1))
      const guess = didYouMean(key, allowed)
      if (guess !== undefined) return `unknown key (did you mean "${guess}"?)`
      const elsewhere = keyHomes.find((home) => home.keys.includes(key))
      return elsewhere !== undefined
        ? `unknown key here: "${key}" belongs ${elsewhere.where}`
        : `unknown key (allowed here: ${allowed.join(", ")})`
    }
    case "Missing":
      return `required key is missing: expected ${expectedAt(path, harnesses)}`
    default: {
      const actual = valueAt(input, path)
      const key = lastKey(path)
      if (isModelPosition(path) && typeof actual === "string") {
        const parsed = parseModelString(actual, harnesses)
        if (Either.isLeft(parsed)) return parsed.left
      }
      const boundKey = valueKeyOf(path) ?? key
      const bound = boundKey !== undefined && Object.hasOwn(numberBounds, boundKey) ? numberBounds[boundKey as keyof typeof numberBounds] : undefined
      if (bound !== undefined && typeof actual === "number" && actual > bound.max) return aboveBound(bound, actual)
      return `expected ${expectedAt(path, harnesses)}, got ${show(actual)}`
    }
  }
}

const isPrefix = (prefix: JsonPath, path: JsonPath): boolean =>
  prefix.length < path.length && prefix.every((segment, i) => segment === path[i])

/**
 * Every model string of an oompa.json that decoded as far as its shape
 * (workers and their reviewers, the global reviewers, the planner), with its path.
 */
const modelStringsOf = (input: unknown): ReadonlyArray<{ readonly path: JsonPath; readonly text: string }> => {
  const out: Array<{ path: JsonPath; text: string }> = []
  const add = (path: JsonPath, value: unknown) => {
    if (typeof value === "string") out.push({ path, text: value })
  }
  const reviewersOf = (owner: unknown, prefix: JsonPath) => {
    for (const key of reviewerKeys) {
      const value = valueAt(owner, [key])
      const entries: ReadonlyArray<[JsonPath, unknown]> = Array.isArray(value)
        ? value.map((entry, i): [JsonPath, unknown] => [[...prefix, key, i], entry])
        : value === undefined ? [] : [[[...prefix, key], value]]
      for (const [at, entry] of entries) add(typeof entry === "string" ? at : [...at, "model"], typeof entry === "string" ? entry : valueAt(entry, ["model"]))
    }
  }
  const workers = valueAt(input, ["workers"])
  if (Array.isArray(workers)) {
    workers.forEach((worker, i) => {
      add(["workers", i, "model"], valueAt(worker, ["model"]))
      reviewersOf(worker, ["workers", i])
    })
  }
  reviewersOf(input, [])
  add(["planner", "model"], valueAt(input, ["planner", "model"]))
  return out
}

/**
 * Where `a` stands against `b` in the file: keys in the order written (JSON
 * objects keep it), list entries by index; a key the file lacks (a missing
 * required key) after those it has.
 */
const compareInDocument = (input: unknown, a: JsonPath, b: JsonPath): number => {
  let current = input
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [x, y] = [a[i]!, b[i]!]
    if (x !== y) {
      if (typeof x === "number" && typeof y === "number") return x - y
      const keys = typeof current === "object" && current !== null ? Object.keys(current) : []
      const rank = (key: PropertyKey) => (typeof key === "string" && keys.includes(key) ? keys.indexOf(key) : keys.length)
      return rank(x) - rank(y)
    }
    current = valueAt(current, [x])
  }
  return a.length - b.length
}

/**
 * One issue per JSON path, in document order, most specific first: when a
 * union reports both "not a string" at `reviewer` and "unknown key" at
 * `reviewer.foo`, only the latter is kept. Model strings of a good shape whose
 * harness is not one of `harnesses` are issues too, in their place in the file.
 */
export const configIssues = (
  error: ParseResult.ParseError | undefined,
  input: unknown,
  harnesses: ReadonlyArray<string>
): ReadonlyArray<ConfigIssue> => {
  const raw = error === undefined ? [] : ParseResult.ArrayFormatter.formatErrorSync(error)
  const kept = raw.filter((issue) => !raw.some((other) => isPrefix(issue.path, other.path)))
  const issues: Array<{ readonly path: JsonPath; readonly message: string }> = kept.map((issue) => ({
    path: issue.path,
    message: messageFor(issue, input, harnesses)
  }))
  for (const model of modelStringsOf(input)) {
    const parsed = parseModelString(model.text, harnesses)
    if (Either.isRight(parsed) || issues.some((issue) => formatJsonPath(issue.path) === formatJsonPath(model.path))) continue
    // Before the first decode issue that comes after it in the file, so the first issue stays the first in the file.
    const at = issues.findIndex((issue) => compareInDocument(input, model.path, issue.path) < 0)
    issues.splice(at === -1 ? issues.length : at, 0, { path: model.path, message: parsed.left })
  }
  const seen = new Set<string>()
  const out: Array<ConfigIssue> = []
  for (const issue of issues) {
    const path = formatJsonPath(issue.path)
    if (seen.has(path)) continue
    seen.add(path)
    out.push({ path, message: issue.message })
  }
  return out
}
