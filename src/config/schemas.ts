import type { Schema } from "effect"
import { OompaJson } from "./OompaJson.js"

/**
 * The schemas `oompa schema [name]` can print, by name. The first entry is the
 * default. To publish another file format (e.g. a run file of SPEC §11), add
 * one line here with the Schema the code writes that file with.
 */
export interface RegisteredSchema {
  readonly schema: Schema.Schema.AnyNoContext
  readonly description: string
}

export const schemaRegistry: ReadonlyMap<string, RegisteredSchema> = new Map<string, RegisteredSchema>([
  ["oompa.json", { schema: OompaJson, description: "the swarm configuration file" }]
])

export const defaultSchemaName = "oompa.json"
