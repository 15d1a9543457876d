import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Option } from "effect"
import {
  filesInTheWay,
  parseRefLines,
  parseWorktrees,
  quoteGitPath,
  renderRefLines,
  renderWorktrees,
  unmergedOfStatus,
  unquoteGitPath,
  type Worktree
} from "../../../src/services/git/porcelain.js"

describe("filesInTheWay", () => {
  it("reads both of git's lists, tab-indented, C-quoted names unquoted", () => {
    const message = [
      "error: Your local changes to the following files would be overwritten by merge:",
      "\tnotes.txt",
      "\tsrc/a b.ts",
      "Please commit your changes or stash them before you merge.",
      "error: The following untracked working tree files would be overwritten by merge:",
      '\t"sp\\303\\251cial\\ttab.txt"',
      "\tnotes.txt",
      "Please move or remove them before you merge.",
      "Aborting"
    ].join("\n")
    expect(filesInTheWay(message)).toEqual(["notes.txt", "src/a b.ts", "sp\u00e9cial\ttab.txt"])
  })

  it("names nothing when git refused for another reason", () => {
    expect(filesInTheWay("fatal: Not possible to fast-forward, aborting.")).toEqual([])
    expect(filesInTheWay("fatal: Unable to create '/r/.git/index.lock': File exists.\n\tnot a list")).toEqual([])
  })
})

/** A path git could print in a NUL-separated field: anything without NUL, never empty. */
const path = fc.string({ minLength: 1, maxLength: 30, unit: "binary" }).filter((p) => !p.includes("\0"))
const sha = fc.stringMatching(/^[0-9a-f]{40}$/)
const worktree: fc.Arbitrary<Worktree> = fc.record({
  path,
  head: fc.option(sha, { nil: undefined }).map(Option.fromNullable),
  branch: fc.option(fc.stringMatching(/^refs\/heads\/[a-z0-9/_-]{1,20}$/), { nil: undefined }).map(Option.fromNullable),
  bare: fc.boolean(),
  detached: fc.boolean(),
  locked: fc.boolean(),
  prunable: fc.boolean()
})

describe("parseWorktrees", () => {
  it("reads git's -z porcelain: main checkout, a linked worktree on a branch, a detached one with reasons", () => {
    const text = [
      "worktree /r", "HEAD " + "a".repeat(40), "branch refs/heads/main", "",
      "worktree /r/.oompa/worktrees/ab12cd34-w0-c1", "HEAD " + "b".repeat(40), "branch refs/heads/oompa/ab12cd34/w0-c1", "locked because", "",
      "worktree /tmp/x y", "HEAD " + "c".repeat(40), "detached", "prunable gitdir file points to non-existent location", ""
    ].map((f) => f + "\0").join("")
    expect(parseWorktrees(text)).toEqual([
      { path: "/r", head: Option.some("a".repeat(40)), branch: Option.some("refs/heads/main"), bare: false, detached: false, locked: false, prunable: false },
      { path: "/r/.oompa/worktrees/ab12cd34-w0-c1", head: Option.some("b".repeat(40)), branch: Option.some("refs/heads/oompa/ab12cd34/w0-c1"), bare: false, detached: false, locked: true, prunable: false },
      { path: "/tmp/x y", head: Option.some("c".repeat(40)), branch: Option.none(), bare: false, detached: true, locked: false, prunable: true }
    ])
  })

  it("skips fields before the first entry and keys it does not know", () => {
    expect(parseWorktrees("HEAD x\0worktree /r\0bare\0future-key value\0\0")).toEqual([
      { path: "/r", head: Option.none(), branch: Option.none(), bare: true, detached: false, locked: false, prunable: false }
    ])
    expect(parseWorktrees("")).toEqual([])
  })

  it.prop("parseWorktrees(renderWorktrees(x)) = x", [fc.array(worktree, { maxLength: 5 })], ([worktrees]) => {
    expect(parseWorktrees(renderWorktrees(worktrees))).toEqual(worktrees)
  })

  it.prop("never throws on arbitrary text, and every entry it reads has a path field", [fc.string({ unit: "binary" })], ([text]) => {
    const entries = parseWorktrees(text)
    expect(entries.length).toBeLessThanOrEqual(text.split("\0").filter((f) => f.startsWith("worktree")).length)
  })
})

describe("parseRefLines", () => {
  const ref = fc.stringMatching(/^refs\/[a-z0-9/_.-]{1,30}$/)
  it.prop("parseRefLines(renderRefLines(x)) = x", [fc.array(fc.record({ ref, sha }), { maxLength: 6 })], ([refs]) => {
    expect(parseRefLines(renderRefLines(refs))).toEqual(refs)
  })
  it.prop("never throws on arbitrary text", [fc.string()], ([text]) => {
    for (const entry of parseRefLines(text)) expect(text).toContain(`${entry.sha} ${entry.ref}`)
  })
})

describe("git path quoting", () => {
  it.prop("unquoteGitPath(quoteGitPath(x)) = x", [fc.string({ unit: "grapheme", maxLength: 20 })], ([name]) => {
    fc.pre(!name.startsWith('"'))
    expect(unquoteGitPath(quoteGitPath(name))).toBe(name)
  })
  it.prop("filesInTheWay names every file of git's list, quoted or not", [fc.uniqueArray(fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((n) => n.trim() === n && !n.startsWith('"') && !n.includes("\n")), { maxLength: 5 })], ([names]) => {
    const message = [
      "error: Your local changes to the following files would be overwritten by merge:",
      ...names.map((n) => `\t${quoteGitPath(n)}`),
      "Please commit your changes or stash them before you merge."
    ].join("\n")
    expect(filesInTheWay(message)).toEqual(names)
  })
  it.prop("filesInTheWay never throws on arbitrary text", [fc.string({ unit: "binary" })], ([text]) => {
    expect(Array.isArray(filesInTheWay(text))).toBe(true)
  })
})

describe("unmergedOfStatus", () => {
  it("lists every unmerged code once, skips a rename's source path, ignores the rest", () => {
    const status = [
      "UU both.txt",
      "R  new name.txt",
      "AA old name.txt", // a rename's source field, not an entry: never read as one
      "AA added-twice.txt",
      "DU deleted-by-us.txt",
      " M changed.txt",
      "?? untracked.txt",
      "UU both.txt",
      ""
    ].join("\0")
    expect(unmergedOfStatus(status)).toEqual(["both.txt", "added-twice.txt", "deleted-by-us.txt"])
    expect(unmergedOfStatus("")).toEqual([])
  })
})
