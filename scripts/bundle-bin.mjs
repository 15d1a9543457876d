#!/usr/bin/env node
// `npm run build`, after tsc: bundles src/bin.ts into dist/oompa.cjs, the program, and
// src/binLoader.ts into dist/bin.js, the shipped `oompa`, which runs it with a V8 code
// cache (src/codeCache.ts).
//
// Why a bundle: unbundled, `oompa --version` loaded ~1,060 modules (effect's barrel
// reaches fast-check through Arbitrary; @effect/platform-node's reaches undici, ws and
// @effect/cluster) and took ~14× `node -e 0`, the swarm's process carrying ~150 MiB.
// esbuild keeps only what is used (the packages' "sideEffects" flags let it drop whole
// modules) and lays it out in one file. Each command's handler is a dynamic `import()`
// (src/cli/main.ts): in this CommonJS bundle its modules sit in functions evaluated only
// when the command runs, so `--version` and `--help` evaluate the command line alone.
//
// Why CommonJS: Node 20 caches compiled code only for a vm.Script (no
// module.enableCompileCache before Node 22); measured with `--version`, compiling the
// bundle took ~75 ms of a ~380 ms start, evaluating it ~150 ms, both mostly V8
// compiling functions the cache keeps (splitting the ESM bundle into chunks instead
// left effect's shared modules, 1 MB, in the chunk every start loads).
//
// The library face (dist/index.js, dist/testing.js and the rest of tsc's output) stays
// unbundled: embedders import it with their own copies of effect.
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as esbuild from "esbuild"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const dist = path.join(root, "dist")

// Earlier builds split the bin into chunks beside it: gone, so that none is shipped stale.
for (const name of fs.readdirSync(dist)) {
  if (name.startsWith("bin-") && /\.js(\.map)?$/.test(name)) fs.rmSync(path.join(dist, name))
}

/**
 * Imports the bin never calls: each becomes a `require` inside the one function
 * that uses it, left out of the bundle (`external`), so the package is read from
 * node_modules only if that function ever runs.
 * - @effect/cli parses yaml/toml/ini only for `Options.fileParse`, which oompa does
 *   not use, yet its files module imports all three at load (~400 kB of CommonJS).
 * - effect's Schema uses fast-check only to build an Arbitrary (`fastCheck_.array`),
 *   a test-only feature: without this, every start evaluates part of fast-check.
 */
const lazyImports = {
  name: "lazy-imports",
  setup(build) {
    build.onLoad({ filter: /@effect[\\/]cli[\\/]dist[\\/]esm[\\/]internal[\\/]files\.js$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, "utf8")
      const lazy = source
        .replace('import * as Ini from "ini";\n', 'const Ini = { parse: (content) => require("ini").parse(content) };\n')
        .replace('import * as Toml from "toml";\n', 'const Toml = { parse: (content) => require("toml").parse(content) };\n')
        .replace('import * as Yaml from "yaml";\n', 'const Yaml = { parse: (content) => require("yaml").parse(content) };\n')
      if (/from "(ini|toml|yaml)"/.test(lazy)) throw new Error(`${args.path}: its imports changed; update scripts/bundle-bin.mjs`)
      return { contents: lazy, loader: "js", resolveDir: path.dirname(args.path) }
    })
    build.onLoad({ filter: /[\\/]effect[\\/]dist[\\/]esm[\\/]FastCheck\.js$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, "utf8")
      if (!/^export \* from "fast-check";$/m.test(source)) throw new Error(`${args.path}: no longer re-exports fast-check; update scripts/bundle-bin.mjs`)
      return {
        contents: 'export const array = (...args) => require("fast-check").array(...args);\n',
        loader: "js",
        resolveDir: path.dirname(args.path)
      }
    })
  }
}

const shared = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  target: "node20",
  // Whitespace and syntax only: names stay, so stack traces and `constructor.name` read as in the source.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: "linked",
  // The map points at node_modules and src by path, without their text: the shipped package stays small.
  sourcesContent: false,
  logLevel: "warning"
}

const result = await esbuild.build({
  ...shared,
  entryPoints: ["src/bin.ts"],
  outfile: path.join(dist, "oompa.cjs"),
  format: "cjs",
  plugins: [lazyImports],
  external: ["ini", "toml", "yaml", "fast-check"],
  // CommonJS has no import.meta: src/paths.ts finds the package root from its module's URL, here the bundle's.
  define: { "import.meta.url": "__oompaImportMetaUrl" },
  banner: { js: 'var __oompaImportMetaUrl=require("node:url").pathToFileURL(__filename).href;' },
  // A name effect's Schema imports from fast-check that the stub above lacks would be undefined at run time: fail instead.
  logOverride: { "import-is-undefined": "error" },
  metafile: true
})
if (process.argv.includes("--analyze")) console.log(await esbuild.analyzeMetafile(result.metafile))

await esbuild.build({
  ...shared,
  entryPoints: ["src/binLoader.ts"],
  outfile: path.join(dist, "bin.js"),
  format: "esm"
})
fs.chmodSync(path.join(dist, "bin.js"), 0o755)
