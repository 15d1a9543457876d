import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import * as claude from "../../src/harness/claude.js"
import type { EnvFacts } from "../../src/harness/cliAdapter.js"
import * as codex from "../../src/harness/codex.js"
import * as gemini from "../../src/harness/gemini.js"
import type { SessionRequest, TurnRequest } from "../../src/harness/Harness.js"
import { kiloSpec } from "../../src/harness/kilo.js"
import * as opencode from "../../src/harness/opencode.js"
import type { ModelSpec } from "../../src/domain/Model.js"

const user: EnvFacts = { isRoot: false, userEnv: {} }
const root: EnvFacts = { isRoot: true, userEnv: {} }

const request = (
  model: ModelSpec,
  session: SessionRequest,
  mode: "work" | "review" = "work"
): TurnRequest => ({
  prompt: "[oompa:ab12cd34:w0]\nDo the thing",
  cwd: "/repo/.oompa/worktrees/w0",
  model,
  session,
  mode,
  timeout: Duration.minutes(30),
  logPath: "/runs/x/logs/w0-c1-t1.log"
})

const UUID = "5b0c6c1a-3f55-4c1e-9a43-3c3f1b0b2a11"
const P = "[oompa:ab12cd34:w0]\nDo the thing"

describe("claude argv", () => {
  const cases: ReadonlyArray<{
    name: string
    req: TurnRequest
    facts: EnvFacts
    args: ReadonlyArray<string>
    env: Record<string, string>
  }> = [
    {
      name: "new session, no model",
      req: request({ harness: "claude" }, { _tag: "New", id: UUID }),
      facts: user,
      args: ["-p", "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions", "--session-id", UUID],
      env: {}
    },
    {
      name: "resume uses --resume and never --session-id",
      req: request({ harness: "claude", model: "opus" }, { _tag: "Resume", id: UUID }),
      facts: user,
      args: ["-p", "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions", "--resume", UUID, "--model", "opus"],
      env: {}
    },
    {
      name: "reasoning maps to --effort (minimal → low)",
      req: request({ harness: "claude", model: "sonnet", reasoning: "minimal" }, { _tag: "New", id: UUID }),
      facts: user,
      args: ["-p", "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions", "--session-id", UUID, "--model", "sonnet", "--effort", "low"],
      env: {}
    },
    {
      name: "root adds IS_SANDBOX=1",
      req: request({ harness: "claude", model: "opus", reasoning: "max" }, { _tag: "New", id: UUID }),
      facts: root,
      args: ["-p", "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions", "--session-id", UUID, "--model", "opus", "--effort", "max"],
      env: { IS_SANDBOX: "1" }
    },
    {
      name: "root with the user's own IS_SANDBOX leaves it alone",
      req: request({ harness: "claude" }, { _tag: "New", id: UUID }),
      facts: { isRoot: true, userEnv: { IS_SANDBOX: "1" } },
      args: ["-p", "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions", "--session-id", UUID],
      env: {}
    },
    {
      name: "review runs in plan mode, without skipping permissions",
      req: request({ harness: "claude", model: "opus" }, { _tag: "New", id: UUID }, "review"),
      facts: root,
      args: ["-p", "--output-format", "stream-json", "--verbose", "--permission-mode", "plan", "--session-id", UUID, "--model", "opus"],
      env: {}
    }
  ]
  for (const c of cases) {
    it(c.name, () => {
      const inv = claude.buildInvocation("/bin/claude", c.req, c.facts)
      expect(inv.command).toBe("/bin/claude")
      expect(inv.args).toEqual(c.args)
      expect(inv.env).toEqual(c.env)
      expect(inv.stdin).toBe(P)
      expect(inv.args).not.toContain(P)
      expect(inv.args.includes("--resume") && inv.args.includes("--session-id")).toBe(false)
      if (c.env.IS_SANDBOX) expect(inv.notes.join("\n")).toContain("IS_SANDBOX=1")
    })
  }
})

