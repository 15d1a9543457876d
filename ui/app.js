// The oompa dashboard page: plain ES module, no build step. It reads the JSON
// routes of the local server (src/ui/web/routes.ts) and folds the run's
// server-sent events with the very fold the terminal view uses
// (src/domain/swarmView.ts, served compiled as /swarmView.js).
import { applyActivity, applyEvent, emptyView } from "/swarmView.js"

// The token came in the URL; the server has set its cookie. Keep it out of the
// address bar and the history.
if (location.search.includes("token=")) history.replaceState(null, "", location.pathname + location.hash)

const main = document.getElementById("main")
const crumbs = document.getElementById("crumbs")
const live = document.getElementById("live")
const controls = document.getElementById("controls")

// ---------------------------------------------------------------------------
// Formatting

const esc = (value) =>
  String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c])

const duration = (ms) => {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return "–"
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`
}
// "~": part of it was estimated from the price table (the CLI reported no cost; docs/budgets.md).
const cost = (usd, estimated) => `${estimated ? "~" : ""}$${(usd ?? 0).toFixed(4)}`
const tokens = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : String(n ?? 0))
const clock = (ms) => (ms ? new Date(ms).toLocaleTimeString([], { hour12: false }) : "–")
const dateTime = (iso) => (iso ? new Date(iso).toLocaleString([], { hour12: false }) : "–")
const short = (sha) => (sha ? sha.slice(0, 12) : "")
const cut = (text, n) => {
  const line = String(text ?? "").replace(/\s+/g, " ").trim()
  return line.length > n ? `${line.slice(0, n - 1)}…` : line
}

const api = async (path, signal) => {
  const response = await fetch(path, { credentials: "same-origin", signal })
  if (!response.ok) throw new Error(`${response.status}: ${(await response.text()).slice(0, 300)}`)
  return response.json()
}

/** What each element was last drawn with: `redraw` replaces its contents only when they change. */
const drawn = new WeakMap()
const redraw = (element, html) => {
  if (drawn.get(element) === html) return
  element.innerHTML = html
  drawn.set(element, html)
}

/**
 * A steering request (docs/steering.md): the server writes it for the running
 * swarm and answers with the swarm's answer. The browser sends this page's
 * Origin, which the server requires (CSRF), and the token's cookie.
 */
const steer = async (run, body) => {
  const note = (text, kind) => {
    const el = document.getElementById("steer-note")
    if (el) {
      el.textContent = text
      el.className = `note ${kind}`
    }
  }
  note("asking the swarm…", "")
  try {
    const response = await fetch(`/api/runs/${encodeURIComponent(run)}/control`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    })
    const answer = await response.json().catch(() => ({ error: `${response.status}` }))
    if (!response.ok) return note(answer.error ?? `${response.status}`, "bad")
    note(answer.ok ? answer.message : `refused: ${answer.message}`, answer.ok ? "ok" : "bad")
  } catch (error) {
    note(String(error.message ?? error), "bad")
  }
}

// One listener for every steering button (the page's policy allows no inline handlers).
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-steer]") : null
  if (!button) return
  const { steer: action, run, worker, task } = button.dataset
  if (action === "stop" && !confirm(`Stop swarm ${run}? Agents get 5 s to exit; their work is kept and their tasks go back to pending.`)) return
  button.disabled = true
  steer(run, { action, ...(worker ? { worker } : {}), ...(task ? { task } : {}) }).finally(() => (button.disabled = false))
})

/** Whether the page may steer this run: its swarm runs now (the files say so, and its events have not ended). */
const steerable = (detail, state) => detail.status === "running" && state.view.status !== "stopped" && !state.ended

const steerButton = (label, data, extra = "") =>
  `<button type="button" class="steer ${extra}" ${Object.entries(data)
    .map(([k, v]) => `data-${k}="${esc(v)}"`)
    .join(" ")}>${esc(label)}</button>`

const renderControls = (id, detail, state) => {
  if (!steerable(detail, state)) {
    controls.innerHTML = ""
    return
  }
  const note = document.getElementById("steer-note")
  const kept = note ? note.outerHTML : `<span id="steer-note" class="note"></span>`
  controls.innerHTML =
    kept +
    (state.view.paused
      ? steerButton("Resume", { steer: "resume", run: id })
      : steerButton("Pause", { steer: "pause", run: id })) +
    steerButton("Stop swarm", { steer: "stop", run: id }, "danger")
}

const runLink = (run) => `#/run/${encodeURIComponent(run)}`
const cycleLink = (run, name) => `#/run/${encodeURIComponent(run)}/cycle/${encodeURIComponent(name)}`

const OUTCOME_CLASS = {
  merged: "ok",
  "no-changes": "dim",
  done: "info",
  interrupted: "dim",
  rejected: "bad",
  "merge-failed": "bad",
  stuck: "warn",
  error: "bad",
  running: "info"
}
const badge = (text, kind) => `<span class="badge ${esc(kind ?? OUTCOME_CLASS[text] ?? "dim")}">${esc(text)}</span>`
const verdictBadge = (verdict) =>
  badge(verdict ?? "no verdict", verdict === "APPROVED" ? "ok" : verdict === "NEEDS_CHANGES" ? "warn" : "bad")
const STATUS_CLASS = { running: "info", starting: "info", completed: "ok", interrupted: "warn", "stopped-by-user": "warn", error: "bad", crashed: "bad", stopped: "ok" }
const PHASE_CLASS = {
  starting: "dim",
  "setting up": "info",
  working: "info",
  claiming: "info",
  reviewing: "purple",
  fixing: "warn",
  merging: "ok",
  "waiting for tasks": "dim",
  "backing off": "bad",
  "rate-limited": "bad",
  stopped: "dim"
}

// ---------------------------------------------------------------------------
// Pages

/**
 * The page shown now. Whatever a page schedules — timers, animation frames,
 * its event stream, fetches — goes through its view, and closing the view
 * cancels all of it; a step that was already awaiting when the page changed
 * finds `view.alive` false and draws nothing. route() closes the shown view
 * before it starts the next one, so nothing of a page that is gone draws into
 * the one that replaced it (whose #main no longer has its elements).
 */
const openView = () => {
  const cleanups = []
  const controller = new AbortController()
  const view = {
    alive: true,
    signal: controller.signal,
    /** Runs `fn` when the view closes (at once if it already has). */
    onClose(fn) {
      if (view.alive) cleanups.push(fn)
      else fn()
    },
    api: (path) => api(path, controller.signal),
    timeout(fn, ms) {
      const timer = setTimeout(() => view.alive && fn(), ms)
      view.onClose(() => clearTimeout(timer))
      return () => clearTimeout(timer)
    },
    interval(fn, ms) {
      const timer = setInterval(() => view.alive && fn(), ms)
      view.onClose(() => clearInterval(timer))
    },
    frame(fn) {
      const frame = requestAnimationFrame(() => view.alive && fn())
      view.onClose(() => cancelAnimationFrame(frame))
    },
    /** Resolves after `ms` while the view is shown; never once it has closed. */
    sleep: (ms) => new Promise((resolve) => view.timeout(resolve, ms)),
    close() {
      if (!view.alive) return
      view.alive = false
      controller.abort()
      for (const fn of cleanups.splice(0).reverse()) {
        try {
          fn()
        } catch {}
      }
    }
  }
  return view
}

let shown = openView()

const route = async () => {
  shown.close()
  const view = (shown = openView())
  live.textContent = ""
  // A new page starts at its top, not at the offset the last one was scrolled to.
  window.scrollTo(0, 0)
  controls.innerHTML = ""
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent)
  try {
    if (parts.length === 0) return await runsPage(view, !location.hash)
    if (parts[0] === "run" && parts.length === 2) return await overviewPage(view, parts[1])
    if (parts[0] === "run" && parts[2] === "cycle" && parts.length === 4) return await cyclePage(view, parts[1], parts[3])
    main.innerHTML = `<p class="error">No page at ${esc(location.hash)}. <a href="#/">All runs</a></p>`
  } catch (error) {
    // A page left while it loaded: its aborted fetch is no error of the page shown now.
    if (view.alive) main.innerHTML = `<p class="error">${esc(error.message)}</p>`
  }
}

