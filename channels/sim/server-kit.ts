/** Small helpers the per-bank simulated servers share. */
import type { StatementLine } from "../channel";
import type { SimCode, SimStatementRecord, SimTradeResult } from "./sim-bank";

/** The bank's records as statement lines, optionally carrying the bank's own code for failures. */
export function statementLines(records: readonly SimStatementRecord[], codeOf?: (c: SimCode) => string): StatementLine[] {
  return records.map(({ simCode, ...line }) => (codeOf && line.status === "FAILED" ? { ...line, bankCode: codeOf(simCode) } : line));
}

/**
 * The expiry a request carries, for the SimBank: absent → none (the field is optional at the bank,
 * as at real banks; our clients always send it); present but unreadable → NaN, which the bank
 * treats as already passed (refused, nothing moved) rather than as "no expiry".
 */
export function expiry(text: string | undefined, toMs: (text: string) => number): { expiresAt?: number } {
  if (text === undefined) return {};
  const ms = typeof text === "string" ? toMs(text) : NaN;
  return { expiresAt: Number.isFinite(ms) ? ms : NaN };
}

/** A trade answer (as opposed to a bare NOT_FOUND / MAINTENANCE for a query). */
export function isTradeResult(r: SimTradeResult | { code: SimCode; tradeNo: string }): r is SimTradeResult {
  return "kind" in r;
}
