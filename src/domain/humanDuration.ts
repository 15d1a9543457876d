import { Duration } from "effect"

/**
 * A duration as people say it, for everything oompa shows a user: rounded to
 * the precision that matters at its size, at most two units, zero parts left out.
 *
 *   0.2 s → "200ms", 2.46 s → "2.5s", 42.4 s → "42s", 9m 59.975s → "10m",
 *   90 s → "1m 30s", 3 h 4 m 40 s → "3h 5m", 26 h → "1d 2h"
 *
 * Accepts milliseconds or any Duration input; negative and NaN read as 0.
 */
export const humanDuration = (input: number | Duration.DurationInput): string => {
  const ms = typeof input === "number" ? input : Duration.toMillis(Duration.decode(input))
  if (ms === Infinity) return "forever"
  if (!(ms > 0)) return "0s"
  if (ms < 999.5) return `${Math.round(ms)}ms`
  if (ms < 9_950) return `${(Math.round(ms / 100) / 10).toString()}s`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return parts(Math.floor(s / 60), "m", s % 60, "s")
  const m = Math.round(ms / 60_000)
  if (m < 24 * 60) return parts(Math.floor(m / 60), "h", m % 60, "m")
  const h = Math.round(ms / 3_600_000)
  return parts(Math.floor(h / 24), "d", h % 24, "h")
}

const parts = (big: number, bigUnit: string, small: number, smallUnit: string): string =>
  small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit} ${small}${smallUnit}`
