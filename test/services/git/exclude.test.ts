import { describe, expect, it } from "@effect/vitest"
import { excludeAddition } from "../../../src/services/git/exclude.js"

describe("excludeAddition", () => {
  it("adds the pattern on a line of its own, once", () => {
    expect(excludeAddition("", ".oompa/")).toBe(".oompa/\n")
    expect(excludeAddition("# git ls-files --others --exclude-from=.git/info/exclude\n", ".oompa/")).toBe(".oompa/\n")
    expect(excludeAddition("*.log", ".oompa/")).toBe("\n.oompa/\n")
    expect(excludeAddition("*.log\r\n  .oompa/  \r\n", ".oompa/")).toBeUndefined()
    expect(excludeAddition(".oompa/x\n", ".oompa/")).toBe(".oompa/\n")
  })
})
