import { Schema } from "effect"

/**
 * Steering a running swarm (issue 10): one mechanism for the CLI, the
 * terminal view and the web page. A request is a file
 * `runs/<swarm>/control/<id>.json` (written to a temp file and renamed, so the
 * swarm never reads half of one); the swarm applies it once, answers in
 * `control/done/<id>.json` and removes the request. `control/` is made with
 * mode 0700: only the run's owner may write there (the CLI's ownership check;
 * the dashboard checks its token). docs/steering.md describes it.
 */

export const ControlAction = Schema.Literal("stop", "stop-worker", "pause", "resume", "requeue")
export type ControlAction = typeof ControlAction.Type

/** Who asked: which surface wrote the request. */
export const ControlBy = Schema.Literal("cli", "terminal", "web")
export type ControlBy = typeof ControlBy.Type

/** A request id: safe as a file name (no slash, no leading dot). */
export const ControlId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/),
  Schema.annotations({ description: "letters, digits, - and _, e.g. 1764689412345-3fa2b1" })
)

/** `runs/<swarm>/control/<id>.json`: one request to the running swarm. */
export const ControlRequest = Schema.Struct({
  id: ControlId,
  action: ControlAction,
  /** The worker of `stop-worker` (e.g. "w1"). */
  worker: Schema.optional(Schema.String),
  /** The task id of `requeue`. */
  task: Schema.optional(Schema.String),
  at: Schema.String,
  by: ControlBy
}).annotations({ identifier: "ControlRequest", description: "runs/<swarm>/control/<id>.json: a request to the running swarm" })
export type ControlRequest = typeof ControlRequest.Type

/** What a surface asks, before the id and time are stamped. */
export interface ControlDraft {
  readonly action: ControlAction
  readonly worker?: string | undefined
  readonly task?: string | undefined
  readonly by: ControlBy
}

/** `runs/<swarm>/control/done/<id>.json`: the swarm's answer to request `id`. */
export const ControlDone = Schema.Struct({
  id: Schema.String,
  ok: Schema.Boolean,
  /** What happened, in plain words: what every surface prints. */
  message: Schema.String,
  at: Schema.String
}).annotations({ identifier: "ControlDone", description: "runs/<swarm>/control/done/<id>.json: the swarm's answer to a request" })
export type ControlDone = typeof ControlDone.Type

/** The checks a draft must pass before it is written (the swarm checks again). */
export const draftProblem = (draft: ControlDraft): string | undefined => {
  if (draft.action === "stop-worker" && (draft.worker === undefined || draft.worker === "")) return "stop-worker needs a worker"
  if (draft.action === "requeue" && (draft.task === undefined || draft.task === "")) return "requeue needs a task id"
  return undefined
}
