/**
 * kilo (`@kilocode/cli`, checked against 7.7.7): Kilo CLI 7.x is a fork of
 * opencode with the same `run` command, flags, JSON events and permission
 * rules, `KILO_*` in place of `OPENCODE_*` (docs/cli-facts.md). Its spec is
 * opencode's (opencode.ts) with kilo's names:
 *
 *   new:    kilo run --format json --dir <worktree> --auto [-m provider/model] [--variant r] <prompt>
 *   resume: kilo run --format json --dir <worktree> --auto -s <ses_…> [-m provider/model] [--variant r] <prompt>
 *   review: `--agent plan` instead of `--auto`, and KILO_PERMISSION denying edit, bash and webfetch
 *
 * The plan agent alone still offers bash, edit and write (its rules refuse a
 * redirect but allow `touch`, `mkdir`, `cp`, `mv`, …); with KILO_PERMISSION
 * the model is offered only read, grep, glob and kilo's own board/skill/task tools.
 */
import { opencodeFamilySpec } from "./opencode.js"

/** Its events are opencode's: opencode's decoder, under kilo's name for the tests that go through every CLI. */
export { decodeLog, decodeText } from "./opencode.js"

export const kiloSpec = opencodeFamilySpec({
  name: "kilo",
  binary: "kilo",
  binEnv: "OOMPA_KILO_BIN",
  npmPackage: "@kilocode/cli",
  permissionEnv: "KILO_PERMISSION"
})