// --- every run --------------------------------------------------------------

const runsPage = async (view, openNewest) => {
  const runs = await view.api("/api/runs")
  if (!view.alive) return
  if (openNewest && runs.length > 0) {
    location.replace(runLink(runs[0].id))
    return
  }
  crumbs.innerHTML = `<span>runs</span>`
  main.innerHTML = `
    <section class="card">
      <h2>Runs of this repository</h2>
      ${
        runs.length === 0
          ? `<p class="muted">No runs yet: start one with <code>oompa swarm</code>.</p>`
          : `<table class="grid" id="runs">
        <thead><tr><th>swarm</th><th>status</th><th>started</th><th>stopped</th><th>target</th><th class="n">workers</th><th class="n">cycles</th><th class="n">merged</th><th class="n">tokens in/out</th><th class="n">cost</th></tr></thead>
        <tbody>${runs
          .map(
            (r) => `<tr>
          <td><a href="${runLink(r.id)}"><code>${esc(r.id)}</code></a></td>
          <td>${badge(r.status, STATUS_CLASS[r.status])}</td>
          <td>${esc(dateTime(r.startedAt))}</td><td>${esc(dateTime(r.stoppedAt))}</td>
          <td>${esc(r.targetBranch ?? "?")}</td>
          <td class="n">${r.workers}</td><td class="n">${r.cycles}</td><td class="n">${r.merged}</td>
          <td class="n">${tokens(r.inputTokens)} / ${tokens(r.outputTokens)}</td><td class="n">${cost(r.costUsd, r.costEstimated)}</td></tr>`
          )
          .join("")}</tbody></table>`
      }
    </section>`
}

// --- one run: the live overview ------------------------------------------------

/**
 * Follows a run's events: every line folded with applyEvent, kept for the
 * timeline, and the cost and tokens after it kept as the chart's series. The
 * browser's EventSource reconnects by itself with Last-Event-ID, and the
 * server resumes just past the last line it had.
 */
