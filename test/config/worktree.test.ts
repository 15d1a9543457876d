/**
 * `worktree` in oompa.json (docs/worktree-setup.md): what loadConfig resolves
 * (a worker's own over the top-level one, field by field) and what it refuses,
 * with the file and the field named; and the pre-flight check that every
 * copied path exists, which `oompa check` and `oompa swarm` share.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Effect, Either } from "effect"
import { loadConfig } from "../../src/config/loadConfig.js"
import { validateSwarmStart } from "../../src/engine/setup.js"
import { builtinHarnessNames } from "../../src/harness/registry.js"
import { GitLive } from "../../src/services/Git.js"
import { makeGitRepo } from "../support/gitRepo.js"
import { expectConfigError, makeProject } from "./support.js"

const loadError = (json: object) => Effect.flatMap(makeProject({ "oompa.json": json }), (dir) => expectConfigError(dir))
const withWorktree = (worktree: object) => ({ workers: [{ model: "mock" }], worktree })

layer(NodeContext.layer)("worktree in oompa.json", (it) => {
  it.scoped("a worker's worktree overrides the top-level one field by field: copy and setup replace, env merges by variable", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({
        "oompa.json": {
          workers: [
            { model: "mock" },
            { model: "mock", worktree: { setup: ["make dev"], env: { PORT: "{{PORT}}", EXTRA: "w{{WORKER_INDEX}}" } } }
          ],
          worktree: { copy: ["./.env", "config//local.json"], setup: ["npm ci"], env: { PORT: "8080", MODE: "test" } }
        }
      })
      const config = yield* loadConfig({ cwd: dir, harnesses: builtinHarnessNames })
      expect(config.workers[0]!.worktree).toEqual({
        copy: [
          { path: ".env", field: "worktree.copy[0]" },
          { path: "config/local.json", field: "worktree.copy[1]" }
        ],
        setup: ["npm ci"],
        env: { PORT: "8080", MODE: "test" }
      })
      expect(config.workers[1]!.worktree).toEqual({
        copy: [
          { path: ".env", field: "worktree.copy[0]" },
          { path: "config/local.json", field: "worktree.copy[1]" }
        ],
        setup: ["make dev"],
        env: { PORT: "{{PORT}}", MODE: "test", EXTRA: "w{{WORKER_INDEX}}" }
      })
      // Without worktree anywhere, a worker has none; the planner never has one.
      const bare = yield* makeProject({ "oompa.json": { workers: [{ model: "mock" }] } })
      expect((yield* loadConfig({ cwd: bare, harnesses: builtinHarnessNames })).workers[0]!.worktree).toBeUndefined()
    })
  )

  const refused: ReadonlyArray<[string, object, string]> = [
    [
      "an absolute copy path",
      withWorktree({ copy: ["/etc/passwd"] }),
      'oompa.json: worktree.copy[0]: "/etc/passwd" is an absolute path: give a path relative to the project root, e.g. ".env"'
    ],
    [
      "a copy path that leaves the root",
      withWorktree({ copy: [".env", "config/../../secrets"] }),
      'oompa.json: worktree.copy[1]: "config/../../secrets" leaves the project root (".."): only files inside the project root are copied'
    ],
    [
      "the project root itself",
      withWorktree({ copy: ["./"] }),
      'oompa.json: worktree.copy[0]: "./" names the project root itself: name the files or folders to copy'
    ],
    [
      "git's own folder",
      withWorktree({ copy: [".git/config"] }),
      'oompa.json: worktree.copy[0]: ".git/config" is git\'s own folder: a worktree has its own .git and must keep it'
    ],
    [
      "a bad path in a worker's own copy names the worker's field",
      { workers: [{ model: "mock" }, { model: "mock", worktree: { copy: ["../x"] } }] },
      'oompa.json: workers[1].worktree.copy[0]: "../x" leaves the project root (".."): only files inside the project root are copied'
    ],
    [
      "an unknown placeholder in env",
      withWorktree({ env: { PORT: "{{PROT}}" } }),
      "oompa.json: worktree.env.PORT: unknown placeholder {{PROT}}: use {{PORT}}, {{WORKER_INDEX}}, {{WORKER_ID}} or {{SWARM_ID}}"
    ],
    [
      "an unknown placeholder in a setup command",
      withWorktree({ setup: ["npm ci", "echo {{TASK}}"] }),
      "oompa.json: worktree.setup[1]: unknown placeholder {{TASK}}: use {{PORT}}, {{WORKER_INDEX}}, {{WORKER_ID}} or {{SWARM_ID}}"
    ],
    [
      "a variable name a shell refuses",
      withWorktree({ env: { "MY-PORT": "1" } }),
      'oompa.json: worktree.env.MY-PORT: "MY-PORT" is not an environment variable name (letters, digits and _, not starting with a digit)'
    ],
    [
      "an unknown key inside worktree",
      withWorktree({ copy: [], setpu: [] }),
      'oompa.json: worktree.setpu: unknown key (did you mean "setup"?)'
    ],
    [
      "a command that is not a string",
      withWorktree({ setup: [42] }),
      "oompa.json: worktree.setup[0]: expected a shell command (a non-empty string), got 42"
    ],
    [
      "an env value that is not a string",
      withWorktree({ env: { PORT: 3000 } }),
      "oompa.json: worktree.env.PORT: expected a string (the variable's value), got 3000"
    ],
    [
      "copy given as one string",
      withWorktree({ copy: ".env" }),
      'oompa.json: worktree.copy: expected a list of paths relative to the project root, got ".env"'
    ]
  ]
  for (const [name, json, expected] of refused) {
    it.scoped(name, () =>
      Effect.gen(function* () {
        const { error, text } = yield* loadError(json)
        expect(text).toBe(expected)
        expect(error.exitCode).toBe(2)
      })
    )
  }

  it.scoped("pre-flight: a copied path missing from the project root is an error naming the field (exit 2); present, it passes", () =>
    Effect.gen(function* () {
      const repo = yield* makeGitRepo()
      yield* repo.write(".env", "A=1\n")
      yield* repo.write(
        "oompa.json",
        JSON.stringify({ workers: [{ model: "mock" }, { model: "mock", worktree: { copy: [".env", "config/local.json"] } }] })
      )
      const config = yield* loadConfig({ cwd: repo.path, harnesses: builtinHarnessNames })
      const missing = yield* Effect.either(validateSwarmStart(config))
      expect(Either.isLeft(missing)).toBe(true)
      const error = Either.getLeft(missing).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
      expect(String(error)).toBe(
        `oompa.json: workers[1].worktree.copy[1]: config/local.json does not exist in the project root ${repo.path}: create it, or take it out of "copy"`
      )
      expect((error as { exitCode: number }).exitCode).toBe(2)
      fs.mkdirSync(path.join(repo.path, "config"))
      fs.writeFileSync(path.join(repo.path, "config", "local.json"), "{}")
      // Present but neither tracked nor ignored: the agents' commits would take the copies.
      const unignored = Either.getLeft(yield* Effect.either(validateSwarmStart(config))).pipe((o) => (o._tag === "Some" ? o.value : undefined))
      expect(String(unignored)).toBe(
        "oompa.json: workers[1].worktree.copy[0]: .env is neither tracked nor ignored by git: the agents' commits would take the copy, " +
          "and landing them would overwrite yours; add it to .gitignore (or .git/info/exclude)"
      )
      // Ignored, or tracked (a tracked file's local version is copied): it passes.
      fs.writeFileSync(path.join(repo.path, ".gitignore"), ".env\n")
      yield* repo.git("add", "config/local.json")
      yield* repo.git("commit", "-qm", "local config")
      const ok = yield* validateSwarmStart(config)
      expect(ok.targetBranch).toBe("main")
    }).pipe(Effect.provide(GitLive))
  )
})
