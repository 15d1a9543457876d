import type { Schema } from "effect"
import { RunEvent } from "../domain/RunEvent.js"
import { CheckJson, ListJson, ReportJson, TasksJson, ViewJson } from "../domain/JsonOutput.js"
import { CycleFile, ReviewFile, StartedFile, StoppedFile } from "../domain/RunFiles.js"
import { TaskFileJson } from "../domain/Task.js"
import { ControlDone, ControlRequest } from "../domain/Control.js"
import { MockScenario } from "../harness/mock/Scenario.js"
import { OompaJson } from "../config/OompaJson.js"
import { Notification } from "../domain/Notification.js"

/**
 * The schemas `oompa schema [name]` can print, by name. The first entry is the
 * default. To publish another file format (e.g. a run file of SPEC §11, or a
 * `--json` document), add one line here with the Schema the code writes it with.
 */
export interface RegisteredSchema {
  readonly schema: Schema.Schema.AnyNoContext
  readonly description: string
}

export const schemaRegistry: ReadonlyMap<string, RegisteredSchema> = new Map<string, RegisteredSchema>([
  ["oompa.json", { schema: OompaJson, description: "the swarm configuration file" }],
  ["started.json", { schema: StartedFile, description: "runs/<swarm>/started.json: config, pid, versions" }],
  ["events.jsonl", { schema: RunEvent, description: "one line of runs/<swarm>/events.jsonl: one variant per kind of event, each with its payload" }],
  ["cycle", { schema: CycleFile, description: "runs/<swarm>/cycles/<worker>-c<N>.json" }],
  ["review", { schema: ReviewFile, description: "runs/<swarm>/reviews/<worker>-c<N>-r<R>-<attempt>.json (one per reviewer tried)" }],
  ["stopped.json", { schema: StoppedFile, description: "runs/<swarm>/stopped.json" }],
  ["control", { schema: ControlRequest, description: "runs/<swarm>/control/<id>.json: a steering request to the running swarm (docs/steering.md)" }],
  ["control-done", { schema: ControlDone, description: "runs/<swarm>/control/done/<id>.json: the swarm's answer to a steering request" }],
  ["task", { schema: TaskFileJson, description: "tasks/<pending|current|complete>/<id>.json: a task, attempts included" }],
  ["notification", { schema: Notification, description: "what notify's command (stdin) and webhook (POST body) receive (docs/notifications.md)" }],
  ["mock-scenario", { schema: MockScenario, description: "a mock agent scenario (mock:<file>.json)" }],
  ["list.json", { schema: ListJson, description: "what `oompa list --json` prints" }],
  ["view.json", { schema: ViewJson, description: "what `oompa view --json` prints" }],
  ["tasks.json", { schema: TasksJson, description: "what `oompa tasks --json` prints" }],
  ["check.json", { schema: CheckJson, description: "what `oompa check --json` prints" }],
  ["report.json", { schema: ReportJson, description: "what `oompa report --json` prints" }]
])

export { defaultSchemaName } from "./schemaNames.js"
