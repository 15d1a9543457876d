import { humanDuration } from "../../domain/humanDuration.js"
import { terminalLine } from "../../domain/RunEvent.js"
import type { AttentionItem, SwarmView, WorkerPhase, WorkerView } from "../../domain/swarmView.js"
import { FAILED_STOPS } from "../../domain/swarmView.js"
import { fit, oneLine, paint, truncate, visibleWidth, type Style } from "./ansi.js"

/**
 * One frame of the live terminal view (issue 10), a pure function of the
 * swarm's folded view (domain/swarmView.ts), the clock and the terminal's
 * size: a header, one row per worker, the attention list, the last events
 * and a footer with the keys. The state is the fold's; this file only lays
 * it out.
 */
export interface FrameOptions {
  /** Now (ms since the epoch): elapsed time and time in state are counted to it. */
  readonly now: number
  readonly columns: number
  /** The terminal's height; undefined lays the frame out as tall as it needs (printed once, not redrawn). */
  readonly rows: number | undefined
  readonly colour: boolean
  /** The keys line at the bottom; "" for none. */
  readonly footer: string
  /**
   * Lines kept above the footer whatever the height (e.g. the dashboard's
   * address, which must stay readable while the view covers the screen).
   */
  readonly notes?: ReadonlyArray<string> | undefined
}

/** How many events a frame printed once (no height) shows. */
export const PRINTED_EVENTS = 10
/** Attention items shown at most, on a terminal up to 30 rows tall and on a taller one. */
const ATTENTION_SHORT = 3
const ATTENTION_TALL = 6
/** Below this the activity column is not worth its place and gives way to other columns. */
const ACTIVITY_MIN = 20
const GAP = "  "

const phaseStyle: Readonly<Record<WorkerPhase, ReadonlyArray<Style>>> = {
  starting: [],
  "setting up": ["cyan"],
  working: ["green"],
  claiming: ["cyan"],
  reviewing: ["blue"],
  fixing: ["yellow"],
  merging: ["magenta"],
  "waiting for tasks": ["dim"],
  "backing off": ["red"],
  "rate-limited": ["red"],
  stopped: ["dim"]
}

const attentionStyle = (kind: AttentionItem["kind"]): ReadonlyArray<Style> =>
  kind === "stopped on errors" || kind === "rejected" ? ["red"] : ["yellow"]

/** A live duration in whole seconds: tenths would change four times a second and say nothing. */
const seconds = (ms: number): string => humanDuration(Math.floor(Math.max(0, ms) / 1000) * 1000)

/** 950 → "950", 12_345 → "12.3k", 4_200_000 → "4.2M". */
export const compactCount = (n: number): string => {
  if (n < 1000) return String(Math.round(n))
  if (n < 999_500) return `${trimZero((n / 1000).toFixed(n < 9_950 ? 1 : 0))}k`
  return `${trimZero((n / 1_000_000).toFixed(n < 9_950_000 ? 1 : 0))}M`
}
const trimZero = (s: string) => s.replace(/\.0$/, "")

/** $0.0042 → "$0.004", $3.456 → "$3.46", $1234 → "$1234". */
/** `$0.123`; `~$0.123` when part of it is estimated from the price table (docs/budgets.md). */
export const money = (usd: number, estimated = false): string =>
  (estimated ? "~" : "") + (usd < 1 ? `$${usd.toFixed(3)}` : usd < 100 ? `$${usd.toFixed(2)}` : `$${Math.round(usd)}`)

/** The state word of a row: the phase, with how long a back-off has left and why a worker stopped. */
export const stateText = (w: WorkerView, now: number): string => {
  if (w.phase === "stopped") return w.stopReason !== undefined ? `stopped: ${w.stopReason}` : "stopped"
  // Asked to stop after its cycle (docs/steering.md): it finishes this cycle and claims nothing more.
  const last = w.stopping ? ", last cycle" : ""
  if ((w.phase === "backing off" || w.phase === "rate-limited") && w.until !== undefined && w.until > now) {
    return `${w.phase} ${seconds(w.until - now + 999)}${last}`
  }
  return `${w.phase}${last}`
}

const styleOfRow = (w: WorkerView): ReadonlyArray<Style> =>
  w.phase === "stopped" && w.stopReason !== undefined && FAILED_STOPS.includes(w.stopReason) ? ["red"] : phaseStyle[w.phase]

interface Column {
  readonly key: string
  readonly header: string
  readonly align: "left" | "right"
  readonly cell: (w: WorkerView) => string
  /** The widest it grows. */
  readonly max: number
}

