import { FileSystem, Path } from "@effect/platform"
import { Console, Effect, type Scope, Option, PubSub, Queue, Ref, Stream, SubscriptionRef } from "effect"
import type { ControlDraft } from "../../domain/Control.js"
import type { RunEvent } from "../../domain/RunEvent.js"
import { emptyView, type SwarmView } from "../../domain/swarmView.js"
import { steerRun } from "../../runs/control.js"
import { makeLiveView, type LiveView } from "../liveView.js"
import type { Key } from "./keys.js"
import { showView } from "./showView.js"

/**
 * `oompa swarm` on a terminal: the swarm runs under the live view instead of
 * printing a line per event. The run files are written exactly as always
 * (the view only subscribes to the events); the lines the swarm would have
 * printed are kept, and once the view has given the normal screen back its
 * last TAIL_LINES lines and the final summary table are printed there, so the
 * user keeps the record.
 */
export const TAIL_LINES = 10

export interface SwarmHooks {
  /** The swarm's line printer (runSwarm's `print`). */
  readonly print: (line: string) => Effect.Effect<void>
  /** Where the swarm publishes its events (runSwarm's `events`). */
  readonly events: PubSub.PubSub<RunEvent>
}

export interface LiveSwarmOptions {
  /** The run folder the swarm will make (its agents' logs are read there for their latest activity). */
  readonly runDir: string
  readonly colour: boolean
  /**
   * Stops the swarm as Ctrl-C does (the edge's SIGINT handling: a first stop
   * ends the agents gently, a second kills them). Called for q and Ctrl-C,
   * which arrive as keys while the terminal is in raw mode.
   */
  readonly stop: Effect.Effect<void>
  /** Lines kept above the keys line (the dashboard's address with --ui: the view covers where it was printed). */
  readonly notes?: ReadonlyArray<string> | undefined
}

/** What the keys line says besides the keys: the steering state and the last answer. */
export interface FooterState {
  readonly paused?: boolean
  /** The worker picked with 1-9, that w stops after its cycle. */
  readonly picked?: string | undefined
  /** The swarm's answer to the last steering key (or why it could not be asked). */
  readonly note?: string | undefined
}

/** The keys line for how many times a stop was asked, and the steering state. */
export const swarmFooter = (stops: number, state: FooterState = {}): string => {
  if (stops === 1) return "stopping: agents get 5 s to exit, their work is kept · q again kills them now"
  if (stops > 1) return "killed the agents: recording the ending · q again exits without it"
  const keys = [
    "q stop the swarm",
    "s stop after cycles",
    state.paused === true ? "p resume" : "p pause",
    state.picked !== undefined ? `w stop ${state.picked} after its cycle` : "1-9 w stop a worker"
  ].join(" · ")
  return state.note !== undefined ? `${keys}  ─ ${state.note}` : keys
}

/**
 * What a key does in the swarm's view (docs/steering.md): q and Ctrl-C stop
 * now (as Ctrl-C); the others become steering requests (by: terminal), the
 * same the CLI and the web page send. s asks every running worker to stop
 * after its current cycle (the swarm then ends by itself), p pauses or
 * resumes, 1-9 picks the worker of that row and w stops it after its cycle.
 */
export type KeyCommand =
  | { readonly _tag: "StopNow" }
  | { readonly _tag: "Steer"; readonly drafts: ReadonlyArray<ControlDraft> }
  | { readonly _tag: "Pick"; readonly worker: string }
  | { readonly _tag: "Note"; readonly note: string }
  | { readonly _tag: "None" }

