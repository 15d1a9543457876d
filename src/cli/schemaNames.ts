/**
 * The names `oompa schema [name]` knows, in the order it lists them, the first
 * the default. A leaf apart from schemaRegistry.ts so that the command line's
 * help (main.ts) names them without loading every schema; the registry holds
 * exactly these (test/cli/schemaNames.test.ts).
 */
export const schemaNames = [
  "oompa.json",
  "started.json",
  "events.jsonl",
  "cycle",
  "review",
  "stopped.json",
  "control",
  "control-done",
  "task",
  "notification",
  "mock-scenario",
  "list.json",
  "view.json",
  "tasks.json",
  "check.json",
  "report.json"
] as const

export const defaultSchemaName = "oompa.json"
