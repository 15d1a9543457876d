import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { chromium, type Browser, type Page } from "playwright-core"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { git, listDir, makeProject } from "../../support/cliProject.js"
import { binPath, ensureBuilt, runCli } from "../../support/runCli.js"
import { screenshotsDir } from "../../support/tmux.js"

/**
 * The web dashboard (issue 10) in a real headless browser: Debian's chromium
 * driven by playwright-core, against the built binary. A mock swarm runs with
 * `--ui`; the page opened from the URL it prints shows a worker's state
 * change live and a cycle opened while the run goes on; after the swarm has
 * ended, `oompa ui` serves the finished run, whose pages (every run, the
 * overview with its timeline, a cycle with its diff, verdicts and merge) are
 * checked and photographed into artifacts/screenshots/ for a person to see.
 * A swarm whose agents hang is steered from its page (docs/steering.md): pause,
 * resume, a worker's stop after cycle, a requeue, and Stop swarm.
 * Any error the page throws or logs fails the test.
 */

const chromiumPath = [process.env["OOMPA_CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser"].find(
  (p): p is string => p !== undefined && p !== "" && fs.existsSync(p)
)
/**
 * Skipped, and said so, on a machine with no chromium; never under CI, whose
 * .ci/run installs it: there a missing browser fails instead of passing unseen.
 */
const skipReason =
  chromiumPath === undefined && process.env["CI"] === undefined
    ? "no chromium binary (OOMPA_CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser): apt-get install chromium to run the dashboard's browser tests"
    : undefined
if (skipReason !== undefined) process.stderr.write(`test/ui/web/browser.test.ts skipped: ${skipReason}\n`)

/** Every agent turn thinks a while, so a worker stays in each state long enough to be seen. */
const slowTurns = Array.from({ length: 8 }, () => ({ auto: true, delayMs: 1200 }))

/**
 * Two workers do three tasks (t3 after t1; w0's first cycle sent back once, then
 * approved), beside a task file the queue cannot read. A third worker, w2,
 * holds the swarm and so its dashboard open until `release()`: its first turn
 * waits for a file, then finds nothing left to do.
 */
const project = () => {
  const gate = fs.mkdtempSync(path.join(os.tmpdir(), "oompa-browser-gate-"))
  const releaseFile = path.join(gate, "release")
  const dir = makeProject(
    {
      workers: [
        { model: "mock:scenario.json", count: 2, max_cycle: 2, can_plan: false },
        { model: "mock:scenario.json", max_cycle: 1, can_plan: false }
      ],
      reviewer: "mock:scenario.json"
    },
    3,
    {
      turns: { "*": slowTurns, w2: [{ run: [`until [ -f '${releaseFile}' ]; do sleep 0.1; done`], auto: true }] },
      reviews: { "w0-c1": ["NEEDS_CHANGES", "APPROVED"] }
    }
  )
  fs.writeFileSync(path.join(dir, "tasks", "pending", "t3.json"), JSON.stringify({ id: "t3", summary: "task 3", depends_on: ["t1"] }))
  fs.writeFileSync(path.join(dir, "tasks", "pending", "broken.json"), "{ not json")
  return { dir, gate, release: () => fs.writeFileSync(releaseFile, "") }
}

interface Served {
  readonly child: ChildProcess
  /** The dashboard's URL as printed, token (and the run's #/run/<id> for --ui) included. */
  readonly url: string
  readonly output: () => string
  readonly exited: Promise<number | null>
}

/** Starts the built binary and waits for the `dashboard: <url>` line it prints. */
const serve = async (args: ReadonlyArray<string>, cwd: string): Promise<Served> => {
  const child = spawn(process.execPath, [binPath, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no dashboard URL in 60 s; output:\n${output}`)), 60_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8")
      const match = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=[^\s#]+(?:#\S*)?)$/m.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    void exited.then((code) => reject(new Error(`oompa ${args.join(" ")} exited (${String(code)}) before printing a URL:\n${output}`)))
  })
  return { child, url, output: () => output, exited }
}

/** Ends a child this file started (SIGINT, then SIGKILL), by its own pid. */
const stop = async (served: Served | undefined) => {
  if (served === undefined || served.child.exitCode !== null || served.child.signalCode !== null) return
  served.child.kill("SIGINT")
  const timer = setTimeout(() => served.child.kill("SIGKILL"), 10_000)
  await served.exited
  clearTimeout(timer)
}

/** A page whose uncaught errors and console errors are kept for the test to assert there are none. */
const openPage = async (browser: Browser) => {
  // Reduced motion: the page scrolls at once, so a screenshot never catches it mid-scroll.
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, reducedMotion: "reduce" })
  const page = await context.newPage()
  const errors: Array<string> = []
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`))
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console.error: ${message.text()}`)
  })
  return { page, errors, close: () => context.close() }
}

const shot = async (page: Page, name: string, selector?: string) => {
  fs.mkdirSync(screenshotsDir, { recursive: true })
  const file = path.join(screenshotsDir, `${name}.png`)
  if (selector === undefined) await page.screenshot({ path: file, fullPage: true })
  else await page.locator(selector).screenshot({ path: file })
  process.stdout.write(`screenshot: ${path.relative(process.cwd(), file)}\n`)
}

const stateOf = (page: Page, worker: string) => page.locator(`#workers-table tr[data-worker="${worker}"] td.state`)

describe.skipIf(skipReason !== undefined)("the dashboard in a real headless browser (chromium via playwright-core, built binary)", () => {
  let browser: Browser
  const started: Array<Served> = []
  beforeAll(async () => {
    if (chromiumPath === undefined) throw new Error("CI is set but no chromium is installed: .ci/run installs the Debian package chromium")
    await ensureBuilt()
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] })
  }, 300_000)
  const projects: Array<string> = []
  afterEach(async () => {
    for (const served of started.splice(0)) await stop(served)
    for (const dir of projects.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
  })
  afterAll(async () => {
    await browser?.close()
  })

  it("live on `oompa swarm --ui`: a worker's state changes on the open page; a cycle opened meanwhile; 401 without the token; then every page of the finished run under `oompa ui`", async () => {
    const { dir, gate, release } = project()
    projects.push(dir, gate)
    const swarm = await serve(["swarm", "--ui", "--plain"], dir)
    started.push(swarm)
    const { origin } = new URL(swarm.url)
    const runId = /#\/run\/([0-9a-f]{8})$/.exec(swarm.url)?.[1]
    expect(runId).toBeDefined()

    // Without the token: refused, to a plain request and to a browser with no cookie alike.
    for (const route of ["/", "/app.js", "/api/runs", `/api/runs/${runId}/events`]) {
      expect({ route, status: (await fetch(origin + route)).status }).toEqual({ route, status: 401 })
    }
    const stranger = await browser.newContext()
    const refused = await (await stranger.newPage()).goto(origin + "/")
    expect(refused?.status()).toBe(401)
    expect(await refused?.text()).toContain("needs its access token")
    await stranger.close()

    const live = await openPage(browser)
    const { page } = live
    await page.goto(swarm.url)
    // The token is kept out of the address bar; the cookie carries it from here on.
    await page.waitForURL((url) => !url.search.includes("token="))
    await page.locator("#workers-table").waitFor()
    // A mark on this document: if the page reloaded, it would be gone.
    await page.evaluate("window.__sameDocument = true")
    await stateOf(page, "w0").filter({ hasText: /^working$/ }).waitFor({ timeout: 60_000 })
    // The cycles table has the running ones too (from the events, before any cycle file exists).
    await page.locator("#cycles-table a", { hasText: "w0-c1" }).waitFor()
    await shot(page, "dashboard-overview-live")
    // The row changes on its own, from the run's events: some other state than working.
    // (The cell drawn then is kept: the next drawing may already have replaced it.)
    const other = await page.waitForSelector(`#workers-table tr[data-worker="w0"] td.state .badge:not(:text-is("working"))`, { timeout: 60_000 })
    const changed = (await other.textContent())!.trim()
    expect(changed).toMatch(/^(claiming|reviewing|fixing|merging|waiting for tasks|starting|stopped.*)$/)
    expect(await page.evaluate("window.__sameDocument")).toBe(true)
    await expect.poll(() => page.locator("#live .badge").textContent()).toBe("live")

    // The queue board and merged commits follow the run too.
    await page.locator("#queue .column[data-column=complete] .task").first().waitFor({ timeout: 90_000 })
    await page.locator("#merged tr").first().waitFor()

    // Open w0's first cycle while the run goes on (and go back and forth at once: nothing
    // the overview had scheduled may draw into the page that replaced it).
    await page.locator(`#cycles-table a[href$="/cycle/w0-c1"]`).click()
    await page.evaluate(`location.hash = "#/run/${runId}"`)
    await page.evaluate(`location.hash = "#/run/${runId}/cycle/w0-c1"`)
    await page.locator("h2", { hasText: "Cycle w0-c1" }).waitFor()
    // A raw log, streamed into the page.
    await page.locator("#turns button[data-log]").first().click()
    await page.locator("#log", { hasText: '"type"' }).waitFor()
    // The cycle page follows the run until the cycle ends: then its outcome and verdicts are there.
    await page.locator("#reviews article.review h3 .badge", { hasText: /^APPROVED$/ }).waitFor({ timeout: 90_000 })
    await page.locator("#landed").waitFor({ timeout: 30_000 })
    expect(live.errors).toEqual([])
    // Back on the overview, live again: the three tasks reach the complete column.
    await page.goBack()
    await page.locator("#queue .column[data-column=complete] .task").nth(2).waitFor({ timeout: 90_000 })
    expect(await page.evaluate("window.__sameDocument")).toBe(true)
    expect(live.errors).toEqual([])
    await live.close()

    // w2 lets go: the swarm ends by itself (its dashboard with it).
    release()
    expect(await swarm.exited).toBe(0)
    expect(listDir(path.join(dir, "tasks", "complete")).sort()).toEqual(["t1.json", "t2.json", "t3.json"])

    // --- the finished run, served by `oompa ui` ---
    const ui = await serve(["ui"], dir)
    started.push(ui)
    const done = await openPage(browser)
    const p = done.page
    // The bare URL opens the newest run.
    await p.goto(ui.url)
    await p.waitForURL((url) => url.hash === `#/run/${runId}`)
    await p.locator("#live .badge", { hasText: "finished" }).waitFor()
    await p.locator("#figures .badge", { hasText: "completed" }).waitFor()
    expect(await p.locator("#workers-table tbody tr").count()).toBe(3)
    for (const worker of ["w0", "w1", "w2"]) expect((await stateOf(p, worker).textContent())!.trim()).toMatch(/^stopped/)
    // The queue board: all three done, none left.
    await p.locator("#queue .column[data-column=complete] .task").nth(2).waitFor()
    expect(await p.locator("#queue .column[data-column=complete] .task").allTextContents()).toHaveLength(3)
    expect(await p.locator("#queue .column[data-column=pending] .count").textContent()).toBe("0")
    expect(await p.locator("#queue .task[data-task=t3] .deps").textContent()).toBe("after t1")
    const invalid = p.locator("#queue .column[data-column=invalid] .task")
    expect(await invalid.count()).toBe(1)
    expect(await invalid.textContent()).toContain("broken.json")
    expect(await p.locator("#attention li", { hasText: "invalid task" }).count()).toBe(1)
    // Merged commits, each with the subject git has for it.
    const mergedRows = p.locator("#merged tr")
    expect(await mergedRows.count()).toBe(3)
    const firstMerged = (await mergedRows.first().locator("code").first().textContent())!
    expect(git(dir, "log", "-1", "--format=%s", firstMerged)).not.toBe("")
    expect(await mergedRows.first().textContent()).toContain(git(dir, "log", "-1", "--format=%s", firstMerged))
    // The timeline: a lane per worker, a bar per cycle (coloured by outcome), turn ticks and review dots with hover text.
    const cycles = listDir(path.join(dir, ".oompa", "runs", runId!, "cycles")).length
    expect(cycles).toBeGreaterThanOrEqual(3)
    expect(await p.locator("#timeline-svg text.lane").allTextContents()).toEqual(["w0", "w1", "w2"])
    expect(await p.locator("#timeline-svg a.bar rect").count()).toBe(cycles)
    expect(await p.locator("#timeline-svg a.bar rect").first().getAttribute("fill")).toBe("#2f9e44")
    expect(await p.locator("#timeline-svg line.tick").count()).toBeGreaterThan(cycles)
    const runDir = path.join(dir, ".oompa", "runs", runId!)
    expect(await p.locator("#timeline-svg circle.review").count()).toBe(listDir(path.join(runDir, "reviews")).length)
    expect(await p.locator("#timeline-svg a.bar rect title").first().textContent()).toMatch(/^w\d-c\d: merged · /)
    expect(await p.locator("#spend-svg path.cost").count()).toBe(1)
    await shot(p, "dashboard-overview")
    await shot(p, "dashboard-timeline", "#timeline-card")

    // Every run of the repository, newest first: a second swarm, with nothing left to do, is a past run too.
    const second = await runCli(["swarm", "--plain"], { cwd: dir, timeoutMs: 120_000 })
    const secondId = /^\[oompa\] swarm ([0-9a-f]{8}) /m.exec(second.stdout)?.[1]
    expect(secondId, second.stdout + second.stderr).toBeDefined()
    await p.locator(".brand").click()
    await p.locator("#runs tbody tr").nth(1).waitFor()
    const rows = await p.locator("#runs tbody tr").allTextContents()
    expect(rows).toHaveLength(2)
    expect(rows[0]).toContain(secondId!)
    expect(rows[1]).toContain(runId!)
    expect(rows[1]).toContain("completed")
    await shot(p, "dashboard-runs")
    // The run that did nothing has its pages too.
    await p.locator(`#runs a[href="#/run/${secondId}"]`).click()
    await p.locator("#figures .badge", { hasText: "completed" }).waitFor()
    await p.locator("#cycles", { hasText: "No cycle yet." }).waitFor()
    await p.locator("#spend", { hasText: "Nothing spent yet." }).waitFor()
    await p.goBack()
    await p.locator("#runs tbody tr").nth(1).waitFor()

    // A cycle of the finished run: each turn's prompt and final message, the diff each review read, every verdict with its feedback, the merge.
    await p.locator(`#runs a[href="#/run/${runId}"]`).click()
    await p.locator(`#cycles-table a[href$="/cycle/w0-c1"]`).click()
    await p.locator("h2", { hasText: "Cycle w0-c1" }).waitFor()
    // Start (claims), claim results (does the work), review feedback (the fix) — one more if w1 won the first claim.
    const turns = p.locator("#turns article.turn")
    expect(await turns.count()).toBeGreaterThanOrEqual(3)
    expect(await turns.last().locator("h3").textContent()).toContain("(review-feedback)")
    expect(await p.locator("#turns article.turn").first().locator(".final pre").textContent()).toContain("CLAIM(")
    expect(await p.locator("#turns article.turn").first().locator("details pre").textContent()).toContain(`[oompa:${runId}:w0]`)
    const reviews = p.locator("#reviews article.review")
    expect(await reviews.count()).toBe(2)
    expect(await reviews.nth(0).locator("h3 .badge").first().textContent()).toBe("NEEDS_CHANGES")
    expect(await reviews.nth(0).locator("pre.feedback").textContent()).toContain("Please add a short note on how this was checked.")
    expect(await reviews.nth(1).locator("h3 .badge").first().textContent()).toBe("APPROVED")
    const diff = (await reviews.nth(1).locator("pre.diff").textContent())!
    expect(diff).toMatch(/^diff --git a\/work\/t\d\.md b\/work\/t\d\.md$/m)
    expect(diff).toMatch(/^\+task \d: done by w0\.$/m)
    // The second round read the change made after the first round's feedback.
    expect(diff).toMatch(/^\+Checked by /m)
    expect(await reviews.nth(0).locator("pre.diff").textContent()).not.toMatch(/^\+Checked by /m)
    const landed = (await p.locator("#landed").innerText())!
    expect(landed).toContain("Merged as")
    const cycleFile = JSON.parse(fs.readFileSync(path.join(runDir, "cycles", "w0-c1.json"), "utf8")) as { claims: Array<string>; mergedCommit: string }
    expect(landed).toContain(`commit ${cycleFile.mergedCommit}`)
    // What the cycle brought to main: its own task's file, no other cycle's.
    expect(cycleFile.claims).toHaveLength(1)
    const files = [...landed.matchAll(/^ (work\/t\d\.md) \|/gm)].map((m) => m[1])
    expect(files).toEqual([`work/${cycleFile.claims[0]}.md`])
    // A raw log, streamed into the page.
    await p.locator("#turns article.turn").first().locator("button[data-log]").click()
    await p.locator("#log[data-complete=true]").waitFor()
    expect(((await p.locator("#log").textContent()) ?? "").length).toBeGreaterThan(0)
    await p.evaluate("window.scrollTo(0, 0)")
    await shot(p, "dashboard-cycle")
    expect(done.errors).toEqual([])
    await done.close()
  }, 240_000)

  it("steering from the page (docs/steering.md): Pause and Resume, a worker's stop after cycle, a requeue, then Stop swarm (its confirm accepted); the buttons go with the run", async () => {
    // The agents' turns hang: the swarm stays up while the page steers it. t2 is already
    // complete (done earlier), so the board offers to requeue it.
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 1, count: 2, can_plan: false }] }, 2, {
      turns: { w0: [{ hang: true }], w1: [{ hang: true }] }
    })
    projects.push(dir)
    fs.renameSync(path.join(dir, "tasks", "pending", "t2.json"), path.join(dir, "tasks", "complete", "t2.json"))
    const swarm = await serve(["swarm", "--ui", "--plain"], dir)
    started.push(swarm)
    const runId = /#\/run\/([0-9a-f]{8})$/.exec(swarm.url)?.[1]
    expect(runId).toBeDefined()
    const runDir = path.join(dir, ".oompa", "runs", runId!)
    const steered = () =>
      fs
        .readFileSync(path.join(runDir, "events.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { type: string; data: { action: string; by: string; ok: boolean; worker?: string; task?: string } })
        .filter((e) => e.type === "steered")
        .map((e) => ({ action: e.data.action, by: e.data.by, ok: e.data.ok, ...(e.data.worker ? { worker: e.data.worker } : {}), ...(e.data.task ? { task: e.data.task } : {}) }))

    const { page, errors, close } = await openPage(browser)
    await page.goto(swarm.url)
    for (const worker of ["w0", "w1"]) await stateOf(page, worker).filter({ hasText: /^working$/ }).waitFor({ timeout: 60_000 })
    const controls = page.locator("#controls")
    const swarmFigure = page.locator("#figures .figure.wide")

    // Pause: the header offers Resume, the swarm's figure has a paused badge, the swarm's answer is shown.
    await controls.locator("button[data-steer=pause]").click()
    await controls.locator("button[data-steer=resume]", { hasText: "Resume" }).waitFor()
    await swarmFigure.locator(".badge", { hasText: /^paused$/ }).waitFor()
    await page.locator("#steer-note.ok", { hasText: "paused: no new turn starts" }).waitFor()
    expect(await controls.locator("button[data-steer=pause]").count()).toBe(0)
    expect(steered()).toEqual([{ action: "pause", by: "web", ok: true }])
    await shot(page, "dashboard-steer-paused")

    // Resume: back to Pause, the badge gone.
    await controls.locator("button[data-steer=resume]").click()
    await controls.locator("button[data-steer=pause]", { hasText: "Pause" }).waitFor()
    await swarmFigure.locator(".badge", { hasText: /^paused$/ }).waitFor({ state: "detached" })
    await page.locator("#steer-note.ok", { hasText: /resumed/ }).waitFor()
    expect(steered().at(-1)).toEqual({ action: "resume", by: "web", ok: true })

    // w1 stops after its cycle: its row says it is in its last cycle; w0's still offers the button.
    const row = (worker: string) => page.locator(`#workers-table tr[data-worker="${worker}"]`)
    await row("w1").locator("button[data-steer=stop-worker]", { hasText: "stop after cycle" }).click()
    await row("w1").locator(".badge", { hasText: /^last cycle$/ }).waitFor()
    expect(await row("w1").locator("button[data-steer]").count()).toBe(0)
    expect(await row("w0").locator("button[data-steer=stop-worker]").count()).toBe(1)
    expect(steered().at(-1)).toEqual({ action: "stop-worker", by: "web", ok: true, worker: "w1" })

    // Requeue t2: the board moves it from complete to pending (no other event comes to redraw it).
    await page.locator("#queue .column[data-column=complete] .task[data-task=t2] button[data-steer=requeue]").click()
    await page.locator("#queue .column[data-column=pending] .task[data-task=t2]").waitFor()
    expect(await page.locator("#queue .column[data-column=complete] .task").count()).toBe(0)
    await page.locator("#steer-note.ok", { hasText: "task t2 requeued" }).waitFor()
    expect(steered().at(-1)).toEqual({ action: "requeue", by: "web", ok: true, task: "t2" })
    expect(listDir(path.join(dir, "tasks", "pending"))).toContain("t2.json")

    // Stop swarm asks first (confirm): accepted, the swarm stops as Ctrl-C would, by the user.
    const dialogs: Array<string> = []
    page.on("dialog", (dialog) => {
      dialogs.push(`${dialog.type()}: ${dialog.message()}`)
      void dialog.accept()
    })
    // The dashboard goes with the swarm: the page asks it only to stop, and to read the run again
    // while the stream still brings the stopped cycles. Under load (3 busy loops beside the test,
    // 5 of 5 runs) such a read, or the stream itself, races the server's close and is refused:
    // the page then keeps what it has and draws the rest from the events (checked below), so
    // those two failures, and the browser's console line for them, are the only ones allowed.
    const asked: Array<string> = []
    const failed: Array<string> = []
    page.on("request", (request) => asked.push(new URL(request.url()).pathname))
    page.on("requestfailed", (request) => failed.push(`${new URL(request.url()).pathname}: ${request.failure()?.errorText}`))
    await controls.locator("button[data-steer=stop]", { hasText: "Stop swarm" }).click()
    expect(await swarm.exited).toBe(130)
    expect(dialogs).toEqual([expect.stringMatching(new RegExp(`^confirm: Stop swarm ${runId}\\? `))])
    expect(JSON.parse(fs.readFileSync(path.join(runDir, "stopped.json"), "utf8"))).toMatchObject({ reason: "stopped-by-user", exitCode: 130 })
    expect(steered().at(-1)).toEqual({ action: "stop", by: "web", ok: true })
    expect(steered()).toHaveLength(5)
    // A finished run cannot be steered: no button is left on the page.
    await page.locator("#live .badge", { hasText: "finished" }).waitFor()
    await page.locator("button[data-steer]").first().waitFor({ state: "detached" })
    await swarmFigure.locator(".badge", { hasText: /^stopped-by-user$/ }).waitFor()
    expect(await page.locator("#workers-table th").count()).toBe(9)
    await page.locator("#live .badge", { hasText: /^offline$/ }).waitFor()
    // The workers stopped with the swarm; their cycles are over (interrupted), none still running.
    for (const worker of ["w0", "w1"]) expect((await stateOf(page, worker).textContent())!.trim()).toBe("stopped: stopped-by-user")
    expect(await page.locator("#cycles-table tbody tr").allInnerTexts()).toEqual([expect.stringMatching(/^w\d-c1\tinterrupted\t/), expect.stringMatching(/^w\d-c1\tinterrupted\t/)])
    await page.evaluate("window.scrollTo(0, 0)")
    await shot(page, "dashboard-steer-stopped")
    expect(asked[0]).toBe(`/api/runs/${runId}/control`)
    expect(asked.filter((asked) => asked !== `/api/runs/${runId}/control` && asked !== `/api/runs/${runId}`)).toEqual([])
    const raceWithClose = new RegExp(`^/api/runs/${runId}(/events)?: net::(ERR_CONNECTION_REFUSED|ERR_ABORTED)$`)
    expect(failed.filter((line) => !raceWithClose.test(line))).toEqual([])
    expect(errors.filter((line) => !/^console\.error: Failed to load resource: net::(ERR_CONNECTION_REFUSED|ERR_ABORTED)$/.test(line))).toEqual([])
    await close()
  }, 120_000)

  it("a rejected cycle of a finished run: the verdict, the work kept as a ref with its git show, the task back in pending", async () => {
    const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 1, can_plan: false }], reviewer: "mock:scenario.json" }, 1, {
      reviews: { "w0-c1": ["REJECTED"] }
    })
    projects.push(dir)
    // Merged nothing: exit 1, and the run is there to look at.
    expect((await runCli(["swarm", "--plain"], { cwd: dir, timeoutMs: 120_000 })).code).toBe(1)
    const runId = listDir(path.join(dir, ".oompa", "runs"))[0]!
    const cycleFile = JSON.parse(fs.readFileSync(path.join(dir, ".oompa", "runs", runId, "cycles", "w0-c1.json"), "utf8")) as { keptRef: string }
    expect(cycleFile.keptRef).toBe(`refs/oompa/kept/${runId}/w0-c1`)
    const ui = await serve(["ui"], dir)
    started.push(ui)
    const { page, errors, close } = await openPage(browser)
    await page.goto(ui.url)
    await page.waitForURL((url) => url.hash === `#/run/${runId}`)
    await page.locator("#attention li", { hasText: `kept as ${cycleFile.keptRef}` }).waitFor()
    expect(await page.locator("#timeline-svg a.bar rect").getAttribute("fill")).toBe("#e03131")
    expect(await page.locator("#timeline-svg circle.review").getAttribute("fill")).toBe("#e03131")
    // The task is pending again, its earlier attempt counted.
    expect(await page.locator("#queue .column[data-column=pending] .task[data-task=t1]").textContent()).toContain("↻1")
    await page.locator(`#cycles-table a[href$="/cycle/w0-c1"]`).click()
    await page.locator("h2", { hasText: "Cycle w0-c1" }).waitFor()
    // Opened from the bottom of the overview, the cycle's page starts at its top.
    expect(await page.evaluate("window.scrollY")).toBe(0)
    expect(await page.locator("#reviews article.review h3 .badge").first().textContent()).toBe("REJECTED")
    expect(await page.locator("#reviews pre.feedback").textContent()).toContain("VERDICT: REJECTED")
    const kept = await page.locator("#landed").innerText()
    expect(kept).toContain(`Work kept as ${cycleFile.keptRef}`)
    expect(kept).toContain(`commit ${git(dir, "rev-parse", cycleFile.keptRef)}`)
    expect(kept).toMatch(/^ work\/t1\.md \|/m)
    await shot(page, "dashboard-cycle-kept")
    expect(errors).toEqual([])
    await close()
  }, 120_000)
})
