import { describe, expect, it } from "vitest"
import { schemaRegistry } from "../../src/cli/schemaRegistry.js"
import { defaultSchemaName, schemaNames } from "../../src/cli/schemaNames.js"

// `oompa schema --help` names the schemas from schemaNames.ts (so that help loads no schema):
// it must list exactly what `oompa schema <name>` prints, in the same order, the default first.
describe("the schema names of `oompa schema --help`", () => {
  it("are the registry's, in its order, the default first", () => {
    expect([...schemaRegistry.keys()]).toEqual([...schemaNames])
    expect(schemaNames[0]).toBe(defaultSchemaName)
  })
})
