/**
 * The turn marker (SPEC §8 "Processes"): an environment variable set on every
 * process oompa runs for a swarm, and inherited by everything that process
 * starts — including tool commands an agent CLI runs in a session of their own
 * (setsid), which leave the CLI's process group. When a turn ends, oompa ends
 * every process whose environment carries the turn's exact marker; recovery of
 * a crashed run ends every process carrying a marker with the run's prefix.
 *
 *   OOMPA_TURN=<swarm>/<worker>-c<N>-t<T>              an agent turn
 *   OOMPA_TURN=<swarm>/<worker>-c<N>-r<R>-reviewer<I>  reviewer I of review round R
 *   OOMPA_TURN=<swarm>/<worker>-c<N>-test<K>           the K-th test_command run of the cycle
 *   OOMPA_TURN=<swarm>/<worker>-c<N>-setup<K>          the K-th worktree setup command of the cycle
 *
 * The part after `<swarm>/` is the stem of the run's log file, so a process
 * found by its marker can be traced to its log. Every marker of one swarm
 * starts with `<swarm>/` (swarm ids are 8 hex characters, so no swarm's prefix
 * is a prefix of another's).
 */
import { Option } from "effect"

export const TURN_MARKER_ENV = "OOMPA_TURN"

export type TurnMarkerKind =
  | { readonly _tag: "Turn"; readonly turn: number }
  | { readonly _tag: "Review"; readonly round: number; readonly reviewer: number }
  | { readonly _tag: "Test"; readonly run: number }
  | { readonly _tag: "Setup"; readonly command: number }

export interface TurnMarker {
  readonly swarm: string
  readonly worker: string
  readonly cycle: number
  readonly kind: TurnMarkerKind
}

/** What every marker of `swarm` starts with. */
export const swarmMarkerPrefix = (swarm: string): string => `${swarm}/`

export const formatTurnMarker = (marker: TurnMarker): string => {
  const base = `${swarmMarkerPrefix(marker.swarm)}${marker.worker}-c${marker.cycle}`
  switch (marker.kind._tag) {
    case "Turn":
      return `${base}-t${marker.kind.turn}`
    case "Review":
      return `${base}-r${marker.kind.round}-reviewer${marker.kind.reviewer}`
    case "Test":
      return `${base}-test${marker.kind.run}`
    case "Setup":
      return `${base}-setup${marker.kind.command}`
  }
}

export const turnMarker = (swarm: string, worker: string, cycle: number, turn: number): string =>
  formatTurnMarker({ swarm, worker, cycle, kind: { _tag: "Turn", turn } })

export const reviewMarker = (swarm: string, worker: string, cycle: number, round: number, reviewer: number): string =>
  formatTurnMarker({ swarm, worker, cycle, kind: { _tag: "Review", round, reviewer } })

export const testMarker = (swarm: string, worker: string, cycle: number, run: number): string =>
  formatTurnMarker({ swarm, worker, cycle, kind: { _tag: "Test", run } })

export const setupMarker = (swarm: string, worker: string, cycle: number, command: number): string =>
  formatTurnMarker({ swarm, worker, cycle, kind: { _tag: "Setup", command } })

const MARKER = /^([^/]+)\/(.+)-c(\d+)-(?:t(\d+)|r(\d+)-reviewer(\d+)|test(\d+)|setup(\d+))$/

/** The inverse of `formatTurnMarker`; None for anything it did not make. */
export const parseTurnMarker = (text: string): Option.Option<TurnMarker> => {
  const m = MARKER.exec(text)
  if (m === null) return Option.none()
  const [, swarm, worker, cycle, turn, round, reviewer, run, command] = m
  const kind: TurnMarkerKind =
    turn !== undefined
      ? { _tag: "Turn", turn: Number(turn) }
      : round !== undefined
        ? { _tag: "Review", round: Number(round), reviewer: Number(reviewer) }
        : run !== undefined
          ? { _tag: "Test", run: Number(run) }
          : { _tag: "Setup", command: Number(command) }
  return Option.some({ swarm: swarm!, worker: worker!, cycle: Number(cycle), kind })
}
