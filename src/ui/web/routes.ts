import type { IncomingMessage, ServerResponse } from "node:http"
import { FileSystem } from "@effect/platform"
import { Effect, Option, Schedule, Schema } from "effect"
import { dashboardAssetsDir, swarmViewScript } from "../../paths.js"
import type { RunInfo } from "../../runs/readRuns.js"
import { cycleDetail } from "./cycleDetail.js"
import { resumeOffset, streamEvents } from "./eventStream.js"
import { streamLog } from "./logStream.js"
import { sendError, sendJson, sendText } from "./respond.js"
import { findRun, runDetail, runList } from "./runData.js"
import { sameOrigin } from "./access.js"
import { ControlAction } from "../../domain/Control.js"
import { steerRun } from "../../runs/control.js"

/**
 * The dashboard's routes. The page is static (ui/ of the package) and asks
 * the JSON routes; the overview stays live through the events route.
 *
 *   GET /                                 the page (index.html)
 *   GET /app.js, /style.css               its module and style
 *   GET /swarmView.js                     the shared fold, compiled (src/domain/swarmView.ts)
 *   GET /api/runs                         every run, newest first
 *   GET /api/runs/<id>                    one run: workers, cycles, reviews, queue board, merged commits
 *   GET /api/runs/<id>/events             its events as server-sent events (Last-Event-ID resumes)
 *   GET /api/runs/<id>/cycles/<w>-c<N>    one cycle: turns (prompt, final message), diffs, verdicts, landing
 *   GET /api/runs/<id>/logs/<name>.log    one raw log, streamed while its cycle runs
 *   POST /api/runs/<id>/control           a steering request {action, worker?, task?} (docs/steering.md):
 *                                         the swarm's answer {id, ok, message, at}
 */

export interface RouteContext {
  readonly request: IncomingMessage
  readonly response: ServerResponse
  readonly url: URL
  /** The repository's root (git toplevel). */
  readonly root: string
  readonly runsDir: string
  /** The port the server listens on (a steering request must come from this origin). */
  readonly port: number
  /** The run whose end ends the server (DashboardOptions). */
  readonly closesWith?: string | undefined
}

const staticFiles: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  "/": { file: `${dashboardAssetsDir}/index.html`, type: "text/html; charset=utf-8" },
  "/app.js": { file: `${dashboardAssetsDir}/app.js`, type: "text/javascript; charset=utf-8" },
  "/style.css": { file: `${dashboardAssetsDir}/style.css`, type: "text/css; charset=utf-8" },
  "/swarmView.js": { file: swarmViewScript, type: "text/javascript; charset=utf-8" }
}

/** What the page may load: only its own files, no inline script (a run's text cannot become code). */
const PAGE_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"

const sendStatic = (ctx: RouteContext, entry: { readonly file: string; readonly type: string }) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(entry.file).pipe(Effect.option)
    if (Option.isNone(text)) return yield* sendError(ctx.response, 500, `the dashboard's file ${entry.file} is missing (was oompa built?)`)
    ctx.response.setHeader("Content-Security-Policy", PAGE_POLICY)
    yield* sendText(ctx.response, 200, text.value, entry.type)
  })

const withRun = <E, R>(ctx: RouteContext, id: string, then: (run: RunInfo) => Effect.Effect<void, E, R>) =>
  Effect.gen(function* () {
    // The run this server was started for (`oompa swarm --ui`) may not have made its folder yet when
    // its page first asks (the URL is printed just before): the answer waits for it, 10 s at most,
    // rather than a 404 (which the browser logs as an error while the page asks again).
    const run =
      id === ctx.closesWith
        ? yield* findRun(ctx.runsDir, id).pipe(
            Effect.filterOrFail(Option.isSome, () => "not made yet"),
            Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 100 }),
            Effect.orElseSucceed(() => Option.none<RunInfo>())
          )
        : yield* findRun(ctx.runsDir, id)
    if (Option.isNone(run)) return yield* sendError(ctx.response, 404, `no run ${JSON.stringify(id)} in ${ctx.runsDir}`)
    return yield* then(run.value)
  })

