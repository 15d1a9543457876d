/**
 * A real terminal for tests of the live view: a detached tmux session of a
 * fixed size on its own server (`tmux -L <socket>`, so parallel tests and a
 * user's own tmux never meet), read with `capture-pane` and typed into with
 * `send-keys`. Waiting is polling the pane until a condition holds, under an
 * overall deadline — never a fixed sleep.
 *
 *   const term = await startTmux({ name: "swarm", columns: 100, rows: 30, cwd, command })
 *   const pane = await term.waitFor((text) => text.includes("running"), "the header")
 *   await term.sendKeys("q")
 *   await term.kill()
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { repoRoot, runCommand } from "./runCli.js"

export const tmuxAvailable = (): boolean => fs.existsSync("/usr/bin/tmux") || (process.env.PATH ?? "").split(":").some((dir) => fs.existsSync(path.join(dir, "tmux")))

export interface TmuxOptions {
  /** Names the socket (made unique with the pid) and the artifacts. */
  readonly name: string
  readonly columns: number
  readonly rows: number
  readonly cwd: string
  /** A shell command line, run by /bin/sh in the pane. */
  readonly command: string
}

export interface Tmux {
  readonly socket: string
  /** The pane's text now (with `escapes`, its colours and styles as SGR sequences). */
  readonly capture: (escapes?: boolean) => Promise<string>
  /** A tmux format of the pane, e.g. "#{alternate_on}". */
  readonly display: (format: string) => Promise<string>
  /**
   * Polls the pane (every 100 ms) until `test` holds; fails after `timeoutMs`
   * (a guard against a hang, not a speed limit) naming `what` and showing the pane.
   */
  readonly waitFor: (test: (text: string) => boolean, what: string, timeoutMs?: number) => Promise<string>
  readonly sendKeys: (...keys: ReadonlyArray<string>) => Promise<void>
  readonly resize: (columns: number, rows: number) => Promise<void>
  readonly kill: () => Promise<void>
}

const tmux = async (socket: string, args: ReadonlyArray<string>, cwd?: string): Promise<string> => {
  const result = await runCommand("tmux", ["-L", socket, ...args], { ...(cwd ? { cwd } : {}), env: { ...process.env, TMUX: "" }, timeoutMs: 30_000 })
  if (result.code !== 0) throw new Error(`tmux ${args.join(" ")} failed (${String(result.code)}): ${result.stderr}`)
  return result.stdout
}

export const startTmux = async (options: TmuxOptions): Promise<Tmux> => {
  const socket = `oompa-test-${options.name}-${process.pid}-${Date.now().toString(36)}`
  await tmux(
    socket,
    ["-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", String(options.columns), "-y", String(options.rows), options.command],
    options.cwd
  )
  const capture = (escapes = false) => tmux(socket, ["capture-pane", "-p", ...(escapes ? ["-e"] : []), "-t", "main"])
  const waitFor: Tmux["waitFor"] = async (test, what, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs
    let text = ""
    for (;;) {
      text = await capture()
      if (test(text)) return text
      if (Date.now() > deadline) throw new Error(`the pane never showed ${what} in ${timeoutMs} ms; it shows:\n${text}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return {
    socket,
    capture,
    display: async (format) => (await tmux(socket, ["display-message", "-p", "-t", "main", format])).trim(),
    waitFor,
    sendKeys: async (...keys) => {
      await tmux(socket, ["send-keys", "-t", "main", ...keys])
    },
    resize: async (columns, rows) => {
      await tmux(socket, ["resize-window", "-t", "main", "-x", String(columns), "-y", String(rows)])
    },
    kill: async () => {
      await tmux(socket, ["kill-server"]).catch(() => undefined)
    }
  }
}

/** Where screenshots of the terminal go (gitignored): a person can look at them after a CI run. */
export const screenshotsDir = path.join(repoRoot, "artifacts", "screenshots")

const palette = ["#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5"]
const bright = ["#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff"]
const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/** A pane captured with escapes (SGR only: tmux's capture-pane -e) as a dark-terminal HTML page. */
export const ansiToHtml = (text: string, title: string): string => {
  let fg: string | undefined
  let bg: string | undefined
  let bold = false
  let dim = false
  let inverse = false
  let html = ""
  for (const part of text.split(/(\u001b\[[0-9;]*m)/)) {
    const sgr = /^\u001b\[([0-9;]*)m$/.exec(part)
    if (sgr === null) {
      if (part === "") continue
      const [f, b] = inverse ? [bg ?? "#1e1e1e", fg ?? "#d4d4d4"] : [fg, bg]
      const style = [f && `color:${f}`, b && `background:${b}`, bold && "font-weight:bold", dim && "opacity:0.6"].filter(Boolean).join(";")
      html += style === "" ? escapeHtml(part) : `<span style="${style}">${escapeHtml(part)}</span>`
      continue
    }
    const codes = sgr[1] === "" ? [0] : sgr[1]!.split(";").map(Number)
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i]!
      if (c === 0) [fg, bg, bold, dim, inverse] = [undefined, undefined, false, false, false]
      else if (c === 1) bold = true
      else if (c === 2) dim = true
      else if (c === 7) inverse = true
      else if (c === 22) [bold, dim] = [false, false]
      else if (c === 27) inverse = false
      else if (c >= 30 && c <= 37) fg = palette[c - 30]
      else if (c === 39) fg = undefined
      else if (c >= 40 && c <= 47) bg = palette[c - 40]
      else if (c === 49) bg = undefined
      else if (c >= 90 && c <= 97) fg = bright[c - 90]
      else if ((c === 38 || c === 48) && codes[i + 1] === 5) {
        const n = codes[i + 2]!
        const colour = n < 8 ? palette[n] : n < 16 ? bright[n - 8] : undefined
        if (c === 38) fg = colour
        else bg = colour
        i += 2
      }
    }
  }
  return `<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<body style="margin:0;background:#1e1e1e"><pre style="margin:0;padding:8px;color:#d4d4d4;font:14px/1.25 'DejaVu Sans Mono',monospace">${html}</pre></body>`
}

/**
 * Saves a capture as `<name>.txt` (plain), `<name>.ansi.txt` (with escapes)
 * and, when a chromium is installed, `<name>.png` rendered from HTML. A
 * screenshot that cannot be made is reported, not failed: it is for people.
 */
export const saveScreenshot = async (term: Tmux, name: string, size: { readonly columns: number; readonly rows: number }): Promise<void> => {
  fs.mkdirSync(screenshotsDir, { recursive: true })
  const plain = await term.capture()
  const ansi = await term.capture(true)
  fs.writeFileSync(path.join(screenshotsDir, `${name}.txt`), plain)
  fs.writeFileSync(path.join(screenshotsDir, `${name}.ansi.txt`), ansi)
  const html = path.join(screenshotsDir, `${name}.html`)
  fs.writeFileSync(html, ansiToHtml(ansi, name))
  const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p))
  if (chromium === undefined) return
  const width = Math.ceil(size.columns * 8.45) + 16
  const height = Math.ceil(size.rows * 17.5) + 16
  const result = await runCommand(
    chromium,
    ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", `--window-size=${width},${height}`, `--screenshot=${path.join(screenshotsDir, `${name}.png`)}`, `file://${html}`],
    { timeoutMs: 60_000 }
  )
  if (result.code !== 0) process.stderr.write(`screenshot ${name}.png not made (chromium exit ${String(result.code)}): ${result.stderr.slice(-500)}\n`)
}
