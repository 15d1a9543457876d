import { Either, Schema } from "effect"

/**
 * What an agent is doing now, from one line of its CLI's structured output
 * (the turn log): its latest tool call ("Bash: npm test", "Edit src/a.ts") or
 * line of text. The live views show it beside the worker; it is display only,
 * so a line that tells nothing (or is not JSON) gives undefined.
 *
 * Only the parts of each CLI's events that show activity are read here; what
 * a turn's result is (text, session, usage) is read by each adapter's own
 * decoder. The shapes are those of the recorded outputs in
 * test/fixtures/cli-output/ (docs/cli-facts.md).
 */

const Unknown = Schema.Unknown

/** A tool call in words: the tool, and its most telling argument. */
export const describeToolCall = (name: string, input: unknown): string => {
  const args = typeof input === "object" && input !== null ? (input as Record<string, unknown>) : {}
  const telling = ["command", "file_path", "filePath", "path", "pattern", "query", "url", "description", "prompt"]
    .map((key) => args[key])
    .find((value): value is string => typeof value === "string" && value.trim() !== "")
  const first = telling ?? Object.values(args).find((value): value is string => typeof value === "string" && value.trim() !== "")
  return first === undefined ? name : `${name}: ${first}`
}

/** The first non-blank line of a text, for a reply shown on one row. */
const textLine = (text: string): string | undefined => {
  const line = text.split("\n").find((l) => l.trim() !== "")
  return line === undefined ? undefined : `» ${line.trim()}`
}

// Claude Code, stream-json: an assistant message's content blocks.
const ClaudeLine = Schema.Struct({
  type: Schema.Literal("assistant"),
  message: Schema.Struct({
    content: Schema.Array(
      Schema.Union(
        Schema.Struct({ type: Schema.Literal("tool_use"), name: Schema.String, input: Schema.optional(Unknown) }),
        Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
        Schema.Struct({ type: Schema.String })
      )
    )
  })
})
const claude = (event: typeof ClaudeLine.Type): string | undefined => {
  for (const block of [...event.message.content].reverse()) {
    if ("name" in block) return describeToolCall(block.name, block.input)
    if ("text" in block) return textLine(block.text)
  }
  return undefined
}

// Codex, `exec --json`: items as they start and complete.
const CodexLine = Schema.Struct({
  type: Schema.Literal("item.started", "item.completed"),
  item: Schema.Struct({
    type: Schema.String,
    command: Schema.optional(Schema.String),
    text: Schema.optional(Schema.String),
    tool: Schema.optional(Schema.String),
    changes: Schema.optional(Schema.Array(Schema.Struct({ path: Schema.String })))
  })
})
const codex = ({ type, item }: typeof CodexLine.Type): string | undefined => {
  if (item.type === "command_execution" && item.command !== undefined) return type === "item.started" ? `shell: ${item.command}` : undefined
  if (item.type === "file_change" && item.changes !== undefined) return `edit ${item.changes.map((c) => c.path).join(", ")}`
  if (item.type === "mcp_tool_call" && item.tool !== undefined) return item.tool
  if (item.type === "agent_message" && item.text !== undefined) return textLine(item.text)
  if (item.type === "reasoning") return "thinking"
  return undefined
}

// Gemini CLI, stream-json: tool calls, and the reply streamed in pieces.
const GeminiLine = Schema.Union(
  Schema.Struct({ type: Schema.Literal("tool_use"), tool_name: Schema.String, parameters: Schema.optional(Unknown) }),
  Schema.Struct({ type: Schema.Literal("message"), role: Schema.Literal("assistant"), content: Schema.String, delta: Schema.optional(Schema.Boolean) })
)
const gemini = (event: typeof GeminiLine.Type): string | undefined =>
  event.type === "tool_use" ? describeToolCall(event.tool_name, event.parameters) : event.delta === true ? "writing its reply" : textLine(event.content)

// opencode, `run --format json`: tool parts and text parts.
const OpencodeLine = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("tool_use"),
    part: Schema.Struct({ tool: Schema.String, state: Schema.optional(Schema.Struct({ input: Schema.optional(Unknown) })) })
  }),
  Schema.Struct({ type: Schema.Literal("text"), part: Schema.Struct({ text: Schema.String }) })
)
const opencode = (event: typeof OpencodeLine.Type): string | undefined =>
  event.type === "tool_use" ? describeToolCall(event.part.tool, event.part.state?.input) : textLine(event.part.text)

// The mock agent (src/mock-agent.ts): a line per step it takes.
const MockLine = Schema.Union(
  Schema.Struct({ type: Schema.Literal("tool"), name: Schema.String, detail: Schema.String }),
  Schema.Struct({ type: Schema.Literal("status"), text: Schema.String })
)
const mock = (event: typeof MockLine.Type): string | undefined => (event.type === "tool" ? `${event.name}: ${event.detail}` : event.text)

const reader =
  <A, I>(schema: Schema.Schema<A, I>, describe: (event: A) => string | undefined) =>
  (json: unknown): string | undefined => {
    const decoded = Schema.decodeUnknownEither(schema)(json)
    return Either.isRight(decoded) ? describe(decoded.right) : undefined
  }

const readers: ReadonlyArray<readonly [string, (json: unknown) => string | undefined]> = [
  ["claude", reader(ClaudeLine, claude)],
  ["codex", reader(CodexLine, codex)],
  ["gemini", reader(GeminiLine, gemini)],
  ["opencode", reader(OpencodeLine, opencode)],
  ["mock", reader(MockLine, mock)]
]

/**
 * The activity one output line shows, read as `harness`'s output first and
 * then as any other built-in CLI's (an embedder's harness may print one of
 * these formats). A line that is not one JSON object shows nothing.
 */
export const activityOfLine = (harness: string, line: string): string | undefined => {
  const trimmed = line.trim()
  if (!trimmed.startsWith("{")) return undefined
  let json: unknown
  try {
    json = JSON.parse(trimmed)
  } catch {
    return undefined
  }
  const ordered = [...readers.filter(([name]) => name === harness), ...readers.filter(([name]) => name !== harness)]
  for (const [, read] of ordered) {
    const activity = read(json)
    if (activity !== undefined) return activity.replace(/\s+/g, " ").trim()
  }
  return undefined
}

/** The harness part of a model string as the views show it ("claude:opus" → "claude"). */
export const harnessOfModel = (model: string): string => model.split(":")[0] ?? model
