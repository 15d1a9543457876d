/**
 * Why a turn failed, as each adapter (src/harness/<cli>.ts) reads it from the
 * real CLI's output: the fake model server answers 429 (with a retry-after or
 * a reset time where the CLI passes it on), 529/503, 401 and a "prompt too
 * long" 400, with each CLI's own retries turned low, and the TurnResult must
 * carry the class (docs/cli-facts.md, "Failures"). With UPDATE_CLI_FIXTURES=1
 * the outputs are saved to test/fixtures/cli-output/<cli>/fail-<case>.jsonl
 * (+ .stderr.txt), which test/harness/failureClass.test.ts decodes.
 */
import { NodeContext } from "@effect/platform-node"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { cliSpecs } from "../../src/harness/cliHarnesses.js"
import { makeCliHarness, stderrPathOf } from "../../src/harness/cliAdapter.js"
import type { TurnFailure } from "../../src/domain/TurnFailure.js"
import { turnFailed } from "../../src/harness/Harness.js"
import { ProcessRunnerLive } from "../../src/services/ProcessRunner.js"
import * as FakeModelServer from "../fake-model-server/server.js"
import { binOf, CLIS, type CliName, cliEnv, fixturesDir, initRepo, lowRetries, MODEL, repoRoot, requireSetup, tempDir } from "./support.js"
import { profiles } from "./clis/index.js"

const UPDATE = process.env.UPDATE_CLI_FIXTURES === "1"

/** A reset time on a whole minute (codex prints it to the minute): 2026-11-30T00:54:00Z. */
const RESET_EPOCH = 1796000040

interface Case {
  readonly name: string
  readonly step: FakeModelServer.Step
  readonly expected: TurnFailure
}

const contextBody = (message: string) => ({
  error: { message, type: "invalid_request_error", code: "context_length_exceeded", param: "messages" }
})

/**
 * opencode retries 429 and 5xx five times whatever its config says (2 s, 4 s,
 * … without a retry-after header, ~90 s in all): its cases carry
 * `retry-after-ms: 50`, which it honours.
 */
const opencodeCases: ReadonlyArray<Case> = [
  {
    name: "429",
    step: { error: 429, message: "Rate limit reached", headers: { "retry-after-ms": "50" } },
    expected: { class: "rate-limited", retryAfterMs: 50 }
  },
  {
    name: "503",
    step: { error: 503, message: "Service unavailable", headers: { "retry-after-ms": "50" } },
    expected: { class: "overloaded", retryAfterMs: 50 }
  },
  { name: "401", step: { error: 401, message: "Incorrect API key provided" }, expected: { class: "auth" } },
  {
    name: "context",
    step: { error: 400, body: contextBody("This model's maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens.") },
    expected: { class: "context-too-long" }
  }
]

