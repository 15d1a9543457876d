import { describe, expect, it } from "@effect/vitest"
import { parseSignals } from "../../src/domain/Signal.js"
import { parseVerdict } from "../../src/domain/Verdict.js"

describe("parseSignals", () => {
  it("ignores a signal mentioned inside a sentence", () => {
    expect(parseSignals("I will print COMPLETE_AND_READY_FOR_MERGE when done").merge).toBe(false)
    expect(parseSignals("Not __DONE__ yet").done).toBe(false)
    expect(parseSignals("I could CLAIM(task-1) later").claims).toEqual([])
  })

  it("counts a signal on its own line, decorated or not", () => {
    expect(parseSignals("All done.\n**COMPLETE_AND_READY_FOR_MERGE**").merge).toBe(true)
    expect(parseSignals("ok\n  `COMPLETE_AND_READY_FOR_MERGE`  \n").merge).toBe(true)
    expect(parseSignals("__DONE__").done).toBe(true)
    expect(parseSignals("need more\nNEEDS_FOLLOWUP").followup).toBe(true)
  })

  it("reads claims from whole CLAIM lines, de-duplicated and in order", () => {
    expect(parseSignals("CLAIM(a, b)\n`CLAIM(c,a)`").claims).toEqual(["a", "b", "c"])
    expect(parseSignals("CLAIM()").claims).toEqual([])
  })

  it("keeps hostile ids as text for the queue to refuse", () => {
    expect(parseSignals("CLAIM(../../etc/passwd)").claims).toEqual(["../../etc/passwd"])
  })
})

describe("parseVerdict", () => {
  it("takes the last VERDICT line", () => {
    expect(parseVerdict("VERDICT: NEEDS_CHANGES\nfixed?\nVERDICT: APPROVED")).toBe("APPROVED")
    expect(parseVerdict("VERDICT: APPROVED\nactually no\nVERDICT: REJECTED")).toBe("REJECTED")
  })

  it("never approves on bare words", () => {
    expect(parseVerdict("NOT APPROVED")).toBeUndefined()
    expect(parseVerdict("APPROVED")).toBeUndefined()
    expect(parseVerdict("VERDICT: NOT APPROVED")).toBeUndefined()
    expect(parseVerdict("The verdict: APPROVED in spirit")).toBeUndefined()
    expect(parseVerdict("")).toBeUndefined()
  })

  it("accepts decoration around the verdict line", () => {
    expect(parseVerdict("**VERDICT: NEEDS_CHANGES**")).toBe("NEEDS_CHANGES")
  })
})