describe("codex argv", () => {
  const cases: ReadonlyArray<{ name: string; req: TurnRequest; args: ReadonlyArray<string> }> = [
    {
      name: "new session with model and reasoning",
      req: request({ harness: "codex", model: "gpt-5.3-codex", reasoning: "high" }, { _tag: "New" }),
      args: [
        "exec", "--dangerously-bypass-approvals-and-sandbox", "--skip-git-repo-check", "-C", "/repo/.oompa/worktrees/w0",
        "-m", "gpt-5.3-codex", "-c", `model_reasoning_effort="high"`, "--json", "--", P
      ]
    },
    {
      name: "new session, CLI defaults",
      req: request({ harness: "codex" }, { _tag: "New" }),
      args: ["exec", "--dangerously-bypass-approvals-and-sandbox", "--skip-git-repo-check", "-C", "/repo/.oompa/worktrees/w0", "--json", "--", P]
    },
    {
      name: "resume has no -C and takes the id before the prompt; max → xhigh",
      req: request({ harness: "codex", model: "gpt-5", reasoning: "max" }, { _tag: "Resume", id: "0199a213-81c0" }),
      args: [
        "exec", "resume", "--dangerously-bypass-approvals-and-sandbox", "--skip-git-repo-check",
        "-m", "gpt-5", "-c", `model_reasoning_effort="xhigh"`, "--json", "--", "0199a213-81c0", P
      ]
    },
    {
      name: "review is read-only",
      req: request({ harness: "codex", model: "gpt-5" }, { _tag: "New" }, "review"),
      args: ["exec", "--sandbox", "read-only", "--skip-git-repo-check", "-C", "/repo/.oompa/worktrees/w0", "-m", "gpt-5", "--json", "--", P]
    },
    {
      name: "review resume is read-only through config (resume has no --sandbox)",
      req: request({ harness: "codex" }, { _tag: "Resume", id: "abc" }, "review"),
      args: ["exec", "resume", "-c", `sandbox_mode="read-only"`, "--skip-git-repo-check", "--json", "--", "abc", P]
    }
  ]
  for (const c of cases) {
    it(c.name, () => {
      const inv = codex.buildInvocation("codex", c.req, root)
      expect(inv.args).toEqual(c.args)
      expect(inv.stdin).toBeUndefined()
      expect(inv.env).toEqual({})
    })
  }
})

describe("opencode argv", () => {
  const cases: ReadonlyArray<{ name: string; req: TurnRequest; args: ReadonlyArray<string> }> = [
    {
      name: "new session with provider/model and variant",
      req: request({ harness: "opencode", model: "anthropic/claude-sonnet-4", reasoning: "high" }, { _tag: "New" }),
      args: ["run", "--format", "json", "--dir", "/repo/.oompa/worktrees/w0", "--auto", "-m", "anthropic/claude-sonnet-4", "--variant", "high", P]
    },
    {
      name: "resume with -s",
      req: request({ harness: "opencode" }, { _tag: "Resume", id: "ses_abc" }),
      args: ["run", "--format", "json", "--dir", "/repo/.oompa/worktrees/w0", "--auto", "-s", "ses_abc", P]
    },
    {
      name: "review uses the plan agent",
      req: request({ harness: "opencode", model: "openai/gpt-5" }, { _tag: "New" }, "review"),
      args: ["run", "--format", "json", "--dir", "/repo/.oompa/worktrees/w0", "--agent", "plan", "-m", "openai/gpt-5", P]
    }
  ]
  for (const c of cases) {
    it(c.name, () => {
      const inv = opencode.buildInvocation("opencode", c.req, root)
      expect(inv.args).toEqual(c.args)
      expect(inv.stdin).toBeUndefined()
    })
  }
  it("review mode denies edits, bash and webfetch through OPENCODE_PERMISSION; work mode adds no env", () => {
    const review = opencode.buildInvocation("opencode", request({ harness: "opencode" }, { _tag: "New" }, "review"), user)
    expect(JSON.parse(review.env.OPENCODE_PERMISSION ?? "{}")).toEqual({ edit: "deny", bash: "deny", webfetch: "deny" })
    expect(opencode.buildInvocation("opencode", request({ harness: "opencode" }, { _tag: "New" }), user).env).toEqual({})
  })
  it("a prompt starting with - cannot become an option", () => {
    const inv = opencode.buildInvocation("opencode", { ...request({ harness: "opencode" }, { _tag: "New" }), prompt: "--help" }, user)
    expect(inv.args.at(-1)).toBe(" --help")
  })
})

