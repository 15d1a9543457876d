/**
 * MergeLock: one merge at a time per repository (SPEC §7).
 *
 * Two layers of exclusion, taken in this order and released in reverse:
 * 1. an in-process semaphore per repository (keyed by the git common dir, so
 *    the project root and its worktrees share it);
 * 2. a lock file `<git-common-dir>/oompa-merge.lock` holding
 *    `{pid, host, swarm?, since, token}`, so two oompa processes on one
 *    repository also serialise.
 *
 * The file is created atomically with its full content (write a private temp
 * file, then `link` it to the lock name, which fails if the lock exists), so a
 * reader never sees a half-written lock. A lock whose owner is dead (same
 * host, `kill(pid, 0)` says ESRCH) is stale and is taken over: it is renamed
 * aside (only one contender can win the rename), and if what was moved is not
 * the stale content that was judged (a live owner slipped in between) it is
 * linked straight back. While a live process holds the lock we wait on a file
 * watch, with a bounded back-off poll as fallback, up to a timeout that fails
 * with `MergeLockTimeout` naming the holder.
 *
 * The lock file is removed in a finalizer whatever the exit (success, failure,
 * defect, interruption), and only if it is still ours (token check).
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import {
  Clock,
  Context,
  Duration,
  Effect,
  Layer,
  Option,
  Random,
  Ref,
  Schema,
  Scope,
  Stream,
  SynchronizedRef
} from "effect"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { Git, type GitError, type GitTimeout } from "./Git.js"
import { processAlive } from "./processTree.js"

// ---------------------------------------------------------------------------
// Data and errors

/** What the lock file holds. */
export const LockFileContent = Schema.Struct({
  pid: Schema.Int,
  host: Schema.String,
  swarm: Schema.optional(Schema.String),
  /** ISO time the lock was taken. */
  since: Schema.String,
  /** Identifies one acquisition; release removes the file only if it still holds this token. */
  token: Schema.String,
  /** `performance.timeOrigin` of the owning process: tells a reused pid from its predecessor. */
  processStart: Schema.optional(Schema.Number)
})
export type LockFileContent = typeof LockFileContent.Type

/** Who holds the lock we are waiting for. */
export interface LockHolder {
  readonly pid: number
  readonly host: string
  readonly swarm: Option.Option<string>
  readonly since: string
  /** Held by another fiber of this process (the in-process semaphore). */
  readonly inProcess: boolean
}

/** Gave up waiting for the merge lock. */
export class MergeLockTimeout extends Schema.TaggedError<MergeLockTimeout>()("MergeLockTimeout", {
  lockFile: Schema.String,
  holderPid: Schema.Number,
  holderHost: Schema.String,
  holderSwarm: Schema.optional(Schema.String),
  waitedMillis: Schema.Number
}) {
  override get message(): string {
    return `timed out after ${this.waitedMillis} ms waiting for the merge lock ${this.lockFile}, held by pid ${this.holderPid} on ${this.holderHost}${
      this.holderSwarm === undefined ? "" : ` (swarm ${this.holderSwarm})`
    }`
  }
}

/** The lock file could not be written or read (permissions, disk full, …). */
export class MergeLockError extends Schema.TaggedError<MergeLockError>()("MergeLockError", {
  lockFile: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `merge lock ${this.lockFile}: ${this.reason}`
  }
}

export interface WithLockOptions {
  /** Written into the lock file, shown to whoever waits. */
  readonly swarm?: string
  /** How long to wait for the lock (default: the service's, 30 min). */
  readonly timeout?: Duration.DurationInput
  /** Called when we have to wait, once per distinct holder. */
  readonly onWait?: (holder: LockHolder) => Effect.Effect<void>
}

export interface MergeLockOptions {
  /** Default wait timeout (30 min: a merge may run the project's test command). */
  readonly timeout?: Duration.DurationInput
  /** Longest pause between re-checks when no file event arrives (1 s). */
  readonly pollInterval?: Duration.DurationInput
}

export interface MergeLockService {
  /** Run `effect` holding the repository's merge lock. `repo` is any path inside the repository. */
  readonly withLock: <A, E, R>(
    repo: string,
    effect: Effect.Effect<A, E, R>,
    options?: WithLockOptions
  ) => Effect.Effect<A, E | MergeLockTimeout | MergeLockError | GitError | GitTimeout, R>
  /** The lock file's path for a repository. */
  readonly lockFile: (repo: string) => Effect.Effect<string, GitError | GitTimeout>
}

export class MergeLock extends Context.Tag("oompa/MergeLock")<MergeLock, MergeLockService>() {}

export const LOCK_FILE_NAME = "oompa-merge.lock"

// ---------------------------------------------------------------------------
// Implementation

interface RepoSlot {
  readonly semaphore: Effect.Semaphore
  /** The in-process holder, for `onWait` and timeouts. */
  readonly holder: Ref.Ref<Option.Option<LockHolder>>
}

