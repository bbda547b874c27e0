/**
 * Shared pure mapping: what a bank's result code MEANS (each bank's mapper decides that with an
 * exhaustive switch over its own codes) → our outcome types. No I/O.
 */
import { sameAmount } from "./amounts";
import type { DeclineReason, FailureSide, PaymentOutcome, QueryOutcome, SignFailure } from "./channel";
import type { StatementFile } from "./wire-channel";

export type CodeMeaning =
  | { kind: "SUCCESS" }
  /** Accepted, not final: money may move. */
  | { kind: "PROCESSING" }
  | { kind: "DECLINED"; reason: DeclineReason; side: FailureSide }
  /** Refused before processing: provably nothing happened. */
  | { kind: "UNAVAILABLE" }
  /** The bank itself does not know (internal error after accepting). */
  | { kind: "UNKNOWN" }
  /** Query only: the bank never received this trade number. */
  | { kind: "NOT_FOUND" };

export const SUCCESS: CodeMeaning = { kind: "SUCCESS" };
export const PROCESSING: CodeMeaning = { kind: "PROCESSING" };
export const UNAVAILABLE: CodeMeaning = { kind: "UNAVAILABLE" };
export const UNKNOWN: CodeMeaning = { kind: "UNKNOWN" };
export const NOT_FOUND: CodeMeaning = { kind: "NOT_FOUND" };
export const declined = (reason: DeclineReason, side: FailureSide): CodeMeaning => ({ kind: "DECLINED", reason, side });
/**
 * Every bank's "order expired" code: the request reached the bank after the expiry it carried, so
 * the bank refused it without moving money and will never act on that trade number. A definite
 * answer (DECLINED) on the CHANNEL side: the trade failed through no fault of the borrower.
 * Bank A 1011, bank B F:ORDER_EXPIRED, bank C A5, bank D 408 — each mapper's code table says so.
 */
export const EXPIRED: CodeMeaning = declined("EXPIRED", "CHANNEL");

/** A bank answer, already decoded from the bank's field names and units. */
export interface WireAnswer {
  bankCode: string;
  message: string;
  /** undefined: the code is not one this mapper knows — treated as "may have moved money". */
  meaning: CodeMeaning | undefined;
  tradeNo?: string;
  channelRef?: string;
  /** Canonical decimal string. */
  amount?: string;
  /** ISO-8601 instant (UTC). */
  completedAt?: string;
}

export interface SentPayment {
  tradeNo: string;
  amount: string;
}

/** Thrown by mappers on a response that does not have the bank's documented shape. */
export class WireFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WireFormatError";
  }
}

export function assertNever(x: never, what: string): never {
  throw new WireFormatError(`unhandled ${what}: ${JSON.stringify(x)}`);
}

function asRecord(obj: unknown): Record<string, unknown> {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new WireFormatError("response is not an object");
  return obj as Record<string, unknown>;
}

/** A required string field of a wire object. */
export function str(obj: unknown, key: string): string {
  const v = asRecord(obj)[key];
  if (typeof v !== "string") throw new WireFormatError(`field ${key} missing or not a string`);
  return v;
}

