/**
 * Runs the bundled program (dist/oompa.cjs) with a V8 code cache (issue 13): the
 * bin's start-up was mostly V8 compiling the 2 MB bundle and then, lazily, each
 * function it runs. Node 20 has no module.enableCompileCache (Node 22), so, as
 * the v8-compile-cache package does, the bundle is CommonJS compiled through
 * vm.Script with `cachedData`; the cache is written at exit, so it also holds
 * the functions that run compiled (measured with --version: ~75 → 22 ms to
 * compile, ~150 → 70 ms to evaluate).
 *
 * Robust by construction, the cache only ever saves time:
 * - no writable cache folder, an unreadable or a corrupt file: compiled as
 *   without a cache (V8 checks the data and says `cachedDataRejected`);
 * - stale after an upgrade of oompa or node: the file's name carries the bundle's
 *   size and mtime and node's version, and V8 rejects data of another source or
 *   V8 build or other flags (leanHeap.ts sets its flags before this runs);
 * - concurrent writers: each writes its own temporary file and renames it over
 *   the cache, so a reader sees one whole file or none.
 * It runs in node's own process and main context: signals reach the program's
 * handlers as before.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import * as vm from "node:vm"

/** `$XDG_CACHE_HOME/oompa`, else `~/.cache/oompa`. */
const cacheDir = (): string => path.join(process.env["XDG_CACHE_HOME"] || path.join(os.homedir(), ".cache"), "oompa")

/** The cache file for this bundle, as built, under this node. */
const cacheFileOf = (file: string, stat: fs.Stats): string => {
  const key = createHash("sha1")
    .update([file, stat.size, stat.mtimeMs, process.version, process.arch].join("\0"))
    .digest("hex")
    .slice(0, 16)
  return path.join(cacheDir(), `oompa-${key}.v8cache`)
}

/** No home folder to find (os.homedir throws): no cache. */
const cacheFileOrUndefined = (file: string, stat: fs.Stats): string | undefined => {
  try {
    return cacheFileOf(file, stat)
  } catch {
    return undefined
  }
}

const readOrUndefined = (file: string): Buffer | undefined => {
  try {
    return fs.readFileSync(file)
  } catch {
    return undefined
  }
}

/** Writes `data()` to `file` through a temporary file of this process, renamed over it; any failure: no cache. */
const writeAtomically = (file: string, data: () => Buffer): void => {
  const temporary = `${file}.${process.pid}.tmp`
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(temporary, data())
    fs.renameSync(temporary, file)
  } catch {
    try {
      fs.rmSync(temporary, { force: true })
    } catch {
      // Nothing to clean up.
    }
  }
}

/** Compiles and runs the CommonJS `file` as node would, with the code cache when one fits. */
export const runWithCodeCache = (file: string): void => {
  const stat = fs.statSync(file)
  // A hashbang line is no JavaScript inside the function wrapper: blanked, line numbers kept.
  const source = fs.readFileSync(file, "utf8").replace(/^#!.*/, "")
  const cacheFile = cacheFileOrUndefined(file, stat)
  const cachedData = cacheFile === undefined ? undefined : readOrUndefined(cacheFile)
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`
  const script = new vm.Script(wrapped, cachedData === undefined ? { filename: file } : { filename: file, cachedData })
  if (cacheFile !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    // At exit: the data then holds every function that ran, not just the top level.
    process.once("exit", () => writeAtomically(cacheFile, () => script.createCachedData()))
  }
  const module = { exports: {} }
  const run = script.runInThisContext() as (...args: ReadonlyArray<unknown>) => void
  run(module.exports, createRequire(file), module, file, path.dirname(file))
}
