/**
 * oompa as a library: run a swarm of agents on a git repository from your own
 * Effect program. docs/library.md walks through it; `oompa/testing` has the
 * mock harness for your tests.
 *
 *   import { OompaLive, runSwarm } from "oompa"
 *   await Effect.runPromise(runSwarm({ cwd: "/path/to/repo" }).pipe(Effect.provide(OompaLive)))
 *
 * The CLI is a thin edge over the same functions (src/cli/swarm.ts).
 */

// Running a swarm.
export { prepareSwarm, runSwarmFrom as runSwarm, type SwarmInput } from "./engine/start.js"
export { SwarmMergedNothing, SwarmWorkerFailed, type SwarmOptions, type SwarmResult } from "./engine/swarm.js"
export { SwarmSetupError, validateSwarmStart } from "./engine/setup.js"

// The layers an embedder provides once.
export { OompaLive, oompaLive, type OompaLiveOptions, type OompaServices } from "./layers.js"

// The config: oompa.json's Schema, the loader, the decoded form.
export { OompaJson } from "./config/OompaJson.js"
export { loadConfig, discoverConfig, type LoadConfigOptions } from "./config/loadConfig.js"
export { loadSwarmConfig } from "./engine/loadConfig.js"
export type { OompaConfig, PlannerSpec, PromptSource, ReviewerSpec, WorkerSpec } from "./config/OompaConfig.js"
export { formatModel, ModelSpec, parseModelString, Reasoning, HarnessName } from "./domain/Model.js"

// Harnesses: the interface, the registry service, and the table it is built from.
export {
  HarnessError,
  Harnesses,
  harnessesOf,
  type Harness,
  type SessionRequest,
  type TurnRequest,
  type TurnResult
} from "./harness/Harness.js"
export {
  builtinHarnesses,
  builtinHarnessNames,
  cliHarness,
  harnessesLayer,
  inProcessHarness,
  withHarness,
  type HarnessEntry,
  type HarnessOptions,
  type HarnessTable
} from "./harness/registry.js"
export type { CliSpec } from "./harness/cliAdapter.js"

// The run's typed events (a Schema tagged union on `type`; pass a PubSub as runSwarm's `events`) and run files.
export { EventType, RunEvent, terminalLine, type RunEventOf } from "./domain/RunEvent.js"
export { runDirOf } from "./domain/naming.js"
export { CycleFile, ReviewFile, StartedFile, StoppedFile } from "./domain/RunFiles.js"

// The payload notify sends (docs/notifications.md), for a receiver written in TypeScript.
export { Notification, type NotificationKind } from "./domain/Notification.js"

// Steering a running swarm (docs/steering.md): the request and answer files, and the asking side.
export { ControlAction, ControlDone, ControlRequest, type ControlDraft } from "./domain/Control.js"
export { awaitControlAnswer, requestControl, SteerFailed, SteerNotRunning, steerRun } from "./runs/control.js"

// Typed errors (each failure mode one Schema.TaggedError; `exitCode` where the CLI maps it).
export { ConfigError, UsageError } from "./domain/errors.js"
export { ProcessError } from "./services/ProcessRunner.js"
export { GitError, GitTimeout } from "./services/Git.js"
export { MergeLockError, MergeLockTimeout } from "./services/MergeLock.js"
export { TaskExistsError, TaskQueueIoError } from "./services/taskQueue/errors.js"

// The services, for an embedder that builds its own layer.
export { Git, GitLive } from "./services/Git.js"
export { MergeLock, MergeLockLive } from "./services/MergeLock.js"
export { ProcessRunner, ProcessRunnerLive, type ProcessRunnerService, type RunOptions, type RunResult } from "./services/ProcessRunner.js"

export { version } from "./paths.js"
