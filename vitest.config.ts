import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Real agent CLIs against the fake model server: run by `npm run test:cli`.
    exclude: ["test/cli-e2e/**", "node_modules/**"],
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
