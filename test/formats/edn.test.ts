import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { parseEdn } from "../../src/formats/edn.js"
import { decodeTaskFile } from "../../src/domain/taskFile.js"

const ok = (text: string) => {
  const result = parseEdn(text)
  if (Either.isLeft(result)) throw new Error(`expected success, got ${JSON.stringify(result.left)}`)
  return result.right
}
const err = (text: string) => {
  const result = parseEdn(text)
  if (Either.isRight(result)) throw new Error(`expected a syntax error, got ${JSON.stringify(result.right)}`)
  return result.left
}

describe("parseEdn", () => {
  it("reads a 0.6 task map: keywords, strings, vectors, numbers, comments", () => {
    const value = ok(`
      ;; a task written by oompa 0.6
      {:id "task-1"
       :summary "Add \\"quotes\\" and a tab\\there"
       :depends-on ["task-0"] ; trailing comment
       :difficulty :medium
       :files ("src/a.ts", "src/b.ts")
       :estimate 3, :ratio 1/2, :weight -1.5e1, :big 12N, :exact 1.25M
       :done false :ok true :owner nil}`)
    expect(value).toEqual({
      id: "task-1",
      summary: 'Add "quotes" and a tab\there',
      depends_on: ["task-0"],
      difficulty: "medium",
      files: ["src/a.ts", "src/b.ts"],
      estimate: 3,
      ratio: 0.5,
      weight: -15,
      big: 12,
      exact: 1.25,
      done: false,
      ok: true,
      owner: null
    })
  })

  it("reads escapes, characters, sets, tagged literals, discards and string keys", () => {
    expect(ok(`"line\\nnext \\u00e9 \\\\ \\r"`)).toBe("line\nnext é \\ \r")
    expect(ok(`[\\a \\newline \\space \\u0041 \\(]`)).toEqual(["a", "\n", " ", "A", "("])
    expect(ok(`#{1 2}`)).toEqual([1, 2])
    expect(ok(`#inst "2024-01-02T00:00:00Z"`)).toBe("2024-01-02T00:00:00Z")
    expect(ok(`[1 #_ 2 3 #_[4 5]]`)).toEqual([1, 3])
    expect(ok(`{"a-b" 1 #_ :x :c-d 2}`)).toEqual({ "a-b": 1, c_d: 2 })
    expect(ok(`{:nested {:deep [{:k sym/name}]}}`)).toEqual({ nested: { deep: [{ k: "sym/name" }] } })
    expect(ok(`  ;; only a comment before\n nil ; and after`)).toBeNull()
    expect(ok(`{:__proto__ 1}`)).toEqual(JSON.parse(`{"__proto__": 1}`))
  })

  it("reports syntax errors with line and column", () => {
    expect(err(`{:id "x"`)).toMatchObject({ message: "missing }", line: 1, column: 1 })
    expect(err(`{:id "x"\n :summary}`)).toMatchObject({ message: "a map needs an even number of forms", line: 2, column: 2 })
    expect(err(`"abc`).message).toBe("unterminated string")
    expect(err(`"\\q"`).message).toContain("unknown string escape")
    expect(err(`[1 2] 3`).message).toContain("unexpected text")
    expect(err(`[1 2)`).message).toContain("unmatched )")
    expect(err(`)`).message).toContain("unmatched")
    expect(err(``).message).toContain("empty input")
    expect(err(`{:a 1 :a 2}`).message).toContain("duplicate map key")
    expect(err(`[1x]`).message).toContain("bad number")
    expect(err(`#_`).message).toContain("nothing to discard")
  })
})

describe("decodeTaskFile", () => {
  it("decodes an .edn task like a .json one", () => {
    const result = decodeTaskFile("t-1.edn", `{:id "t-1" :summary "s" :depends-on ["t-0"] :agent-note "kept"}`)
    expect(Either.getOrThrow(result).task).toEqual({ id: "t-1", summary: "s", depends_on: ["t-0"] })
    expect(Either.getOrThrow(result).raw).toMatchObject({ agent_note: "kept" })
  })

  it("gives a reason for each kind of bad file", () => {
    const reason = (name: string, text: string) => Either.getLeft(decodeTaskFile(name, text)).pipe((o) => o._tag === "Some" ? o.value : "")
    expect(reason("a.json", "{oops")).toContain("not valid JSON")
    expect(reason("a.json", "[1]")).toContain("JSON object")
    expect(reason("a.json", `{"summary": "no id"}`)).toContain("id")
    expect(reason("a.json", `{"id": "../x"}`)).toContain(`id: must match [A-Za-z0-9._-]+ and equal the file name, got "../x"`)
    expect(reason("a.json", `{"id": "b"}`)).toContain("does not match the file name")
    expect(reason("a.json", `{"id": "a", "files": "not-a-list"}`)).toContain("files")
    expect(reason("a.edn", `{:id "a"`)).toContain("EDN syntax error at line 1")
    expect(reason("a.txt", `{}`)).toContain("<id>.json")
    expect(Either.isRight(decodeTaskFile("a.json", `{"id": "a", "extra": {"x": 1}}`))).toBe(true)
  })
})
