import { Clock, Effect, Queue, Schedule, type Scope } from "effect"
import type { SwarmView } from "../../domain/swarmView.js"
import type { Key } from "./keys.js"
import { renderFrame } from "./render.js"
import { makeScreen } from "./screen.js"
import { useTerminal, type Terminal } from "./terminal.js"

/**
 * The live terminal view (issue 10) for as long as its scope lasts: the
 * terminal taken over (terminal.ts) and a frame of the view (ui/liveView.ts
 * keeps it current) drawn FRAMES_PER_SECOND times a second. However many
 * events arrive in between, they show in the next frame, and only the lines
 * that changed are written (screen.ts): the clock alone changes the elapsed
 * time once a second, so an idle swarm costs one short write a second.
 */
export const FRAMES_PER_SECOND = 4

export interface ShowViewOptions {
  /** The view now. */
  readonly view: Effect.Effect<SwarmView>
  readonly colour: boolean
  /** The keys line; read at every frame, so it can say what a key started ("stopping…"). */
  readonly footer: Effect.Effect<string>
  /** Lines kept above the footer (FrameOptions.notes). */
  readonly notes?: ReadonlyArray<string> | undefined
  readonly onKey: (key: Key) => Effect.Effect<void>
  /** The terminal to use (the process's own by default). */
  readonly terminal?: Effect.Effect<Terminal, never, Scope.Scope>
}

export const showView = (options: ShowViewOptions): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const terminal = yield* (options.terminal ?? useTerminal())
    const screen = yield* makeScreen(terminal.write)
    const frame = Effect.gen(function* () {
      // A resize scrambles what the terminal shows: the next frame is written whole.
      const resized = yield* Queue.poll(terminal.resized)
      if (resized._tag === "Some") yield* screen.invalidate
      const size = yield* terminal.size
      const view = yield* options.view
      const lines = renderFrame(view, {
        // A stopped swarm's clock stops at its end: its final state, however long it stays on the screen.
        now: view.stoppedAt ?? (yield* Clock.currentTimeMillis),
        columns: size.columns,
        rows: size.rows,
        colour: options.colour,
        footer: yield* options.footer,
        notes: options.notes
      })
      yield* screen.draw(lines)
    })
    yield* frame.pipe(Effect.repeat(Schedule.spaced(`${Math.round(1000 / FRAMES_PER_SECOND)} millis`)), Effect.forkScoped)
    yield* Queue.take(terminal.keys).pipe(Effect.flatMap(options.onKey), Effect.forever, Effect.forkScoped)
  })
