import { describe, expect, it } from "@effect/vitest"
import { Effect, Random } from "effect"
import { randomSwarmId, randomUuid } from "../../src/domain/ids.js"

describe("ids", () => {
  it.effect("session ids are v4 uuids and swarm ids 8 hex characters", () =>
    Effect.gen(function* () {
      expect(yield* randomUuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(yield* randomSwarmId).toMatch(/^[0-9a-f]{8}$/)
    })
  )

  it.effect("a seeded Random gives the same ids", () =>
    Effect.gen(function* () {
      const seeded = <A>(effect: Effect.Effect<A>) => Effect.withRandom(effect, Random.make("seed"))
      expect(yield* seeded(randomUuid)).toBe(yield* seeded(randomUuid))
      expect(yield* seeded(randomSwarmId)).toBe(yield* seeded(randomSwarmId))
    })
  )
})