const header = (request: IncomingMessage, name: string): string | undefined => {
  const value = request.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** The largest steering body read: a request is a few dozen bytes. */
const MAX_BODY = 4096

const readBody = (request: IncomingMessage) =>
  Effect.async<string | undefined>((resume) => {
    let body = ""
    let tooLarge = false
    request.setEncoding("utf8")
    request.on("data", (chunk: string) => {
      body += chunk
      if (body.length > MAX_BODY) tooLarge = true
    })
    request.on("end", () => resume(Effect.succeed(tooLarge ? undefined : body)))
    request.on("error", () => resume(Effect.succeed(undefined)))
  })

/** What the page sends: the surface (by) is the server's to say. */
const ControlBody = Schema.parseJson(
  Schema.Struct({ action: ControlAction, worker: Schema.optional(Schema.String), task: Schema.optional(Schema.String) })
)
const decodeControlBody = Schema.decodeUnknownEither(ControlBody)

/**
 * POST /api/runs/<id>/control: one steering request, by: web, answered with
 * the swarm's answer (it waits for it, 10 s at most). The token alone is not
 * enough here (CSRF): the browser sends the dashboard's cookie with any
 * request to 127.0.0.1:<port>, also one a page of another site makes (a form
 * POST needs no CORS), so a request that changes something must also carry
 * an Origin naming this dashboard (browsers always send it on a POST and a
 * page cannot forge it) and a JSON Content-Type (which a cross-site form
 * cannot send, nor a cross-site fetch without a CORS preflight we never grant).
 */
const control = (ctx: RouteContext, id: string) =>
  Effect.gen(function* () {
    const { request, response } = ctx
    if (!sameOrigin(request, ctx.port)) {
      return yield* sendError(response, 403, `a steering request must come from this dashboard's page (Origin http://127.0.0.1:${ctx.port})`)
    }
    if (!(header(request, "content-type") ?? "").startsWith("application/json")) {
      return yield* sendError(response, 415, "a steering request is JSON: Content-Type: application/json")
    }
    const body = yield* readBody(request)
    if (body === undefined) return yield* sendError(response, 413, `a steering request is at most ${MAX_BODY} bytes`)
    const decoded = decodeControlBody(body)
    if (decoded._tag === "Left") {
      return yield* sendError(response, 400, `a steering request is {"action": "stop" | "stop-worker" | "pause" | "resume" | "requeue", "worker"?, "task"?}`)
    }
    return yield* withRun(ctx, id, (run) =>
      steerRun(run.dir, { ...decoded.right, by: "web" }).pipe(
        Effect.flatMap((answer) => sendJson(response, 200, answer)),
        Effect.catchTags({
          SteerNotRunning: (error) => sendError(response, 409, error.message),
          SteerFailed: (error) => sendError(response, 502, error.message)
        })
      )
    )
  })

/** Answers one request that passed the access check. */
export const route = (ctx: RouteContext) =>
  Effect.gen(function* () {
    const { request, response, url } = ctx
    const method = request.method ?? "GET"
    const parts = url.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent)
    const entry = staticFiles[url.pathname]
    const [, , id, what, name, ...rest] = parts
    const isControl = parts[0] === "api" && parts[1] === "runs" && id !== undefined && what === "control" && name === undefined
    if (isControl) {
      if (method !== "POST") return yield* sendError(response, 405, "a steering request is a POST")
      return yield* control(ctx, id)
    }
    if (method !== "GET" && method !== "HEAD") return yield* sendError(response, 405, `${method} is not answered here`)
    if (entry !== undefined) return yield* sendStatic(ctx, entry)
    if (parts[0] !== "api" || parts[1] !== "runs") return yield* sendError(response, 404, `nothing at ${url.pathname}`)
    if (rest.length > 0) return yield* sendError(response, 404, `nothing at ${url.pathname}`)
    if (id === undefined) return yield* sendJson(response, 200, yield* runList(ctx.runsDir))
    if (what === undefined) return yield* withRun(ctx, id, (run) => Effect.flatMap(runDetail(ctx.root, run), (detail) => sendJson(response, 200, detail)))
    if (what === "events" && name === undefined) {
      const from = resumeOffset(header(request, "last-event-id"), url.searchParams.get("from"))
      if (from === undefined) return yield* sendError(response, 400, "Last-Event-ID (or ?from=) must be a byte offset")
      return yield* withRun(ctx, id, (run) => streamEvents(response, run, from, run.id === ctx.closesWith))
    }
    if (what === "cycles" && name !== undefined) {
      return yield* withRun(ctx, id, (run) =>
        Effect.flatMap(cycleDetail(ctx.root, run, name), (detail) =>
          Option.isSome(detail)
            ? sendJson(response, 200, detail.value)
            : sendError(response, 404, `run ${id} has no cycle ${JSON.stringify(name)}`)
        )
      )
    }
    if (what === "logs" && name !== undefined) return yield* withRun(ctx, id, (run) => streamLog(response, run, name))
    return yield* sendError(response, 404, `nothing at ${url.pathname}`)
  }).pipe(Effect.catchAll((error) => sendError(ctx.response, 500, String(error))))
