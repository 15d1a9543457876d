import { FileSystem, Path } from "@effect/platform"
import { Console, Effect, type Scope, Option, PubSub, Queue, Ref, Stream, SubscriptionRef } from "effect"
import type { RunEvent } from "../../domain/RunEvent.js"
import { emptyView } from "../../domain/swarmView.js"
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

/** The keys line for how many times a stop was asked. */
export const swarmFooter = (stops: number): string =>
  stops === 0
    ? "q stop the swarm (agents' work is kept)"
    : stops === 1
      ? "stopping: agents get 5 s to exit, their work is kept · q again kills them now"
      : "killed the agents: recording the ending · q again exits without it"

const isStopKey = (key: Key): boolean => key.kind === "ctrl-c" || (key.kind === "char" && (key.char === "q" || key.char === "Q"))

export const withLiveSwarmView = <A, E, R>(
  options: LiveSwarmOptions,
  run: (hooks: SwarmHooks) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, Scope.Scope> | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    // Only the tail is printed at the end: no need to keep more.
    const printed = yield* Ref.make<ReadonlyArray<string>>([])
    const print = (line: string) => Ref.update(printed, (all) => [...all.slice(-TAIL_LINES), line])
    const stops = yield* Ref.make(0)
    const onKey = (key: Key) =>
      isStopKey(key) ? Ref.update(stops, (n) => n + 1).pipe(Effect.zipRight(options.stop)) : Effect.void
    const body = Effect.gen(function* () {
      // Subscribed before the swarm starts: the view sees the run from its first event.
      const events = yield* PubSub.unbounded<RunEvent>()
      const subscription = yield* PubSub.subscribe(events)
      // The view reads the run folder (the agents' logs) once the swarm has made it, which its first event says.
      const live = yield* Ref.make(Option.none<LiveView>())
      yield* Queue.take(subscription).pipe(
        Effect.flatMap((first) => makeLiveView(options.runDir, Stream.concat(Stream.make(first), Stream.fromQueue(subscription)))),
        Effect.flatMap((view) => Ref.set(live, Option.some(view))),
        Effect.forkScoped
      )
      yield* showView({
        view: Ref.get(live).pipe(
          Effect.flatMap(Option.match({ onNone: () => Effect.succeed(emptyView), onSome: (l) => SubscriptionRef.get(l.view) }))
        ),
        colour: options.colour,
        footer: Ref.get(stops).pipe(Effect.map(swarmFooter)),
        notes: options.notes,
        onKey
      })
      return yield* run({ print, events })
    })
    const printTail = Ref.get(printed).pipe(Effect.flatMap((lines) => Effect.forEach(lines, (line) => Console.log(line))))
    return yield* Effect.scoped(body).pipe(Effect.ensuring(printTail))
  })
