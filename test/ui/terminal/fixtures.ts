/**
 * Swarm views for the terminal view's tests, folded from real event values by
 * the one fold (domain/swarmView.ts), events one second apart from a fixed start.
 */
import { make, type RunEvent, type RunEventDraft } from "../../../src/domain/RunEvent.js"
import { viewOf, type SwarmView } from "../../../src/domain/swarmView.js"

export const T0 = Date.UTC(2026, 0, 1, 9, 0, 0)

export const stamp = (drafts: ReadonlyArray<RunEventDraft>, from = T0): Array<RunEvent> =>
  drafts.map((d, i) => ({ at: new Date(from + i * 1000).toISOString(), ...d }) as RunEvent)

const usage = (n: number) => ({ inputTokens: n, outputTokens: n / 10, cachedInputTokens: 0 })

/** A swarm of `n` workers, each in its own state (the phases in order), with a rejected cycle and a back-off. */
export const busySwarm = (n = 4): ReadonlyArray<RunEventDraft> => {
  const drafts: Array<RunEventDraft> = [
    make.swarmStarted({}, { swarm: "3fa2b1c9", targetBranch: "main", workers: n, pending: 12, runFiles: ".oompa/runs/3fa2b1c9" })
  ]
  for (let i = 0; i < n; i++) {
    const w = { worker: `w${i}` }
    const c = { worker: `w${i}`, cycle: 1 }
    drafts.push(make.workerStarted(w, { model: i % 2 === 0 ? "claude:opus" : "codex:gpt-5.3-codex:medium", canPlan: false, maxCycle: 5 }))
    drafts.push(make.cycleStarted(c, { branch: `oompa/3fa2b1c9/w${i}-c1`, worktree: "/wt", base: "abc" }))
    drafts.push(make.turnStarted(c, { turn: 1, kind: "start", log: `/logs/w${i}-c1-t1.log` }))
    drafts.push(make.claim(c, { results: [{ id: `task-${i}`, result: "Claimed" }] }))
    drafts.push(make.turnStarted(c, { turn: 2, kind: "claimresults", log: `/logs/w${i}-c1-t2.log` }))
    drafts.push(
      make.turnEnded(c, {
        turn: 2, kind: "claimresults", exitCode: 0, timedOut: false, signals: [], durationMs: 1000,
        usage: usage(12_000 * (i + 1)), costUsd: 0.125 * (i + 1), log: `/logs/w${i}-c1-t2.log`, cycleName: `w${i}-c1`
      })
    )
  }
  return drafts
}

export const viewAt = (drafts: ReadonlyArray<RunEventDraft>): SwarmView => viewOf(stamp(drafts))
export const lastAt = (drafts: ReadonlyArray<RunEventDraft>): number => T0 + (drafts.length - 1) * 1000
