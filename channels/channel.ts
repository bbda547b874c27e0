/**
 * One interface for every payment channel (支付通道): sign (签约), confirm sign, debit (代扣),
 * payout (代付), query by our trade number, the daily statement (对账单), plus capabilities, limits
 * and fees.
 *
 * Three kinds of failure (STYLE.md, "Channel errors"):
 *  - DECLINED    — a definite answer: no money moved. `side` says whose problem it is: routing moves
 *                  on to the next channel for CHANNEL, stops until the next slot for BORROWER.
 *  - UNAVAILABLE — provably never sent or never processed (outage, connection refused, rejected
 *                  before processing). No money moved; another channel may be tried.
 *  - UNKNOWN     — sent, no definite answer (timeout, 5xx after sending, "processing"). Money MAY
 *                  have moved: the trade becomes UNKNOWN and is settled by `query` or the statement.
 *
 * A channel never throws for bank-side problems. It throws only for programming errors: bad
 * arguments (DomainError VALIDATION_ERROR / INVALID_AMOUNT) or an operation outside its
 * capabilities. The one exception is `statement`, which has no outcome type: when the bank cannot
 * give the file it rejects with a `ChannelUnavailableError` (never an empty file, which a
 * reconciler would read as "the bank saw nothing").
 */
import { Dec, fmt, parseAmount, roundCent } from "../domain/money";
import { DomainError } from "../domain/errors";

export type ChannelCode = string; // "BANK_A" … "BANK_D"
export type Capability = "SIGN" | "DEBIT" | "PAYOUT" | "QUERY" | "STATEMENT";
export interface ChannelLimits {
  /** Largest single debit/payout (decimal string). */
  perTransaction?: string;
  /** Largest total per business date and kind across all cards (decimal string). */
  perDay?: string;
  /** Most successful debits of one card per business date. */
  perCardPerDay?: number;
}
/** fee = fixed + amount × rate, half-up to the cent. */
export interface ChannelFees {
  fixed?: string;
  rate?: string;
}
export type DeclineReason =
  | "INSUFFICIENT_BALANCE"
  | "CARD_FROZEN"
  | "LIMIT_EXCEEDED"
  | "INVALID_CARD"
  | "AGREEMENT_INVALID"
  | "CHANNEL_ERROR"
  /** The request reached the bank after its expiresAt: refused, never acted on. */
  | "EXPIRED"
  | "OTHER";
/** Who the failure belongs to: routing moves on for CHANNEL, stops for BORROWER. */
export type FailureSide = "BORROWER" | "CHANNEL";
export type PaymentOutcome =
  | { status: "SUCCESS"; channelRef: string; amount: string; completedAt: string }
  | { status: "DECLINED"; reason: DeclineReason; side: FailureSide; bankCode: string; message: string; channelRef?: string }
  | { status: "UNAVAILABLE"; bankCode: string; message: string } // provably never sent (outage, connect refused, rejected before processing)
  | { status: "UNKNOWN"; bankCode: string; message: string }; // timeout / 5xx after sending / PROCESSING
/**
 * NOT_FOUND = the bank never received this trade number. PROCESSING = received, not final yet.
 * From `query`, UNAVAILABLE / UNKNOWN describe the QUESTION (the bank could not be asked / did not
 * answer), not the trade: ask again later.
 */
export type QueryOutcome = PaymentOutcome | { status: "NOT_FOUND" } | { status: "PROCESSING" };
export interface CardHolder {
  cardNo: string;
  name: string;
  idNo: string;
  mobile: string;
}
export interface SignStart {
  status: "CODE_SENT";
  signRequestId: string;
  /** only simulated banks, test mode */
  testCode?: string;
}
export interface SignDone {
  status: "SIGNED";
  agreementNo: string;
}
export type SignFailure =
  | { status: "DECLINED"; reason: DeclineReason; bankCode: string; message: string }
  | { status: "UNAVAILABLE"; bankCode: string; message: string };
/**
 * Every debit and payout request carries an expiry (ISO instant), as real banks' order-expiry fields
 * do: a request that reaches the bank after it is refused (DECLINED EXPIRED, no money moved) and the
 * bank never acts on it later. This is what lets NOT_FOUND become final: once `expiresAt` (plus a
 * margin for clock skew) has passed, a trade the bank has no record of can no longer move money.
 */
