/**
 * What the real-CLI tests share: where the pinned CLIs are (test-cli/), how to
 * point each one at the fake model server with a private HOME, and how to run
 * a CLI directly (argv verified against the real CLIs: docs/cli-facts.md).
 */
import { Command } from "@effect/platform"
import type { CommandExecutor } from "@effect/platform/CommandExecutor"
import { Clock, Effect, Option, Stream, String as Str } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { FakeModelServer } from "../fake-model-server/server.js"

export type CliName = "claude" | "codex" | "opencode" | "gemini"
export const CLIS: ReadonlyArray<CliName> = ["claude", "codex", "opencode", "gemini"]

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
export const cliBinDir = path.join(repoRoot, "test-cli", "node_modules", ".bin")
export const binOf = (cli: CliName): string => path.join(cliBinDir, cli)
export const fixturesDir = path.join(repoRoot, "test", "fixtures", "cli-output")

/** The model each CLI is run with (the fake server accepts any name). */
export const MODEL: Readonly<Record<CliName, string>> = {
  claude: "claude-sonnet-4-5",
  codex: "gpt-5.1-codex",
  opencode: "fake/fake-model",
  gemini: "gemini-2.5-pro"
}

export const isRoot = typeof process.getuid === "function" && process.getuid() === 0

/** A temp dir removed when the scope closes. */
export const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: "oompa e2e",
  GIT_AUTHOR_EMAIL: "e2e@oompa.invalid",
  GIT_COMMITTER_NAME: "oompa e2e",
  GIT_COMMITTER_EMAIL: "e2e@oompa.invalid"
}

/**
 * Writes the CLI's config under `home` and returns the environment that points
 * it at `server` and keeps it off the network (no update checks, telemetry,
 * model-list fetches). `home` becomes HOME (and the XDG dirs), so nothing
 * touches the real home.
 */
export const cliEnv = (cli: CliName, server: FakeModelServer, home: string): Record<string, string> => {
  fs.mkdirSync(home, { recursive: true })
  const base: Record<string, string> = {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, ".config"),
    XDG_DATA_HOME: path.join(home, ".local", "share"),
    XDG_CACHE_HOME: path.join(home, ".cache"),
    XDG_STATE_HOME: path.join(home, ".local", "state"),
    NO_COLOR: "1",
    // The CLIs' own shell tools commit with this identity (the temp HOME has no git config).
    ...GIT_IDENTITY
  }
  switch (cli) {
    case "claude":
      return {
        ...base,
        ANTHROPIC_BASE_URL: server.url,
        ANTHROPIC_API_KEY: "sk-ant-fake-key-for-tests",
        DISABLE_AUTOUPDATER: "1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        DISABLE_TELEMETRY: "1",
        DISABLE_ERROR_REPORTING: "1",
        ...(isRoot ? { IS_SANDBOX: "1" } : {})
      }
    case "codex": {
      const codexHome = path.join(home, ".codex")
      fs.mkdirSync(codexHome, { recursive: true })
      fs.writeFileSync(
        path.join(codexHome, "config.toml"),
        [
          `model_provider = "fake"`,
          `model = "${MODEL.codex}"`,
          `check_for_update_on_startup = false`,
          ``,
          `[analytics]`,
          `enabled = false`,
          ``,
          // Else it tries to sync its curated plugins repo from github.com at start-up.
          `[features]`,
          `plugins = false`,
          ``,
          `[model_providers.fake]`,
          `name = "fake"`,
          `base_url = "${server.openaiUrl}"`,
          `wire_api = "responses"`,
          `env_key = "OPENAI_API_KEY"`,
          `request_max_retries = 0`,
          `stream_max_retries = 0`,
          ``
        ].join("\n")
      )
      return { ...base, CODEX_HOME: codexHome, OPENAI_API_KEY: "sk-fake-key-for-tests" }
    }
    case "opencode": {
      const config = path.join(home, "opencode.json")
      fs.writeFileSync(
        config,
        JSON.stringify(
          {
            $schema: "https://opencode.ai/config.json",
            provider: {
              fake: {
                npm: "@ai-sdk/openai-compatible",
                name: "Fake",
                options: { baseURL: server.openaiUrl, apiKey: "sk-fake-key-for-tests" },
                models: { "fake-model": { name: "Fake model" } }
              }
            },
            model: MODEL.opencode,
            small_model: MODEL.opencode,
            autoupdate: false,
            share: "disabled"
          },
          null,
          2
        )
      )
      return {
        ...base,
        OPENCODE_CONFIG: config,
        OPENCODE_DISABLE_MODELS_FETCH: "1",
        OPENCODE_DISABLE_AUTOUPDATE: "1",
        OPENCODE_DISABLE_SHARE: "1",
        OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
        OPENCODE_DISABLE_DEFAULT_PLUGINS: "1",
        OPENCODE_DISABLE_CLAUDE_CODE: "1",
        OPENCODE_EXPERIMENTAL_DISABLE_FILEWATCHER: "1"
      }
    }
    case "gemini": {
      fs.mkdirSync(path.join(home, ".gemini"), { recursive: true })
      fs.writeFileSync(
        path.join(home, ".gemini", "settings.json"),
        JSON.stringify(
          {
            security: { auth: { selectedType: "gemini-api-key" } },
            privacy: { usageStatisticsEnabled: false },
            telemetry: { enabled: false },
            general: { disableAutoUpdate: true, disableUpdateNag: true }
          },
          null,
          2
        )
      )
      return {
        ...base,
        GOOGLE_GEMINI_BASE_URL: server.url,
        GEMINI_API_KEY: "fake-key-for-tests",
        GEMINI_CLI_TRUST_WORKSPACE: "true",
        GEMINI_CLI_NO_RELAUNCH: "true"
      }
    }
  }
}

