import * as fs from "node:fs"

/**
 * The last `maxBytes` of a file as text, trimmed; empty when unreadable.
 * For showing the end of a log (an agent's stderr, a test command's output)
 * without reading a possibly huge file into memory.
 */
export const fileTail = (file: string, maxBytes: number): string => {
  try {
    const fd = fs.openSync(file, "r")
    try {
      const size = fs.fstatSync(fd).size
      const length = Math.min(size, maxBytes)
      const buffer = Buffer.alloc(length)
      fs.readSync(fd, buffer, 0, length, size - length)
      return buffer.toString("utf8").trim()
    } finally {
      fs.closeSync(fd)
    }
  } catch {
    return ""
  }
}
