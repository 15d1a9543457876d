import * as fs from "node:fs"
import * as path from "node:path"
import { Either, Schema } from "effect"
import { bundledScenariosDir } from "../../paths.js"
import { emptyScenario, MockScenario } from "./Scenario.js"

/**
 * The scenario named by a mock model string: `mock` / `mock:diligent` is the
 * built-in behaviour, `mock:<name>` a bundled scenario, `mock:<path>.json` a
 * scenario file (relative paths are resolved against `baseDir`, where oompa runs).
 */
export const scenarioPathOf = (model: string | undefined, baseDir: string): string | undefined => {
  if (model === undefined || model === "diligent") return undefined
  // A bare name is a scenario bundled with oompa (config/scenarios/<name>.json), e.g. `mock:demo`.
  if (/^[a-z][a-z0-9-]*$/.test(model)) {
    const bundled = path.join(bundledScenariosDir, `${model}.json`)
    if (fs.existsSync(bundled)) return bundled
  }
  return path.resolve(baseDir, model)
}

export const readScenario = (file: string | undefined): Either.Either<MockScenario, string> => {
  if (file === undefined) return Either.right(emptyScenario)
  let raw: unknown
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"))
  } catch (error) {
    return Either.left(`cannot read mock scenario ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
  return Schema.decodeUnknownEither(MockScenario, { onExcessProperty: "error" })(raw).pipe(
    Either.mapLeft((error) => `mock scenario ${file}: ${error.message}`)
  )
}
