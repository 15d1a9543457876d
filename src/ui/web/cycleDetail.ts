import { FileSystem, Path } from "@effect/platform"
import { Effect, Option } from "effect"
import { finalMessageFileOf, parseCycleName, promptFileOf } from "../../domain/naming.js"
import { REVIEW_DIFF_MAX_CHARS } from "../../domain/reviewDiff.js"
import type { RunEventLine } from "../../domain/RunFiles.js"
import { readEvents, readReviews, type RunInfo } from "../../runs/readRuns.js"
import { Git } from "../../services/Git.js"

/**
 * The dashboard's cycle page: each turn's prompt and final message (the files
 * turn.ts writes beside the turn's log), the raw logs, the diff the reviewer
 * saw, every verdict with its feedback, and the merge commit or kept ref with
 * its `git show`. Works for a running cycle (from its events) and a finished
 * one (its cycle file).
 *
 * The diff is not stored: it is recomputed with git as review.ts made it,
 * `<base>...<commit>`, base the target tip the cycle's worktree started from
 * (cycle-started) and commit what was committed before that round
 * (merge step `committed`). Both stay reachable: from the target once merged,
 * from the kept ref otherwise, from the branch while the cycle runs.
 */

/** The most `git show` output a page gets (a huge commit is cut, and says so). */
const SHOW_MAX_BYTES = 400_000

const readText = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    return yield* fs.readFileString(file).pipe(Effect.option)
  })

/** A log path as recorded, found in this run folder's logs/ (the folder may have moved since). */
const inRunFolder = (run: RunInfo, log: string) =>
  Effect.map(Path.Path, (path) => path.join(run.dir, "logs", path.basename(log)))

const dataOf = (event: RunEventLine): Record<string, unknown> => event.data ?? {}

/**
 * `git show` of the merge commit or the kept ref. A merged commit that is a
 * merge (the worker merged the moved target into its branch, then the target
 * was fast-forwarded to it) is shown against its second parent, the target's
 * tip before: what the cycle brought to the target. Against the first parent,
 * as plain `git show --stat` has it, it would list what the target brought to
 * the worker instead, other cycles' work.
 */
const showLanded = (root: string, rev: string, merged: boolean) =>
  Effect.gen(function* () {
    const git = yield* Git
    const kind = merged ? ("merged" as const) : ("kept" as const)
    const options = { maxStdoutBytes: SHOW_MAX_BYTES, okExitCodes: [0, 128] }
    const parents = yield* git.run(root, ["show", "--no-patch", "--format=%P", "--end-of-options", rev, "--"], options)
    const second = parents.exitCode === 0 ? parents.stdout.trim().split(/\s+/)[1] : undefined
    const shown =
      second === undefined
        ? yield* git.run(root, ["show", "--no-color", "--stat", "--patch", "--format=fuller", "--end-of-options", rev, "--"], options)
        : yield* Effect.gen(function* () {
            const head = yield* git.run(root, ["show", "--no-color", "--no-patch", "--format=fuller", "--end-of-options", rev, "--"], options)
            const diff = yield* git.run(root, ["diff", "--no-color", "--stat", "--patch", "--end-of-options", second, rev, "--"], options)
            return head.exitCode !== 0 ? head : { ...diff, stdout: `${head.stdout}\n${diff.stdout}`, stdoutTruncated: head.stdoutTruncated || diff.stdoutTruncated }
          })
    return {
      kind,
      rev,
      /** The commit the change is shown against when it is not the first parent (a merge's target side). */
      against: second,
      show: shown.exitCode === 0 ? shown.stdout : "",
      truncated: shown.stdoutTruncated,
      error: shown.exitCode === 0 ? undefined : shown.stderr.trim()
    }
  }).pipe(Effect.orElseSucceed(() => ({ kind: merged ? ("merged" as const) : ("kept" as const), rev, against: undefined, show: "", truncated: false, error: "git show failed" })))

export const cycleDetail = (root: string, run: RunInfo, name: string) =>
  Effect.gen(function* () {
    const parsed = parseCycleName(name)
    if (Option.isNone(parsed)) return Option.none()
    const { worker, cycle } = parsed.value
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const git = yield* Git
    const events = (yield* readEvents(run.dir)).events.filter((e) => e.worker === worker && e.cycle === cycle)
    const file = run.cycles.find((c) => c.worker === worker && c.cycle === cycle)
    if (file === undefined && events.length === 0) return Option.none()

    // Turns: as recorded in the cycle file, else as its events tell so far.
    const ended = new Map(events.filter((e) => e.type === "turn-ended").map((e) => [Number(dataOf(e)["turn"]), dataOf(e)]))
    const startedTurns = events.filter((e) => e.type === "turn-started")
    const turns = yield* Effect.forEach(startedTurns, (started) =>
      Effect.gen(function* () {
        const data = dataOf(started)
        const turn = Number(data["turn"])
        const record = file?.turns.find((t) => t.turn === turn) ?? ended.get(turn)
        const log = yield* inRunFolder(run, String(data["log"]))
        return {
          turn,
          kind: String(data["kind"]),
          startedAt: started.at,
          running: record === undefined,
          record,
          log: path.basename(log),
          prompt: Option.getOrUndefined(yield* readText(promptFileOf(log))),
          finalMessage: Option.getOrUndefined(yield* readText(finalMessageFileOf(log)))
        }
      })
    )

    const reviews = yield* Effect.forEach(
      (yield* readReviews(run)).reviews.filter((r) => r.worker === worker && r.cycle === cycle),
      (review) =>
        Effect.gen(function* () {
          const log = yield* inRunFolder(run, review.log)
          return { ...review, log: path.basename(log), prompt: Option.getOrUndefined(yield* readText(promptFileOf(log))) }
        })
    )

    // The commit each review round read: the last one committed before the round began.
    const base = events.find((e) => e.type === "cycle-started")?.data?.["base"]
    const reviewed: Array<{ round: number; commit: string }> = []
    let committed: string | undefined
    for (const event of events) {
      const data = dataOf(event)
      if (event.type === "merge" && data["step"] === "committed") committed = String(data["commit"])
      if (event.type === "review-started" && data["attempt"] === 1 && committed !== undefined) {
        reviewed.push({ round: Number(data["round"]), commit: committed })
      }
    }
    const diffs = typeof base !== "string"
      ? []
      : yield* Effect.forEach(reviewed, ({ round, commit }) =>
          git.diff(root, base, commit, { maxChars: REVIEW_DIFF_MAX_CHARS }).pipe(
            Effect.map((diff) => ({ round, base, commit, text: diff.text, truncated: diff.truncated, files: diff.files, stat: diff.stat, error: undefined as string | undefined })),
            Effect.catchAll((error) =>
              Effect.succeed({ round, base, commit, text: "", truncated: false, files: [] as ReadonlyArray<string>, stat: "", error: error.message })
            )
          )
        )

    const landedRev = file?.mergedCommit ?? file?.keptRef
    const landed = landedRev === undefined ? undefined : yield* showLanded(root, landedRev, file?.mergedCommit !== undefined)

    const logs = (yield* fs.readDirectory(path.join(run.dir, "logs")).pipe(Effect.orElseSucceed(() => [] as Array<string>)))
      .filter((n) => n.startsWith(`${name}-`) && n.endsWith(".log"))
      .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))

    return Option.some({
      run: run.id,
      name,
      worker,
      cycle,
      file,
      running: file === undefined,
      events,
      turns,
      reviews,
      diffs,
      landed,
      logs
    })
  })
