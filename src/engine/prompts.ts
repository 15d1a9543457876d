import { DONE_SIGNAL, MERGE_SIGNAL } from "../domain/Signal.js"
import type { ResumePrompt } from "../domain/WorkerState.js"
import { renderTemplate } from "../config/render.js"
import { humanDuration } from "../domain/humanDuration.js"

/**
 * The text of every prompt the framework sends (SPEC §5). Pure: the caller
 * supplies the loaded prompt files and the current queue status.
 * Values are substituted with `renderTemplate` (literal, so a `$` in a task
 * summary is just text).
 */
export interface PromptContext {
  readonly swarm: string
  readonly worker: string
  readonly tasksRoot: string
  readonly targetBranch: string
  /** `formatQueueStatus` of the queue right now. */
  readonly queueStatus: string
}

export const tagLine = (ctx: Pick<PromptContext, "swarm" | "worker">): string => `[oompa:${ctx.swarm}:${ctx.worker}]`

const tokens = (ctx: PromptContext) => ({
  TASKS_ROOT: ctx.tasksRoot,
  WORKER_ID: ctx.worker,
  SWARM_ID: ctx.swarm,
  TARGET_BRANCH: ctx.targetBranch
})

/** First turn of a cycle: tag, task header, queue status, the worker's own prompt. */
export const initialPrompt = (ctx: PromptContext, taskHeader: string, workerPrompt: string): string =>
  [
    tagLine(ctx),
    renderTemplate(taskHeader, tokens(ctx)).trim(),
    `## Queue status\n\n${ctx.queueStatus}`,
    renderTemplate(workerPrompt, tokens(ctx)).trim()
  ].join("\n\n") + "\n"

const MERGE_REMINDER =
  `When the work in this worktree is ready for review, end your final message with the line\n${MERGE_SIGNAL}`

/** The body of a resumed turn for each kind of resume. */
export const resumeBody = (prompt: ResumePrompt, extra: { readonly claimReport?: string; readonly silentTurns?: number; readonly round?: number; readonly maxRounds?: number }): string => {
  switch (prompt._tag) {
    case "Continue":
      return `## Continue\n\nContinue working. ${MERGE_REMINDER}`
    case "Nudge":
      return (
        `## Nudge\n\nYou have run ${extra.silentTurns ?? "several"} turns without a signal. Wrap up now: ` +
        `finish the smallest complete piece of your task and end with ${MERGE_SIGNAL} on its own line, ` +
        `or CLAIM a task if you hold none. Another turn without a signal ends this cycle as stuck.`
      )
    case "Stalled":
      return (
        `## Nudge: you went silent\n\nYour last turn printed nothing for ${humanDuration(prompt.silence)}, so it was ended ` +
        `(your changes in this worktree are kept). Continue where you left off: finish the task and end with ` +
        `${MERGE_SIGNAL} on its own line, or CLAIM a task if you hold none, or say what blocks you. ` +
        `Avoid commands that run long without printing anything. Going silent again ends this cycle as stuck.`
      )
    case "FollowUp":
      return `## Follow-up\n\nHere is the follow-up turn you asked for. This is the only one this cycle. ${MERGE_REMINDER}`
    case "ClaimResults":
      return `## Claim results\n\n${extra.claimReport ?? ""}\n\nWork on the tasks you hold. ${MERGE_REMINDER}`
    case "IgnoredDone":
      return (
        `## Continue\n\n${DONE_SIGNAL} is only honoured for planners; you are an executor. ` +
        `Claim a pending task, or finish the one you hold. ${MERGE_REMINDER}`
      )
    case "Feedback":
      switch (prompt.kind) {
        case "review":
          return (
            `## Review feedback (round ${extra.round ?? "?"} of ${extra.maxRounds ?? "?"})\n\n` +
            `The reviewer asked for changes:\n\n${prompt.text.trim()}\n\nAddress the feedback in this worktree. ${MERGE_REMINDER}`
          )
        case "conflict":
          return (
            `## Merge conflict\n\n${prompt.text.trim()}\n\nResolve every conflict in this worktree (leave no conflict ` +
            "markers), `git add` the files and commit the merge (`git commit --no-edit`). " + MERGE_REMINDER
          )
        case "tests":
          return `## Test failure\n\n${prompt.text.trim()}\n\nFix the failure in this worktree. ${MERGE_REMINDER}`
      }
  }
}

/** A resumed turn: the tag, the queue status, and the short instruction. */
export const resumePrompt = (ctx: PromptContext, body: string): string =>
  [tagLine(ctx), `## Queue status\n\n${ctx.queueStatus}`, body].join("\n\n") + "\n"

export interface ReviewMaterial {
  readonly tasks: ReadonlyArray<{ readonly id: string; readonly json: string }>
  readonly log: string
  readonly base: string
  readonly diff: string
  readonly truncated: boolean
  readonly files: ReadonlyArray<string>
  readonly round: number
}

/** What the reviewer sees (SPEC §6): its instructions, the tasks, the commits, the diff. */
export const reviewPrompt = (ctx: PromptContext, reviewerInstructions: string, material: ReviewMaterial): string => {
  const tasks =
    material.tasks.length === 0
      ? "(the worker claimed no task from the queue: judge the change on its own merits)"
      : material.tasks.map((task) => `### ${task.id}\n\n\`\`\`json\n${task.json.trim()}\n\`\`\``).join("\n\n")
  const cut = material.truncated
    ? `\n\n(The diff was cut to fit. All ${material.files.length} changed files:\n${material.files.map((f) => `- ${f}`).join("\n")})`
    : ""
  return (
    [
      `[oompa:${ctx.swarm}:${ctx.worker}:review]`,
      renderTemplate(reviewerInstructions, tokens(ctx)).trim(),
      `## Review round ${material.round} of work by ${ctx.worker}`,
      `## Task(s)\n\n${tasks}`,
      `## Commits\n\n${material.log.trim() || "(none)"}`,
      `## Diff (${material.base.slice(0, 12)}...HEAD)\n\n\`\`\`diff\n${material.diff}\n\`\`\`${cut}`,
      "End your final message with exactly one line: `VERDICT: APPROVED`, `VERDICT: NEEDS_CHANGES` or `VERDICT: REJECTED`."
    ].join("\n\n") + "\n"
  )
}