const followRun = (view, id, onChange) => {
  const state = { view: emptyView, events: [], series: [], ended: false, serverGone: false, lastId: undefined }
  const source = new EventSource(`/api/runs/${encodeURIComponent(id)}/events`)
  view.onClose(() => source.close())
  let scheduled = false
  const changed = () => {
    if (scheduled) return
    scheduled = true
    view.frame(() => {
      scheduled = false
      onChange(state)
    })
  }
  source.onmessage = (message) => {
    const event = JSON.parse(message.data)
    state.lastId = message.lastEventId
    state.view = applyEvent(state.view, event)
    state.events.push(event)
    const at = Date.parse(event.at)
    state.series.push({ at, cost: state.view.costUsd, tokens: state.view.inputTokens + state.view.outputTokens })
    changed()
  }
  // A worker's latest activity, read by the server from its current log.
  source.addEventListener("activity", (message) => {
    const a = JSON.parse(message.data)
    state.view = applyActivity(state.view, a.worker, a.log, a.text, a.at)
    changed()
  })
  source.addEventListener("end", (message) => {
    state.ended = true
    // The dashboard closed with the swarm (`oompa swarm --ui`): nothing more can be asked of it.
    state.serverGone = JSON.parse(message.data || "{}").closing === true
    source.close()
    changed()
  })
  source.onerror = () => {
    if (view.alive && !state.ended) live.innerHTML = `<span class="badge warn">reconnecting…</span>`
  }
  source.onopen = () => {
    if (view.alive) live.innerHTML = `<span class="badge info">live</span>`
  }
  return state
}

/**
 * The run's detail; while its folder does not exist yet (`oompa swarm --ui`
 * prints the URL just before the swarm writes its start), says so and asks
 * again until it does or the page changes.
 */
const runOrWait = async (view, id) => {
  for (;;) {
    try {
      return await view.api(`/api/runs/${encodeURIComponent(id)}`)
    } catch (error) {
      if (!view.alive) return undefined
      if (!String(error.message).startsWith("404")) throw error
      document.getElementById("figures").innerHTML = `<p class="muted">Waiting for run ${esc(id)} to start…</p>`
      await view.sleep(500)
    }
  }
}

const overviewPage = async (view, id) => {
  crumbs.innerHTML = `<a href="#/">runs</a><span>${esc(id)}</span>`
  main.innerHTML = `
    <section id="figures" class="figures"></section>
    <section class="card"><h2>Workers</h2><div id="workers"></div></section>
    <section class="card" id="attention-card"><h2>Needs attention</h2><div id="attention"></div></section>
    <section class="card" id="timeline-card"><h2>Timeline</h2><div id="timeline" class="chart"></div><div class="legend" id="legend"></div></section>
    <section class="card"><h2>Cost and tokens over time</h2><div id="spend" class="chart"></div></section>
    <section class="card"><h2>Queue</h2><div id="queue" class="board"></div></section>
    <div class="two">
      <section class="card"><h2>Merged commits</h2><div id="merged"></div></section>
      <section class="card"><h2>Cycles</h2><div id="cycles"></div></section>
    </div>
    <section class="card"><h2>Last events</h2><div id="recent"></div></section>`
  let detail = await runOrWait(view, id)
  if (detail === undefined || !view.alive) return
  let cancelRefetch = () => {}
  const refresh = () => {
    cancelRefetch()
    cancelRefetch = view.timeout(async () => {
      // With the server gone the run is drawn from its events alone (no steering buttons left).
      if (!state.serverGone) detail = await view.api(`/api/runs/${encodeURIComponent(id)}`).catch(() => detail)
      if (view.alive) renderDetail(id, detail, state)
    }, 300)
  }
  let seen = 0
  const state = followRun(view, id, (state) => {
    renderLive(id, detail, state)
    const fresh = state.events.slice(seen)
    seen = state.events.length
    // The queue board and the run's files change with these (a requeue moves a task with no other event).
    const changesFiles = (e) =>
      ["cycle-ended", "claim", "merge", "task-invalid"].includes(e.type) || (e.type === "steered" && e.data?.action === "requeue" && e.data?.ok)
    // A stopped run is read again at the end of its stream (which says whether its server is going).
    if (!state.serverGone && (state.ended || fresh.some(changesFiles))) refresh()
  })
  renderDetail(id, detail, state)
  renderLive(id, detail, state)
  view.interval(() => {
    if (state.view.status === "running") {
      renderFigures(detail, state)
      renderWorkers(id, state, detail)
    }
  }, 1000)
  const onResize = () => view.alive && renderCharts(id, state)
  window.addEventListener("resize", onResize)
  view.onClose(() => window.removeEventListener("resize", onResize))
}

/** The time the view is at: now while the run goes on, its end once it stopped. */
const nowOf = (state) => (state.view.status === "stopped" ? state.view.stoppedAt ?? Date.now() : Date.now())

const renderLive = (id, detail, state) => {
  if (state.ended || state.view.status === "stopped")
    live.innerHTML = badge("finished", "dim") + (state.serverGone ? ` <span class="badge dim" title="the dashboard ended with its swarm: run oompa ui to open this run again">offline</span>` : "")
  renderControls(id, detail, state)
  renderFigures(detail, state)
  renderWorkers(id, state, detail)
  renderAttention(state)
  renderCycles(id, detail, state)
  renderCharts(id, state)
  renderRecent(state)
}

