import { Clock, Effect, Either, Option, Ref } from "effect"
import { make as runEvent, NO_VERDICT_LINE } from "../domain/RunEvent.js"
import type { ReviewerSpec, WorkerSpec } from "../config/OompaConfig.js"
import { randomUuid } from "../domain/ids.js"
import { formatModel } from "../domain/Model.js"
import { oneLine } from "../domain/queue.js"
import { REVIEW_DIFF_MAX_CHARS } from "../domain/reviewDiff.js"
import { parseVerdict } from "../domain/Verdict.js"
import { emptyUsage } from "../domain/Usage.js"
import { reviewMarker } from "../domain/turnMarker.js"
import type { WorkerEvent } from "../domain/WorkerState.js"
import { HarnessError, Harnesses, turnFailed } from "../harness/Harness.js"
import { isLimit } from "../domain/TurnFailure.js"
import { providerOf } from "./provider.js"
import { Git } from "../services/Git.js"
import { nowIso } from "../services/RunLog.js"
import type { SwarmContext } from "./context.js"
import { addCost, type CycleProgress } from "./progress.js"
import { costOfTurn } from "./cost.js"
import { reviewPrompt, type PromptContext } from "./prompts.js"

export { REVIEW_DIFF_MAX_CHARS } from "../domain/reviewDiff.js"

/**
 * One review round (SPEC §6): the reviewers of the worker, then the global
 * chain, are tried in order until one gives a verdict. A reviewer that fails or
 * gives no `VERDICT:` line falls through; no verdict at all is not an approval.
 */