export const commandOfKey = (key: Key, view: SwarmView, picked: string | undefined): KeyCommand => {
  if (key.kind === "ctrl-c") return { _tag: "StopNow" }
  if (key.kind !== "char") return { _tag: "None" }
  const running = view.workers.filter((w) => w.phase !== "stopped")
  switch (key.char.toLowerCase()) {
    case "q":
      return { _tag: "StopNow" }
    case "p":
      return { _tag: "Steer", drafts: [{ action: view.paused ? "resume" : "pause", by: "terminal" }] }
    case "s": {
      const left = running.filter((w) => !w.stopping)
      return left.length === 0
        ? { _tag: "Note", note: "every worker already stops after its cycle" }
        : { _tag: "Steer", drafts: left.map((w) => ({ action: "stop-worker", worker: w.id, by: "terminal" })) }
    }
    case "w":
      return picked === undefined
        ? { _tag: "Note", note: "press 1-9 first to pick a worker" }
        : { _tag: "Steer", drafts: [{ action: "stop-worker", worker: picked, by: "terminal" }] }
  }
  if (/^[1-9]$/.test(key.char)) {
    const worker = view.workers[Number(key.char) - 1]
    return worker === undefined ? { _tag: "Note", note: `no worker in row ${key.char}` } : { _tag: "Pick", worker: worker.id }
  }
  return { _tag: "None" }
}

export const withLiveSwarmView = <A, E, R>(
  options: LiveSwarmOptions,
  run: (hooks: SwarmHooks) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, Scope.Scope> | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    // Only the tail is printed at the end: no need to keep more.
    const printed = yield* Ref.make<ReadonlyArray<string>>([])
    const print = (line: string) => Ref.update(printed, (all) => [...all.slice(-TAIL_LINES), line])
    const stops = yield* Ref.make(0)
    const picked = yield* Ref.make<string | undefined>(undefined)
    const note = yield* Ref.make<string | undefined>(undefined)
    const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    const body = Effect.gen(function* () {
      const scope = yield* Effect.scope
      const live = yield* Ref.make(Option.none<LiveView>())
      const currentView = Ref.get(live).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.succeed(emptyView), onSome: (l) => SubscriptionRef.get(l.view) }))
      )
      // A steering request waits for the swarm's answer: in its own fiber, so keys keep coming.
      const steer = (drafts: ReadonlyArray<ControlDraft>) =>
        Effect.forEach(drafts, (draft) =>
          steerRun(options.runDir, draft).pipe(
            Effect.map((answer) => answer.message),
            Effect.catchAll((error) => Effect.succeed(error.message))
          )
        ).pipe(
          Effect.flatMap((answers) => Ref.set(note, answers.length === 1 ? answers[0] : answers.join("; "))),
          Effect.provide(context),
          Effect.forkIn(scope),
          Effect.asVoid
        )
      const onKey = (key: Key) =>
        Effect.gen(function* () {
          const command = commandOfKey(key, yield* currentView, yield* Ref.get(picked))
          switch (command._tag) {
            case "StopNow":
              yield* Ref.update(stops, (n) => n + 1)
              return yield* options.stop
            case "Steer":
              return yield* steer(command.drafts)
            case "Pick":
              yield* Ref.set(picked, command.worker)
              return yield* Ref.set(note, undefined)
            case "Note":
              return yield* Ref.set(note, command.note)
            case "None":
              return
          }
        })
      // Subscribed before the swarm starts: the view sees the run from its first event.
      const events = yield* PubSub.unbounded<RunEvent>()
      const subscription = yield* PubSub.subscribe(events)
      // The view reads the run folder (the agents' logs) once the swarm has made it, which its first event says.
      yield* Queue.take(subscription).pipe(
        Effect.flatMap((first) => makeLiveView(options.runDir, Stream.concat(Stream.make(first), Stream.fromQueue(subscription)))),
        Effect.flatMap((view) => Ref.set(live, Option.some(view))),
        Effect.forkScoped
      )
      yield* showView({
        view: currentView,
        colour: options.colour,
        footer: Effect.gen(function* () {
          const view = yield* currentView
          return swarmFooter(yield* Ref.get(stops), { paused: view.paused, picked: yield* Ref.get(picked), note: yield* Ref.get(note) })
        }),
        notes: options.notes,
        onKey
      })
      return yield* run({ print, events })
    })
    const printTail = Ref.get(printed).pipe(Effect.flatMap((lines) => Effect.forEach(lines, (line) => Console.log(line))))
    return yield* Effect.scoped(body).pipe(Effect.ensuring(printTail))
  })
