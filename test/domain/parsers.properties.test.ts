import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { formatModel, parseModelString, Reasoning, type ModelSpec } from "../../src/domain/Model.js"
import {
  bareLine,
  DONE_SIGNAL,
  FOLLOWUP_SIGNAL,
  MERGE_SIGNAL,
  parseSignals,
  signalNames,
  type Signals
} from "../../src/domain/Signal.js"
import { parseVerdict, Verdict } from "../../src/domain/Verdict.js"

/**
 * Properties of the parsers that read what agents and users write (SPEC §2,
 * §4, §6): they never throw, and they find exactly what the rules say wherever
 * it is placed in the surrounding text.
 */

const anyText = fc.oneof(fc.string(), fc.fullUnicodeString(), fc.lorem({ mode: "sentences" }))
const signalWords = [MERGE_SIGNAL, DONE_SIGNAL, FOLLOWUP_SIGNAL]
/** A line of prose that is not itself a signal, a claim or a verdict line. */
const proseLine = fc
  .oneof(fc.string(), fc.lorem({ maxCount: 8 }), fc.constantFrom("", "   ", "**", "`", "Done.", "CLAIM", "VERDICT:"))
  .map((s) => s.replace(/\r|\n/g, " "))
  .filter((s) => {
    const bare = bareLine(s)
    return !signalWords.includes(bare) && !bare.startsWith("CLAIM(") && !bare.startsWith("VERDICT:")
  })
const prose = fc.array(proseLine, { maxLength: 6 })
/** How agents decorate a signal line: whitespace, backticks, bold. */
const decoration = fc.tuple(fc.constantFrom("", " ", "\t", "  "), fc.constantFrom<readonly [string, string]>(["", ""], ["**", "**"], ["`", "`"], ["```", "```"], ["**`", "`**"]))
const decorate = (line: string, [space, [open, close]]: readonly [string, readonly [string, string]]) => `${space}${open}${line}${close}${space}`
const newline = fc.constantFrom("\n", "\r\n")
const taskId = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,11}$/)

describe("parseSignals (properties)", () => {
  it.prop("never throws, and its claims are non-empty and distinct", [anyText], ([text]) => {
    const signals = parseSignals(text)
    expect(signals.claims.every((id) => id.length > 0)).toBe(true)
    expect(new Set(signals.claims).size).toBe(signals.claims.length)
  })

  it.prop("finds a signal line wherever it stands among prose, however it is decorated", [
    prose, fc.constantFrom(...signalWords), decoration, prose, newline
  ], ([before, signal, deco, after, nl]) => {
    const signals = parseSignals([...before, decorate(signal, deco), ...after].join(nl))
    expect({ merge: signals.merge, done: signals.done, followup: signals.followup, claims: signals.claims }).toEqual({
      merge: signal === MERGE_SIGNAL,
      done: signal === DONE_SIGNAL,
      followup: signal === FOLLOWUP_SIGNAL,
      claims: []
    })
  })

  it.prop("prose alone has no signal", [prose, newline], ([lines, nl]) => {
    expect(parseSignals(lines.join(nl))).toEqual({ merge: false, done: false, claims: [], followup: false })
  })

  it.prop("a signal inside a sentence does nothing", [
    fc.constantFrom(...signalWords), fc.lorem({ maxCount: 3 }), fc.constantFrom(" ", ": ", " — ")
  ], ([signal, words, sep]) => {
    const signals = parseSignals(`${words}${sep}${signal}\n${signal}${sep}${words} then`)
    expect(signals).toEqual({ merge: false, done: false, claims: [], followup: false })
  })

  it.prop("signalNames read back: parseSignals(lines of signalNames(s)) = s", [
    fc.record({ merge: fc.boolean(), done: fc.boolean(), followup: fc.boolean(), claims: fc.uniqueArray(taskId, { maxLength: 4 }) }),
    prose,
    newline
  ], ([signals, before, nl]) => {
    const text = [...before, ...signalNames(signals as Signals)].join(nl)
    expect(parseSignals(text)).toEqual(signals)
  })

  it.prop("CLAIM(a, b) claims its ids in order, quotes and spaces stripped, duplicates once", [
    fc.array(taskId, { minLength: 1, maxLength: 5 }), fc.constantFrom("", "'", '"', "`"), prose
  ], ([ids, quote, before]) => {
    const line = `CLAIM(${ids.map((id) => ` ${quote}${id}${quote} `).join(",")})`
    expect(parseSignals([...before, line].join("\n")).claims).toEqual([...new Set(ids)])
  })
})

describe("parseVerdict (properties)", () => {
  const verdictLine = fc.tuple(fc.constantFrom(...Verdict.literals), fc.constantFrom("", " ", "  "), decoration)
    .map(([v, gap, deco]) => ({ verdict: v, line: decorate(`VERDICT:${gap}${v}`, deco) }))

  it.prop("never throws; gives one of the verdicts or none", [anyText], ([text]) => {
    const verdict = parseVerdict(text)
    expect(verdict === undefined || Verdict.literals.includes(verdict)).toBe(true)
  })

  it.prop("the last VERDICT line wins, wherever the lines stand", [
    fc.array(fc.tuple(prose, verdictLine), { minLength: 1, maxLength: 4 }), prose, newline
  ], ([chunks, after, nl]) => {
    const text = [...chunks.flatMap(([before, v]) => [...before, v.line]), ...after].join(nl)
    expect(parseVerdict(text)).toBe(chunks[chunks.length - 1]![1].verdict)
  })

  it.prop("prose without a VERDICT line has no verdict, even when it says APPROVED", [
    prose, fc.constantFrom("APPROVED", "NOT APPROVED", "VERDICT: NOT APPROVED", "verdict: approved", "I would say VERDICT: APPROVED")
  ], ([lines, bait]) => {
    expect(parseVerdict([...lines, bait].join("\n"))).toBeUndefined()
  })
})

describe("parseModelString (properties)", () => {
  const harnesses = ["claude", "codex", "gemini", "opencode", "mock"]
  const reasoningWords: ReadonlyArray<string> = Reasoning.literals
  /** Model ids as CLIs name them, `:` included (`openrouter/x:free`), never ending in a reasoning part. */
  const modelId = fc
    .stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,20}$/)
    .filter((id) => !id.endsWith(":") && !reasoningWords.includes(id.slice(id.lastIndexOf(":") + 1)))
  const spec = fc.record(
    { harness: fc.constantFrom(...harnesses), model: modelId, reasoning: fc.constantFrom(...Reasoning.literals) },
    { requiredKeys: ["harness"] }
  ).filter((s) => s.model !== undefined || s.reasoning === undefined) as fc.Arbitrary<ModelSpec>

  it.prop("never throws on any text", [anyText], ([text]) => {
    const parsed = parseModelString(text, harnesses)
    expect(Either.isLeft(parsed) || harnesses.includes(parsed.right.harness)).toBe(true)
  })

  it.prop("formatModel read back: parseModelString(formatModel(m)) = m, surrounding spaces ignored", [
    spec, fc.constantFrom("", " ", "\t")
  ], ([model, pad]) => {
    expect(parseModelString(`${pad}${formatModel(model)}${pad}`, harnesses)).toEqual(Either.right(model))
  })

  it.prop("a harness that is not registered is refused, naming the registered ones", [spec], ([model]) => {
    const others = harnesses.filter((h) => h !== model.harness)
    const parsed = parseModelString(formatModel(model), others)
    expect(Either.isLeft(parsed) && parsed.left.includes(others.join(", "))).toBe(true)
  })
})