const columnsOf = (now: number): ReadonlyArray<Column> => [
  { key: "id", header: "worker", align: "left", cell: (w) => w.id, max: 12 },
  { key: "model", header: "model", align: "left", cell: (w) => w.model, max: 22 },
  { key: "state", header: "state", align: "left", cell: (w) => stateText(w, now), max: 24 },
  { key: "task", header: "task", align: "left", cell: (w) => w.tasks.join(","), max: 18 },
  {
    key: "cycle",
    header: "c/t",
    align: "left",
    cell: (w) => (w.cycle === undefined ? "" : `c${w.cycle}${w.turn !== undefined ? ` t${w.turn}` : ""}`),
    max: 9
  },
  { key: "time", header: "time", align: "right", cell: (w) => seconds(now - w.since), max: 7 },
  { key: "tokens", header: "tokens", align: "right", cell: (w) => compactCount(w.inputTokens + w.outputTokens), max: 7 },
  { key: "cost", header: "cost", align: "right", cell: (w) => money(w.costUsd, w.costEstimated), max: 8 }
]

/**
 * How a row gives way on a narrow terminal, in order, until the activity has
 * ACTIVITY_MIN columns: cut a column to a width, or drop it. The state is cut
 * late and never below "waiting for tasks", the longest phase word.
 */
const GIVE_WAY: ReadonlyArray<{ readonly key: string; readonly cut: number } | { readonly key: string; readonly drop: true }> = [
  { key: "model", cut: 8 },
  { key: "task", cut: 6 },
  { key: "tokens", drop: true },
  { key: "model", drop: true },
  { key: "cost", drop: true },
  { key: "cycle", drop: true },
  { key: "state", cut: 17 },
  { key: "task", drop: true },
  { key: "time", drop: true }
]

interface Laid {
  readonly column: Column
  readonly width: number
}

/**
 * The columns that fit `columns` and their widths: each as wide as its widest
 * cell (up to its max), giving way (GIVE_WAY) while the activity would get
 * less than ACTIVITY_MIN; the activity takes what is left.
 */
export const layoutColumns = (workers: ReadonlyArray<WorkerView>, now: number, columns: number): { readonly laid: ReadonlyArray<Laid>; readonly activity: number } => {
  let laid: ReadonlyArray<Laid> = columnsOf(now).map((column) => ({
    column,
    width: Math.min(column.max, Math.max(visibleWidth(column.header), ...workers.map((w) => visibleWidth(oneLine(column.cell(w))))))
  }))
  const used = () => laid.reduce((sum, l) => sum + l.width + GAP.length, 0)
  for (const step of GIVE_WAY) {
    if (columns - used() >= ACTIVITY_MIN) break
    laid =
      "drop" in step
        ? laid.filter((l) => l.column.key !== step.key)
        : laid.map((l) => (l.column.key === step.key ? { ...l, width: Math.min(l.width, Math.max(step.cut, visibleWidth(l.column.header))) } : l))
  }
  return { laid, activity: Math.max(0, columns - used()) }
}

const localClock = (ms: number): string => {
  const d = new Date(ms)
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":")
}

/** A section's title line: "── attention (2) ─────…" across the width. */
const rule = (title: string, columns: number, colour: boolean, ...styles: ReadonlyArray<Style>): string => {
  const head = truncate(`── ${title} `, columns)
  return paint(colour, head + "─".repeat(Math.max(0, columns - visibleWidth(head))), ...styles)
}

const headerLines = (view: SwarmView, options: FrameOptions): ReadonlyArray<string> => {
  const { now, columns, colour } = options
  const elapsed = view.startedAt === undefined ? 0 : (view.stoppedAt ?? now) - view.startedAt
  const status =
    view.status === "stopped" ? (view.ending ?? "stopped") : `${view.status} ${seconds(elapsed)}${view.paused ? " · PAUSED: no new turn starts" : ""}`
  const title = `oompa ${view.swarm ?? "…"} → ${view.targetBranch ?? "…"}`
  const first = truncate(`${title}  ${oneLine(status)}`, columns)
  const perTask = view.tasksMerged > 0 ? `${money(view.costUsd / view.tasksMerged, view.costEstimated)}/task` : "–/task"
  const figures = [
    `tasks ${view.tasksMerged} merged · ${view.tasksClaimed} claimed · ${view.tasksPending} pending`,
    `tokens ${compactCount(view.inputTokens)} in/${compactCount(view.outputTokens)} out`,
    `${money(view.costUsd, view.costEstimated)}${view.costEstimated ? " (estimated)" : ""} · ${perTask}`
  ].join("   ")
  const boldTitle = first.startsWith(title) ? paint(colour, title, "bold") + first.slice(title.length) : first
  return [boldTitle, truncate(figures, columns)]
}

