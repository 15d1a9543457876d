/**
 * Replaces every `{{NAME}}` whose NAME is a key of `tokens` with its value,
 * literally: a `$`, `$&`, `$1` or `\` in a value is just text (no regex
 * replacement strings are involved), and a value is never scanned again for
 * tokens. Unknown tokens are left as they are.
 */
export const renderTemplate = (text: string, tokens: Readonly<Record<string, string>>): string => {
  let out = ""
  let from = 0
  for (;;) {
    const open = text.indexOf("{{", from)
    if (open === -1) break
    const close = text.indexOf("}}", open + 2)
    if (close === -1) break
    const name = text.slice(open + 2, close)
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && Object.prototype.hasOwnProperty.call(tokens, name)) {
      out += text.slice(from, open) + tokens[name]
      from = close + 2
    } else {
      // Not one of ours: keep the first "{" and look again from the next character.
      out += text.slice(from, open + 1)
      from = open + 1
    }
  }
  return out + text.slice(from)
}

/** The tokens the engine renders into prompts. */
export interface PromptTokens {
  /** Absolute path of the task queue root. */
  readonly TASKS_ROOT: string
  readonly WORKER_ID: string
  readonly SWARM_ID: string
  readonly TARGET_BRANCH: string
}
