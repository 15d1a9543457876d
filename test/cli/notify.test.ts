import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { listDir, makeProject } from "../support/cliProject.js"
import { binPath, ensureBuilt } from "../support/runCli.js"

/**
 * The swarm-ended notification (docs/notifications.md) when a real
 * `oompa swarm` process is stopped by a signal mid-turn: it still reaches the
 * webhook and the command, saying how the swarm ended, before the process exits.
 */

const startReceiver = async () => {
  const bodies: Array<any> = []
  const server = http.createServer((req, res) => {
    let text = ""
    req.on("data", (chunk) => (text += chunk))
    req.on("end", () => {
      bodies.push(JSON.parse(text))
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/oompa`, bodies, close: () => new Promise((r) => server.close(r)) }
}

describe("notify from the built binary", () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it.each(["SIGINT", "SIGTERM"] as const)("%s mid-turn: swarm-ended (interrupted, exit 130) still reaches the webhook and the command", async (signal) => {
    const receiver = await startReceiver()
    try {
      const dir = makeProject({ workers: [{ model: "mock:scenario.json", max_cycle: 1 }] }, 1, undefined)
      const fifo = path.join(dir, "..", `${path.basename(dir)}.fifo`)
      const out = path.join(dir, "..", `${path.basename(dir)}.notified`)
      execFileSync("mkfifo", [fifo])
      const config = JSON.parse(fs.readFileSync(path.join(dir, "oompa.json"), "utf8"))
      config.notify = { webhook: receiver.url, command: [process.execPath, "-e", `require("fs").writeFileSync(${JSON.stringify(out)}, require("fs").readFileSync(0))`] }
      fs.writeFileSync(path.join(dir, "oompa.json"), JSON.stringify(config))
      // Turn 2 reports through the FIFO that it runs, then never ends.
      fs.writeFileSync(path.join(dir, "scenario.json"), JSON.stringify({ turns: { w0: [{ auto: true }, { run: [`echo $PPID > ${fifo}`], hang: true }] } }))
      const child = spawn(process.execPath, [binPath, "swarm"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
      expect(Number(await fs.promises.readFile(fifo, "utf8"))).toBeGreaterThan(0)
      child.kill(signal)
      expect(await exited).toBe(130)

      const [swarm] = listDir(path.join(dir, ".oompa", "runs"))
      const stopped = JSON.parse(fs.readFileSync(path.join(dir, ".oompa", "runs", swarm!, "stopped.json"), "utf8"))
      expect(stopped).toMatchObject({ reason: "interrupted", exitCode: 130 })
      expect(receiver.bodies).toHaveLength(1)
      expect(receiver.bodies[0]).toMatchObject({
        version: 1,
        kind: "swarm-ended",
        swarm,
        details: { reason: "interrupted", exitCode: 130, merged: 0 }
      })
      expect(JSON.parse(fs.readFileSync(out, "utf8"))).toEqual(receiver.bodies[0])
      const events = fs.readFileSync(path.join(dir, ".oompa", "runs", swarm!, "events.jsonl"), "utf8")
      expect(events).not.toContain('"type":"warning"')
    } finally {
      await receiver.close()
    }
  }, 180_000)
})
