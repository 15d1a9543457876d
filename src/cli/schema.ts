import { Console, Effect, JSONSchema, Option } from "effect"
import { UsageError } from "../domain/errors.js"
import { defaultSchemaName, schemaRegistry } from "./schemaRegistry.js"

/** The JSON Schema registered under `name`, as pretty JSON text. */
export const schemaText = (name: string): Effect.Effect<string, UsageError> => {
  const entry = schemaRegistry.get(name)
  if (entry === undefined) {
    const known = [...schemaRegistry.entries()].map(([key, value]) => `  ${key}  ${value.description}`).join("\n")
    return Effect.fail(new UsageError({ message: `unknown schema ${JSON.stringify(name)}; known schemas:\n${known}` }))
  }
  return Effect.sync(() => JSON.stringify(JSONSchema.make(entry.schema), null, 2))
}

export const handleSchema = ({ name }: { readonly name: Option.Option<string> }) =>
  Effect.flatMap(schemaText(Option.getOrElse(name, () => defaultSchemaName)), Console.log)
