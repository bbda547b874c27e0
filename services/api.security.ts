/**
 * The gateway's transport hygiene, applied to every request before routing (REST, the console's
 * static files, /vendor): security headers on every answer, and API keys accepted only in the
 * X-Api-Key header — a request carrying a key-like query parameter is refused (400 API_KEY_IN_QUERY)
 * before anything logs its URL, and request URLs are logged without their query string.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * The console loads only its own scripts and styles and /vendor/chart.js (no inline script or style
 * element; chart.js sets canvas sizes through element styles, hence style-src 'unsafe-inline' is
 * not granted — it sets them through the CSSOM, which CSP does not govern).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
});

/** Query parameter names that look like a credential (compared case-insensitively, `-`/`_` ignored). */
const KEY_PARAMS = new Set(["apikey", "key", "xapikey", "token", "accesstoken", "authorization", "auth", "secret"]);

export function keyParamInQuery(url: string | undefined): string | undefined {
  const q = (url ?? "").indexOf("?");
  if (q < 0) return undefined;
  for (const name of new URLSearchParams(url!.slice(q + 1)).keys()) {
    if (KEY_PARAMS.has(name.toLowerCase().replace(/[-_]/g, ""))) return name;
  }
  return undefined;
}

/** The URL as it may be logged: the path only. */
export function loggableUrl(url: string | undefined): string {
  const u = url ?? "";
  const q = u.indexOf("?");
  return q < 0 ? u : u.slice(0, q) + "?…";
}

/** Headers first; then true when the request was refused and answered here. */
export function guardRequest(req: IncomingMessage, res: ServerResponse): boolean {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
  const name = keyParamInQuery(req.url);
  if (name === undefined) return false;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.writeHead(400);
  res.end(
    JSON.stringify({
      code: "API_KEY_IN_QUERY",
      message: "Send the API key in the X-Api-Key header only; a query parameter that carries a credential is refused",
      details: { parameter: name },
    }),
  );
  return true;
}
