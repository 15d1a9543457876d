import { Schema } from "effect"
import type { PlatformError } from "@effect/platform/Error"

/** A filesystem operation on the task queue failed (permissions, disk full, …). */
export class TaskQueueIoError extends Schema.TaggedError<TaskQueueIoError>()("TaskQueueIoError", {
  op: Schema.String,
  path: Schema.String,
  message: Schema.String
}) {
  override toString() {
    return `task queue: ${this.op} ${this.path}: ${this.message}`
  }
}

/** `add` refused: a task with this id already exists in the queue. Bad user input: exit 2. */
export class TaskExistsError extends Schema.TaggedError<TaskExistsError>()("TaskExistsError", {
  id: Schema.String,
  state: Schema.String
}) {
  get exitCode() {
    return 2
  }
  override toString() {
    return `task ${this.id} already exists (in ${this.state}/)`
  }
}

export const ioError = (op: string, path: string) => (error: PlatformError) =>
  new TaskQueueIoError({ op, path, message: error.message })
