/**
 * The one PaymentChannel implementation every bank adapter plugs into (Hyperswitch shape):
 *   transport (client.ts: send a request in the bank's shape, get its response or a transport
 *   failure) + mapper (mapper.ts: pure, our types ↔ the bank's, exhaustive code switch).
 * This class only sequences them and turns transport failures into the three kinds of outcome, so
 * no flow repeats that boilerplate per bank.
 */
import { parseAmount } from "../domain/money";
import { DomainError } from "../domain/errors";
import { canonical } from "./amounts";
import {
  ChannelUnavailableError,
  checkDate,
  checkText,
  checkTradeNo,
  computeFee,
  type Capability,
  type CardHolder,
  type ChannelCode,
  type ChannelFees,
  type ChannelLimits,
  type DebitRequest,
  type PaymentChannel,
  type PaymentOutcome,
  type PayoutRequest,
  type QueryOutcome,
  type SignDone,
  type SignFailure,
  type SignStart,
  type StatementLine,
} from "./channel";
import type { SentPayment } from "./outcome";
import { isoToUtc } from "./sim/time";

/** One request/response pair of a bank's API, in the bank's own shape. */
export interface Exchange<Req, Res> {
  req: Req;
  res: Res;
}
export interface BankApi {
  sign: Exchange<unknown, unknown>;
  confirm: Exchange<unknown, unknown>;
  debit: Exchange<unknown, unknown>;
  payout: Exchange<unknown, unknown>;
  query: Exchange<unknown, unknown>;
  statement: Exchange<unknown, unknown>;
}
export type Operation = keyof BankApi;

/**
 * What the transport reports. `sent: false` is a PROOF that the bank never got the request
 * (connection refused, outage known before sending); `sent: true` means it may have.
 */
export type TransportResult<Res> =
  | { ok: true; body: Res }
  | { ok: false; sent: false; message: string }
  | { ok: false; sent: true; message: string };

export interface BankTransport<A extends BankApi> {
  call<K extends Operation>(op: K, req: A[K]["req"]): Promise<TransportResult<A[K]["res"]>>;
}

/** Pure: our types ↔ the bank's. Every function may throw WireFormatError on a malformed response. */
export interface BankMapper<A extends BankApi> {
  signRequest(requestNo: string, holder: CardHolder): A["sign"]["req"];
  signResponse(res: A["sign"]["res"]): SignStart | SignFailure;
  confirmRequest(signRequestId: string, code: string): A["confirm"]["req"];
  confirmResponse(res: A["confirm"]["res"]): SignDone | SignFailure;
  debitRequest(req: DebitRequest): A["debit"]["req"];
  debitResponse(res: A["debit"]["res"], sent: SentPayment): PaymentOutcome;
  /** Absent when the bank has no payout service. */
  payoutRequest?(req: PayoutRequest): A["payout"]["req"];
  payoutResponse?(res: A["payout"]["res"], sent: SentPayment): PaymentOutcome;
  queryRequest(tradeNo: string): A["query"]["req"];
  queryResponse(res: A["query"]["res"], tradeNo: string): QueryOutcome;
  statementRequest(date: string): A["statement"]["req"];
  statementResponse(res: A["statement"]["res"]): StatementFile;
  /** The bank's layout (used by the simulated bank to produce its file, and by tests). */
  formatStatement(lines: readonly StatementLine[], date: string): string;
  parseStatement(csv: string): StatementLine[];
}

export type StatementFile =
  | { ok: true; csv: string }
  | { ok: false; kind: "UNAVAILABLE" | "UNKNOWN"; bankCode: string; message: string };

/** What a channel needs to know of its bank besides the transport: identity, limits, fees, zone. */
export interface ChannelSpec {
  code: ChannelCode;
  limits: ChannelLimits;
  fees: ChannelFees;
  /** Zone of the bank's wire times and business dates. */
  timeZone: string;
}

export interface WireChannelOptions<A extends BankApi> {
  code: ChannelCode;
  capabilities: readonly Capability[];
  limits: ChannelLimits;
  fees: ChannelFees;
  mapper: BankMapper<A>;
  transport: BankTransport<A>;
}

const TRANSPORT = "TRANSPORT";

/**
 * Every debit and payout carries its expiry (an ISO-8601 instant with Z or an offset). Returned as a
 * UTC instant in whole seconds, rounded down: every bank's wire carries seconds, and rounding down
 * means no bank accepts the request later than the caller allowed.
 */
function checkExpiry(expiresAt: unknown): string {
  const utc = typeof expiresAt === "string" ? isoToUtc(expiresAt) : undefined;
  if (utc === undefined) {
    throw new DomainError("VALIDATION_ERROR", "expiresAt must be an ISO-8601 instant with Z or an offset", { field: "expiresAt" });
  }
  return utc;
}

export class WireChannel<A extends BankApi> implements PaymentChannel {
  readonly code: ChannelCode;
  readonly capabilities: readonly Capability[];
  readonly limits: ChannelLimits;
  readonly fees: ChannelFees;
  private readonly mapper: BankMapper<A>;
  private readonly transport: BankTransport<A>;

  constructor(opts: WireChannelOptions<A>) {
    this.code = opts.code;
    this.capabilities = Object.freeze([...opts.capabilities]);
    this.limits = Object.freeze({ ...opts.limits });
    this.fees = Object.freeze({ ...opts.fees });
    this.mapper = opts.mapper;
    this.transport = opts.transport;
  }

  fee(amount: string): string {
    return computeFee(this.fees, amount);
  }

  private require(cap: Capability): void {
    if (!this.capabilities.includes(cap)) {
      throw new DomainError("VALIDATION_ERROR", `${this.code} does not support ${cap}`, { channel: this.code, capability: cap });
    }
  }

