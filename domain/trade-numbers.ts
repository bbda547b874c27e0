/**
 * One rule for every number that becomes part of a trade number (our merchant order number, what the
 * channel sees). A trade number is built from a key the caller or the system chose (a plan id, a
 * payout number) and a suffix we control (slot and attempt). When the key is plain and short the
 * trade number stays readable (`D-<planId>-<slot>-<attempt>`, `P-<payoutNo>-<attempt>`); any other
 * key (with `.` or `:`, or too long) is replaced by a digest (`D:<32 hex>-…`, a `:` no readable
 * number has), so every key the contracts accept gives a valid, unique, stable trade number.
 */
import { createHash } from "node:crypto";

/**
 * What every trade number matches: what every channel accepts and every statement layout carries,
 * without `.` (a trade number is also a key inside position documents, where `.` is a path).
 */
export const TRADE_NO_PATTERN = /^[A-Za-z0-9_:-]{1,64}$/;
/** The same rule for validators (fastest-validator patterns are strings). */
export const tradeNoRule = { type: "string", pattern: TRADE_NO_PATTERN.source, messages: { stringPattern: "'{field}' must be 1-64 letters, digits or _ : -" } } as const;

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

export function tradeNumber(prefix: "D" | "P", key: string, suffix: string): string {
  const readable = `${prefix}-${key}-${suffix}`;
  if (PLAIN_KEY.test(key) && readable.length <= 64) return readable;
  return `${prefix}:${createHash("sha256").update(key).digest("hex").slice(0, 32)}-${suffix}`;
}

/** "2026-02-15T12:00" → "202602151200". */
export function compactSlot(slotId: string): string {
  return slotId.replace(/[-T:]/g, "");
}

export function debitTradeNo(planId: string, slotId: string, attempt: number): string {
  return tradeNumber("D", planId, `${compactSlot(slotId)}-${attempt}`);
}

export function payoutTradeNo(payoutNo: string, attempt: number): string {
  return tradeNumber("P", payoutNo, String(attempt));
}
