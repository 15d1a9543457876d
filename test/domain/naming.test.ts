import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Option } from "effect"
import {
  branchOf,
  cycleFileName,
  cycleName,
  keptRefOf,
  ownerOf,
  parseBranch,
  parseCycleFileName,
  parseCycleName,
  parseKeptRef,
  parseOwner,
  parseRunDir,
  parseWorktreePath,
  runDirOf,
  worktreePathOf
} from "../../src/domain/naming.js"

/** Swarm ids as oompa makes them (8 hex) and any other name without `/`, `@`, `-`. */
const swarm = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{8}$/),
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/[/@-]/.test(s))
)
/** Worker ids as the config names them (w0, w1 …) and any other name without `/`, including ones that look like cycle names. */
const worker = fc.oneof(
  fc.nat(99).map((n) => `w${n}`),
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes("/")),
  fc.tuple(fc.constantFrom("a", "w-c", "x@y"), fc.nat(9)).map(([a, n]) => `${a}-c${n}`)
)
const cycle = fc.nat()
const root = fc.constantFrom("/tmp/p", "/home/u/my project", "/a/.oompa/runs/x", "")

describe("naming", () => {
  it("builds the names of SPEC §5, §8 and §11", () => {
    expect(cycleName("w0", 3)).toBe("w0-c3")
    expect(cycleFileName("w0", 3)).toBe("w0-c3.json")
    expect(branchOf("ab12cd34", "w0", 3)).toBe("oompa/ab12cd34/w0-c3")
    expect(keptRefOf("ab12cd34", "w0", 3)).toBe("refs/oompa/kept/ab12cd34/w0-c3")
    expect(ownerOf("ab12cd34", "w0")).toBe("w0@ab12cd34")
    expect(worktreePathOf("/r", "ab12cd34", "w0", 3)).toBe("/r/.oompa/worktrees/ab12cd34-w0-c3")
    expect(runDirOf("/r", "ab12cd34")).toBe("/r/.oompa/runs/ab12cd34")
  })

  it("reads a branch as a short name or a full ref", () => {
    const expected = Option.some({ swarm: "ab12cd34", worker: "w0", cycle: 3 })
    expect(parseBranch("oompa/ab12cd34/w0-c3")).toEqual(expected)
    expect(parseBranch("refs/heads/oompa/ab12cd34/w0-c3")).toEqual(expected)
  })

  it("refuses names oompa does not build", () => {
    for (const name of ["main", "oompa/ab12cd34", "oompa/ab12cd34/w0", "oompa/ab12cd34/w0-c", "oompa/ab12cd34/w0-c01", "oompa/a/b/w0-c1", "oompa//w0-c1", "oompa/ab12cd34/-c1"]) {
      expect(parseBranch(name), name).toEqual(Option.none())
    }
    expect(parseKeptRef("refs/heads/oompa/ab12cd34/w0-c3")).toEqual(Option.none())
    expect(parseKeptRef("refs/oompa/kept/ab12cd34/w0-c3/x")).toEqual(Option.none())
    expect(parseOwner("w0")).toEqual(Option.none())
    expect(parseOwner("w0@")).toEqual(Option.none())
    expect(parseOwner("@ab12cd34")).toEqual(Option.none())
    expect(parseWorktreePath("/r/.oompa/worktrees/ab12cd34")).toEqual(Option.none())
    expect(parseRunDir("/r/.oompa/runs/.ab12cd34.starting-42")).toEqual(Option.none())
    expect(parseCycleFileName("w0-c3.json.tmp")).toEqual(Option.none())
  })

  it.prop("parseCycleName(cycleName(x)) = x", [worker, cycle], ([w, c]) => {
    expect(parseCycleName(cycleName(w, c))).toEqual(Option.some({ worker: w, cycle: c }))
    expect(parseCycleFileName(cycleFileName(w, c))).toEqual(Option.some({ worker: w, cycle: c }))
  })

  it.prop("parseBranch(branchOf(x)) = x", [swarm, worker, cycle], ([s, w, c]) => {
    expect(parseBranch(branchOf(s, w, c))).toEqual(Option.some({ swarm: s, worker: w, cycle: c }))
    expect(parseBranch(`refs/heads/${branchOf(s, w, c)}`)).toEqual(Option.some({ swarm: s, worker: w, cycle: c }))
  })

  it.prop("parseKeptRef(keptRefOf(x)) = x", [swarm, worker, cycle], ([s, w, c]) => {
    expect(parseKeptRef(keptRefOf(s, w, c))).toEqual(Option.some({ swarm: s, worker: w, cycle: c }))
  })

  it.prop("parseOwner(ownerOf(x)) = x", [swarm, worker], ([s, w]) => {
    expect(parseOwner(ownerOf(s, w))).toEqual(Option.some({ swarm: s, worker: w }))
  })

  it.prop("parseWorktreePath(worktreePathOf(x)) = x", [root, swarm, worker, cycle], ([r, s, w, c]) => {
    expect(parseWorktreePath(worktreePathOf(r, s, w, c))).toEqual(Option.some({ root: r, swarm: s, worker: w, cycle: c }))
  })

  it.prop("parseRunDir(runDirOf(x)) = x", [root, swarm], ([r, s]) => {
    expect(parseRunDir(runDirOf(r, s))).toEqual(Option.some({ root: r, swarm: s }))
  })

  it.prop("the parsers never throw, and what they accept they build back", [fc.string({ maxLength: 40 })], ([text]) => {
    Option.map(parseCycleName(text), (x) => expect(cycleName(x.worker, x.cycle)).toBe(text))
    Option.map(parseBranch(text), (x) => expect(text.endsWith(branchOf(x.swarm, x.worker, x.cycle))).toBe(true))
    Option.map(parseKeptRef(text), (x) => expect(keptRefOf(x.swarm, x.worker, x.cycle)).toBe(text))
    Option.map(parseOwner(text), (x) => expect(ownerOf(x.swarm, x.worker)).toBe(text))
    Option.map(parseWorktreePath(text), (x) => expect(worktreePathOf(x.root, x.swarm, x.worker, x.cycle)).toBe(text))
    Option.map(parseRunDir(text), (x) => expect(runDirOf(x.root, x.swarm)).toBe(text))
  })
})
