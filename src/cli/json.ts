import { Options } from "@effect/cli"
import { Console, Effect, Schema } from "effect"

/**
 * `--json` of `list`, `view`, `tasks` and `check`: one document on stdout,
 * encoded with its Schema of domain/JsonOutput.ts (registered in
 * schemaRegistry.ts under `<name>`), so the output is exactly what
 * `oompa schema <name>` prints. Pretty-printed with two spaces, keys in the
 * Schema's order, as `oompa schema` prints; nothing else goes to stdout.
 */
export const jsonOption = (name: string) =>
  Options.boolean("json").pipe(
    Options.withDescription(`Print one JSON document on stdout instead of the table (its JSON Schema: oompa schema ${name})`)
  )

/** Encodes `value` with `schema` and prints it. A value that does not encode is a bug in oompa: a defect. */
export const printJson = <A, I>(schema: Schema.Schema<A, I>, value: A): Effect.Effect<void> =>
  Schema.encode(schema)(value).pipe(
    Effect.orDie,
    Effect.flatMap((encoded) => Console.log(JSON.stringify(encoded, null, 2)))
  )
