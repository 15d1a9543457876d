/**
 * The most characters of `base...HEAD` diff a reviewer is shown (SPEC §6).
 * Large enough for any reviewable change, small enough to leave room in every
 * model's context for the prompt and the answer; a longer diff is cut and the
 * review file says `diffTruncated`. Git's diff uses it as its default cap.
 */
export const REVIEW_DIFF_MAX_CHARS = 48_000
