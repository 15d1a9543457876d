import { createRequire } from "node:module"

// package.json is one folder above both src/ and dist/.
const pkg = createRequire(import.meta.url)("../package.json") as { version: string }
export const version: string = pkg.version
