/**
 * The git service's public face, as before the split: the primitives
 * (./git/Git.ts) and what their parsers read (./git/porcelain.ts). The merge
 * policy that used to live here is the engine's: src/engine/merge.ts.
 */
export * from "./git/Git.js"
export { filesInTheWay } from "./git/porcelain.js"
