/**
 * Webhooks, the pure part: which subscriptions an event goes to, how a request is signed (and how a
 * consumer verifies it), and what happens after an attempt (the back-off schedule).
 *
 * Signature: `X-RepayMesh-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>` with
 * `X-RepayMesh-Timestamp: <unix seconds>`; consumers recompute it over the exact bytes received,
 * compare in constant time and reject timestamps more than 5 minutes away from their clock.
 */
import crypto from "node:crypto";
import { DomainError } from "./errors";

/** The event type of a delivery queued by "ping" (not an outbox event; every subscription may get it). */
export const PING_TYPE = "webhook.ping";
/** The scheme of the signature; a later one would be sent beside it as `v2=…`. */
export const SIGNATURE_VERSION = "v1";
/** Consumers should refuse a request whose timestamp is further than this from their clock. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;
export const MAX_URL_LENGTH = 2000;
export const MIN_SECRET_LENGTH = 16;
/** Response bodies kept in a delivery's log are cut to this many characters. */
export const MAX_LOGGED_BODY = 500;

export type DeliveryStatus = "PENDING" | "SENDING" | "RETRYING" | "SUCCEEDED" | "FAILED" | "CANCELLED";
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ["PENDING", "SENDING", "RETRYING", "SUCCEEDED", "FAILED", "CANCELLED"];

/** Does a subscription to `eventTypes` (types, or ["*"]) want events of `type`? */
export function matchesType(eventTypes: readonly string[], type: string): boolean {
  return eventTypes.includes("*") || eventTypes.includes(type);
}

/** The subscription's list as stored: "*" alone when it is among them, otherwise unique and sorted. */
export function normalizeEventTypes(eventTypes: readonly string[]): string[] {
  if (eventTypes.includes("*")) return ["*"];
  return [...new Set(eventTypes)].sort();
}

/** An endpoint URL: absolute http(s), at most 2000 characters. Throws VALIDATION_ERROR otherwise. */
export function checkEndpointUrl(raw: string): string {
  const url = raw.trim();
  if (url.length === 0 || url.length > MAX_URL_LENGTH) throw new DomainError("VALIDATION_ERROR", `url must be 1-${MAX_URL_LENGTH} characters`, { field: "url" });
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DomainError("VALIDATION_ERROR", "url is not an absolute URL", { field: "url" });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new DomainError("VALIDATION_ERROR", "url must be http or https", { field: "url", protocol: parsed.protocol });
  if (!parsed.hostname) throw new DomainError("VALIDATION_ERROR", "url has no host", { field: "url" });
  return url;
}

/** A fresh signing secret: `whsec_` and 32 random bytes (base64url). */
export function generateSecret(): string {
  return "whsec_" + crypto.randomBytes(32).toString("base64url");
}

/** The hex HMAC-SHA256 of `<timestamp>.<rawBody>` under the secret. */
export function hmacHex(secret: string, timestamp: number | string, rawBody: string): string {
  return crypto.createHmac("sha256", secret).update(`${timestamp}.${rawBody}`, "utf8").digest("hex");
}

/** The X-RepayMesh-Signature value: `v1=<hex>`. */
export function signatureHeader(secret: string, timestamp: number | string, rawBody: string): string {
  return `${SIGNATURE_VERSION}=${hmacHex(secret, timestamp, rawBody)}`;
}

export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

/** The body and headers of one attempt (the body is the envelope as JSON, the exact bytes signed). */
export function signedRequest(
  envelope: { id: string; type: string },
  deliveryId: string,
  secret: string,
  nowMs: number,
): SignedRequest {
  const body = JSON.stringify(envelope);
  const timestamp = Math.floor(nowMs / 1000);
  return {
    body,
    headers: {
      "Content-Type": "application/json",
      "User-Agent": "RepayMesh-Webhooks/1",
      "X-RepayMesh-Event": envelope.type,
      "X-RepayMesh-Event-Id": envelope.id,
      "X-RepayMesh-Delivery": deliveryId,
      "X-RepayMesh-Timestamp": String(timestamp),
      "X-RepayMesh-Signature": signatureHeader(secret, timestamp, body),
    },
  };
}

/**
 * What a consumer does: the header holds `v1=<hex>` (several comma-separated values are allowed, any
 * v1 may match — that is how a rotation overlap would look), the timestamp is within the tolerance.
 */
export function verifySignature(
  header: string | undefined,
  timestampHeader: string | undefined,
  rawBody: string,
  secret: string,
  nowMs: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): boolean {
  if (!header || !timestampHeader || !/^\d{1,12}$/.test(timestampHeader)) return false;
  const ts = Number(timestampHeader);
  if (Math.abs(Math.floor(nowMs / 1000) - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(hmacHex(secret, timestampHeader, rawBody), "hex");
  return header.split(",").some((part) => {
    const [version, value] = part.trim().split("=", 2);
    if (version !== SIGNATURE_VERSION || !value || !/^[0-9a-f]{64}$/.test(value)) return false;
    return crypto.timingSafeEqual(Buffer.from(value, "hex"), expected);
  });
}

export type AttemptOutcome = { ok: true } | { ok: false; error: string };

/** A 2xx answer is a success; anything else (other status, network error, time-out) is a failure. */
export function isSuccessStatus(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * After a failed attempt: retry after `backoffMs[n-1]` where n counts the failed attempts of the
 * current cycle (a cycle starts at creation and at each redelivery by hand); past the last entry the
 * delivery is FAILED.
 */
export function afterFailure(failedInCycle: number, backoffMs: readonly number[], nowMs: number): { status: "RETRYING"; nextAttemptAt: number } | { status: "FAILED" } {
  if (failedInCycle < 1) throw new RangeError("failedInCycle starts at 1");
  const delay = backoffMs[failedInCycle - 1];
  if (delay === undefined) return { status: "FAILED" };
  return { status: "RETRYING", nextAttemptAt: nowMs + delay };
}

/** The whole schedule of one cycle: offsets (ms after the first attempt) of every attempt. */
export function attemptOffsets(backoffMs: readonly number[]): number[] {
  const out = [0];
  for (const d of backoffMs) out.push(out[out.length - 1] + d);
  return out;
}

/** Text kept from an endpoint's answer: at most MAX_LOGGED_BODY characters. */
export function truncateBody(text: string, max = MAX_LOGGED_BODY): string {
  return text.length <= max ? text : text.slice(0, max);
}
