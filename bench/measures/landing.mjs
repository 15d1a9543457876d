// landing: 8 mock workers (real child processes, one task each, distinct files,
// a mock reviewer) with test_command `sleep 1` reach the merge at about the same
// time. Measured from the first test_command start (each run stamps the time in
// a file) to the last "merged" event in the run's events.jsonl, and the number
// of test_command runs: testing each landing again after every other landing
// costs 8 + 7 + … runs and a second each; the merge train (src/engine/train.ts)
// tests the 8 stacked candidates in parallel.
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { bin, median, runDirOf, seconds, tempRepo, writeTasks } from "../lib.mjs"

const WORKERS = 8

export const title = `${WORKERS} workers landing at once with test_command \`sleep 1\` (mock agents, built binary)`

export async function sample() {
  const { dir, repo, remove } = tempRepo("oompa-bench-landing-")
  try {
    writeTasks(repo, WORKERS)
    const starts = path.join(dir, "test-starts.txt")
    // Each worker claims its own task at once (no claim races), then does it and asks to merge.
    const turns = Object.fromEntries(Array.from({ length: WORKERS }, (_, i) => [`w${i}`, [{ say: `CLAIM(t${i + 1})` }, { auto: true }]]))
    fs.writeFileSync(path.join(repo, "scenario.json"), JSON.stringify({ turns }))
    fs.writeFileSync(
      path.join(repo, "oompa.json"),
      JSON.stringify({
        workers: [{ model: "mock:scenario.json", count: WORKERS, max_cycle: 1, can_plan: false }],
        reviewer: "mock",
        test_command: `date +%s%N >> '${starts}'; sleep 1`
      })
    )
    const child = spawn(process.execPath, [bin, "swarm"], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    const status = await new Promise((resolve) => child.on("close", (code) => resolve(code)))
    // Serial re-testing can use up max_merge_retries: such a run counts, with fewer tasks complete.
    const complete = fs.readdirSync(path.join(repo, "tasks", "complete")).length
    if (complete === 0) throw new Error(`swarm exited ${status} with no task complete:\n${output}`)
    const events = fs
      .readFileSync(path.join(runDirOf(repo), "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
    const merged = events.filter((e) => e.type === "merge" && e.data?.step === "merged").map((e) => Date.parse(e.at))
    const retries = events.filter((e) => e.type === "merge" && e.data?.step === "retry").length
    const testStarts = fs.readFileSync(starts, "utf8").trim().split("\n").map((ns) => Number(ns) / 1e6)
    return {
      landingMs: Math.max(...merged) - Math.min(...testStarts),
      // The part after the last worker arrived: the landings themselves, without the agents' spread.
      afterLastArrivalMs: Math.max(...merged) - Math.max(...testStarts),
      testRuns: testStarts.length, retries, complete }
  } finally {
    remove()
  }
}

export function rows(samples) {
  const landingMs = median(samples.map((s) => s.landingMs))
  const testRuns = median(samples.map((s) => s.testRuns))
  return [
    {
      measure: "first test_command start → last landing",
      now: `${seconds(landingMs)}   (all runs: ${samples.map((s) => seconds(s.landingMs)).join(", ")})`,
      target: "≤ 4 s",
      met: landingMs <= 4000
    },
    {
      measure: "  of which after the last test_command start",
      now: `${seconds(median(samples.map((s) => s.afterLastArrivalMs)))}   (all runs: ${samples.map((s) => seconds(s.afterLastArrivalMs)).join(", ")})`
    },
    {
      measure: "test_command runs",
      now: `${testRuns}   (all runs: ${samples.map((s) => s.testRuns).join(", ")}; retries: ${samples.map((s) => s.retries).join(", ")})`,
      target: `${WORKERS}, one per landing`,
      met: testRuns <= WORKERS
    },
    {
      measure: "tasks landed",
      now: `${median(samples.map((s) => s.complete))} of ${WORKERS}   (all runs: ${samples.map((s) => s.complete).join(", ")})`,
      target: `${WORKERS}`,
      met: samples.every((s) => s.complete === WORKERS)
    }
  ]
}
