import { Command, FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Option, Queue, Ref, Stream } from "effect"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { Git, GitLive } from "../../src/services/Git.js"
import { LOCK_FILE_NAME, type LockHolder, MergeLock, layerMergeLock } from "../../src/services/MergeLock.js"
import { makeGitRepo } from "../support/gitRepo.js"

const projectRoot = fileURLToPath(new URL("../..", import.meta.url))

const TestLayer = layerMergeLock({ pollInterval: "200 millis" }).pipe(
  Layer.provideMerge(GitLive),
  Layer.provideMerge(NodeContext.layer)
)

/** The pid of a process that has exited (and been reaped). */
const deadPid = Effect.scoped(
  Effect.gen(function* () {
    const proc = yield* Command.start(Command.make(process.execPath, "-e", ""))
    yield* proc.exitCode
    return proc.pid as number
  })
)

/** A live process that does nothing, killed when the scope closes. */
const livePid = Effect.gen(function* () {
  const proc = yield* Command.start(Command.make(process.execPath, "-e", "setInterval(() => {}, 1000)"))
  return proc.pid as number
})

const lockContent = (pid: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ pid, host: NodeOs.hostname(), since: "2020-01-01T00:00:00.000Z", token: "someone-else", ...extra })

layer(TestLayer, { excludeTestServices: true })("MergeLock", (it) => {
  describe("in one process", () => {
    it.scoped("holds a lock file with our pid while the effect runs, and removes it after", () =>
      Effect.gen(function* () {
        const lock = yield* MergeLock
        const fs = yield* FileSystem.FileSystem
        const repo = yield* makeGitRepo()
        const file = yield* lock.lockFile(repo.path)
        expect(file).toBe(NodePath.join(repo.path, ".git", LOCK_FILE_NAME))
        const inside = yield* lock.withLock(repo.path, fs.readFileString(file), { swarm: "abcd1234" })
        const content = JSON.parse(inside)
        expect(content.pid).toBe(process.pid)
        expect(content.host).toBe(NodeOs.hostname())
        expect(content.swarm).toBe("abcd1234")
        expect(typeof content.since).toBe("string")
        expect(yield* fs.exists(file)).toBe(false)
        // no temp files left behind
        expect((yield* fs.readDirectory(NodePath.join(repo.path, ".git"))).filter((f) => f.includes(LOCK_FILE_NAME))).toEqual([])
      })
    )

    it.scoped("a worktree and its repository share one lock", () =>
      Effect.gen(function* () {
        const lock = yield* MergeLock
        const git = yield* Git
        const repo = yield* makeGitRepo()
        const wt = NodePath.join(yield* repo.tempDir(), "wt")
        yield* git.addWorktree(repo.path, wt, "w", "main")
        expect(yield* lock.lockFile(wt)).toBe(yield* lock.lockFile(repo.path))
      })
    )

    it.scoped("two fibers serialise: the second enters only after the first releases", () =>
      Effect.gen(function* () {
        const lock = yield* MergeLock
        const repo = yield* makeGitRepo()
        const journal = yield* Ref.make<ReadonlyArray<string>>([])
        const note = (s: string) => Ref.update(journal, (j) => [...j, s])
        const firstIn = yield* Deferred.make<void>()
        const releaseFirst = yield* Deferred.make<void>()
        const secondWaiting = yield* Deferred.make<LockHolder>()

        const first = yield* lock
          .withLock(
            repo.path,
            note("1 in").pipe(
              Effect.zipRight(Deferred.succeed(firstIn, undefined)),
              Effect.zipRight(Deferred.await(releaseFirst)),
              Effect.zipRight(note("1 out"))
            ),
            { swarm: "first" }
          )
          .pipe(Effect.fork)
        yield* Deferred.await(firstIn)

        const second = yield* lock
          .withLock(repo.path, note("2 in").pipe(Effect.zipRight(note("2 out"))), {
            onWait: (holder) => Deferred.succeed(secondWaiting, holder).pipe(Effect.asVoid)
          })
          .pipe(Effect.fork)

        const holder = yield* Deferred.await(secondWaiting)
        expect(holder.inProcess).toBe(true)
        expect(holder.swarm).toEqual(Option.some("first"))
        expect(yield* Ref.get(journal)).toEqual(["1 in"])

        yield* Deferred.succeed(releaseFirst, undefined)
        yield* Fiber.join(first)
        yield* Fiber.join(second)
        expect(yield* Ref.get(journal)).toEqual(["1 in", "1 out", "2 in", "2 out"])
      })
    )

    it.scoped("locks on different repositories do not wait for each other", () =>
      Effect.gen(function* () {
        const lock = yield* MergeLock
        const a = yield* makeGitRepo()
        const b = yield* makeGitRepo()
        const result = yield* lock.withLock(a.path, lock.withLock(b.path, Effect.succeed("both")), {
          timeout: "5 seconds"
        })
        expect(result).toBe("both")
      })
    )

    it.scoped("the lock file is removed after the holder fails or dies", () =>
      Effect.gen(function* () {
        const lock = yield* MergeLock
        const fs = yield* FileSystem.FileSystem
        const repo = yield* makeGitRepo()
        const file = yield* lock.lockFile(repo.path)

        const failed = yield* Effect.flip(lock.withLock(repo.path, Effect.fail("boom" as const)))
        expect(failed).toBe("boom")
        expect(yield* fs.exists(file)).toBe(false)

        const died = yield* Effect.exit(lock.withLock(repo.path, Effect.dieMessage("bug")))
        expect(Exit.isFailure(died)).toBe(true)
        expect(yield* fs.exists(file)).toBe(false)

        // and the in-process permit came back too
        expect(yield* lock.withLock(repo.path, Effect.succeed(1), { timeout: "5 seconds" })).toBe(1)
      })
    )

    it.scoped("the lock file is removed when the holder is interrupted", () =>
      Effect.gen(function* () {
        const lock = yield* MergeLock
        const fs = yield* FileSystem.FileSystem
        const repo = yield* makeGitRepo()
        const file = yield* lock.lockFile(repo.path)
        const entered = yield* Deferred.make<void>()
        const holder = yield* lock
          .withLock(repo.path, Deferred.succeed(entered, undefined).pipe(Effect.zipRight(Effect.never)))
          .pipe(Effect.fork)
        yield* Deferred.await(entered)
        expect(yield* fs.exists(file)).toBe(true)
        yield* Fiber.interrupt(holder)
        expect(yield* fs.exists(file)).toBe(false)
        expect(yield* lock.withLock(repo.path, Effect.succeed(2), { timeout: "5 seconds" })).toBe(2)
      })
    )

    it.scoped("a waiter that is interrupted leaves the holder's lock alone", () =>
      Effect.gen(function* () {
        const lock = yield* MergeLock
        const fs = yield* FileSystem.FileSystem
        const repo = yield* makeGitRepo()
        const file = yield* lock.lockFile(repo.path)
        const pid = yield* livePid
        const foreign = lockContent(pid)
        yield* fs.writeFileString(file, foreign)
        const waiting = yield* Deferred.make<void>()
        const waiter = yield* lock
          .withLock(repo.path, Effect.void, { onWait: () => Deferred.succeed(waiting, undefined) })
          .pipe(Effect.fork)
        yield* Deferred.await(waiting)
        yield* Fiber.interrupt(waiter)
        expect(yield* fs.readFileString(file)).toBe(foreign)
      })
    )
  })

  describe("against other processes", () => {
    it.scoped("a stale lock left by a dead process is taken over", () =>
      Effect.gen(function* () {
        const lock = yield* MergeLock
        const fs = yield* FileSystem.FileSystem
        const repo = yield* makeGitRepo()
        const file = yield* lock.lockFile(repo.path)
        const dead = yield* deadPid
        yield* fs.writeFileString(file, lockContent(dead))
        const waited = yield* Ref.make(false)
        const inside = yield* lock.withLock(repo.path, fs.readFileString(file), {
          timeout: "5 seconds",
          onWait: () => Ref.set(waited, true)
        })
        expect(JSON.parse(inside).pid).toBe(process.pid)
        expect(yield* Ref.get(waited)).toBe(false)
        expect(yield* fs.exists(file)).toBe(false)
      })
    )

    it.scoped("an unreadable lock file (not written by oompa) is taken over", () =>
      Effect.gen(function* () {
        const lock = yield* MergeLock
        const fs = yield* FileSystem.FileSystem
        const repo = yield* makeGitRepo()
        const file = yield* lock.lockFile(repo.path)
        yield* fs.writeFileString(file, "garbage")
        expect(yield* lock.withLock(repo.path, Effect.succeed("ok"), { timeout: "5 seconds" })).toBe("ok")
        expect(yield* fs.exists(file)).toBe(false)
      })
    )

    it.scoped("a lock held by a live process makes us wait, then times out naming the holder", () =>
      Effect.gen(function* () {
        const lock = yield* MergeLock
        const fs = yield* FileSystem.FileSystem
        const repo = yield* makeGitRepo()
        const file = yield* lock.lockFile(repo.path)
        const pid = yield* livePid
        const foreign = lockContent(pid, { swarm: "otherswm" })
        yield* fs.writeFileString(file, foreign)
        const seen = yield* Ref.make<ReadonlyArray<LockHolder>>([])
        const ran = yield* Ref.make(false)
        const error = yield* Effect.flip(
          lock.withLock(repo.path, Ref.set(ran, true), {
            timeout: "700 millis",
            onWait: (h) => Ref.update(seen, (s) => [...s, h])
          })
        )
        expect(error._tag).toBe("MergeLockTimeout")
        if (error._tag === "MergeLockTimeout") {
          expect(error.holderPid).toBe(pid)
          expect(error.holderSwarm).toBe("otherswm")
          expect(error.waitedMillis).toBeGreaterThanOrEqual(700)
          expect(error.message).toContain(`pid ${pid}`)
        }
        expect(yield* Ref.get(ran)).toBe(false)
        // onWait once per holder, not once per re-check
        expect((yield* Ref.get(seen)).map((h) => h.pid)).toEqual([pid])
        // the live holder's lock is untouched
        expect(yield* fs.readFileString(file)).toBe(foreign)
      })
    )

    it.scoped("a waiter gets the lock as soon as the other process removes its file", () =>
      Effect.gen(function* () {
        const lock = yield* MergeLock
        const fs = yield* FileSystem.FileSystem
        const repo = yield* makeGitRepo()
        const file = yield* lock.lockFile(repo.path)
        const pid = yield* livePid
        yield* fs.writeFileString(file, lockContent(pid))
        const waiting = yield* Deferred.make<void>()
        const waiter = yield* lock
          .withLock(repo.path, fs.readFileString(file), {
            timeout: "20 seconds",
            onWait: () => Deferred.succeed(waiting, undefined)
          })
          .pipe(Effect.fork)
        yield* Deferred.await(waiting)
        expect(Option.isNone(yield* Fiber.poll(waiter))).toBe(true)
        yield* fs.remove(file) // the other process releases
        const inside = yield* Fiber.join(waiter)
        expect(JSON.parse(inside).pid).toBe(process.pid)
      })
    )

    it.scoped(
      "two real processes serialise on one repository",
      () =>
        Effect.gen(function* () {
          const fs = yield* FileSystem.FileSystem
          const repo = yield* makeGitRepo()
          const dir = yield* repo.tempDir()
          const journal = NodePath.join(dir, "journal.txt")
          const script = NodePath.join(dir, "lock-child.ts")
          yield* fs.writeFileString(script, childScript)
          const file = NodePath.join(repo.path, ".git", LOCK_FILE_NAME)

          const a = yield* spawnChild(script, repo.path, "A", journal)
          yield* a.until((l) => l === "acquired")
          const held = JSON.parse(yield* fs.readFileString(file))
          expect(held.pid).toBe(a.pid)
          expect(held.swarm).toBe("A")

          const b = yield* spawnChild(script, repo.path, "B", journal)
          const waitLine = yield* b.until((l) => l.startsWith("waiting "))
          expect(waitLine).toBe(`waiting ${a.pid}`)
          expect(yield* fs.readFileString(journal)).toBe("A in\n")

          yield* a.release
          yield* b.until((l) => l === "acquired")
          expect(JSON.parse(yield* fs.readFileString(file)).pid).toBe(b.pid)
          yield* b.release
          expect(yield* a.exitCode).toBe(0)
          expect(yield* b.exitCode).toBe(0)
          expect(yield* fs.readFileString(journal)).toBe("A in\nA out\nB in\nB out\n")
          expect(yield* fs.exists(file)).toBe(false)
        }),
      120_000
    )
  })
})

