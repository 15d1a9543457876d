import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { describeToolCall } from "../../src/harness/activity.js"
import { activityOfLine } from "../../src/harness/activityOfLine.js"
import { builtinHarnessNames } from "../../src/harness/registry.js"

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "cli-output")

/** The activities a recorded turn shows, in order. */
const activitiesOf = (cli: string, name: string) =>
  fs
    .readFileSync(path.join(fixtures, cli, `${name}.jsonl`), "utf8")
    .split("\n")
    .flatMap((line) => {
      const activity = activityOfLine(cli, line)
      return activity === undefined ? [] : [activity]
    })

const command = (cli: string) =>
  `mkdir -p out && echo hello from ${cli} > out/hello.txt && git add out/hello.txt && git commit -qm "add out/hello.txt" && echo committed`

describe("an agent's latest activity, from its CLI's recorded output", () => {
  it.each([
    ["claude", [`Bash: ${command("claude")}`, "» I wrote out/hello.txt and committed it."]],
    ["codex", [`shell: /bin/bash -lc '${command("codex")}'`, "» I wrote out/hello.txt and committed it."]],
    ["gemini", [`run_shell_command: ${command("gemini")}`, "writing its reply", "writing its reply", "writing its reply"]],
    ["opencode", [`bash: ${command("opencode")}`, "» I wrote out/hello.txt and committed it."]],
    ["pi", [`bash: ${command("pi")}`, "» I wrote out/hello.txt and committed it."]],
    ["copilot", [`bash: ${command("copilot")}`, "» I wrote out/hello.txt and committed it."]],
    ["qwen", [`run_shell_command: ${command("qwen")}`, "» I wrote out/hello.txt and committed it."]],
    ["kilo", [`bash: ${command("kilo")}`, "» I wrote out/hello.txt and committed it."]]
  ])("%s: its tool call, then its reply", (cli, expected) => {
    expect(activitiesOf(cli, "new-session")).toEqual(expected)
  })

  it("the mock agent's steps; non-JSON and foreign lines show nothing", () => {
    expect(activityOfLine("mock", JSON.stringify({ type: "tool", name: "Write", detail: "work/t1.md" }))).toBe("Write: work/t1.md")
    expect(activityOfLine("mock", "x".repeat(1023))).toBeUndefined()
    expect(activityOfLine("claude", '{"type":"result","result":"done"}')).toBeUndefined()
    // A harness's format is tried first, any other built-in one after.
    expect(activityOfLine("my-harness", JSON.stringify({ type: "tool", name: "Bash", detail: "ls" }))).toBe("Bash: ls")
  })

  it("a tool call in words: the most telling argument", () => {
    expect(describeToolCall("Edit", { file_path: "src/a.ts", old_string: "x" })).toBe("Edit: src/a.ts")
    expect(describeToolCall("Grep", { glob: "*.ts", pattern: "TODO" })).toBe("Grep: TODO")
    expect(describeToolCall("TodoWrite", { todos: [] })).toBe("TodoWrite")
  })

  it("never throws and always gives one line (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), fc.constantFrom(...builtinHarnessNames), (line, cli) => {
        const activity = activityOfLine(cli, line)
        if (activity !== undefined) expect(activity).not.toMatch(/\n/)
      })
    )
  })
})
