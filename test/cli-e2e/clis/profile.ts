/**
 * What the real-CLI tests know about one agent CLI, apart from oompa's adapter:
 * the model name it is run with, how to point it at the fake model server under
 * a private HOME, the argv that runs it directly, and where its own output says
 * the session id and the final text. One file per CLI (claude.ts, …), one row
 * in index.ts.
 */
import type { FakeModelServer } from "../../fake-model-server/server.js"

export type Session = { readonly _tag: "New"; readonly id?: string } | { readonly _tag: "Resume"; readonly id: string }

export interface DirectRun {
  readonly args: ReadonlyArray<string>
  /** Written to stdin then closed; undefined: stdin closed at once. */
  readonly stdin?: string
}

export interface CliProfile {
  /** The executable in test-cli/node_modules/.bin. */
  readonly bin: string
  /** The model it is run with (the fake server accepts any name). */
  readonly model: string
  /** A new session can be given an id chosen up front (`--session-id`). */
  readonly choosesSessionId: boolean
  /** In review mode the CLI still offers the model a shell (which must refuse to write); false: it offers none. */
  readonly reviewOffersShell: boolean
  /** It reports the turn's cost in USD (claude; pi from the prices the profile gives the fake model). */
  readonly reportsCost?: boolean
  /** A failed API call still exits 0 (pi in --mode json): the error is only in its output. */
  readonly apiErrorExitsZero?: boolean
  /**
   * Writes the CLI's config under `home` (already HOME and the XDG dirs) and
   * returns the environment that points it at `server` and keeps it off the
   * network (no update checks, telemetry, model-list fetches).
   */
  readonly env: (server: FakeModelServer, home: string) => Record<string, string>
  /** Its own retries turned off (or as low as they go), on top of `env`. */
  readonly lowRetries?: (home: string) => Record<string, string>
  /** The argv that runs it directly (docs/cli-facts.md), prompt delivery included. */
  readonly direct: (session: Session, prompt: string, cwd: string) => DirectRun
  /** The session id as its JSON events report it. */
  readonly sessionIdOf: (events: ReadonlyArray<any>) => string | undefined
  /** The final assistant message of the run, as its JSON events report it. */
  readonly finalTextOf: (events: ReadonlyArray<any>) => string
}

export const isRoot = typeof process.getuid === "function" && process.getuid() === 0

/** The first non-empty string `pick` finds in the events. */
export const firstString = (events: ReadonlyArray<any>, pick: (event: any) => unknown): string | undefined =>
  events.map(pick).find((v): v is string => typeof v === "string" && v.length > 0)
