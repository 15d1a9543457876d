#!/usr/bin/env node
/**
 * `oompa` as installed (dist/bin.js): heap settings first, then the program
 * (src/bin.ts, bundled into dist/oompa.cjs) run with a V8 code cache (codeCache.ts).
 */
import "./leanHeap.js"
import { fileURLToPath } from "node:url"
import { runWithCodeCache } from "./codeCache.js"

runWithCodeCache(fileURLToPath(new URL("./oompa.cjs", import.meta.url)))
