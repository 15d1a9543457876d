import { NodeContext } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Effect, JSONSchema, type Schema } from "effect"
import { beforeAll } from "vitest"
import { OompaJson } from "../../src/config/OompaJson.js"
import { TaskFileJson } from "../../src/domain/Task.js"
import { RunEvent } from "../../src/domain/RunEvent.js"
import { CheckJson, ListJson, ReportJson, TasksJson, ViewJson } from "../../src/domain/JsonOutput.js"
import { Notification } from "../../src/domain/Notification.js"
import { ControlDone, ControlRequest } from "../../src/domain/Control.js"
import { ensureBuilt, repoRoot, runCliEffect } from "../support/runCli.js"
import { makeProject } from "../config/support.js"

beforeAll(() => ensureBuilt(), 300_000)

layer(NodeContext.layer)("oompa schema (the built binary)", (it) => {
  it.scoped("prints the JSON Schema of oompa.json, made from the same Schema", () =>
    Effect.gen(function* () {
      const dir = yield* makeProject({})
      const result = yield* runCliEffect(["schema"], { cwd: dir })
      expect(result.stderr).toBe("")
      expect(result.code).toBe(0)
      const printed = JSON.parse(result.stdout) as { $defs: Record<string, { properties: Record<string, unknown> }> }
      expect(printed).toEqual(JSONSchema.make(OompaJson))
      expect(Object.keys(printed.$defs["Worker"]?.properties ?? {})).toContain("max_cycle")
      // stall_timeout: per worker, and at the top level as every worker's default.
      expect(Object.keys(printed.$defs["Worker"]?.properties ?? {})).toContain("stall_timeout")
      expect(Object.keys(printed.$defs["OompaJson"]?.properties ?? {})).toContain("stall_timeout")
      // worktree: at the top level and per worker, one definition.
      expect(Object.keys(printed.$defs["Worker"]?.properties ?? {})).toContain("worktree")
      expect(Object.keys(printed.$defs["OompaJson"]?.properties ?? {})).toContain("worktree")
      expect(Object.keys(printed.$defs["Worktree"]?.properties ?? {})).toEqual(["copy", "setup", "env"])
    })
  )

  it.scoped("takes the schema's name", () =>
    Effect.gen(function* () {
      const byName = yield* runCliEffect(["schema", "oompa.json"], { cwd: repoRoot })
      const byDefault = yield* runCliEffect(["schema"], { cwd: repoRoot })
      expect(byName.code).toBe(0)
      expect(byName.stdout).toBe(byDefault.stdout)
    })
  )

  it.scoped("task: the task file, with the attempts oompa stamps and room for keys agents add", () =>
    Effect.gen(function* () {
      const result = yield* runCliEffect(["schema", "task"], { cwd: repoRoot })
      expect(result.code).toBe(0)
      const printed = JSON.parse(result.stdout) as {
        required: ReadonlyArray<string>
        properties: Record<string, { items?: { $ref?: string } }>
        additionalProperties: unknown
        $defs: Record<string, { required: ReadonlyArray<string>; properties: Record<string, unknown> }>
      }
      expect(printed).toEqual(JSONSchema.make(TaskFileJson))
      expect(printed.required).toEqual(["id"])
      expect(printed.additionalProperties).not.toBe(false)
      expect(printed.properties["attempts"]?.items?.$ref).toBe("#/$defs/TaskAttempt")
      const attempt = printed.$defs["TaskAttempt"]!
      expect(Object.keys(attempt.properties)).toEqual(["worker", "swarm", "cycle", "outcome", "reason", "kept_ref", "kept_commit", "ended_at"])
      expect(attempt.required).toEqual(["worker", "swarm", "cycle", "outcome", "reason", "ended_at"])
    })
  )

  it.scoped("an unknown name exits 2 and lists the known schemas", () =>
    Effect.gen(function* () {
      const result = yield* runCliEffect(["schema", "nope.json"], { cwd: repoRoot })
      expect(result.code).toBe(2)
      expect(result.stdout).toBe("")
      expect(result.stderr).toContain('unknown schema "nope.json"')
      expect(result.stderr).toContain("oompa.json")
    })
  )

  it.scoped("events.jsonl: one variant per kind of event, each with its typed payload, from the Schema the run log writes with", () =>
    Effect.gen(function* () {
      const result = yield* runCliEffect(["schema", "events.jsonl"], { cwd: repoRoot })
      expect(result.stderr).toBe("")
      expect(result.code).toBe(0)
      type Def = {
        required?: ReadonlyArray<string>
        properties?: Record<string, { $ref?: string; anyOf?: ReadonlyArray<Def>; properties?: Record<string, unknown>; required?: ReadonlyArray<string> }>
        anyOf?: ReadonlyArray<{ $ref: string }>
      }
      const printed = JSON.parse(result.stdout) as { $ref: string; $defs: Record<string, Def> }
      expect(printed).toEqual(JSONSchema.make(RunEvent))
      const kinds = printed.$defs["RunEvent"]!.anyOf!.map((member) => member.$ref.replace("#/$defs/", ""))
      expect(kinds).toEqual([
        "swarm-started", "worker-started", "waiting-for-tasks", "cycle-started", "turn-started", "turn-ended", "claim",
        "task-invalid", "review-started", "review", "merge", "attention", "cycle-ended", "backing-off", "work-kept",
        "work-carried", "worker-stopped", "swarm-stopped", "recovered", "steered", "rate-limited", "budget-reached",
        "setup-started", "setup-ended", "warning"
      ])
      // Every kind but a warning (its message is all it says) has a payload with named fields.
      for (const kind of kinds.filter((k) => k !== "warning")) {
        const data = printed.$defs[kind]!.properties!["data"]!
        const shapes = data.anyOf ?? [data]
        for (const shape of shapes) expect(Object.keys(shape.properties ?? {}).length, kind).toBeGreaterThan(0)
        expect(printed.$defs[kind]!.required).toContain("data")
      }
      expect(printed.$defs["cycle-started"]!.properties!["data"]!.required).toEqual(["branch", "worktree", "base"])
      expect(printed.$defs["cycle-ended"]!.required).toEqual(["at", "type", "worker", "cycle", "message", "data"])
      const merge = printed.$defs["merge"]!.properties!["data"]!.anyOf!
      expect(merge.map((step) => (step.properties!["step"] as { enum: ReadonlyArray<string> }).enum[0])).toEqual([
        "committed", "retry", "merged", "conflict", "tests-failed"
      ])
    })
  )

  it.scoped("list.json, view.json, tasks.json, check.json, report.json: the documents --json prints, each versioned by its schema field", () =>
    Effect.gen(function* () {
      const documents: ReadonlyArray<readonly [string, Schema.Schema.AnyNoContext]> = [
        ["list.json", ListJson],
        ["view.json", ViewJson],
        ["tasks.json", TasksJson],
        ["check.json", CheckJson],
        ["report.json", ReportJson]
      ]
      const results = yield* Effect.forEach(documents, ([name]) => runCliEffect(["schema", name], { cwd: repoRoot }), {
        concurrency: "unbounded"
      })
      documents.forEach(([name, schema], index) => {
        const result = results[index]!
        expect(result.stderr).toBe("")
        expect(result.code).toBe(0)
        const printed = JSON.parse(result.stdout) as { required: ReadonlyArray<string>; properties: Record<string, { enum?: ReadonlyArray<string> }> }
        expect(printed).toEqual(JSONSchema.make(schema))
        expect(printed.required[0]).toBe("schema")
        expect(printed.properties["schema"]?.enum).toEqual([`${name}@1`])
      })
    })
  )

  it.scoped("control, control-done: a steering request and the swarm's answer (docs/steering.md)", () =>
    Effect.gen(function* () {
      const request = yield* runCliEffect(["schema", "control"], { cwd: repoRoot })
      const done = yield* runCliEffect(["schema", "control-done"], { cwd: repoRoot })
      expect(request.code).toBe(0)
      expect(done.code).toBe(0)
      expect(JSON.parse(request.stdout)).toEqual(JSONSchema.make(ControlRequest))
      expect(JSON.parse(done.stdout)).toEqual(JSONSchema.make(ControlDone))
      const actions = JSON.parse(request.stdout).$defs.ControlRequest.properties.action.enum
      expect(actions).toEqual(["stop", "stop-worker", "pause", "resume", "requeue"])
    })
  )

  it.scoped("notification: the payload notify sends, one variant per kind (docs/notifications.md)", () =>
    Effect.gen(function* () {
      const result = yield* runCliEffect(["schema", "notification"], { cwd: repoRoot })
      expect(result.code).toBe(0)
      const printed = JSON.parse(result.stdout)
      expect(printed).toEqual(JSONSchema.make(Notification))
      const kinds = printed.$defs.Notification.anyOf.map((ref: { $ref: string }) => printed.$defs[ref.$ref.replace("#/$defs/", "")].properties.kind.enum[0])
      expect(kinds).toEqual(["swarm-ended", "worker-stopped", "merge-blocked", "rate-limited", "budget-reached", "stuck"])
    })
  )
})