export const reviewWork = Effect.fn("engine.reviewWork")(function* (
  ctx: SwarmContext,
  spec: WorkerSpec,
  options: {
    readonly cycle: number
    readonly cwd: string
    readonly progress: Ref.Ref<CycleProgress>
    readonly promptContext: PromptContext
    /** The files of the target...HEAD diff, when the caller just looked them up. */
    readonly files?: ReadonlyArray<string>
  }
) {
  const chain: ReadonlyArray<ReviewerSpec> = [...spec.reviewers, ...ctx.config.reviewers]
  if (chain.length === 0) return { _tag: "Approved" } satisfies WorkerEvent
  const git = yield* Git
  const harnesses = yield* Harnesses
  const progress = yield* Ref.get(options.progress)
  const round = progress.reviewRounds + 1
  yield* Ref.update(options.progress, (p) => ({ ...p, reviewRounds: round }))

  const base = yield* git.mergeBase(options.cwd, ctx.targetBranch, "HEAD")
  // base...HEAD is target...HEAD: the files the caller found are this diff's.
  const diff = yield* git.diff(options.cwd, base, "HEAD", {
    maxChars: REVIEW_DIFF_MAX_CHARS,
    ...(options.files !== undefined ? { files: options.files } : {})
  })
  const log = yield* git.log(options.cwd, `${base}..HEAD`)
  const listing = yield* ctx.queue.list
  const tasks = listing.current
    .filter((entry) => progress.claims.includes(entry.id))
    .map((entry) => ({ id: entry.id, json: JSON.stringify(entry.task, null, 2) }))

  // A pass tries the chain once; when a reviewer was cut short by its provider's limit and none
  // gave a verdict, the round goes through the chain again once the governor lets it (a limit is
  // not a rejection). Each attempt has its own number, log and review file.
  for (let pass = 0; ; pass++) {
    let limitedThisPass = false
    for (const [place, reviewer] of chain.entries()) {
      const index = pass * chain.length + place
      const name = formatModel(reviewer.model)
      const prompt = reviewPrompt(options.promptContext, reviewer.prompt.files.length > 0 ? reviewer.prompt.text : ctx.reviewerPrompt, {
        tasks,
        log: log.join("\n"),
        base,
        diff: diff.text,
        truncated: diff.truncated,
        files: diff.files,
        round
      })
      const logPath = ctx.runLog.reviewLogPath(spec.id, options.cycle, round, index)
      const sessionId = yield* randomUuid
      const startedAt = yield* nowIso
      yield* ctx.runLog.writePrompt(logPath, prompt)
      const started = yield* Clock.currentTimeMillis
      yield* ctx.runLog.emit(
        runEvent.reviewStarted({ worker: spec.id, cycle: options.cycle }, { round, attempt: index + 1, reviewer: name, log: logPath })
      )
      const provider = providerOf(reviewer.model.harness, process.env)
      // A budget of the worker's scope reached: no new review turn; the worker ends the cycle, which ends this wait.
      if (!(yield* ctx.budgets.mayStartTurn(spec.id))) return yield* Effect.never
      const outcome = yield* Effect.scoped(Effect.gen(function* () {
        const admission = yield* ctx.governor.admit(provider)
        if (admission._tag === "Refused") {
          return Either.left(new HarnessError({ harness: reviewer.model.harness, message: `not started: ${provider.label} refused its credentials earlier in this run (${admission.reason})` }))
        }
        const turnStarted = yield* Clock.currentTimeMillis
        const result = yield* harnesses
          .get(reviewer.model.harness)
          .runTurn({
            prompt,
            cwd: options.cwd,
            model: reviewer.model,
            session: { _tag: "New", id: sessionId },
            mode: "review",
            // The reviewer's own `timeout`, else the worker's.
            timeout: reviewer.timeout ?? spec.timeout,
            logPath,
            marker: reviewMarker(ctx.swarm, spec.id, options.cycle, round, index)
          })
          .pipe(Effect.either)
        if (Either.isRight(result) && turnFailed(result.right) && isLimit(result.right.failure)) {
          limitedThisPass = true
          const limit = yield* ctx.governor.limited(provider, result.right.failure!, turnStarted)
          yield* ctx.runLog.emit(runEvent.rateLimited({ worker: spec.id, cycle: options.cycle }, limit))
        } else if (Either.isRight(result) && turnFailed(result.right) && result.right.failure?.class === "auth") {
          yield* ctx.governor.authFailed(provider, result.right.error ?? "authentication failed")
        } else if (Either.isRight(result)) {
          yield* ctx.governor.cleared(provider)
        }
        return result
      }))
      const finished = yield* Clock.currentTimeMillis
      // A failed reviewer's record says why in the CLI's own words (its error event, else its stderr).
      const error = Either.isLeft(outcome)
        ? `${outcome.left.harness}: ${outcome.left.message}`
        : turnFailed(outcome.right)
          ? (outcome.right.timedOut
              ? `reviewer timed out after ${Math.round(outcome.right.durationMs / 1000)} s`
              : outcome.right.exitCode === 0
                ? "reviewer reported a failed run (exit 0)"
                : `reviewer exited with ${outcome.right.exitCode ?? "a signal"}`) + (outcome.right.error ? `: ${outcome.right.error}` : "")
          : undefined
      const text = Either.isRight(outcome) ? outcome.right.text : ""
      const verdict = error === undefined ? parseVerdict(text) : undefined
      const cost = Either.isRight(outcome) ? costOfTurn(ctx, reviewer.model, outcome.right) : undefined
      if (Either.isRight(outcome)) yield* addCost(options.progress, outcome.right.usage, cost!.costUsd, cost!.estimated)
      yield* ctx.runLog.writeReview({
        swarm: ctx.swarm,
        worker: spec.id,
        cycle: options.cycle,
        round,
        attempt: index + 1,
        reviewer: name,
        verdict: verdict ?? null,
        text,
        ...(error !== undefined ? { error } : verdict === undefined ? { error: "no VERDICT line in the final message" } : {}),
        ...(Either.isRight(outcome) && turnFailed(outcome.right) ? { failure: outcome.right.failure ?? { class: "other" as const } } : {}),
        diffTruncated: diff.truncated,
        files: diff.files,
        startedAt,
        durationMs: finished - started,
        usage: Either.isRight(outcome) ? outcome.right.usage : emptyUsage,
        ...cost?.record,
        log: logPath
      })
      // The reviewer's spend counts against the reviewed worker's budgets (and its tasks'), after its record.
      if (cost !== undefined) yield* ctx.budgets.spend(spec.id, cost.spent)
      if (cost !== undefined && Option.isNone(cost.costUsd)) yield* ctx.budgets.unpriced(name, spec.id)
      const spent = Either.isRight(outcome) ? { usage: outcome.right.usage, ...cost?.record } : {}
      if (verdict === undefined) {
        yield* ctx.runLog.emit(
          runEvent.review(
            { worker: spec.id, cycle: options.cycle },
            { round, attempt: index + 1, reviewer: name, verdict: null, error: error ?? NO_VERDICT_LINE, nextReviewer: place + 1 < chain.length, ...spent }
          )
        )
        continue
      }
      yield* ctx.runLog.emit(runEvent.review({ worker: spec.id, cycle: options.cycle }, { round, attempt: index + 1, reviewer: name, verdict, ...spent }))
      switch (verdict) {
        case "APPROVED":
          return { _tag: "Approved" } satisfies WorkerEvent
        case "NEEDS_CHANGES":
          return { _tag: "Feedback", kind: "review", text: feedbackOf(text) } satisfies WorkerEvent
        case "REJECTED": {
          // The reviewer's words go with the task's attempt, so the next cycle knows why (SPEC §8).
          const why = oneLine(withoutVerdict(text), 240)
          return { _tag: "Rejected", reason: `rejected by ${name} in review round ${round}${why ? `: ${why}` : ""}` } satisfies WorkerEvent
        }
      }
    }
    if (!limitedThisPass) break
  }
  return { _tag: "Rejected", reason: `no reviewer gave a verdict in review round ${round}` } satisfies WorkerEvent
})

const withoutVerdict = (text: string): string =>
  text
    .split("\n")
    .filter((line) => !/VERDICT:/.test(line))
    .join("\n")
    .trim()

/** The reviewer's message without its verdict line: what the worker is told. */
const feedbackOf = (text: string): string => withoutVerdict(text) || "The reviewer asked for changes without saying which."
