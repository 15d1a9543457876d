import { Effect, Random } from "effect"

/**
 * Ids made from Effect's Random, so a test can seed them and runs stay
 * reproducible: session uuids for agent CLIs and 8-hex swarm ids.
 */
const randomBytes = (count: number) =>
  Effect.gen(function* () {
    const bytes: Array<number> = []
    for (let i = 0; i < count; i++) bytes.push(yield* Random.nextIntBetween(0, 256))
    return bytes
  })

const hex = (bytes: ReadonlyArray<number>) => bytes.map((b) => b.toString(16).padStart(2, "0")).join("")

/** A random RFC 4122 v4 uuid. */
export const randomUuid: Effect.Effect<string> = Effect.gen(function* () {
  const bytes = yield* randomBytes(16)
  bytes[6] = (bytes[6]! & 0x0f) | 0x40
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const h = hex(bytes)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
})

/** A swarm id: 8 hex characters (SPEC §1). */
export const randomSwarmId: Effect.Effect<string> = randomBytes(4).pipe(Effect.map(hex))
