import * as path from "node:path"
import * as fs from "node:fs"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Deferred, Duration, Effect, Option, Queue, Ref, Schema, Stream, SubscriptionRef, type Scope } from "effect"
import type { NotifyConfig } from "../config/OompaConfig.js"
import { humanDuration } from "../domain/humanDuration.js"
import { initialNotifyState, Notification, notificationOf } from "../domain/Notification.js"
import { make as runEvent } from "../domain/RunEvent.js"
import { ProcessRunner } from "../services/ProcessRunner.js"
import type { RunLog } from "../services/RunLog.js"
import { version } from "../paths.js"

/**
 * The notifier (docs/notifications.md): subscribes to the run's events (the
 * same stream the terminal view reads, so the engine has no call of its own
 * for it), turns those that need a human into notifications
 * (domain/Notification.ts) and sends each to the command and the webhook in
 * the background. A slow or failing receiver never holds the swarm up: the
 * queue is bounded (a full one drops, with a warning), each send has its
 * timeout, and a failure is a `warning` event, never an error of the run.
 *
 * At the swarm's end `settle` waits, at most FINAL_WAIT, for the
 * swarm-ended notification (sent at once, beside the queue) and for what is
 * still queued; the run's scope then ends whatever is left, a command's
 * process tree included.
 */

/** Notifications waiting to be sent; past this many, new ones are dropped (with a warning). */
export const QUEUE_CAPACITY = 100
export const COMMAND_TIMEOUT = Duration.seconds(30)
export const WEBHOOK_TIMEOUT = Duration.seconds(10)
/** How long the swarm's end waits for its notifications, Ctrl-C included. */
export const FINAL_WAIT = Duration.seconds(10)

export interface Notifier {
  /** After swarm-stopped was emitted: waits (bounded) for the swarm-ended notification and the queue. */
  readonly settle: Effect.Effect<void>
}

/** No notify config: nothing subscribed, nothing to wait for. */
export const noNotifier: Notifier = { settle: Effect.void }

export interface NotifierTimeouts {
  readonly command?: Duration.DurationInput
  readonly webhook?: Duration.DurationInput
  readonly final?: Duration.DurationInput
}

const encode = Schema.encodeSync(Notification)

/** A non-2xx answer, as the warning tells it. */
class BadStatus {
  constructor(readonly status: number) {}
}

/** The reason a send failed, in a warning's words. */
type Send = (n: Notification, body: string, seq: number) => Effect.Effect<void, string>

const webhookSender = (url: string, timeout: Duration.DurationInput): Send => {
  const post = (body: string) =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const request = HttpClientRequest.post(url).pipe(
        HttpClientRequest.setHeader("user-agent", `oompa/${version}`),
        HttpClientRequest.bodyText(body, "application/json")
      )
      const response = yield* client.execute(request)
      if (response.status < 200 || response.status > 299) return yield* Effect.fail(new BadStatus(response.status))
    })
  return (_n, body) =>
    post(body).pipe(
      Effect.provide(FetchHttpClient.layer),
      Effect.timeoutFail({ duration: timeout, onTimeout: () => `no answer within ${humanDuration(timeout)}` }),
      Effect.mapError((error) =>
        typeof error === "string"
          ? error
          : error instanceof BadStatus
            ? `HTTP ${error.status}`
            : // A transport error's cause is fetch's TypeError, whose own cause says why (ECONNREFUSED …).
              describeTransport(error)
      )
    )
}

/**
 * Why a request failed, from the HttpClient error's reason and fetch's own
 * cause (ECONNREFUSED, bad port …). Not the error's message: it quotes the
 * whole URL, and a webhook's token often lives in its query.
 */
const describeTransport = (error: { readonly reason: string; readonly cause?: unknown }): string => {
  const cause = error.cause as { message?: string; cause?: { code?: string; message?: string } } | undefined
  const detail = cause?.cause?.code ?? cause?.cause?.message ?? cause?.message
  return `${error.reason.toLowerCase()} error${detail !== undefined ? `: ${detail}` : ""}`
}

const commandSender = (
  runner: typeof ProcessRunner.Service,
  argv: ReadonlyArray<string>,
  cwd: string,
  logDir: string,
  timeout: Duration.DurationInput
): Send => {
  const [command, ...args] = argv as [string, ...Array<string>]
  return (n, body, seq) =>
    Effect.gen(function* () {
      const stem = path.join(logDir, `${seq}-${n.kind}`)
      const result = yield* runner
        .run({
          command,
          args,
          cwd,
          env: {
            OOMPA_NOTIFY_KIND: n.kind,
            OOMPA_NOTIFY_SWARM: n.swarm,
            OOMPA_NOTIFY_MESSAGE: n.message,
            ...("worker" in n && n.worker !== undefined ? { OOMPA_NOTIFY_WORKER: n.worker } : {})
          },
          stdin: body,
          stdoutPath: `${stem}.stdout`,
          stderrPath: `${stem}.stderr`,
          timeout,
          killGrace: Duration.seconds(2)
        })
        .pipe(Effect.mapError((error) => error.message))
      if (result.timedOut) return yield* Effect.fail(`timed out after ${humanDuration(timeout)} (its processes were ended)`)
      if (result.exitCode !== 0) {
        const tail = stderrTail(`${stem}.stderr`)
        return yield* Effect.fail(`exit ${result.exitCode ?? `by ${result.signal ?? "a signal"}`}${tail !== "" ? `: ${tail}` : ""}`)
      }
    })
}

