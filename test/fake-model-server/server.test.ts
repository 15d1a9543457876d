import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import * as FakeModelServer from "./server.js"
import type { Script } from "./script.js"

interface Http {
  readonly status: number
  readonly text: string
  readonly contentType: string
}

const post = (url: string, body: unknown) =>
  Effect.promise(async (): Promise<Http> => {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    return { status: res.status, text: await res.text(), contentType: res.headers.get("content-type") ?? "" }
  })

/** The `data:` payloads of an SSE body, JSON-decoded (raw strings kept for `[DONE]`). */
const sseData = (text: string): Array<any> =>
  text
    .split("\n")
    .filter((l) => l.startsWith("data: "))
    .map((l) => l.slice(6))
    .map((d) => (d === "[DONE]" ? d : JSON.parse(d)))

const sseEvents = (text: string): Array<string> =>
  text
    .split("\n")
    .filter((l) => l.startsWith("event: "))
    .map((l) => l.slice(7))

const script: Script = {
  name: "probe",
  match: "SCRIPT:probe",
  steps: [{ shell: "echo hi > out.txt && git commit -qam x" }, { text: "done\nCOMPLETE_AND_READY_FOR_MERGE" }, { text: "resumed at {{TURN}}" }]
}

const anthropicTools = [
  { name: "Read", input_schema: { type: "object", properties: { file_path: { type: "string" } } } },
  {
    name: "Bash",
    input_schema: { type: "object", properties: { command: { type: "string" }, description: { type: "string" } }, required: ["command"] }
  }
]

