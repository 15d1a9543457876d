#!/usr/bin/env node
// Benchmarks (not part of `npm test`): `npm run bench [name ...]`.
//
// Each measure is a module under bench/measures/ exporting `title`, `sample()`
// (one run of everything it compares, returning numbers) and `rows(samples)`
// (what to print: each figure beside its target, from the medians). The runner
// interleaves them: round 1 samples every measure, then round 2, and so on
// (BENCH_RUNS rounds, default 3), so a change in the machine's load hits every
// measure alike; the load average is printed before and after each round.
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { root } from "./lib.mjs"

const runs = Number(process.env.BENCH_RUNS ?? 3)
const measuresDir = path.join(root, "bench", "measures")
const known = fs.readdirSync(measuresDir).filter((f) => f.endsWith(".mjs")).map((f) => f.replace(/\.mjs$/, "")).sort()
const wanted = process.argv.slice(2)
const unknown = wanted.filter((name) => !known.includes(name))
if (unknown.length > 0) {
  console.error(`bench: no measure ${unknown.join(", ")} in bench/measures/ (there are: ${known.join(", ")})`)
  process.exit(2)
}
const names = wanted.length > 0 ? wanted : known
const measures = await Promise.all(names.map(async (name) => ({ name, ...(await import(path.join(measuresDir, `${name}.mjs`))) })))

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ")
console.log(`bench: ${names.join(", ")}; ${runs} interleaved rounds; ${os.cpus().length} cores, node ${process.version}`)
const samples = new Map(names.map((name) => [name, []]))
for (let round = 1; round <= runs; round++) {
  console.log(`round ${round}: load ${load()}`)
  for (const measure of measures) samples.get(measure.name).push(await measure.sample())
}
console.log(`after: load ${load()}\n`)

let missed = 0
for (const measure of measures) {
  console.log(`${measure.name}: ${measure.title}`)
  const rows = measure.rows(samples.get(measure.name))
  const width = Math.max(...rows.map((r) => r.measure.length))
  for (const row of rows) {
    const verdict = row.target === undefined ? "" : `   target ${row.target}: ${row.met ? "met" : "NOT MET"}`
    if (row.target !== undefined && !row.met) missed += 1
    console.log(`  ${row.measure.padEnd(width)}  ${row.now}${verdict}`)
  }
  console.log("")
}
console.log(missed === 0 ? "every target met" : `${missed} target${missed === 1 ? "" : "s"} not met`)
