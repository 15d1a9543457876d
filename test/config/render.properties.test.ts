import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { renderTemplate } from "../../src/config/render.js"
import { initialPrompt, resumePrompt, reviewPrompt, tagLine, type PromptContext } from "../../src/engine/prompts.js"

/** Properties of prompt templating (SPEC §2 tokens): literal, one pass, unknown tokens kept. */

const anyText = fc.oneof(fc.string(), fc.fullUnicodeString(), fc.lorem({ mode: "sentences" }))
/** Values as they occur: paths, ids, and text full of replacement-pattern and token look-alikes. */
const value = fc.oneof(anyText, fc.constantFrom("$&", "$1", "$$", "\\", "{{WORKER_ID}}", "{{", "}}", "/tmp/my project/tasks"))
const tokenName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/)
const tokens = fc.dictionary(tokenName, value, { maxKeys: 4 })
/** Text with no braces at all, so it can neither open nor close a token. */
const plain = anyText.map((s) => s.replace(/[{}]/g, ""))

describe("renderTemplate (properties)", () => {
  it.prop("a template without {{ is returned as it is, whatever the tokens", [anyText.filter((s) => !s.includes("{{")), tokens], ([text, t]) => {
    expect(renderTemplate(text, t)).toBe(text)
  })

  it.prop("with no tokens every text is returned as it is (unknown tokens are kept)", [anyText], ([text]) => {
    expect(renderTemplate(text, {})).toBe(text)
  })

  it.prop("a known token is replaced by its value literally, and the value is not scanned again", [
    plain, tokenName, value, plain
  ], ([before, name, v, after]) => {
    expect(renderTemplate(`${before}{{${name}}}${after}`, { [name]: v, WORKER_ID: "w9" })).toBe(`${before}${v}${after}`)
  })

  it.prop("every occurrence is replaced", [tokenName, value, fc.array(plain, { minLength: 1, maxLength: 5 })], ([name, v, parts]) => {
    expect(renderTemplate(parts.join(`{{${name}}}`), { [name]: v })).toBe(parts.join(v))
  })
})

describe("prompts (properties)", () => {
  const context = fc.record({
    swarm: fc.stringMatching(/^[0-9a-f]{8}$/),
    worker: fc.oneof(fc.nat(99).map((n) => `w${n}`), value),
    tasksRoot: value,
    targetBranch: value,
    queueStatus: anyText
  }) as fc.Arbitrary<PromptContext>

  it.prop("the first prompt starts with the tag line and carries the worker prompt's tokens rendered", [
    context, plain
  ], ([ctx, words]) => {
    const prompt = initialPrompt(ctx, "", `${words}\nYou are {{WORKER_ID}} in {{SWARM_ID}}; tasks in {{TASKS_ROOT}} for {{TARGET_BRANCH}}.`)
    expect(prompt.startsWith(`${tagLine(ctx)}\n\n`)).toBe(true)
    expect(prompt).toContain(`You are ${ctx.worker} in ${ctx.swarm}; tasks in ${ctx.tasksRoot} for ${ctx.targetBranch}.`)
    expect(prompt).toContain(`## Queue status\n\n${ctx.queueStatus}`)
    expect(prompt.endsWith("\n")).toBe(true)
  })

  it.prop("a resumed prompt is the tag, the queue status and the body, in that order", [context, anyText], ([ctx, body]) => {
    expect(resumePrompt(ctx, body)).toBe(`${tagLine(ctx)}\n\n## Queue status\n\n${ctx.queueStatus}\n\n${body}\n`)
  })

  it.prop("the review prompt shows the whole diff it was given and ends asking for a VERDICT line", [
    context, anyText, fc.boolean(), fc.array(plain, { maxLength: 3 })
  ], ([ctx, diff, truncated, files]) => {
    const prompt = reviewPrompt(ctx, "Review {{WORKER_ID}}'s work.", {
      tasks: [], log: "abc first", base: "0123456789abcdef", diff, truncated, files, round: 1
    })
    expect(prompt).toContain(`Review ${ctx.worker}'s work.`)
    expect(prompt).toContain(`\`\`\`diff\n${diff}\n\`\`\``)
    expect(prompt.includes("The diff was cut to fit")).toBe(truncated)
    expect(prompt.trimEnd().endsWith("`VERDICT: REJECTED`.")).toBe(true)
  })
})
