import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import type { IncomingMessage } from "node:http"

/**
 * Who may use the dashboard (issue 10): it is bound to 127.0.0.1, but other
 * local users can reach that address too, so every request must carry the
 * random token printed in the URL. The page is opened with `?token=…`; the
 * server then sets an HttpOnly, SameSite=Strict cookie so the page's own
 * fetches and EventSource carry the token without it being in any script.
 *
 * The Host header must name the loopback address the server listens on (a
 * page on another site that rebinds its DNS name to 127.0.0.1 sends its own
 * name), and a request that changes something must come from the dashboard's
 * own origin (CSRF).
 */

/** A fresh access token: 24 random bytes, URL-safe. */
export const newToken = (): string => randomBytes(24).toString("base64url")

/**
 * The cookie's name carries the port: cookies are shared by every port of a
 * host, and two dashboards (two repositories) must not overwrite each other's.
 */
export const cookieName = (port: number): string => `oompa-ui-${port}`

/** The Set-Cookie value that lets the page's own requests carry the token. */
export const tokenCookie = (port: number, token: string): string =>
  `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/** Compares in constant time (of the digests, so the lengths need not match). */
export const sameToken = (given: string, token: string): boolean => timingSafeEqual(digest(given), digest(token))

const cookieValue = (header: string | undefined, name: string): string | undefined => {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=")
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

export type Access =
  /** The token came in the query: the response sets the cookie. */
  | { readonly _tag: "ByQuery" }
  | { readonly _tag: "ByCookie" }
  | { readonly _tag: "Refused"; readonly status: 401 | 403; readonly why: string }

/** The host names under which the server answers (never a name that could be rebound to us). */
const loopbackHosts = (port: number): ReadonlyArray<string> => [`127.0.0.1:${port}`, `localhost:${port}`]

/** Whether this request may be answered, and how it proved it. */
export const checkAccess = (request: IncomingMessage, url: URL, port: number, token: string): Access => {
  const host = request.headers.host ?? ""
  if (!loopbackHosts(port).includes(host)) {
    return { _tag: "Refused", status: 403, why: `this dashboard answers only as 127.0.0.1:${port}, not ${JSON.stringify(host)}` }
  }
  const fromQuery = url.searchParams.get("token")
  if (fromQuery !== null && sameToken(fromQuery, token)) return { _tag: "ByQuery" }
  const fromCookie = cookieValue(request.headers.cookie, cookieName(port))
  if (fromCookie !== undefined && sameToken(fromCookie, token)) return { _tag: "ByCookie" }
  return {
    _tag: "Refused",
    status: 401,
    why: "this dashboard needs its access token: open the URL that `oompa ui` (or `oompa swarm --ui`) printed"
  }
}

/**
 * A request that changes something (POST) must come from a page of this
 * dashboard: browsers send Origin on every POST, and a page of another site
 * cannot forge it.
 */
export const sameOrigin = (request: IncomingMessage, port: number): boolean => {
  const origin = request.headers.origin
  return origin !== undefined && loopbackHosts(port).some((host) => origin === `http://${host}`)
}