const workerLine = (w: WorkerView, view: SwarmView, laid: ReadonlyArray<Laid>, activityWidth: number, options: FrameOptions): string => {
  const cells = laid.map(({ column, width }) => {
    const text = fit(oneLine(column.cell(w)), width, column.align)
    return column.key === "state" ? paint(options.colour, text, ...styleOfRow(w)) : text
  })
  if (activityWidth > 0) {
    // The agent's own latest activity when the log has shown one; else what the run log said of it last.
    const said = w.activity ?? [...view.recent].reverse().find((e) => e.worker === w.id)?.message
    const text = truncate(oneLine(said ?? ""), activityWidth)
    cells.push(w.activity !== undefined ? text : paint(options.colour, text, "dim"))
  }
  return cells.join(GAP).trimEnd()
}

const headingLine = (laid: ReadonlyArray<Laid>, activityWidth: number, colour: boolean): string =>
  paint(
    colour,
    [...laid.map(({ column, width }) => fit(column.header, width, column.align)), ...(activityWidth > 0 ? ["activity"] : [])]
      .join(GAP)
      .trimEnd(),
    "bold"
  )

const attentionLine = (item: AttentionItem, options: FrameOptions): string => {
  const who = item.worker === undefined ? "" : `${item.worker}${item.cycle !== undefined ? ` c${item.cycle}` : ""} `
  const text = `! ${who}${item.kind}: ${oneLine(item.text)}${item.ref !== undefined ? ` (kept: ${item.ref})` : ""}`
  return paint(options.colour, truncate(text, options.columns), ...attentionStyle(item.kind))
}

const eventLine = (event: SwarmView["recent"][number], options: FrameOptions): string => {
  const time = localClock(event.at)
  const line = truncate(`${time} ${oneLine(terminalLine(event))}`, options.columns)
  return line.startsWith(time) ? paint(options.colour, time, "dim") + line.slice(time.length) : line
}

/** The frame: exactly `rows` lines when a height is given, each no wider than `columns`. */
export const renderFrame = (view: SwarmView, options: FrameOptions): ReadonlyArray<string> => {
  const { columns, rows, colour } = options
  const header = headerLines(view, options)
  const { laid, activity } = layoutColumns(view.workers, options.now, columns)
  const heading = headingLine(laid, activity, colour)
  const keys = options.footer === "" ? [] : [paint(colour, fit(options.footer, columns), "inverse")]
  const footer = [...(options.notes ?? []).map((note) => truncate(oneLine(note), columns)), ...keys]
  const attention = view.attention
  const workerRows = (count: number): ReadonlyArray<string> => {
    if (count >= view.workers.length) return view.workers.map((w) => workerLine(w, view, laid, activity, options))
    const shown = view.workers.slice(0, Math.max(0, count - 1)).map((w) => workerLine(w, view, laid, activity, options))
    return [...shown, paint(colour, truncate(`… ${view.workers.length - shown.length} more workers`, columns), "dim")]
  }
  const attentionBlock = (count: number): ReadonlyArray<string> => {
    if (count <= 0 || attention.length === 0) return []
    const items = attention.slice(-count)
    const title = items.length < attention.length ? `attention (${attention.length}, newest ${items.length})` : `attention (${attention.length})`
    return [rule(title, columns, colour, "yellow"), ...items.map((item) => attentionLine(item, options))]
  }
  const eventsBlock = (count: number): ReadonlyArray<string> =>
    count <= 0 ? [] : [rule("events", columns, colour, "dim"), ...view.recent.slice(-count).map((e) => eventLine(e, options))]

  if (rows === undefined) {
    return [...header, heading, ...workerRows(view.workers.length), ...attentionBlock(attention.length), ...eventsBlock(PRINTED_EVENTS), ...footer]
  }

  // Fixed lines first (header, heading, footer), then the workers, the attention list, the events.
  const room = Math.max(0, rows - header.length - 1 - footer.length)
  const attentionWanted = attention.length === 0 ? 0 : 1 + Math.min(attention.length, rows > 30 ? ATTENTION_TALL : ATTENTION_SHORT)
  // Keep two lines for the events (their title and the latest) when the workers can spare them.
  const workerCount = Math.max(Math.min(1, view.workers.length), Math.min(view.workers.length, room - attentionWanted - 2))
  const afterWorkers = room - Math.min(workerCount, view.workers.length)
  const attentionLines = Math.min(attentionWanted, afterWorkers)
  const eventLines = afterWorkers - attentionLines
  const body = [
    ...header,
    heading,
    ...workerRows(workerCount),
    ...attentionBlock(attentionLines - 1),
    ...eventsBlock(Math.min(eventLines - 1, view.recent.length))
  ].slice(0, rows - footer.length)
  while (body.length < rows - footer.length) body.push("")
  return [...body, ...footer]
}
