import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Real agent CLIs against the fake model server: run by `npm run test:cli`.
    exclude: ["test/cli-e2e/**", "node_modules/**"],
    testTimeout: 120_000,
    // Two test files at a time, also on a 2-core machine (vitest's default there is one): most
    // tests wait on git, child processes and agents, not the CPU. Measured on this 2-core machine
    // under a load average of 5 from other work: 1,074 tests pass in 875 s with 2 workers
    // (the files' own times sum to 1,521 s), 847 s with 3.
    maxWorkers: 2,
    minWorkers: 1,
    hookTimeout: 60_000
  }
})