type Seen =
  | { readonly _tag: "Gone" }
  | { readonly _tag: "Invalid"; readonly raw: string }
  | { readonly _tag: "Held"; readonly raw: string; readonly content: LockFileContent }

const decodeContent = Schema.decodeUnknownOption(Schema.parseJson(LockFileContent))

/** Is a process with this pid running on this machine (one definition: processTree's)? */
const pidAlive = (pid: number) => Effect.sync(() => processAlive(pid))

const isNotFound = (e: PlatformError) => e._tag === "SystemError" && e.reason === "NotFound"
const isAlreadyExists = (e: PlatformError) => e._tag === "SystemError" && e.reason === "AlreadyExists"

export const makeMergeLock = (options: MergeLockOptions = {}) =>
  Effect.gen(function* () {
    const git = yield* Git
    const fs = yield* FileSystem.FileSystem
    const defaultTimeout = Duration.decode(options.timeout ?? Duration.minutes(30))
    const pollCap = Duration.toMillis(Duration.decode(options.pollInterval ?? Duration.seconds(1)))
    const host = NodeOs.hostname()
    const processStart = performance.timeOrigin
    const slots = yield* SynchronizedRef.make(new Map<string, RepoSlot>())

    const slotFor = (key: string) =>
      SynchronizedRef.modifyEffect(slots, (map) => {
        const existing = map.get(key)
        if (existing !== undefined) return Effect.succeed([existing, map] as const)
        return Effect.gen(function* () {
          const slot: RepoSlot = {
            semaphore: yield* Effect.makeSemaphore(1),
            holder: yield* Ref.make(Option.none<LockHolder>())
          }
          return [slot, new Map(map).set(key, slot)] as const
        })
      })

    const commonDirOf = (repo: string) =>
      git.commonDir(repo).pipe(Effect.flatMap((dir) => fs.realPath(dir).pipe(Effect.orElseSucceed(() => dir))))

    const lockFile = (repo: string) => commonDirOf(repo).pipe(Effect.map((dir) => NodePath.join(dir, LOCK_FILE_NAME)))

    const withLock = <A, E, R>(
      repo: string,
      effect: Effect.Effect<A, E, R>,
      lockOptions: WithLockOptions = {}
    ): Effect.Effect<A, E | MergeLockTimeout | MergeLockError | GitError | GitTimeout, R> =>
      Effect.gen(function* () {
        const common = yield* commonDirOf(repo)
        const file = NodePath.join(common, LOCK_FILE_NAME)
        const slot = yield* slotFor(common)
        const timeout = Duration.decode(lockOptions.timeout ?? defaultTimeout)
        const onWait = lockOptions.onWait ?? (() => Effect.void)
        const ioError = (what: string) => (e: PlatformError) => new MergeLockError({ lockFile: file, reason: `${what}: ${e.message}` })

        const startedAt = yield* Clock.currentTimeMillis
        const since = new Date(startedAt).toISOString()
        const token = `${process.pid}-${(yield* Random.nextIntBetween(0, 2 ** 31)).toString(16)}-${(yield* Random.nextIntBetween(0, 2 ** 31)).toString(16)}`
        const me: LockHolder = {
          pid: process.pid,
          host,
          swarm: Option.fromNullable(lockOptions.swarm),
          since,
          inProcess: true
        }
        const content: LockFileContent = {
          pid: process.pid,
          host,
          ...(lockOptions.swarm === undefined ? {} : { swarm: lockOptions.swarm }),
          since,
          token,
          processStart
        }
        const raw = JSON.stringify(content)
        // The last holder seen while waiting, for the timeout error.
        const lastHolder = yield* Ref.make<Option.Option<LockHolder>>(Option.none())

        const waitingOn = (holder: LockHolder) =>
          Effect.gen(function* () {
            const previous = yield* Ref.getAndSet(lastHolder, Option.some(holder))
            const same = Option.match(previous, {
              onNone: () => false,
              onSome: (p) => p.pid === holder.pid && p.host === holder.host && p.since === holder.since
            })
            if (!same) yield* onWait(holder)
          })

        // -- step 1: the in-process semaphore
        const takePermit = Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            const current = yield* Ref.get(slot.holder)
            if (Option.isSome(current)) yield* restore(waitingOn(current.value))
            yield* restore(slot.semaphore.take(1))
            yield* Ref.set(slot.holder, Option.some(me))
            yield* Effect.addFinalizer(() =>
              Ref.set(slot.holder, Option.none()).pipe(Effect.zipRight(slot.semaphore.release(1)))
            )
          })
        )

        // -- step 2: the lock file
        const readLock: Effect.Effect<Seen, MergeLockError> = fs.readFileString(file).pipe(
          Effect.map((text): Seen =>
            Option.match(decodeContent(text), {
              onNone: () => ({ _tag: "Invalid", raw: text }),
              onSome: (decoded) => ({ _tag: "Held", raw: text, content: decoded })
            })
          ),
          Effect.catchIf(isNotFound, () => Effect.succeed<Seen>({ _tag: "Gone" })),
          Effect.mapError(ioError("read"))
        )

        /** Create the lock file with its full content, atomically; false when it already exists. */
        const tryCreate: Effect.Effect<boolean, MergeLockError> = Effect.gen(function* () {
          const temp = `${file}.${token}.tmp`
          yield* fs.writeFileString(temp, raw).pipe(Effect.mapError(ioError("write")))
          return yield* fs.link(temp, file).pipe(
            Effect.as(true),
            Effect.catchIf(isAlreadyExists, () => Effect.succeed(false)),
            Effect.mapError(ioError("create")),
            Effect.ensuring(fs.remove(temp).pipe(Effect.ignore))
          )
        })

        const release = readLock.pipe(
          Effect.flatMap((seen) =>
            seen._tag === "Held" && seen.content.token === token ? fs.remove(file) : Effect.void
          ),
          Effect.tapError((e) => Effect.logWarning(`could not release the merge lock ${file}`, e)),
          Effect.ignore
        )

        /** Remove a stale lock whose content was `staleRaw`, without ever removing a live one. */
        const takeOver = (staleRaw: string) =>
          Effect.gen(function* () {
            const aside = `${file}.stale.${token}`
            const moved = yield* fs.rename(file, aside).pipe(
              Effect.as(true),
              Effect.catchIf(isNotFound, () => Effect.succeed(false)),
              Effect.mapError(ioError("take over"))
            )
            if (!moved) return // someone else took it over first
            const movedRaw = yield* fs.readFileString(aside).pipe(Effect.orElseSucceed(() => staleRaw))
            if (movedRaw !== staleRaw) {
              // A live owner replaced the stale lock between our read and our rename: put it back.
              yield* fs.link(aside, file).pipe(
                Effect.catchAll((e) => Effect.logWarning(`could not restore the merge lock ${file}`, e))
              )
            } else {
              yield* Effect.logInfo(`took over the stale merge lock ${file}`)
            }
            yield* fs.remove(aside).pipe(Effect.ignore)
          }).pipe(Effect.uninterruptible)

        /** Wait for the lock file to change, or for the back-off delay. */
        const waitForChange = (attempt: number) => {
          const delay = Math.min(pollCap, 25 * 2 ** Math.min(attempt, 16))
          const watched = fs.watch(file).pipe(Stream.take(1), Stream.runDrain, Effect.ignore)
          return Effect.race(watched, Effect.sleep(Duration.millis(delay)))
        }

        const isStale = (held: LockFileContent) =>
          Effect.gen(function* () {
            if (held.host !== host) return false // cannot tell for another machine: wait
            if (held.pid === process.pid) {
              // Ours only if it is this very process; a different start means a reused pid.
              return held.processStart !== undefined && held.processStart !== processStart
            }
            return !(yield* pidAlive(held.pid))
          })

        const takeFile = Effect.gen(function* () {
          let attempt = 0
          while (true) {
            // Creating the file and registering its release happen without a gap for interruption.
            const created = yield* tryCreate.pipe(
              Effect.tap((ok) => (ok ? Effect.addFinalizer(() => release) : Effect.void)),
              Effect.uninterruptible
            )
            if (created) return
            const seen = yield* readLock
            if (seen._tag === "Gone") continue
            if (seen._tag === "Invalid") {
              // We never write a partial lock (link of a complete file), so this is not ours: stale.
              yield* takeOver(seen.raw)
              continue
            }
            if (yield* isStale(seen.content)) {
              yield* takeOver(seen.raw)
              continue
            }
            yield* waitingOn({
              pid: seen.content.pid,
              host: seen.content.host,
              swarm: Option.fromNullable(seen.content.swarm),
              since: seen.content.since,
              inProcess: false
            })
            yield* waitForChange(attempt)
            attempt++
          }
        })

        const acquire = takePermit.pipe(
          Effect.zipRight(takeFile),
          Effect.timeout(timeout),
          Effect.catchTag("TimeoutException", () =>
            Effect.gen(function* () {
              const holder = yield* Ref.get(lastHolder)
              const now = yield* Clock.currentTimeMillis
              const h = Option.getOrElse(holder, () => me)
              return yield* new MergeLockTimeout({
                lockFile: file,
                holderPid: h.pid,
                holderHost: h.host,
                ...(Option.isSome(h.swarm) ? { holderSwarm: h.swarm.value } : {}),
                waitedMillis: now - startedAt
              })
            })
          )
        )

        const scope = yield* Scope.make()
        return yield* Scope.extend(acquire, scope).pipe(
          Effect.zipRight(effect),
          Effect.onExit((exit) => Scope.close(scope, exit))
        )
      })

    return MergeLock.of({ withLock, lockFile })
  })

/** MergeLock with custom timeout / poll interval. Needs Git and FileSystem. */
export const layerMergeLock = (options: MergeLockOptions = {}) => Layer.effect(MergeLock, makeMergeLock(options))

/** MergeLock with the defaults. Needs Git and FileSystem. */
export const MergeLockLive = layerMergeLock()