const renderFigures = (detail, state) => {
  const v = state.view
  // Stopped: the run's files say how, unless they were read before it stopped (under `oompa swarm
  // --ui` the server went with the swarm): then its last event does.
  const stale = detail.status === "running" || detail.status === "starting"
  const reason = () => state.events.findLast((e) => e.type === "swarm-stopped")?.data?.reason ?? "stopped"
  const status = v.status === "stopped" ? (stale ? reason() : detail.status) : v.status === "starting" && detail.status !== "running" ? detail.status : v.status
  const elapsed = v.startedAt ? nowOf(state) - v.startedAt : undefined
  const perTask = v.tasksMerged > 0 ? cost(v.costUsd / v.tasksMerged, v.costEstimated) : "–"
  const figure = (label, value, extra = "") => `<div class="figure ${extra}"><div class="label">${esc(label)}</div><div class="value">${value}</div></div>`
  document.getElementById("figures").innerHTML = [
    figure("swarm", `<code>${esc(v.swarm ?? detail.id)}</code> ${badge(status, STATUS_CLASS[status])}${v.paused ? ` ${badge("paused", "warn")}` : ""}`, "wide"),
    figure("target", esc(v.targetBranch ?? detail.targetBranch ?? "?")),
    figure("elapsed", duration(elapsed)),
    figure("tasks merged", v.tasksMerged, "big"),
    figure("claimed", v.tasksClaimed, "big"),
    figure("pending", detail.queue ? detail.queue.pending.length : v.tasksPending, "big"),
    figure("tokens in / out", `${tokens(v.inputTokens)} / ${tokens(v.outputTokens)}`),
    figure(v.costEstimated ? "cost (estimated)" : "cost", cost(v.costUsd, v.costEstimated)),
    figure("cost per merged task", perTask)
  ].join("")
}

const lastEventOf = (state, worker) => {
  for (let i = state.view.recent.length - 1; i >= 0; i--) if (state.view.recent[i].worker === worker) return state.view.recent[i]
  return undefined
}

const renderWorkers = (id, state, detail) => {
  const now = nowOf(state)
  const rows = state.view.workers
  const canSteer = detail !== undefined && steerable(detail, state)
  document.getElementById("workers").innerHTML =
    rows.length === 0
      ? `<p class="muted">No worker has started yet.</p>`
      : `<table class="grid" id="workers-table"><thead><tr><th>worker</th><th>model</th><th>state</th><th>tasks</th><th>cycle / turn</th><th class="n">in state</th><th class="n">tokens in/out</th><th class="n">cost</th><th>latest activity</th>${canSteer ? "<th></th>" : ""}</tr></thead><tbody>${rows
          .map((w) => {
            const state_ = w.phase === "stopped" && w.stopReason ? `stopped: ${w.stopReason}` : w.phase
            const cycle = w.cycle === undefined ? "–" : `<a href="${cycleLink(id, `${w.id}-c${w.cycle}`)}">c${w.cycle}</a>${w.turn === undefined ? "" : ` / t${w.turn}`}`
            const activity = w.activity ?? lastEventOf(state, w.id)?.message ?? ""
            return `<tr data-worker="${esc(w.id)}"><td><b>${esc(w.id)}</b></td><td class="muted">${esc(w.model)}</td>
              <td class="state">${badge(state_, PHASE_CLASS[w.phase])}</td>
              <td>${w.tasks.map((t) => `<code>${esc(t)}</code>`).join(" ") || "–"}</td><td>${cycle}</td>
              <td class="n">${w.phase === "stopped" ? "–" : duration(now - w.since)}</td>
              <td class="n">${tokens(w.inputTokens)} / ${tokens(w.outputTokens)}</td><td class="n">${cost(w.costUsd, w.costEstimated)}</td>
              <td class="activity" title="${esc(activity)}">${esc(cut(activity, 90))}</td>${
                !canSteer
                  ? ""
                  : `<td>${
                      w.phase === "stopped"
                        ? ""
                        : w.stopping
                          ? badge("last cycle", "warn")
                          : steerButton("stop after cycle", { steer: "stop-worker", run: id, worker: w.id })
                    }</td>`
              }</tr>`
          })
          .join("")}</tbody></table>`
}

const renderAttention = (state) => {
  const items = state.view.attention
  document.getElementById("attention-card").classList.toggle("quiet", items.length === 0)
  document.getElementById("attention").innerHTML =
    items.length === 0
      ? `<p class="muted">Nothing needs you.</p>`
      : `<ul class="attention">${items
          .map(
            (a) => `<li>${badge(a.kind, a.kind === "warning" || a.kind === "invalid task" ? "warn" : "bad")} <span class="muted">${esc(clock(a.at))}</span>
              ${a.worker ? `<b>${esc(a.worker)}</b>${a.cycle !== undefined ? `-c${a.cycle}` : ""}` : ""} ${esc(a.text)}
              ${a.ref ? `<div class="ref">kept as <code>${esc(a.ref)}</code></div>` : ""}</li>`
          )
          .join("")}</ul>`
}

const renderRecent = (state) => {
  document.getElementById("recent").innerHTML = `<ol class="events">${state.view.recent
    .slice(-20)
    .reverse()
    .map((e) => `<li><span class="muted">${esc(clock(e.at))}</span> ${e.worker ? `<b>[${esc(e.worker)}]</b>` : "<b>[oompa]</b>"} ${e.cycle !== undefined ? `c${e.cycle} ` : ""}${esc(e.message)}</li>`)
    .join("")}</ol>`
}