  async startSign(requestNo: string, holder: CardHolder): Promise<SignStart | SignFailure> {
    this.require("SIGN");
    checkTradeNo(requestNo);
    if (typeof holder !== "object" || holder === null) throw new DomainError("VALIDATION_ERROR", "holder is required", { field: "holder" });
    checkText(holder.cardNo, "cardNo", 32);
    checkText(holder.name, "name", 64);
    checkText(holder.idNo, "idNo", 32);
    checkText(holder.mobile, "mobile", 20);
    const r = await this.transport.call("sign", this.mapper.signRequest(requestNo, holder));
    if (!r.ok) return { status: "UNAVAILABLE", bankCode: TRANSPORT, message: this.signTransportMessage(r) };
    try {
      return this.mapper.signResponse(r.body);
    } catch (err) {
      return { status: "UNAVAILABLE", bankCode: TRANSPORT, message: `unreadable answer: ${(err as Error).message}` };
    }
  }

  async confirmSign(signRequestId: string, code: string): Promise<SignDone | SignFailure> {
    this.require("SIGN");
    checkText(signRequestId, "signRequestId", 64);
    if (typeof code !== "string") throw new DomainError("VALIDATION_ERROR", "code must be a string", { field: "code" });
    const r = await this.transport.call("confirm", this.mapper.confirmRequest(signRequestId, code));
    if (!r.ok) return { status: "UNAVAILABLE", bankCode: TRANSPORT, message: this.signTransportMessage(r) };
    try {
      return this.mapper.confirmResponse(r.body);
    } catch (err) {
      return { status: "UNAVAILABLE", bankCode: TRANSPORT, message: `unreadable answer: ${(err as Error).message}` };
    }
  }

  async debit(req: DebitRequest): Promise<PaymentOutcome> {
    this.require("DEBIT");
    const sent = this.checkPayment(req);
    checkText(req.agreementNo, "agreementNo", 64);
    const wire = this.mapper.debitRequest({ ...req, amount: sent.amount, expiresAt: checkExpiry(req.expiresAt) });
    const r = await this.transport.call("debit", wire);
    return this.payment(r, sent, (body) => this.mapper.debitResponse(body, sent));
  }

  async payout(req: PayoutRequest): Promise<PaymentOutcome> {
    this.require("PAYOUT");
    const { payoutRequest, payoutResponse } = this.mapper;
    if (!payoutRequest || !payoutResponse) throw new DomainError("VALIDATION_ERROR", `${this.code} has no payout mapping`, { channel: this.code });
    const sent = this.checkPayment(req);
    checkText(req.accountNo, "accountNo", 32);
    checkText(req.accountName, "accountName", 64);
    const wire = payoutRequest.call(this.mapper, { ...req, amount: sent.amount, expiresAt: checkExpiry(req.expiresAt) });
    const r = await this.transport.call("payout", wire);
    return this.payment(r, sent, (body) => payoutResponse.call(this.mapper, body, sent));
  }

  async query(tradeNo: string): Promise<QueryOutcome> {
    this.require("QUERY");
    checkTradeNo(tradeNo);
    const r = await this.transport.call("query", this.mapper.queryRequest(tradeNo));
    if (!r.ok) {
      return r.sent
        ? { status: "UNKNOWN", bankCode: TRANSPORT, message: `query not answered: ${r.message}` }
        : { status: "UNAVAILABLE", bankCode: TRANSPORT, message: `query not sent: ${r.message}` };
    }
    try {
      return this.mapper.queryResponse(r.body, tradeNo);
    } catch (err) {
      return { status: "UNKNOWN", bankCode: TRANSPORT, message: `unreadable answer: ${(err as Error).message}` };
    }
  }

  async statement(date: string): Promise<string> {
    this.require("STATEMENT");
    checkDate(date);
    const r = await this.transport.call("statement", this.mapper.statementRequest(date));
    if (!r.ok) throw new ChannelUnavailableError(this.code, r.sent ? "UNKNOWN" : "UNAVAILABLE", TRANSPORT, r.message);
    let file: StatementFile;
    try {
      file = this.mapper.statementResponse(r.body);
    } catch (err) {
      throw new ChannelUnavailableError(this.code, "UNKNOWN", TRANSPORT, `unreadable answer: ${(err as Error).message}`);
    }
    if (!file.ok) throw new ChannelUnavailableError(this.code, file.kind, file.bankCode, file.message);
    return file.csv;
  }

  parseStatement(csv: string): StatementLine[] {
    return this.mapper.parseStatement(csv);
  }

  private checkPayment(req: { tradeNo: string; amount: string }): SentPayment {
    if (typeof req !== "object" || req === null) throw new DomainError("VALIDATION_ERROR", "request is required", {});
    checkTradeNo(req.tradeNo);
    parseAmount(req.amount);
    return { tradeNo: req.tradeNo, amount: canonical(req.amount) };
  }

  private payment<Res>(r: TransportResult<Res>, _sent: SentPayment, map: (body: Res) => PaymentOutcome): PaymentOutcome {
    if (!r.ok) {
      return r.sent
        ? { status: "UNKNOWN", bankCode: TRANSPORT, message: `sent, no answer: ${r.message}` }
        : { status: "UNAVAILABLE", bankCode: TRANSPORT, message: `not sent: ${r.message}` };
    }
    try {
      return map(r.body);
    } catch (err) {
      // The request reached the bank: whatever we could not read may have moved money.
      return { status: "UNKNOWN", bankCode: TRANSPORT, message: `unreadable answer: ${(err as Error).message}` };
    }
  }

  private signTransportMessage(r: { sent: boolean; message: string }): string {
    return r.sent ? `no answer (a code may or may not have been sent; start again): ${r.message}` : `not sent: ${r.message}`;
  }
}