/**
 * A child process that takes the merge lock with the real service, reports on
 * stdout ("waiting <pid>", "acquired"), journals "<name> in/out", and releases
 * when its stdin closes. Run with vite-node so it uses the TypeScript sources.
 */
const childScript = `
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import { GitLive } from ${JSON.stringify(NodePath.join(projectRoot, "src/services/Git.ts"))}
import { MergeLock, layerMergeLock } from ${JSON.stringify(NodePath.join(projectRoot, "src/services/MergeLock.ts"))}

const [repo, name, journal] = process.argv.slice(2)
const say = (line) => Effect.sync(() => process.stdout.write(line + "\\n"))
const stdinClosed = Effect.async((resume) => {
  process.stdin.on("end", () => resume(Effect.void))
  process.stdin.resume()
})
const program = Effect.gen(function* () {
  const lock = yield* MergeLock
  yield* lock.withLock(
    repo,
    Effect.gen(function* () {
      fs.appendFileSync(journal, name + " in\\n")
      yield* say("acquired")
      yield* stdinClosed
      fs.appendFileSync(journal, name + " out\\n")
    }),
    { swarm: name, timeout: "60 seconds", onWait: (h) => say("waiting " + h.pid) }
  )
})
const live = layerMergeLock({ pollInterval: "5 seconds" }).pipe(Layer.provideMerge(GitLive), Layer.provideMerge(NodeContext.layer))
Effect.runPromise(Effect.provide(program, live)).then(
  () => process.exit(0),
  (e) => { console.error(e); process.exit(1) }
)
`

