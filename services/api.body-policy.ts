/**
 * The gateway's one body policy, run on every REST route after the JSON parser and before the
 * body is merged into the action's parameters:
 *   - a request that carries a body must say `Content-Type: application/json` (415 otherwise: a
 *     form or text body was silently ignored before, and the action ran on its defaults);
 *   - the body is one JSON object (422 for an array, a string, a number, `null`);
 *   - no key anywhere in it is `__proto__`, `constructor` or `prototype` (422): such a key would
 *     slip past the strict unknown-field check when the body is merged, and its values be used;
 *   - no value anywhere in it is `null` (422): an optional field took null as "given" and stored it
 *     or crashed on it; no contract documents null, a caller leaves the field out.
 * Stream aliases (the raw statement upload) are left to their action.
 * Then each action's strict schema decides (unknown fields refused, no coercion of body values).
 */
import { Errors } from "moleculer";

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const PROTOTYPE_KEYS = new Set(["__proto__", "constructor", "prototype"]);
/** Deeper than any contract goes: a deeper body is refused rather than walked. */
const MAX_DEPTH = 32;

function refuse(status: number, type: string, message: string, data?: Record<string, unknown>) {
  return new Errors.MoleculerClientError(message, status, type, data);
}

export interface BodyFault {
  /** Where: `customer.name`, `planIds[0]`. */
  field: string;
  why: "PROTOTYPE_KEY" | "NULL" | "TOO_DEEP";
}

/**
 * The first thing in a body no contract accepts, or null: a prototype key, a `null` (no field of any
 * contract documents null; leave a field out instead), or nesting past MAX_DEPTH.
 */
export function bodyFault(value: unknown, path = "", depth = 0): BodyFault | null {
  if (value === null) return { field: path || "body", why: "NULL" };
  if (typeof value !== "object") return null;
  if (depth > MAX_DEPTH) return { field: path || "body", why: "TOO_DEEP" };
  for (const key of Object.keys(value)) {
    const here = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    if (PROTOTYPE_KEYS.has(key)) return { field: here, why: "PROTOTYPE_KEY" };
    const found = bodyFault((value as Record<string, unknown>)[key], here, depth + 1);
    if (found) return found;
  }
  return null;
}

const FAULT_MESSAGE: Record<BodyFault["why"], (field: string) => string> = {
  PROTOTYPE_KEY: (f) => `The body may not contain the key ${f.split(/[.[]/).pop()?.replace("]", "")}`,
  NULL: (f) => `'${f}' is null: leave a field out instead of sending null`,
  TOO_DEEP: () => `The body is nested deeper than ${MAX_DEPTH} levels`,
};

function hasBody(req: { headers: Record<string, string | string[] | undefined> }): boolean {
  const len = req.headers["content-length"];
  if (len !== undefined && Number(len) > 0) return true;
  return req.headers["transfer-encoding"] !== undefined;
}

/** moleculer-web `use` middleware: `(req, res, next)`; an error goes to the gateway's onError. */
export function bodyPolicy(this: any, req: any, _res: unknown, next: (err?: unknown) => void): void {
  if (!BODY_METHODS.has(String(req.method).toUpperCase())) return next();
  // A stream alias takes the raw body (a statement file of any size): its own action checks it.
  const found = typeof this?.resolveAlias === "function" ? this.resolveAlias(req.parsedUrl, req.method) : null;
  if (found?.alias?.type === "stream") return next();
  const type = String(req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  const json = type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
  if (!json) {
    if (hasBody(req) || req.body !== undefined) {
      return next(refuse(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as JSON with Content-Type: application/json", { contentType: type || null }));
    }
    return next();
  }
  const body = req.body;
  // An empty body with a JSON type is an empty object (body-parser gives {}); anything else must be an object.
  if (body !== undefined && (body === null || typeof body !== "object" || Array.isArray(body))) {
    return next(refuse(422, "INVALID_REQUEST_BODY", "The body must be one JSON object", { got: Array.isArray(body) ? "array" : body === null ? "null" : typeof body }));
  }
  const fault = body === undefined ? null : bodyFault(body);
  if (fault) return next(refuse(422, "INVALID_REQUEST_BODY", FAULT_MESSAGE[fault.why](fault.field), { field: fault.field, reason: fault.why }));
  next();
}