/** The cases each CLI really distinguishes. */
const cases: Readonly<Partial<Record<CliName, ReadonlyArray<Case>>>> = {
  claude: [
    {
      name: "429",
      step: { error: 429, message: "rate limited for tests", headers: { "retry-after": "20" } },
      expected: { class: "rate-limited" }
    },
    { name: "529", step: { error: 529, message: "Overloaded" }, expected: { class: "overloaded" } },
    { name: "503", step: { error: 503, message: "Service unavailable" }, expected: { class: "overloaded" } },
    {
      name: "stream-overloaded",
      step: { streamError: { type: "overloaded_error", message: "Overloaded" } },
      expected: { class: "overloaded" }
    },
    { name: "401", step: { error: 401, message: "invalid x-api-key" }, expected: { class: "auth" } },
    { name: "403", step: { error: 403, message: "Your organization does not have access" }, expected: { class: "auth" } },
    {
      name: "context",
      step: { error: 400, message: "prompt is too long: 250000 tokens > 200000 maximum" },
      expected: { class: "context-too-long" }
    }
  ],
  codex: [
    {
      name: "429",
      step: { error: 429, message: "Rate limit reached for gpt-5", headers: { "retry-after": "20" } },
      expected: { class: "rate-limited" }
    },
    {
      name: "usage-limit",
      step: {
        error: 429,
        body: { error: { type: "usage_limit_reached", message: "The usage limit has been reached", plan_type: "plus", resets_at: RESET_EPOCH } }
      },
      expected: { class: "rate-limited", resetsAt: new Date(RESET_EPOCH * 1000).toISOString() }
    },
    {
      name: "stream-429",
      step: {
        streamError: {
          type: "rate_limit_exceeded",
          message: "Rate limit reached for gpt-5 on tokens per min (TPM): Limit 30000, Used 30000, Requested 100. Please try again in 20s."
        }
      },
      expected: { class: "rate-limited", retryAfterMs: 20000 }
    },
    { name: "503", step: { error: 503, message: "Service unavailable" }, expected: { class: "overloaded" } },
    { name: "529", step: { error: 529, message: "Overloaded" }, expected: { class: "overloaded" } },
    { name: "401", step: { error: 401, message: "Incorrect API key provided" }, expected: { class: "auth" } },
    {
      name: "context",
      step: { error: 400, body: contextBody("Your input exceeds the context window of this model.") },
      expected: { class: "context-too-long" }
    }
  ],
  gemini: [
    {
      name: "429",
      step: {
        error: 429,
        body: {
          error: {
            code: 429,
            message: "Quota exceeded for metric: generate_content_free_tier_requests, limit: 2. Please retry in 12.5s.",
            status: "RESOURCE_EXHAUSTED",
            details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "12s" }]
          }
        }
      },
      expected: { class: "rate-limited", retryAfterMs: 12500 }
    },
    { name: "429-bare", step: { error: 429, message: "Resource exhausted" }, expected: { class: "rate-limited" } },
    { name: "503", step: { error: 503, message: "The model is overloaded. Please try again later." }, expected: { class: "overloaded" } },
    { name: "529", step: { error: 529, message: "Overloaded" }, expected: { class: "overloaded" } },
    { name: "401", step: { error: 401, message: "API key not valid. Please pass a valid API key." }, expected: { class: "auth" } },
    {
      name: "context",
      step: { error: 400, message: "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)." },
      expected: { class: "context-too-long" }
    }
  ],
  opencode: opencodeCases,
  // kilo, an opencode fork, retries and reports errors as opencode does.
  kilo: opencodeCases,
  // pi (lowRetries: its own and the SDK's retries off) exits 0 with the SDK's "<status> <message>" as the
  // last assistant message's errorMessage; the response headers are not in it.
  pi: [
    {
      name: "429",
      step: { error: 429, message: "Rate limit reached for tests", headers: { "retry-after": "20" } },
      expected: { class: "rate-limited" }
    },
    {
      name: "429-wait",
      step: { error: 429, message: "Rate limit reached for fake-model on tokens per min (TPM). Please try again in 20s." },
      expected: { class: "rate-limited", retryAfterMs: 20000 }
    },
    { name: "503", step: { error: 503, message: "Service unavailable" }, expected: { class: "overloaded" } },
    { name: "529", step: { error: 529, message: "Overloaded" }, expected: { class: "overloaded" } },
    { name: "401", step: { error: 401, message: "Incorrect API key provided" }, expected: { class: "auth" } },
    {
      name: "context",
      step: { error: 400, body: contextBody("This model's maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens.") },
      expected: { class: "context-too-long" }
    }
  ],
  // copilot (BYOK, OpenAI chat completions): a session.error with the HTTP status and the SDK's
  // "<status> <message>", then exit 1; the response headers are not in its output. It retries 429
  // and 5xx five times (backing off up to ~110 s, honouring retry-after) with no setting to stop it:
  // the retried cases carry `retry-after-ms: 50`, which it honours (waiting at least 1 s per retry).
  copilot: [
    {
      name: "429",
      step: { error: 429, message: "Rate limit reached for tests", headers: { "retry-after-ms": "50" } },
      expected: { class: "rate-limited" }
    },
    {
      name: "429-wait",
      step: {
        error: 429,
        message: "Rate limit reached for fake-model on tokens per min (TPM). Please try again in 20s.",
        headers: { "retry-after-ms": "50" }
      },
      expected: { class: "rate-limited", retryAfterMs: 20000 }
    },
    { name: "503", step: { error: 503, message: "Service unavailable", headers: { "retry-after-ms": "50" } }, expected: { class: "overloaded" } },
    { name: "529", step: { error: 529, message: "Overloaded", headers: { "retry-after-ms": "50" } }, expected: { class: "overloaded" } },
    { name: "401", step: { error: 401, message: "Incorrect API key provided" }, expected: { class: "auth" } },
    {
      name: "context",
      step: { error: 400, body: contextBody("This model's maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens.") },
      expected: { class: "context-too-long" }
    }
  ],
  // qwen exits 1 with the OpenAI SDK's "<status> <message>" inside "[API Error: …]" as the result's error.
  // Its rate-limit retries are off (lowRetries), but its stream call is tried 7 times on 429/5xx with
  // no setting for that (1.5 s doubling to 30 s: ~80 s a case), each try waiting at least the
  // retry-after: the retried cases carry `retry-after: 1` (~12 s a case).
  qwen: [
    {
      name: "429",
      step: { error: 429, message: "Rate limit reached for tests", headers: { "retry-after": "1" } },
      expected: { class: "rate-limited" }
    },
    {
      name: "429-wait",
      step: {
        error: 429,
        message: "Rate limit reached for fake-model on tokens per min (TPM). Please try again in 20s.",
        headers: { "retry-after": "1" }
      },
      expected: { class: "rate-limited", retryAfterMs: 20000 }
    },
    { name: "503", step: { error: 503, message: "Service unavailable", headers: { "retry-after": "1" } }, expected: { class: "overloaded" } },
    // 529 is not run: qwen ignores the retry-after on it (81 s of tries); its captured fail-529 output
    // ("[API Error: 529 Overloaded]", overloaded) is decoded by failureClass.test.
    { name: "401", step: { error: 401, message: "Incorrect API key provided" }, expected: { class: "auth" } },
    {
      name: "context",
      step: { error: 400, body: contextBody("This model's maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens.") },
      expected: { class: "context-too-long" }
    }
  ]
}