export interface DebitRequest {
  tradeNo: string;
  agreementNo: string;
  amount: string;
  expiresAt: string;
  memo?: string;
}
export interface PayoutRequest {
  tradeNo: string;
  accountNo: string;
  accountName: string;
  amount: string;
  expiresAt: string;
  memo?: string;
}
export interface StatementLine {
  tradeNo: string;
  channelRef: string;
  kind: "DEBIT" | "PAYOUT";
  amount: string;
  fee: string;
  status: "SUCCESS" | "FAILED";
  /** Business date in the bank's time zone, YYYY-MM-DD. */
  date: string;
  /** Local time in the bank's time zone, HH:mm:ss. */
  time?: string;
  /** The bank's own result code, when its layout carries one (bank C carries it for failures). */
  bankCode?: string;
}
export interface PaymentChannel {
  readonly code: ChannelCode;
  readonly capabilities: readonly Capability[];
  readonly limits: ChannelLimits;
  readonly fees: ChannelFees;
  fee(amount: string): string;
  startSign(requestNo: string, holder: CardHolder): Promise<SignStart | SignFailure>;
  confirmSign(signRequestId: string, code: string): Promise<SignDone | SignFailure>;
  debit(req: DebitRequest): Promise<PaymentOutcome>;
  payout(req: PayoutRequest): Promise<PaymentOutcome>;
  query(tradeNo: string): Promise<QueryOutcome>;
  /** The bank's statement file for a business date, in its own layout. */
  statement(date: string): Promise<string>;
  /** Parse that bank's statement layout (pure, in the mapper). */
  parseStatement(csv: string): StatementLine[];
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by every adapter.

/** Rejection of `statement()` when the bank could not deliver the file. */
export class ChannelUnavailableError extends Error {
  readonly channel: ChannelCode;
  /** UNAVAILABLE: the request was refused; UNKNOWN: no answer. Either way: ask again later. */
  readonly kind: "UNAVAILABLE" | "UNKNOWN";
  readonly bankCode: string;
  constructor(channel: ChannelCode, kind: "UNAVAILABLE" | "UNKNOWN", bankCode: string, message: string) {
    super(`${channel}: ${message}`);
    this.name = "ChannelUnavailableError";
    this.channel = channel;
    this.kind = kind;
    this.bankCode = bankCode;
  }
}

/** fee = fixed + amount × rate, half-up to the cent, as a decimal string. */
export function computeFee(fees: ChannelFees, amount: string): string {
  const a = parseAmount(amount, "amount", { allowZero: true });
  let fee = Dec(fees.fixed ?? "0");
  if (fees.rate !== undefined) fee = fee.plus(a.times(Dec(fees.rate)));
  return fmt(roundCent(fee));
}

/** A definite answer (the trade is over) as opposed to one that needs a query. */
export function isFinal(o: QueryOutcome): o is Extract<PaymentOutcome, { status: "SUCCESS" | "DECLINED" }> {
  return o.status === "SUCCESS" || o.status === "DECLINED";
}

/** Our merchant order numbers: what every simulated bank accepts and every CSV layout can carry. */
export const TRADE_NO_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Business dates. */
export const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export function checkTradeNo(tradeNo: unknown): string {
  if (typeof tradeNo !== "string" || !TRADE_NO_PATTERN.test(tradeNo)) {
    throw new DomainError("VALIDATION_ERROR", "tradeNo must be 1-64 characters of [A-Za-z0-9_.:-]", { field: "tradeNo" });
  }
  return tradeNo;
}

export function checkText(value: unknown, field: string, max = 128): string {
  if (typeof value !== "string" || value.length === 0 || value.length > max || /[\r\n\t]/.test(value)) {
    throw new DomainError("VALIDATION_ERROR", `${field} must be a non-empty single-line string of at most ${max} characters`, { field });
  }
  return value;
}

export function checkDate(date: unknown): string {
  if (typeof date !== "string" || !DATE_PATTERN.test(date)) {
    throw new DomainError("VALIDATION_ERROR", "date must be YYYY-MM-DD", { field: "date" });
  }
  return date;
}
