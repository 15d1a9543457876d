import { Either, Schema } from "effect"

/**
 * The harness part of a model string: a lower-case name. Which names exist is
 * not the domain's to say: they are the rows of the harness registry
 * (src/harness/registry.ts), which an embedder may extend with its own, so
 * parsing takes the registry's names as an argument.
 */
const harnessNameShape = /^[a-z][a-z0-9_-]*$/
export const HarnessName = Schema.String.pipe(Schema.pattern(harnessNameShape))
export type HarnessName = typeof HarnessName.Type

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

const harnessPartOf = (text: string): string => {
  const colon = text.indexOf(":")
  return colon === -1 ? text : text.slice(0, colon)
}

/**
 * Parses `harness:model[:reasoning]`, the harness one of `harnesses` (the
 * registry's names). Reasoning is taken only from the last `:` part, so model
 * ids that themselves contain `:` survive intact. A bare harness name
 * (`"mock"`) is accepted: the CLI's default model is used.
 */
export const parseModelString = (input: string, harnesses: ReadonlyArray<string>): Either.Either<ModelSpec, string> => {
  const text = input.trim()
  const colon = text.indexOf(":")
  const harness = harnessPartOf(text)
  if (!harnessNameShape.test(harness) || !harnesses.includes(harness)) {
    return Either.left(
      `expected "harness:model[:reasoning]" with harness one of ${harnesses.join(", ")}, got ${JSON.stringify(input)}`
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

/**
 * The shape of a model string whatever harnesses exist: what oompa.json's
 * Schema checks. Whether its harness is registered is checked where the
 * registry is known (loadConfig's `harnesses`).
 */
export const isModelStringShape = (input: string): boolean =>
  Either.isRight(parseModelString(input, [harnessPartOf(input.trim())]))

export const formatModel = (spec: ModelSpec): string =>
  [spec.harness, spec.model, spec.reasoning].filter((part) => part !== undefined).join(":")