describe("kilo argv (opencode's, kilo's permission variable)", () => {
  it("new, resume and review are opencode's argv with kilo as the command", () => {
    const inv = kiloSpec.buildInvocation("/bin/kilo", request({ harness: "kilo", model: "fake/m", reasoning: "high" }, { _tag: "New" }), user)
    expect(inv.command).toBe("/bin/kilo")
    expect(inv.args).toEqual(["run", "--format", "json", "--dir", "/repo/.oompa/worktrees/w0", "--auto", "-m", "fake/m", "--variant", "high", P])
    expect(inv.env).toEqual({})
    expect(kiloSpec.buildInvocation("kilo", request({ harness: "kilo" }, { _tag: "Resume", id: "ses_k" }), user).args).toEqual([
      "run", "--format", "json", "--dir", "/repo/.oompa/worktrees/w0", "--auto", "-s", "ses_k", P
    ])
  })
  it("review mode is the plan agent with edits, bash and webfetch denied through KILO_PERMISSION (not OPENCODE_PERMISSION)", () => {
    const review = kiloSpec.buildInvocation("kilo", request({ harness: "kilo" }, { _tag: "New" }, "review"), user)
    expect(review.args).toEqual(["run", "--format", "json", "--dir", "/repo/.oompa/worktrees/w0", "--agent", "plan", P])
    expect(Object.keys(review.env)).toEqual(["KILO_PERMISSION"])
    expect(JSON.parse(review.env.KILO_PERMISSION!)).toEqual({ edit: "deny", bash: "deny", webfetch: "deny" })
    expect(review.notes.join("\n")).toContain("KILO_PERMISSION=")
  })
  it("its install hint and override variable are kilo's own", () => {
    expect([kiloSpec.name, kiloSpec.binary, kiloSpec.binEnv, kiloSpec.npmPackage]).toEqual(["kilo", "kilo", "OOMPA_KILO_BIN", "@kilocode/cli"])
  })
})

describe("gemini argv", () => {
  const cases: ReadonlyArray<{ name: string; req: TurnRequest; args: ReadonlyArray<string> }> = [
    {
      name: "new session with model, id chosen up front",
      req: request({ harness: "gemini", model: "gemini-2.5-pro" }, { _tag: "New", id: UUID }),
      args: ["--yolo", "--skip-trust", "-m", "gemini-2.5-pro", "--output-format", "stream-json", "--session-id", UUID, "-p", P]
    },
    {
      name: "resume",
      req: request({ harness: "gemini" }, { _tag: "Resume", id: UUID }),
      args: ["--yolo", "--skip-trust", "--output-format", "stream-json", "--resume", UUID, "-p", P]
    },
    {
      name: "review is plan (read-only) mode",
      req: request({ harness: "gemini" }, { _tag: "New", id: UUID }, "review"),
      args: ["--approval-mode", "plan", "--skip-trust", "--output-format", "stream-json", "--session-id", UUID, "-p", P]
    }
  ]
  for (const c of cases) {
    it(c.name, () => {
      const inv = gemini.buildInvocation("gemini", c.req, root)
      expect(inv.args).toEqual(c.args)
      expect(inv.stdin).toBeUndefined()
      expect(inv.env).toEqual({})
    })
  }
  it("reasoning is ignored, and the log says so", () => {
    const inv = gemini.buildInvocation("gemini", request({ harness: "gemini", model: "g", reasoning: "high" }, { _tag: "New" }), user)
    expect(inv.args.join(" ")).not.toContain("high")
    expect(inv.notes.join("\n")).toContain(`reasoning "high" ignored`)
  })
})

describe("IS_SANDBOX is claude's alone", () => {
  it("no other adapter adds environment", () => {
    for (const [mod, harness] of [[codex, "codex"], [opencode, "opencode"], [gemini, "gemini"]] as const) {
      // (work mode; opencode's review mode sets OPENCODE_PERMISSION, tested above)
      expect(mod.buildInvocation(harness, request({ harness }, { _tag: "New", id: UUID }), root).env).toEqual({})
    }
  })
})