const renderDetail = (id, detail, state) => {
  renderFigures(detail, state)
  renderControls(id, detail, state)
  const q = detail.queue
  const canSteer = steerable(detail, state)
  const card = (t, column) => `<div class="task" data-task="${esc(t.id ?? t.name)}">
      <div><code>${esc(t.id ?? t.name)}</code> ${t.attempts ? `<span class="muted" title="earlier attempts">↻${t.attempts}</span>` : ""}</div>
      ${t.summary ? `<div class="summary">${esc(t.summary)}</div>` : ""}
      ${t.dependsOn && t.dependsOn.length ? `<div class="deps">after ${t.dependsOn.map((d) => `<code>${esc(d)}</code>`).join(", ")}</div>` : ""}
      ${column === "current" && t.claimedBy ? `<div class="muted">${esc(t.claimedBy)}</div>` : ""}
      ${column === "complete" && t.completedBy ? `<div class="muted">${esc(t.completedBy)}${t.mergedCommit ? ` · <code>${esc(short(t.mergedCommit))}</code>` : ""}</div>` : ""}
      ${column === "invalid" && t.reason ? `<div class="muted">${esc(cut(t.reason, 160))}</div>` : ""}
      ${canSteer && (column === "complete" || column === "invalid") && (t.id ?? taskIdOf(t.name)) ? steerButton("requeue", { steer: "requeue", run: id, task: t.id ?? taskIdOf(t.name) }) : ""}
    </div>`
  const column = (name, title, items) => `<div class="column" data-column="${name}"><h3>${title} <span class="count">${items.length}</span></h3>${items.map((t) => card(t, name)).join("") || `<p class="muted">none</p>`}</div>`
  document.getElementById("queue").innerHTML = !q
    ? `<p class="muted">This run recorded no queue folder.</p>`
    : q.problem
      ? `<p class="error">${esc(q.problem)}</p>`
      : column("pending", "pending", q.pending) + column("current", "in progress", q.current) + column("complete", "complete", q.complete) + column("invalid", "invalid", q.invalid)
  document.getElementById("merged").innerHTML =
    detail.merged.length === 0
      ? `<p class="muted">Nothing merged yet.</p>`
      : `<table class="grid"><tbody>${detail.merged
          .map(
            (m) => `<tr><td><code>${esc(short(m.commit))}</code></td><td>${esc(m.subject ?? "")}</td>
              <td><a href="${cycleLink(id, `${m.worker}-c${m.cycle}`)}">${esc(m.worker)}-c${m.cycle}</a></td><td>${m.claims.map((c) => `<code>${esc(c)}</code>`).join(" ")}</td></tr>`
          )
          .join("")}</tbody></table>`
  renderCycles(id, detail, state)
}

/** The cycles the run recorded, and those its workers are in now (from the events: drawn on every change). */
const renderCycles = (id, detail, state) => {
  const running = state.view.workers
    .filter((w) => w.cycle !== undefined && w.phase !== "stopped" && !detail.cycles.some((c) => c.worker === w.id && c.cycle === w.cycle))
    .map((w) => ({ worker: w.id, cycle: w.cycle, outcome: "running", claims: w.tasks, reviewRounds: undefined, durationMs: nowOf(state) - w.since }))
  // Ended since the run's files were read (and, its server gone with the swarm, never read again): from their events.
  const known = (worker, cycle) => detail.cycles.some((c) => c.worker === worker && c.cycle === cycle)
  const starts = new Map(state.events.filter((e) => e.type === "cycle-started").map((e) => [`${e.worker}-c${e.cycle}`, Date.parse(e.at)]))
  const ended = state.events
    .filter((e) => e.type === "cycle-ended" && e.worker !== undefined && !known(e.worker, e.cycle))
    .map((e) => {
      const started = starts.get(`${e.worker}-c${e.cycle}`)
      return { worker: e.worker, cycle: e.cycle, outcome: e.data.outcome, claims: e.data.claims, reviewRounds: undefined, durationMs: started === undefined ? undefined : Date.parse(e.at) - started, costUsd: undefined }
    })
  const cycles = [...detail.cycles, ...ended, ...running.filter((r) => !ended.some((c) => c.worker === r.worker && c.cycle === r.cycle))]
  const html =
    cycles.length === 0
      ? `<p class="muted">No cycle yet.</p>`
      : `<table class="grid" id="cycles-table"><thead><tr><th>cycle</th><th>outcome</th><th>tasks</th><th class="n">rounds</th><th class="n">time</th><th class="n">cost</th></tr></thead><tbody>${cycles
          .map(
            (c) => `<tr><td><a href="${cycleLink(id, `${c.worker}-c${c.cycle}`)}">${esc(c.worker)}-c${c.cycle}</a></td><td>${badge(c.outcome)}</td>
              <td>${c.claims.map((t) => `<code>${esc(t)}</code>`).join(" ") || "–"}</td><td class="n">${c.reviewRounds ?? "–"}</td>
              <td class="n">${c.outcome === "running" ? "–" : duration(c.durationMs)}</td><td class="n">${c.outcome === "running" || c.costUsd === undefined ? "–" : cost(c.costUsd)}</td></tr>`
          )
          .join("")}</tbody></table>`
  // Drawn on every change of the run, but replaced only when it differs (a click on a link in it is not lost).
  redraw(document.getElementById("cycles"), html)
}

/** The task id of an invalid file's name (`x.json` → x), if it has one. */
const taskIdOf = (name) => {
  const match = /^([^/]+)\.(json|edn)$/.exec(String(name ?? ""))
  return match ? match[1] : undefined
}

// --- charts (inline SVG) ------------------------------------------------------

const OUTCOME_COLOUR = {
  merged: "#2f9e44",
  rejected: "#e03131",
  "merge-failed": "#c2255c",
  stuck: "#f08c00",
  error: "#a61e4d",
  "no-changes": "#adb5bd",
  interrupted: "#868e96",
  done: "#1c7ed6",
  running: "#74c0fc"
}
const VERDICT_COLOUR = { APPROVED: "#2f9e44", NEEDS_CHANGES: "#f08c00", REJECTED: "#e03131" }