const spawnChild = (script: string, repo: string, name: string, journal: string) =>
  Effect.gen(function* () {
    const viteNode = NodePath.join(projectRoot, "node_modules/vite-node/vite-node.mjs")
    const proc = yield* Command.start(
      Command.make(process.execPath, viteNode, script, repo, name, journal).pipe(Command.workingDirectory(projectRoot))
    )
    const lines = yield* Queue.unbounded<string>()
    const stderr = yield* Ref.make("")
    yield* proc.stdout.pipe(
      Stream.decodeText(),
      Stream.splitLines,
      Stream.runForEach((l) => Queue.offer(lines, l)),
      Effect.ensuring(Queue.offer(lines, "<eof>")),
      Effect.forkScoped
    )
    yield* proc.stderr.pipe(
      Stream.decodeText(),
      Stream.runForEach((s) => Ref.update(stderr, (all) => all + s)),
      Effect.forkScoped
    )
    const until = (pred: (line: string) => boolean) =>
      Effect.gen(function* () {
        while (true) {
          const line = yield* Queue.take(lines)
          if (pred(line)) return line
          if (line === "<eof>") return yield* Effect.dieMessage(`${name} exited early: ${yield* Ref.get(stderr)}`)
        }
      }).pipe(
        Effect.timeoutFail({
          duration: Duration.seconds(30),
          onTimeout: () => `${name}: no expected line in 30 s`
        }),
        Effect.orDie
      )
    return {
      pid: proc.pid as number,
      until,
      release: Stream.run(Stream.empty, proc.stdin),
      exitCode: proc.exitCode.pipe(Effect.map((c) => c as number))
    }
  })
