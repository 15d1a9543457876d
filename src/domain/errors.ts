import { Schema } from "effect"

/**
 * Bad user input: oompa.json, a prompt file, a task file given on the command
 * line. Exit code 2, and nothing is written to disk before it is raised.
 * `path` is the JSON path inside `file` ("workers[1].model"), empty when the
 * whole file is at fault.
 */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  file: Schema.String,
  path: Schema.String,
  message: Schema.String
}) {
  get exitCode() {
    return 2
  }
  override toString() {
    return `${this.file}${this.path ? `: ${this.path}` : ""}: ${this.message}`
  }
}

/** Bad command-line usage that the CLI parser cannot catch (e.g. unknown task id). */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  message: Schema.String
}) {
  get exitCode() {
    return 2
  }
  override toString() {
    return this.message
  }
}