/** A legend's colour square (an SVG attribute: the page's policy allows no inline style). */
const swatch = (colour) => `<svg class="swatch" width="10" height="10" aria-hidden="true"><rect width="10" height="10" rx="2" fill="${colour}"/></svg>`

/** A legend's verdict dot, as the timeline draws it. */
const dot = (colour) => `<svg class="swatch" width="10" height="10" aria-hidden="true"><circle cx="5" cy="5" r="4" fill="${colour}"/></svg>`

const renderCharts = (id, state) => {
  renderTimeline(id, state)
  renderSpend(state)
}

const timeAxis = (x, from, to, top, bottom, width) => {
  const span = Math.max(1, to - from)
  const steps = Math.max(2, Math.min(8, Math.floor(width / 120)))
  let out = ""
  let last = ""
  for (let i = 0; i <= steps; i++) {
    const t = from + (span * i) / steps
    const px = x(t)
    // A short span has several lines in one second: label each second once.
    const label = clock(t)
    out += `<line x1="${px}" x2="${px}" y1="${top}" y2="${bottom}" class="gridline"/>${
      label === last ? "" : `<text x="${px}" y="${bottom + 14}" class="axis" text-anchor="${i === 0 ? "start" : i === steps ? "end" : "middle"}">${esc(label)}</text>`
    }`
    last = label
  }
  return out
}

const renderTimeline = (id, state) => {
  const box = document.getElementById("timeline")
  const events = state.events
  const from = state.view.startedAt
  if (from === undefined || state.view.workers.length === 0) {
    box.innerHTML = `<p class="muted">No worker has started yet.</p>`
    return
  }
  const to = Math.max(nowOf(state), from + 1000)
  const width = Math.max(320, box.clientWidth)
  const lanes = state.view.workers.map((w) => w.id)
  const left = 56
  const laneHeight = 36
  const top = 6
  const height = top + lanes.length * laneHeight + 22
  const x = (t) => left + ((t - from) / (to - from)) * (width - left - 8)
  const y = (worker) => top + lanes.indexOf(worker) * laneHeight
  const open = new Map()
  const bars = []
  const ticks = []
  for (const e of events) {
    const at = Date.parse(e.at)
    const key = `${e.worker}-c${e.cycle}`
    if (e.type === "cycle-started") open.set(key, { worker: e.worker, cycle: e.cycle, start: at, turns: 0, reviews: [] })
    else if (e.type === "turn-started" && open.has(key)) {
      open.get(key).turns++
      ticks.push({ worker: e.worker, at, kind: "turn", text: `${key} turn ${e.data.turn} (${e.data.kind}) at ${clock(at)}` })
    } else if (e.type === "review" && open.has(key)) {
      open.get(key).reviews.push(e.data.verdict ?? "no verdict")
      ticks.push({ worker: e.worker, at, kind: "review", verdict: e.data.verdict, text: `${key} review round ${e.data.round}: ${e.data.verdict ?? "no verdict"} (${e.data.reviewer})` })
    } else if (e.type === "cycle-ended" && open.has(key)) {
      const bar = open.get(key)
      open.delete(key)
      bars.push({ ...bar, end: at, outcome: e.data.outcome, claims: e.data.claims, detail: e.message })
    }
  }
  for (const bar of open.values()) bars.push({ ...bar, end: to, outcome: state.view.status === "stopped" ? "interrupted" : "running", claims: [], detail: "running" })
  let svg = timeAxis(x, from, to, top, top + lanes.length * laneHeight, width)
  lanes.forEach((worker) => {
    svg += `<text x="4" y="${y(worker) + 21}" class="lane">${esc(worker)}</text><line x1="${left}" x2="${width - 8}" y1="${y(worker) + laneHeight - 2}" y2="${y(worker) + laneHeight - 2}" class="laneline"/>`
  })
  for (const bar of bars) {
    const x0 = x(bar.start)
    const w = Math.max(3, x(bar.end) - x0)
    const title = `${bar.worker}-c${bar.cycle}: ${bar.outcome} · ${duration(bar.end - bar.start)} · ${bar.turns} turn(s)${bar.reviews.length ? ` · reviews: ${bar.reviews.join(", ")}` : ""}${bar.claims.length ? ` · ${bar.claims.join(", ")}` : ""}\n${bar.detail}`
    svg += `<a href="${cycleLink(id, `${bar.worker}-c${bar.cycle}`)}" class="bar"><rect x="${x0}" y="${y(bar.worker) + 9}" width="${w}" height="16" rx="3" fill="${OUTCOME_COLOUR[bar.outcome] ?? "#868e96"}"><title>${esc(title)}</title></rect>${w > 34 ? `<text x="${x0 + 4}" y="${y(bar.worker) + 21}" class="barlabel">c${bar.cycle}</text>` : ""}</a>`
  }
  for (const tick of ticks) {
    const px = x(tick.at)
    const y0 = y(tick.worker)
    svg +=
      tick.kind === "turn"
        ? `<line x1="${px}" x2="${px}" y1="${y0 + 2}" y2="${y0 + 8}" class="tick"><title>${esc(tick.text)}</title></line>`
        : `<circle cx="${px}" cy="${y0 + 30}" r="3.5" fill="${VERDICT_COLOUR[tick.verdict] ?? "#495057"}" class="review"><title>${esc(tick.text)}</title></circle>`
  }
  box.innerHTML = `<svg id="timeline-svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="timeline of cycles per worker">${svg}</svg>`
  document.getElementById("legend").innerHTML =
    Object.entries(OUTCOME_COLOUR)
      .map(([name, colour]) => `<span>${swatch(colour)}${esc(name)}</span>`)
      .join("") +
    `<span><i class="tickmark"></i>turn started</span><span>review:</span>` +
    Object.entries(VERDICT_COLOUR)
      .map(([verdict, colour]) => `<span>${dot(colour)}${esc(verdict)}</span>`)
      .join("")
}