const layer = Layer.mergeAll(ProcessRunnerLive, NodeContext.layer)

const sanitize = (text: string, tmp: string, server: FakeModelServer.FakeModelServer): string =>
  text.split(tmp).join("<TMP>").split(repoRoot).join("<REPO>").split(server.url).join("http://127.0.0.1:<PORT>").split(String(server.port)).join("<PORT>")

describe("failure classes from the real CLIs' output", () => {
  beforeAll(() => requireSetup())
  for (const [cli, cliCases] of CLIS.flatMap((c) => (cases[c] !== undefined ? [[c, cases[c]] as const] : []))) {
    it.scopedLive(`${cli}: ${cliCases.map((c) => c.name).join(", ")}`, () =>
      Effect.gen(function* () {
        const server = yield* FakeModelServer.make({})
        const tmp = yield* tempDir(`oompa-fail-${cli}-`)
        const repo = path.join(tmp, "repo")
        yield* initRepo(repo)
        fs.mkdirSync(path.join(tmp, "logs"))
        const home = path.join(tmp, "home")
        const env = { ...cliEnv(cli, server, home), PWD: repo }
        Object.assign(env, lowRetries(cli, home))
        const spec = cliSpecs[cli]
        const harness = yield* makeCliHarness(spec)
        const config = ConfigProvider.fromJson({ [spec.binEnv]: binOf(cli), PATH: process.env.PATH ?? "" })
        for (const c of cliCases) {
          yield* server.setScripts([{ name: `fail-${c.name}`, match: `SCRIPT:fail-${c.name}\\b`, steps: [c.step], fallback: c.step }])
          const logPath = path.join(tmp, "logs", `${c.name}.log`)
          const result = yield* harness
            .runTurn({
              prompt: `[oompa:e2e00001:w0]\nSCRIPT:fail-${c.name} This request fails.`,
              cwd: repo,
              model: { harness: cli, model: MODEL[cli] },
              session: { _tag: "New" },
              mode: "work",
              timeout: Duration.minutes(2),
              logPath,
              env
            })
            .pipe(Effect.withConfigProvider(config))
          const output = fs.readFileSync(logPath, "utf8")
          const stderr = fs.readFileSync(stderrPathOf(logPath), "utf8")
          if (UPDATE) {
            const dir = path.join(fixturesDir, cli)
            fs.writeFileSync(path.join(dir, `fail-${c.name}.jsonl`), sanitize(output, tmp, server))
            // The first lines are oompa's own header (argv, cwd): the CLI's stderr follows.
            fs.writeFileSync(path.join(dir, `fail-${c.name}.stderr.txt`), sanitize(stderr, tmp, server))
            fs.writeFileSync(path.join(dir, `fail-${c.name}.exit`), `${result.exitCode}\n`)
          }
          const why = `${cli} ${c.name}: exit ${result.exitCode}, error ${result.error}\n${output.slice(-1500)}\n${stderr.slice(-800)}`
          if (profiles[cli].apiErrorExitsZero === true) {
            // pi: exit 0, the failure read from its output.
            expect(result.exitCode, why).toBe(0)
            expect(result.reportedFailure, why).toBe(true)
          } else {
            expect(result.exitCode, why).not.toBe(0)
          }
          expect(turnFailed(result), why).toBe(true)
          expect(result.timedOut, why).toBe(false)
          const { evidence, ...failure } = result.failure ?? { class: "missing" }
          expect(failure, why).toEqual(c.expected)
          expect(evidence?.length ?? 0, why).toBeGreaterThan(0)
          console.log(`${cli} ${c.name}: ${result.failure?.class} (${result.durationMs} ms): ${evidence}`)
        }
      }).pipe(Effect.provide(layer))
    )
  }
})