/** Each CLI's own retries turned off (or as low as they go), besides cliEnv's setup. */
export const lowRetries = (cli: CliName, home: string): Record<string, string> => {
  switch (cli) {
    case "claude":
      return { CLAUDE_CODE_MAX_RETRIES: "0" }
    case "gemini": {
      // general.maxAttempts: its chat-model retry loop (1 = no retry); it has no env var for it.
      const file = path.join(home, ".gemini", "settings.json")
      const settings = JSON.parse(fs.readFileSync(file, "utf8"))
      fs.writeFileSync(file, JSON.stringify({ ...settings, general: { ...settings.general, maxAttempts: 1 } }, null, 2))
      return {}
    }
    // codex: cliEnv's provider already has request_max_retries = 0, stream_max_retries = 0.
    // opencode: no setting; the scripted retry-after-ms keeps its five retries short.
    default:
      return {}
  }
}

export type Session = { readonly _tag: "New"; readonly id?: string } | { readonly _tag: "Resume"; readonly id: string }

export interface DirectRun {
  readonly args: ReadonlyArray<string>
  /** Written to stdin then closed; undefined: stdin closed at once. */
  readonly stdin?: string
}

/** The argv that works for each CLI (docs/cli-facts.md), prompt delivery included. */
export const directArgs = (cli: CliName, session: Session, prompt: string, cwd: string): DirectRun => {
  switch (cli) {
    case "claude":
      return {
        args: [
          "-p",
          "--dangerously-skip-permissions",
          "--output-format",
          "stream-json",
          "--verbose",
          "--model",
          MODEL.claude,
          ...(session._tag === "Resume" ? ["--resume", session.id] : session.id !== undefined ? ["--session-id", session.id] : [])
        ],
        stdin: prompt
      }
    case "codex":
      return {
        args: [
          "exec",
          "--dangerously-bypass-approvals-and-sandbox",
          "--skip-git-repo-check",
          "-C",
          cwd,
          "--model",
          MODEL.codex,
          "--json",
          ...(session._tag === "Resume" ? ["resume", session.id, prompt] : ["--", prompt])
        ]
      }
    case "opencode":
      return {
        args: [
          "run",
          "--format",
          "json",
          "-m",
          MODEL.opencode,
          // It works in $PWD, not in its cwd: name the directory explicitly.
          "--dir",
          cwd,
          ...(session._tag === "Resume" ? ["-s", session.id] : []),
          prompt
        ]
      }
    case "gemini":
      return {
        args: [
          "--yolo",
          "-m",
          MODEL.gemini,
          "--output-format",
          "stream-json",
          ...(session._tag === "Resume" ? ["--resume", session.id] : session.id !== undefined ? ["--session-id", session.id] : []),
          "-p",
          prompt
        ]
      }
  }
}

export interface CliRun {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
  readonly durationMs: number
}

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  stream.pipe(Stream.decodeText(), Stream.runFold("", (acc, s) => acc + s))

/** Runs a command (no shell) and collects its output; stdin is fed then closed. */
export const runProcess = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env: Record<string, string>; readonly stdin?: string | undefined }
): Effect.Effect<CliRun, unknown, CommandExecutor> =>
  Effect.scoped(
    Effect.gen(function* () {
      const start = yield* Clock.currentTimeMillis
      const cmd = Command.make(command, ...args).pipe(
        Command.workingDirectory(options.cwd),
        // PWD too: opencode takes its project directory from $PWD, not from the
        // process's working directory (it would work in the parent's folder).
        Command.env({ ...options.env, PWD: options.cwd }),
        Command.feed(options.stdin ?? "")
      )
      const proc = yield* Command.start(cmd)
      const [stdout, stderr, exitCode] = yield* Effect.all([collect(proc.stdout), collect(proc.stderr), proc.exitCode], {
        concurrency: 3
      })
      return { exitCode: Number(exitCode), stdout, stderr, durationMs: (yield* Clock.currentTimeMillis) - start }
    })
  )

