import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { parseJson } from "../../src/formats/json.js"
import { renderTemplate } from "../../src/config/render.js"

describe("renderTemplate", () => {
  const cases: ReadonlyArray<[string, string, Record<string, string>, string]> = [
    ["replaces a token", "queue: {{TASKS_ROOT}}/pending", { TASKS_ROOT: "/p/tasks" }, "queue: /p/tasks/pending"],
    ["replaces every occurrence", "{{A}}-{{A}}", { A: "x" }, "x-x"],
    ["leaves unknown tokens", "{{A}} {{UNKNOWN}}", { A: "x" }, "x {{UNKNOWN}}"],
    ["keeps $& literally", "s: {{S}}", { S: "cost $& more" }, "s: cost $& more"],
    ["keeps $1 and $$ literally", "{{S}}", { S: "$1 $$ $` $'" }, "$1 $$ $` $'"],
    ["keeps backslashes literally", "{{S}}", { S: "C:\\tmp\\n \\1" }, "C:\\tmp\\n \\1"],
    ["does not render tokens inside values", "{{A}}", { A: "{{B}}", B: "no" }, "{{B}}"],
    ["handles braces around tokens", "{{{A}}}", { A: "x" }, "{x}"],
    ["leaves an unclosed token", "{{A", { A: "x" }, "{{A"],
    ["ignores names with spaces", "{{ A }}", { A: "x" }, "{{ A }}"],
    ["does not read inherited keys", "{{constructor}}", {}, "{{constructor}}"],
    ["keeps an empty value", "a{{A}}b", { A: "" }, "ab"]
  ]
  for (const [name, text, tokens, expected] of cases) {
    it(name, () => {
      expect(renderTemplate(text, tokens)).toBe(expected)
    })
  }
})

describe("parseJson", () => {
  it("parses JSON and ignores a byte-order mark", () => {
    expect(parseJson('\uFEFF{"a": [1, "x"]}')).toEqual(Either.right({ a: [1, "x"] }))
  })

  const errors: ReadonlyArray<[string, { line: number; column: number }]> = [
    ['{"a": tru}', { line: 1, column: 10 }],
    ['{\n"a": 1\n"b": 2}', { line: 3, column: 1 }],
    ['[1, 2,]', { line: 1, column: 7 }],
    ['{"a": "\\q"}', { line: 1, column: 8 }],
    ['{"a": 01}', { line: 1, column: 8 }],
    ["\r\n\r\n  ]", { line: 3, column: 3 }]
  ]
  for (const [text, at] of errors) {
    it(`locates the error in ${JSON.stringify(text)}`, () => {
      const result = parseJson(text)
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) expect({ line: result.left.line, column: result.left.column }).toEqual(at)
    })
  }
})