describe("fake model server", () => {
  it.scopedLive("Anthropic: a shell step streams a Bash tool_use, the next request (one assistant turn in history) gets the text", () =>
    Effect.gen(function* () {
      const server = yield* FakeModelServer.make({ scripts: [script] })
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const first = yield* post(`${server.url}/v1/messages?beta=true`, {
        model: "claude-x",
        stream: true,
        tools: anthropicTools,
        messages: [{ role: "user", content: [{ type: "text", text: "SCRIPT:probe go" }] }]
      })
      expect(first.contentType).toContain("text/event-stream")
      expect(sseEvents(first.text)).toEqual(
        expect.arrayContaining(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"])
      )
      const data = sseData(first.text)
      const start = data.find((d) => d.type === "content_block_start")
      expect(start.content_block).toMatchObject({ type: "tool_use", name: "Bash" })
      const json = data
        .filter((d) => d.type === "content_block_delta" && d.delta.type === "input_json_delta")
        .map((d) => d.delta.partial_json)
        .join("")
      expect(JSON.parse(json)).toEqual({ command: "echo hi > out.txt && git commit -qam x", description: "run a shell command" })
      expect(data.find((d) => d.type === "message_delta").delta.stop_reason).toBe("tool_use")

      const second = yield* post(`${server.url}/v1/messages`, {
        model: "claude-x",
        stream: false,
        tools: anthropicTools,
        messages: [
          { role: "user", content: "SCRIPT:probe go" },
          { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "Bash", input: {} }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "ok" }] }
        ]
      })
      const body = JSON.parse(second.text)
      expect(body.content).toEqual([{ type: "text", text: "done\nCOMPLETE_AND_READY_FOR_MERGE" }])
      expect(body.usage.output_tokens).toBeGreaterThan(0)

      const log = yield* server.requests
      expect(log.map((r) => [r.api, r.step, r.conversation?.assistantTurns])).toEqual([
        ["anthropic", "steps[0]", 0],
        ["anthropic", "steps[1]", 1]
      ])
      expect(log[1]?.conversation?.toolResults).toEqual(["ok"])
    }))

  it.scopedLive("OpenAI Responses: exec_command gets {cmd}, a classic shell tool gets an argv array, usage in response.completed", () =>
    Effect.gen(function* () {
      const server = yield* FakeModelServer.make({ scripts: [script] })
      const input = [
        { type: "message", role: "developer", content: [{ type: "input_text", text: "be nice" }] },
        { type: "message", role: "user", content: [{ type: "input_text", text: "SCRIPT:probe go" }] }
      ]
      const exec = yield* post(`${server.openaiUrl}/responses`, {
        model: "gpt-x",
        stream: true,
        input,
        tools: [{ type: "function", name: "exec_command", parameters: { type: "object", properties: { cmd: { type: "string" } } } }]
      })
      const events = sseData(exec.text)
      const done = events.find((e) => e.type === "response.output_item.done")
      expect(done.item).toMatchObject({ type: "function_call", name: "exec_command" })
      expect(JSON.parse(done.item.arguments)).toEqual({ cmd: "echo hi > out.txt && git commit -qam x" })
      expect(events[events.length - 1]).toMatchObject({ type: "response.completed", response: { status: "completed" } })
      expect(events[events.length - 1].response.usage.input_tokens).toBeGreaterThan(0)

      const shell = yield* post(`${server.openaiUrl}/responses`, {
        model: "gpt-x",
        stream: true,
        input,
        tools: [
          { type: "function", name: "shell", parameters: { type: "object", properties: { command: { type: "array", items: { type: "string" } } } } }
        ]
      })
      const item = sseData(shell.text).find((e) => e.type === "response.output_item.done").item
      expect(JSON.parse(item.arguments)).toEqual({ command: ["bash", "-lc", "echo hi > out.txt && git commit -qam x"] })

      // History: call + output + assistant message + a new user prompt = 2 assistant turns.
      const resumed = yield* post(`${server.openaiUrl}/responses`, {
        model: "gpt-x",
        stream: true,
        tools: [{ type: "function", name: "exec_command", parameters: { type: "object", properties: { cmd: { type: "string" } } } }],
        input: [
          ...input,
          { type: "function_call", name: "exec_command", arguments: "{}", call_id: "c1" },
          { type: "function_call_output", call_id: "c1", output: "ok" },
          { type: "message", role: "assistant", content: [{ type: "output_text", text: "done" }] },
          { type: "message", role: "user", content: [{ type: "input_text", text: "SCRIPT:probe again" }] }
        ]
      })
      const text = sseData(resumed.text)
        .filter((e) => e.type === "response.output_text.delta")
        .map((e) => e.delta)
        .join("")
      expect(text).toBe("resumed at 2")
    }))

  it.scopedLive("chat completions: tool_calls deltas, a final usage chunk and [DONE]; tool-less side requests are not scripted", () =>
    Effect.gen(function* () {
      const server = yield* FakeModelServer.make({ scripts: [script] })
      const tools = [
        { type: "function", function: { name: "bash", parameters: { type: "object", properties: { command: { type: "string" }, description: { type: "string" } } } } }
      ]
      const res = yield* post(`${server.openaiUrl}/chat/completions`, {
        model: "m",
        stream: true,
        tools,
        messages: [{ role: "user", content: "SCRIPT:probe go" }]
      })
      const chunks = sseData(res.text)
      expect(chunks[chunks.length - 1]).toBe("[DONE]")
      const args = chunks
        .flatMap((c) => (c === "[DONE]" ? [] : c.choices))
        .flatMap((ch: any) => ch.delta.tool_calls ?? [])
        .map((tc: any) => tc.function.arguments)
        .join("")
      expect(JSON.parse(args)).toEqual({ command: "echo hi > out.txt && git commit -qam x", description: "run a shell command" })
      expect(chunks.find((c) => c !== "[DONE]" && c.choices[0]?.finish_reason === "tool_calls")).toBeDefined()
      expect(chunks[chunks.length - 2].usage.prompt_tokens).toBeGreaterThan(0)

      const side = yield* post(`${server.openaiUrl}/chat/completions`, {
        model: "m",
        stream: false,
        messages: [{ role: "user", content: "Generate a title for: SCRIPT:probe go" }]
      })
      expect(JSON.parse(side.text).choices[0].message.content).toContain("no script matched")
      const log = yield* server.requests
      expect(log.map((r) => r.script)).toEqual(["probe", undefined])
    }))

  it.scopedLive("a call step calls the named tool with its arguments when offered, else answers with the tools that were", () =>
    Effect.gen(function* () {
      const server = yield* FakeModelServer.make({
        scripts: [{ name: "call", match: "SCRIPT:call", steps: [{ call: { name: "task", args: { prompt: "sub", subagent_type: "code" } } }] }]
      })
      const fn = (name: string) => ({ type: "function", function: { name, parameters: { type: "object", properties: {} } } })
      const ask = (tools: ReadonlyArray<unknown>) =>
        post(`${server.openaiUrl}/chat/completions`, { model: "m", stream: false, tools, messages: [{ role: "user", content: "SCRIPT:call go" }] })
      const offered = JSON.parse((yield* ask([fn("read"), fn("task")])).text).choices[0].message
      expect(offered.tool_calls.map((tc: any) => [tc.function.name, JSON.parse(tc.function.arguments)])).toEqual([
        ["task", { prompt: "sub", subagent_type: "code" }]
      ])
      const missing = JSON.parse((yield* ask([fn("read")])).text).choices[0].message
      expect(missing.content).toBe("fake model server: no task tool among [read]")
      expect(missing.tool_calls ?? []).toEqual([])
    }))

  it.scopedLive("Gemini: streamGenerateContent sends a run_shell_command functionCall; generateContent answers JSON", () =>
    Effect.gen(function* () {
      const server = yield* FakeModelServer.make({ scripts: [script] })
      const tools = [
        {
          functionDeclarations: [
            { name: "read_file", parametersJsonSchema: { type: "object", properties: { path: { type: "string" } } } },
            { name: "run_shell_command", parametersJsonSchema: { type: "object", properties: { command: { type: "string" } }, required: ["command"] } }
          ]
        }
      ]
      const streamed = yield* post(`${server.url}/v1beta/models/gemini-x:streamGenerateContent?alt=sse`, {
        contents: [{ role: "user", parts: [{ text: "SCRIPT:probe go" }] }],
        tools
      })
      const frames = sseData(streamed.text)
      expect(frames[frames.length - 1].candidates[0].content.parts[0].functionCall).toEqual({
        name: "run_shell_command",
        args: { command: "echo hi > out.txt && git commit -qam x" }
      })
      const plain = yield* post(`${server.url}/v1beta/models/gemini-x:generateContent`, {
        contents: [
          { role: "user", parts: [{ text: "SCRIPT:probe go" }] },
          { role: "model", parts: [{ functionCall: { name: "run_shell_command", args: {} } }] },
          { role: "user", parts: [{ functionResponse: { name: "run_shell_command", response: { output: "ok" } } }] }
        ],
        tools
      })
      expect(JSON.parse(plain.text).candidates[0].content.parts).toEqual([{ text: "done\nCOMPLETE_AND_READY_FOR_MERGE" }])
      const count = yield* post(`${server.url}/v1beta/models/gemini-x:countTokens`, { contents: [] })
      expect(JSON.parse(count.text).totalTokens).toBeGreaterThan(0)
    }))

  it.scopedLive("errors come in the API's shape; delays hold the reply back; captures fill {{NAME}} from the newest user text", () =>
    Effect.gen(function* () {
      const server = yield* FakeModelServer.make({
        scripts: [
          { name: "err", match: "SCRIPT:err", steps: [{ error: 400, message: "scripted failure" }] },
          {
            name: "tpl",
            match: "\\[oompa:[0-9a-f]+:w\\d+\\]",
            captures: { TASK: "^- ([A-Za-z0-9._-]+)", CLAIMED: "Claimed: ([A-Za-z0-9._-]+)" },
            rules: [{ lastUser: "Claimed:", step: { text: "working on {{CLAIMED}} ($1 {{NOPE}})", delayMs: 300 } }],
            steps: [{ text: "CLAIM({{TASK}})" }]
          }
        ]
      })
      const tools = anthropicTools
      const err = yield* post(`${server.url}/v1/messages`, { tools, messages: [{ role: "user", content: "SCRIPT:err" }] })
      expect(err.status).toBe(400)
      expect(JSON.parse(err.text)).toEqual({ type: "error", error: { type: "invalid_request_error", message: "scripted failure" } })

      const claim = yield* post(`${server.url}/v1/messages`, {
        tools,
        messages: [{ role: "user", content: "[oompa:ab12cd34:w1]\nAvailable tasks:\n- t-2: second\n- t-3: third" }]
      })
      expect(JSON.parse(claim.text).content[0].text).toBe("CLAIM(t-2)")

      const before = yield* Clock.currentTimeMillis
      const claimed = yield* post(`${server.url}/v1/messages`, {
        tools,
        messages: [
          { role: "user", content: "[oompa:ab12cd34:w1]\nAvailable tasks:\n- t-2: second" },
          { role: "assistant", content: "CLAIM(t-2)" },
          { role: "user", content: "[oompa:ab12cd34:w1]\nClaimed: t-2" }
        ]
      })
      const elapsed = (yield* Clock.currentTimeMillis) - before
      expect(JSON.parse(claimed.text).content[0].text).toBe("working on t-2 ($1 {{NOPE}})")
      expect(elapsed).toBeGreaterThanOrEqual(290)
    }))

  it.scopedLive("a rule with times: n answers the first n requests it matches, then the next rule does; setScripts starts the count again", () =>
    Effect.gen(function* () {
      const limited: Script = {
        name: "limited",
        match: "SCRIPT:limited",
        rules: [
          { times: 2, step: { error: 429, message: "slow down", headers: { "retry-after": "2" } } },
          { step: { text: "answered" } }
        ]
      }
      const server = yield* FakeModelServer.make({ scripts: [limited] })
      const ask = post(`${server.url}/v1/messages`, { tools: anthropicTools, messages: [{ role: "user", content: "SCRIPT:limited" }] })
      const statuses = []
      for (let i = 0; i < 3; i++) statuses.push((yield* ask).status)
      expect(statuses).toEqual([429, 429, 200])
      yield* server.setScripts([limited])
      expect((yield* ask).status).toBe(429)
      const requests = yield* server.requests
      expect(requests.map((r) => r.step)).toEqual(["rules[0]", "rules[0]", "rules[1]", "rules[0]"])
    }))

  it.live("the server listens on 127.0.0.1 only while its scope is open", () =>
    Effect.gen(function* () {
      const url = yield* Effect.scoped(
        Effect.gen(function* () {
          const server = yield* FakeModelServer.make()
          const res = yield* Effect.promise(() => fetch(`${server.url}/v1/models`).then((r) => r.json() as Promise<any>))
          expect(res.data.length).toBeGreaterThan(0)
          return server.url
        })
      )
      const after = yield* Effect.promise(() =>
        fetch(`${url}/v1/models`).then(
          () => "answered",
          () => "refused"
        )
      )
      expect(after).toBe("refused")
    }))
})