/** An optional string field of a wire object. */
export function optStr(obj: unknown, key: string): string | undefined {
  const v = asRecord(obj)[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new WireFormatError(`field ${key} is not a string`);
  return v;
}

function unknownCode(a: WireAnswer): PaymentOutcome {
  return { status: "UNKNOWN", bankCode: a.bankCode, message: `unrecognised bank code ${a.bankCode}: ${a.message}` };
}

/** A SUCCESS only when the bank echoes our trade number and amount and names its reference. */
function checkedSuccess(a: WireAnswer, sent: { tradeNo: string; amount?: string }): PaymentOutcome {
  if (a.tradeNo !== undefined && a.tradeNo !== sent.tradeNo) {
    return { status: "UNKNOWN", bankCode: a.bankCode, message: `success for another trade number: sent ${sent.tradeNo}, bank says ${a.tradeNo}` };
  }
  if (a.amount === undefined) return { status: "UNKNOWN", bankCode: a.bankCode, message: "success without an amount" };
  if (sent.amount !== undefined && !sameAmount(a.amount, sent.amount)) {
    return { status: "UNKNOWN", bankCode: a.bankCode, message: `amount mismatch: sent ${sent.amount}, bank says ${a.amount}` };
  }
  if (!a.channelRef) return { status: "UNKNOWN", bankCode: a.bankCode, message: "success without a bank reference" };
  if (!a.completedAt) return { status: "UNKNOWN", bankCode: a.bankCode, message: "success without a completion time" };
  return { status: "SUCCESS", channelRef: a.channelRef, amount: a.amount, completedAt: a.completedAt };
}

/** The answer to a debit or payout. */
export function paymentOutcome(a: WireAnswer, sent: SentPayment): PaymentOutcome {
  const m = a.meaning;
  if (m === undefined) return unknownCode(a);
  switch (m.kind) {
    case "SUCCESS":
      return checkedSuccess(a, sent);
    case "PROCESSING":
      return { status: "UNKNOWN", bankCode: a.bankCode, message: `processing: ${a.message}` };
    case "DECLINED":
      return {
        status: "DECLINED",
        reason: m.reason,
        side: m.side,
        bankCode: a.bankCode,
        message: a.message,
        ...(a.channelRef ? { channelRef: a.channelRef } : {}),
      };
    case "UNAVAILABLE":
      return { status: "UNAVAILABLE", bankCode: a.bankCode, message: a.message };
    case "UNKNOWN":
      return { status: "UNKNOWN", bankCode: a.bankCode, message: a.message };
    case "NOT_FOUND":
      // Nonsense as the answer to a payment: we cannot prove nothing happened.
      return { status: "UNKNOWN", bankCode: a.bankCode, message: `not-found answer to a payment: ${a.message}` };
    default:
      return assertNever(m, "code meaning");
  }
}

/** The answer to a query by trade number. */
export function queryOutcome(a: WireAnswer, tradeNo: string): QueryOutcome {
  const m = a.meaning;
  if (m === undefined) return unknownCode(a);
  switch (m.kind) {
    case "SUCCESS":
      return checkedSuccess(a, { tradeNo });
    case "PROCESSING":
      return { status: "PROCESSING" };
    case "NOT_FOUND":
      return { status: "NOT_FOUND" };
    case "DECLINED":
    case "UNAVAILABLE":
    case "UNKNOWN":
      return paymentOutcome(a, { tradeNo, amount: a.amount ?? "0" });
    default:
      return assertNever(m, "code meaning");
  }
}

/** A failed sign step. Nothing is at stake in signing, so "no definite answer" is UNAVAILABLE: start again. */
export function signFailure(a: WireAnswer): SignFailure {
  const m = a.meaning;
  if (m === undefined) return { status: "UNAVAILABLE", bankCode: a.bankCode, message: `unrecognised bank code ${a.bankCode}: ${a.message}` };
  switch (m.kind) {
    case "DECLINED":
      return { status: "DECLINED", reason: m.reason, bankCode: a.bankCode, message: a.message };
    case "UNAVAILABLE":
    case "UNKNOWN":
    case "PROCESSING":
      return { status: "UNAVAILABLE", bankCode: a.bankCode, message: a.message };
    case "NOT_FOUND":
      return { status: "DECLINED", reason: "OTHER", bankCode: a.bankCode, message: a.message };
    case "SUCCESS":
      return { status: "UNAVAILABLE", bankCode: a.bankCode, message: `success code without the expected fields: ${a.message}` };
    default:
      return assertNever(m, "code meaning");
  }
}

/** A statement download's answer: the file when the bank says success, else why not (ask again later). */
export function statementFile(a: WireAnswer, content: () => string): StatementFile {
  const m = a.meaning;
  if (m?.kind === "SUCCESS") return { ok: true, csv: content() };
  return { ok: false, kind: m?.kind === "UNAVAILABLE" ? "UNAVAILABLE" : "UNKNOWN", bankCode: a.bankCode, message: a.message };
}
