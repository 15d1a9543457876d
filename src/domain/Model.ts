import { Either, Schema } from "effect"

/** The agent CLI kinds oompa can drive (SPEC §9). */
export const HarnessName = Schema.Literal("claude", "codex", "opencode", "gemini", "mock")
export type HarnessName = typeof HarnessName.Type
export const harnessNames: ReadonlyArray<HarnessName> = HarnessName.literals

export const Reasoning = Schema.Literal("minimal", "low", "medium", "high", "xhigh", "max")
export type Reasoning = typeof Reasoning.Type

/** A parsed `harness:model[:reasoning]` string. */
export const ModelSpec = Schema.Struct({
  harness: HarnessName,
  model: Schema.optional(Schema.String),
  reasoning: Schema.optional(Reasoning)
})
export type ModelSpec = typeof ModelSpec.Type

const isReasoning = Schema.is(Reasoning)
const isHarness = Schema.is(HarnessName)

/**
 * Parses `harness:model[:reasoning]`. Reasoning is taken only from the last
 * `:` part, so model ids that themselves contain `:` survive intact.
 * A bare harness name (`"mock"`) is accepted: the CLI's default model is used.
 */
export const parseModelString = (input: string): Either.Either<ModelSpec, string> => {
  const text = input.trim()
  const colon = text.indexOf(":")
  const harness = colon === -1 ? text : text.slice(0, colon)
  if (!isHarness(harness)) {
    return Either.left(
      `expected "harness:model[:reasoning]" with harness one of ${harnessNames.join(", ")}, got ${JSON.stringify(input)}`
    )
  }
  if (colon === -1) return Either.right({ harness })
  let rest = text.slice(colon + 1)
  let reasoning: Reasoning | undefined
  const last = rest.lastIndexOf(":")
  if (last !== -1) {
    const tail = rest.slice(last + 1)
    if (isReasoning(tail)) {
      reasoning = tail
      rest = rest.slice(0, last)
    }
  }
  if (rest.length === 0) {
    return Either.left(`expected "harness:model[:reasoning]" with a non-empty model, got ${JSON.stringify(input)}`)
  }
  return Either.right(reasoning === undefined ? { harness, model: rest } : { harness, model: rest, reasoning })
}

export const formatModel = (spec: ModelSpec): string =>
  [spec.harness, spec.model, spec.reasoning].filter((part) => part !== undefined).join(":")