const renderSpend = (state) => {
  const box = document.getElementById("spend")
  const series = state.series
  const from = state.view.startedAt
  if (from === undefined || series.length === 0 || (series.at(-1).cost === 0 && series.at(-1).tokens === 0)) {
    box.innerHTML = `<p class="muted">Nothing spent yet.</p>`
    return
  }
  const to = Math.max(nowOf(state), from + 1000)
  const width = Math.max(320, box.clientWidth)
  const height = 150
  const left = 56
  const right = 64
  const top = 10
  const bottom = height - 22
  const maxCost = Math.max(...series.map((p) => p.cost), 1e-9)
  const maxTokens = Math.max(...series.map((p) => p.tokens), 1)
  const x = (t) => left + ((t - from) / (to - from)) * (width - left - right)
  const steps = (key, max) => {
    let last = 0
    let d = `M ${x(from)} ${bottom}`
    for (const p of series) {
      const px = x(p.at)
      d += ` L ${px} ${bottom - (last / max) * (bottom - top)} L ${px} ${bottom - (p[key] / max) * (bottom - top)}`
      last = p[key]
    }
    return `${d} L ${x(to)} ${bottom - (last / max) * (bottom - top)}`
  }
  box.innerHTML = `<svg id="spend-svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="cost and tokens over time">
    ${timeAxis(x, from, to, top, bottom, width - right)}
    <path d="${steps("tokens", maxTokens)}" class="tokens"><title>tokens: ${tokens(series.at(-1).tokens)}</title></path>
    <path d="${steps("cost", maxCost)}" class="cost"><title>cost: ${cost(series.at(-1).cost)}</title></path>
    <text x="4" y="${top + 10}" class="axis cost-label">${cost(maxCost)}</text><text x="4" y="${bottom}" class="axis">$0</text>
    <text x="${width - 4}" y="${top + 10}" class="axis tokens-label" text-anchor="end">${tokens(maxTokens)} tok</text>
  </svg><div class="legend"><span>${swatch("#1c7ed6")}cost</span><span>${swatch("#adb5bd")}tokens (in + out)</span></div>`
}

// --- one cycle ---------------------------------------------------------------

const diffHtml = (text) =>
  text
    .split("\n")
    .map((line) => {
      const kind = line.startsWith("+++") || line.startsWith("---") ? "file" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : line.startsWith("diff ") || line.startsWith("commit ") ? "head" : ""
      return kind ? `<span class="${kind}">${esc(line)}</span>` : esc(line)
    })
    .join("\n")

/** Streams a raw log into `pre`: what is there, then every byte appended while the cycle runs. */
const streamLog = async (run, name, pre, signal) => {
  pre.textContent = ""
  const response = await fetch(`/api/runs/${encodeURIComponent(run)}/logs/${encodeURIComponent(name)}`, { signal })
  if (!response.ok) {
    pre.textContent = await response.text()
    return
  }
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4
    pre.append(decoder.decode(value, { stream: true }))
    if (atBottom) pre.scrollTop = pre.scrollHeight
  }
  pre.dataset.complete = "true"
}

const cyclePage = async (view, run, name) => {
  crumbs.innerHTML = `<a href="#/">runs</a><a href="${runLink(run)}">${esc(run)}</a><span>${esc(name)}</span>`
  // The raw log picked, streamed again into the page redrawn when the cycle moves on.
  const picked = { log: undefined }
  const load = async () => {
    const detail = await view.api(`/api/runs/${encodeURIComponent(run)}/cycles/${encodeURIComponent(name)}`)
    if (view.alive) renderCycle(view, run, detail, picked)
    return detail
  }
  const detail = await load()
  if (!view.alive || !detail.running) return
  // While the cycle runs, its page follows the run's events and reloads on this cycle's.
  const source = new EventSource(`/api/runs/${encodeURIComponent(run)}/events`)
  view.onClose(() => source.close())
  live.innerHTML = badge("live", "info")
  let cancelRefetch = () => {}
  source.onmessage = (message) => {
    const event = JSON.parse(message.data)
    if (event.worker !== detail.worker || event.cycle !== detail.cycle) return
    cancelRefetch()
    cancelRefetch = view.timeout(async () => {
      const now = await load().catch(() => undefined)
      if (view.alive && now && !now.running) {
        source.close()
        live.innerHTML = badge("finished", "dim")
      }
    }, 300)
  }
  source.addEventListener("end", () => source.close())
}

