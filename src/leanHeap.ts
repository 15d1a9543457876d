/**
 * The bin's first import (src/binLoader.ts, and src/bin.ts for the program run
 * without it): V8 heap settings that keep oompa's own process small, set before
 * the rest of the program loads, and before the loader compiles it: V8 takes a
 * code cache only under the flags it was made with (src/codeCache.ts). Setting
 * them again to the same values changes nothing. Not part of the library face:
 * an embedder's process keeps its own settings.
 *
 * A swarm is a long-lived process that mostly waits on its children, so memory
 * matters more than the last bit of GC throughput, and every child it spawns
 * costs main-thread time in proportion to the parent's heap (issue 13: ≈12 ms a
 * spawn at 150–250 MB, 2.7 ms at 49 MB).
 * - `--optimize-for-size`: V8 grows the old generation in smaller steps, so garbage
 *   is collected before the heap balloons (16 busy mock workers: 178 → 117 MiB peak).
 * - `--semi-space-growth-factor=1`: the young generation stays at its initial size
 *   instead of doubling up to 2 × 16 MiB under the allocation bursts of a start
 *   (an idle 16-worker swarm: 118 → 95 MiB peak with both).
 * Both are heuristics V8 reads when it next sizes its heap, so setting them at
 * run time takes effect (measured above, node 20: bench/measures/startup.mjs and
 * output.mjs); a node that ignores them merely runs as before.
 */
import { setFlagsFromString } from "node:v8"

setFlagsFromString("--optimize-for-size")
setFlagsFromString("--semi-space-growth-factor=1")