/** JSON lines of a CLI's stdout (non-JSON lines skipped). */
export const jsonLines = (stdout: string): Array<any> =>
  stdout
    .split("\n")
    .map(Str.trim)
    .filter((l) => l.startsWith("{"))
    .flatMap((l) => {
      try {
        return [JSON.parse(l)]
      } catch {
        return []
      }
    })

/** The session id as each CLI reports it in its JSON events. */
export const sessionIdOf = (cli: CliName, stdout: string): Option.Option<string> => {
  const events = jsonLines(stdout)
  const pick = (f: (e: any) => unknown) =>
    Option.fromNullable(events.map(f).find((v): v is string => typeof v === "string" && v.length > 0))
  switch (cli) {
    case "claude":
      return pick((e) => e.session_id)
    case "codex":
      return pick((e) => (e.type === "thread.started" ? e.thread_id : undefined))
    case "opencode":
      return pick((e) => e.sessionID)
    case "gemini":
      return pick((e) => (e.type === "init" ? e.session_id : undefined))
  }
}

/** The final assistant message of the run, as each CLI reports it. */
export const finalTextOf = (cli: CliName, stdout: string): string => {
  const events = jsonLines(stdout)
  switch (cli) {
    case "claude":
      return events.filter((e) => e.type === "result").map((e) => String(e.result ?? ""))[0] ?? ""
    case "codex":
      return events.filter((e) => e.type === "item.completed" && e.item?.type === "agent_message").map((e) => String(e.item.text)).pop() ?? ""
    case "opencode": {
      // Text parts of the last assistant message (the last step).
      const texts = events.filter((e) => e.type === "text")
      const lastMessage = texts[texts.length - 1]?.part?.messageID
      return texts
        .filter((e) => e.part?.messageID === lastMessage)
        .map((e) => String(e.part.text))
        .join("")
    }
    case "gemini": {
      // Assistant deltas after the last tool result.
      let acc = ""
      for (const e of events) {
        if (e.type === "tool_use" || e.type === "tool_result") acc = ""
        else if (e.type === "message" && e.role === "assistant") acc += String(e.content)
      }
      return acc
    }
  }
}

/** A fresh git repo with one commit. */
export const initRepo = (dir: string) =>
  Effect.gen(function* () {
    fs.mkdirSync(dir, { recursive: true })
    const env = { ...GIT_IDENTITY }
    for (const args of [
      ["init", "-q", "-b", "main"],
      ["commit", "-q", "--allow-empty", "-m", "init"]
    ]) {
      const r = yield* runProcess("git", args, { cwd: dir, env })
      if (r.exitCode !== 0) return yield* Effect.dieMessage(`git ${args.join(" ")}: ${r.stderr}`)
    }
  })

/**
 * A project for a swarm: a repository with a committed README and one pending
 * task file per `tasks` entry (`{id, summary}`), backdated past the queue's
 * 2 s grace for files still being written.
 */
export const initProject = (project: string, tasks: ReadonlyArray<{ readonly id: string; readonly summary: string }>) =>
  Effect.gen(function* () {
    yield* initRepo(project)
    fs.writeFileSync(path.join(project, "README.md"), "# e2e project\n")
    yield* git(project, "add", "README.md")
    yield* git(project, "commit", "-qm", "readme")
    const pending = path.join(project, "tasks", "pending")
    fs.mkdirSync(pending, { recursive: true })
    const past = new Date(Date.now() - 60_000)
    for (const task of tasks) {
      const file = path.join(pending, `${task.id}.json`)
      fs.writeFileSync(file, JSON.stringify(task, null, 2))
      fs.utimesSync(file, past, past)
    }
  })

export const git = (cwd: string, ...args: Array<string>) =>
  runProcess("git", args, { cwd, env: GIT_IDENTITY }).pipe(
    Effect.flatMap((r) => (r.exitCode === 0 ? Effect.succeed(r.stdout.trim()) : Effect.dieMessage(`git ${args.join(" ")}: ${r.stderr}`)))
  )

/** Whether the CLIs are installed (scripts/install-test-clis.sh). */
export const clisInstalled = (): boolean => CLIS.every((c) => fs.existsSync(binOf(c)))

/**
 * For `beforeAll`: fail loudly (never skip) when the CLIs or dist/ are missing,
 * so a broken setup cannot pass as "skipped". `npm run test:cli` builds and installs first.
 */
export const requireSetup = (options: { readonly dist?: boolean } = {}): void => {
  const missing = CLIS.filter((c) => !fs.existsSync(binOf(c)))
  if (missing.length > 0) throw new Error(`real CLIs not installed (${missing.join(", ")}): run bash scripts/install-test-clis.sh`)
  if (options.dist === true && !fs.existsSync(path.join(repoRoot, "dist", "bin.js"))) {
    throw new Error("dist/bin.js missing: run npm run build")
  }
}