const renderCycle = (view, run, d, picked) => {
  const f = d.file
  const outcome = f ? f.outcome : "running"
  const facts = [
    ["outcome", badge(outcome)],
    ["detail", esc(f?.detail ?? "")],
    ["branch", `<code>${esc(f?.branch ?? d.events.find((e) => e.type === "cycle-started")?.data?.branch ?? "")}</code>`],
    ["tasks", (f?.claims ?? []).map((c) => `<code>${esc(c)}</code>`).join(" ") || "–"],
    ["model", esc(f?.model ?? "")],
    ["time", f ? `${esc(dateTime(f.startedAt))} · ${duration(f.durationMs)}` : "running"],
    ["tokens in / out", f ? `${tokens(f.usage.inputTokens)} / ${tokens(f.usage.outputTokens)}` : "–"],
    ["cost", f ? cost(f.costUsd) : "–"],
    ["review rounds", f ? f.reviewRounds : d.reviews.length]
  ]
  const turns = d.turns
    .map(
      (t) => `<article class="turn" data-turn="${t.turn}">
      <h3>Turn ${t.turn} <span class="muted">(${esc(t.kind)})</span> ${
        t.running
          ? badge("running", "info")
          : `${t.record.exitCode === 0 && !t.record.timedOut ? "" : badge(t.record.timedOut ? "timed out" : `exit ${t.record.exitCode ?? "?"}`, "bad")}
             ${(t.record.signals ?? []).map((s) => badge(s, "info")).join(" ")}
             <span class="muted">${duration(t.record.durationMs)} · ${tokens(t.record.usage.inputTokens)}/${tokens(t.record.usage.outputTokens)} tok · ${cost(t.record.costUsd)}</span>`
      }</h3>
      ${t.record?.error ? `<p class="error">${esc(t.record.error)}</p>` : ""}
      <details ${t.turn === 1 ? "" : "open"}><summary>prompt</summary><pre class="text">${esc(t.prompt ?? "(not recorded: runs of oompa before the dashboard did not keep prompts)")}</pre></details>
      <div class="final"><div class="label">final message</div><pre class="text">${esc(t.finalMessage ?? (t.running ? "(the turn is still running)" : "(not recorded)"))}</pre></div>
      <button class="link" data-log="${esc(t.log)}">raw log ${esc(t.log)}</button>
    </article>`
    )
    .join("")
  const reviews = d.reviews
    .map((r) => {
      const diff = d.diffs.find((x) => x.round === r.round)
      return `<article class="review" data-round="${r.round}" data-attempt="${r.attempt}">
        <h3>Review round ${r.round}${r.attempt > 1 ? ` · reviewer #${r.attempt}` : ""} ${verdictBadge(r.verdict)} <span class="muted">${esc(r.reviewer)} · ${duration(r.durationMs)} · ${cost(r.costUsd)}</span></h3>
        ${r.error ? `<p class="error">${esc(r.error)}</p>` : ""}
        <div class="final"><div class="label">verdict and feedback</div><pre class="text feedback">${esc(r.text || "(empty)")}</pre></div>
        ${
          diff
            ? `<details open class="diff-block"><summary>the diff the reviewer saw: <code>${esc(short(diff.base))}...${esc(short(diff.commit))}</code> · ${diff.files.length} file(s)${r.diffTruncated ? " · cut to the review limit" : ""}</summary>
               ${diff.error ? `<p class="error">${esc(diff.error)}</p>` : `<pre class="diff">${diffHtml(diff.text)}</pre>`}</details>`
            : ""
        }
        ${r.prompt ? `<details><summary>reviewer's prompt</summary><pre class="text">${esc(r.prompt)}</pre></details>` : ""}
        <button class="link" data-log="${esc(r.log)}">raw log ${esc(r.log)}</button>
      </article>`
    })
    .join("")
  const landed = d.landed
    ? `<section class="card" id="landed"><h2>${d.landed.kind === "merged" ? "Merged as" : "Work kept as"} <code>${esc(d.landed.kind === "merged" ? short(d.landed.rev) : d.landed.rev)}</code></h2>
        ${d.landed.against ? `<p class="muted">A merge of the moved target into the cycle's branch: its change is shown against <code>${esc(short(d.landed.against))}</code>, the target's tip before, so what it brought.</p>` : ""}
        ${d.landed.error ? `<p class="error">${esc(d.landed.error)}</p>` : `<pre class="diff">${diffHtml(d.landed.show)}</pre>`}${d.landed.truncated ? `<p class="muted">(cut)</p>` : ""}</section>`
    : ""
  main.innerHTML = `
    <section class="card"><h2>Cycle ${esc(d.name)}</h2>
      <dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("")}</dl></section>
    <section class="card" id="turns"><h2>Turns</h2>${turns || `<p class="muted">No turn yet.</p>`}</section>
    <section class="card" id="reviews"><h2>Reviews</h2>${reviews || `<p class="muted">No review${f ? "" : " yet"}.</p>`}</section>
    ${landed}
    <section class="card" id="logs"><h2>Raw logs</h2>
      <div class="logs">${d.logs.map((l) => `<button class="link" data-log="${esc(l)}">${esc(l)}</button>`).join("")}</div>
      <pre id="log" class="log muted">Pick a log above${d.running ? " (a running turn's log is streamed as it grows)" : ""}.</pre></section>`
  // One log streams at a time, into this drawing's <pre>: a click or a redraw ends the one before.
  const show = (log) => {
    picked.controller?.abort()
    const controller = (picked.controller = new AbortController())
    view.onClose(() => controller.abort())
    picked.log = log
    const pre = document.getElementById("log")
    pre.classList.remove("muted")
    pre.dataset.name = log
    streamLog(run, log, pre, controller.signal).catch(() => {})
  }
  main.querySelectorAll("[data-log]").forEach((button) =>
    button.addEventListener("click", () => {
      show(button.dataset.log)
      document.getElementById("logs").scrollIntoView({ behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" })
    })
  )
  if (picked.log !== undefined) show(picked.log)
}

window.addEventListener("hashchange", route)
route()