/** The last line the command wrote to stderr, for the warning. */
const stderrTail = (file: string): string => {
  try {
    const lines = fs.readFileSync(file, "utf8").trim().split("\n")
    return (lines[lines.length - 1] ?? "").slice(0, 300)
  } catch {
    return ""
  }
}

/**
 * Subscribes to `runLog`'s events at once (before the swarm's first event)
 * and sends in fibers of the current scope. Every fiber is made interruptible
 * explicitly: the swarm starts it inside an uninterruptible region.
 */
export const startNotifier = (
  config: NotifyConfig,
  options: { readonly runLog: RunLog; readonly swarm: string; readonly cwd: string; readonly timeouts?: NotifierTimeouts }
): Effect.Effect<Notifier, never, Scope.Scope | ProcessRunner> =>
  Effect.gen(function* () {
    const { runLog, swarm } = options
    const runner = yield* ProcessRunner
    const timeouts = options.timeouts ?? {}
    const logDir = path.join(runLog.dir, "notify")
    const targets: Array<{ readonly name: string; readonly send: Send }> = []
    if (config.command !== undefined) {
      targets.push({
        name: `command ${config.command[0]}`,
        send: commandSender(runner, config.command, options.cwd, logDir, timeouts.command ?? COMMAND_TIMEOUT)
      })
    }
    if (config.webhook !== undefined) {
      targets.push({ name: `webhook ${redact(config.webhook)}`, send: webhookSender(config.webhook, timeouts.webhook ?? WEBHOOK_TIMEOUT) })
    }
    const seq = yield* Ref.make(0)
    const warn = (message: string) => runLog.emit(runEvent.warning(`notify: ${message}`))

    const deliver = (n: Notification) =>
      Effect.gen(function* () {
        const number = yield* Ref.updateAndGet(seq, (k) => k + 1)
        const body = JSON.stringify(encode(n))
        yield* Effect.forEach(
          targets,
          (target) =>
            target.send(n, body, number).pipe(
              Effect.catchAll((reason) => warn(`${target.name}: the ${n.kind} notification was not delivered: ${reason}`)),
              // A defect in a sender (a bug) is a warning too: notifications are never fatal.
              Effect.catchAllDefect((defect) => warn(`${target.name}: the ${n.kind} notification failed: ${String(defect)}`))
            ),
          { concurrency: "unbounded", discard: true }
        )
      })

    const queue = yield* Queue.dropping<Notification>(QUEUE_CAPACITY)
    // Queued or being sent: `settle` waits for it to come back to 0.
    const outstanding = yield* SubscriptionRef.make(0)
    const ended = yield* Deferred.make<void>()

    yield* Queue.take(queue).pipe(
      Effect.flatMap((n) => deliver(n).pipe(Effect.ensuring(SubscriptionRef.update(outstanding, (k) => k - 1)))),
      Effect.forever,
      Effect.interruptible,
      Effect.forkScoped
    )

    const events = yield* runLog.subscribe
    const state = yield* Ref.make(initialNotifyState)
    const thresholdMs = Duration.toMillis(config.rateLimitedAfter)
    yield* events.pipe(
      Stream.runForEach((event) =>
        Effect.gen(function* () {
          const [next, n] = notificationOf(yield* Ref.get(state), event, swarm, thresholdMs)
          yield* Ref.set(state, next)
          if (n === undefined) return
          if (n.kind === "swarm-ended") {
            // Sent at once, not behind what is queued: it is the one the user waits for.
            yield* deliver(n).pipe(Effect.ensuring(Deferred.succeed(ended, undefined)), Effect.interruptible, Effect.forkScoped)
            return
          }
          yield* SubscriptionRef.update(outstanding, (k) => k + 1)
          if (!(yield* Queue.offer(queue, n))) {
            yield* SubscriptionRef.update(outstanding, (k) => k - 1)
            yield* warn(`${QUEUE_CAPACITY} notifications are waiting to be sent: the ${n.kind} notification was dropped`)
          }
        })
      ),
      Effect.interruptible,
      Effect.forkScoped
    )

    const finalWait = timeouts.final ?? FINAL_WAIT
    const drained = outstanding.changes.pipe(Stream.takeUntil((k) => k <= 0), Stream.runDrain)
    const settle = Effect.all([Deferred.await(ended), drained], { concurrency: 2, discard: true }).pipe(
      Effect.interruptible,
      Effect.timeoutOption(finalWait),
      Effect.flatMap(
        Option.match({
          onSome: () => Effect.void,
          onNone: () =>
            SubscriptionRef.get(outstanding).pipe(
              Effect.flatMap((left) =>
                warn(
                  `the swarm's end waited ${humanDuration(finalWait)} for its notifications: ` +
                    `${left > 0 ? `${left} queued notification(s) and ` : ""}any still being sent were given up`
                )
              )
            )
        })
      )
    )
    return { settle } satisfies Notifier
  })

/** A webhook URL as warnings show it: without credentials or query (tokens often live there). */
const redact = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    return "(invalid URL)"
  }
}
