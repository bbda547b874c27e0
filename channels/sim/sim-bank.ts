/**
 * A simulated bank: the SERVER side of a payment channel. It keeps its own card accounts, its
 * merchant's payout position (头寸), signing agreements (协议) and a record of every trade by our
 * merchant order number — and behaves like a real bank:
 *
 *  - A repeated trade number never moves money twice: it answers from the first trade's record
 *    (whatever the amount of the repeat). Before an UNKNOWN trade settles the repeat gets the first
 *    answer again; after, the final result.
 *  - Definite checks are real: agreement, frozen card, limits, the card's balance (debit), the
 *    merchant position (payout).
 *  - On top of that, configurable randomness decided per trade from a hash of (seed, bank, kind,
 *    trade number) — the same trade gets the same fate whatever order trades arrive in:
 *      successRate  → otherwise a failure drawn from failureMix;
 *      unknownRate  → the bank answers PROCESSING or SYSTEM_ERROR; the trade's final result
 *                     (money moved or not) is fixed at once, visible on query after unknownSettleMs
 *                     and in the statement from then on.
 *  - During an outage nothing is processed or recorded (MAINTENANCE): provably nothing happened.
 *  - Order expiry: a debit or payout may carry `expiresAt` (epoch ms, the bank's clock). One that
 *    ARRIVES after it is refused (ORDER_EXPIRED): no money moves, no trade is recorded (a query
 *    answers NOT_FOUND, the statement leaves it out) and the trade number is remembered as refused,
 *    so the bank never acts on it later, whatever expiry a repeat carries. A trade number accepted
 *    in time answers from its record as always (an UNKNOWN one settles as before), even if a repeat
 *    arrives after the expiry.
 *
 * Failure sides (documented choices):
 *  - TXN_LIMIT (over the channel's per-transaction limit) and DAILY_LIMIT (the merchant's daily
 *    total at this channel) are CHANNEL side: another channel may take the same debit.
 *  - CARD_LIMIT (the card's own daily count limit, `perCardPerDay`, and random LIMIT_EXCEEDED
 *    failures, which stand for the issuer's card limits) is BORROWER side: the card is at its limit.
 *  - MERCHANT_SHORT (a payout beyond the merchant position at this bank) is INSUFFICIENT_BALANCE on
 *    the CHANNEL side: the money is ours, another payout channel with position can pay.
 *  - AGREEMENT_INVALID is CHANNEL side (the card may hold agreements at other channels).
 *
 * Neutral codes (SimCode) are turned into each bank's own wire codes by that bank's sim-server.
 *
 * Persistence: with `journalFile` every state change is appended as a JSON line (appendFileSync) and
 * replayed on construction; every operation first reads lines appended by other instances, so two
 * SimBanks on the same file agree. One writing process at a time.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AMOUNT_PATTERN, Dec, fmt, type Decimal } from "../../domain/money";
import { DomainError } from "../../domain/errors";
import { computeFee, type ChannelCode, type ChannelFees, type ChannelLimits, type StatementLine } from "../channel";
import { between, hex16, rngFor } from "./random";
import { localDate, localParts } from "./time";

/** The bank's neutral result codes. */
export const SIM_CODES = [
  "OK",
  "PROCESSING",
  "SYSTEM_ERROR",
  "INSUFFICIENT_BALANCE",
  "CARD_FROZEN",
  "TXN_LIMIT",
  "DAILY_LIMIT",
  "CARD_LIMIT",
  "AGREEMENT_INVALID",
  "INVALID_CARD",
  "WRONG_CODE",
  "SIGN_EXPIRED",
  "MERCHANT_SHORT",
  "CHANNEL_ERROR",
  "MAINTENANCE",
  "NOT_FOUND",
  "ORDER_EXPIRED",
] as const;
export type SimCode = (typeof SIM_CODES)[number];

/** Kinds of random failure. */
export type FailureKind = "INSUFFICIENT_BALANCE" | "CARD_FROZEN" | "LIMIT_EXCEEDED" | "CHANNEL_ERROR";
export type OutageWindow = { from: number; to: number };

export interface SimBankConfig {
  code: ChannelCode;
  seed: string;
  /** Simulated network latency of one call (the client draws it; split between request and response). */
  latencyMs: { min: number; max: number };
  /** Probability in [0, 1] (number or decimal string — a probability, not money). */
  successRate: number | string;
  /** Relative weights of random failures (when a trade does not succeed). */
  failureMix: Partial<Record<FailureKind, number>>;
  /** Probability in [0, 1] that the first answer is PROCESSING / SYSTEM_ERROR instead of final. */
  unknownRate: number | string;
  /** After this delay an unknown trade's final result shows on query and in the statement. */
  unknownSettleMs: number;
  /** true: down; a window or windows of epoch ms [from, to). */
  outage: boolean | OutageWindow | readonly OutageWindow[];
  /** Zone of business dates in statements and wire times. */
  timeZone: string;
  now?: () => number;
  /** JSON-lines journal of every state change; default: memory only. */
  journalFile?: string;
  limits: ChannelLimits;
  fees: ChannelFees;
  /** Opening merchant payout position (used when the journal is new). */
  merchantBalance: string;
  /** Balance of an account opened on the fly when a card unknown to the bank signs; null: unknown cards are INVALID_CARD. */
  autoOpenBalance: string | null;
  signCodeTtlMs: number;
  signMaxAttempts: number;
  /** Prefix of bank references and agreement numbers (default: the part of `code` after the last "_"). */
  refPrefix?: string;
}

export type SimBankInit = Pick<SimBankConfig, "code" | "seed"> & Partial<Omit<SimBankConfig, "code" | "seed">>;
/** What may change while running (behaviour, not identity or history). */
export type SimBankPatch = Partial<Omit<SimBankConfig, "code" | "seed" | "journalFile" | "merchantBalance" | "now">>;

export const SIM_BANK_DEFAULTS: Omit<SimBankConfig, "code" | "seed"> = Object.freeze({
  latencyMs: { min: 0, max: 0 },
  successRate: 0.97,
  failureMix: { INSUFFICIENT_BALANCE: 40, CARD_FROZEN: 5, LIMIT_EXCEEDED: 5, CHANNEL_ERROR: 50 },
  unknownRate: 0.01,
  unknownSettleMs: 120_000,
  outage: false,
  timeZone: "Asia/Shanghai",
  limits: {},
  fees: {},
  merchantBalance: "100000000.00",
  autoOpenBalance: "1000000.00",
  signCodeTtlMs: 300_000,
  signMaxAttempts: 5,
});

export type TradeKind = "DEBIT" | "PAYOUT";

/** The bank's record of one trade (journaled as is). */
export interface SimTradeRecord {
  tradeNo: string;
  kind: TradeKind;
  amount: string;
  /** Debit: the card; payout: the beneficiary account ("" when the agreement was unknown). */
  accountNo: string;
  accountName?: string;
  agreementNo?: string;
  bankRef: string;
  acceptedAt: number;
  /** Business date of acceptance in the bank's zone. */
  date: string;
  /** The first answer: `final`, or PROCESSING / SYSTEM_ERROR for an unknown trade. */
  answer: SimCode;
  /** OK or the failure code. */
  final: SimCode;
  /** When the final result becomes visible (= acceptedAt unless unknown). */
  settleAt: number;
  /** Money moved (final === "OK"). */
  moved: boolean;
}

/** What the bank answers about a trade. */
export interface SimTradeResult {
  code: SimCode;
  tradeNo: string;
  kind: TradeKind;
  /** The amount of the trade on record (for a repeat: the FIRST request's amount). */
  amount: string;
  bankRef?: string;
  acceptedAt?: number;
  /** Set once final. */
  completedAt?: number;
}

export type SimFailureCode = Exclude<SimCode, "OK">;
export type SimSignStart = { code: "OK"; signRequestId: string; smsCode: string; expiresAt: number } | { code: SimFailureCode };
export type SimSignConfirm = { code: "OK"; agreementNo: string; cardNo: string } | { code: SimFailureCode };
export type SimStatementRecord = StatementLine & { simCode: SimCode };
export type SimStatement = { code: "OK"; records: SimStatementRecord[] } | { code: "MAINTENANCE" };

interface Account {
  balance: Decimal;
  frozen: boolean;
  name?: string;
}
interface SignRequest {
  id: string;
  requestNo: string;
  cardNo: string;
  smsCode: string;
  at: number;
  attempts: number;
  agreementNo?: string;
}
interface Agreement {
  agreementNo: string;
  cardNo: string;
  active: boolean;
}

type JournalEvent =
  | { e: "open"; card: string; bal: string; name?: string }
  | { e: "bal"; card: string; bal: string }
  | { e: "frz"; card: string; on: boolean }
  | { e: "mer"; bal: string }
  | { e: "sreq"; id: string; requestNo: string; card: string; code: string; at: number }
  | { e: "stry"; id: string }
  | { e: "agr"; id: string; agreementNo: string; card: string }
  | { e: "term"; agreementNo: string }
  /** A debit or payout refused because it arrived after its expiry: the number is never acted on. */
  | { e: "exp"; tradeNo: string; at: number }
  | { e: "trade"; r: SimTradeRecord };

const JOURNAL_CHUNK = 8 << 20;

function probability(v: number | string, field: string): number {
  const n = typeof v === "number" ? v : /^(0(\.\d+)?|1(\.0+)?)$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new DomainError("VALIDATION_ERROR", `${field} must be a probability in [0, 1]`, { field });
  }
  return n;
}

function amountOf(v: unknown, field: string): Decimal {
  if (typeof v !== "string" || !AMOUNT_PATTERN.test(v)) {
    throw new DomainError("INVALID_AMOUNT", `${field} must be a decimal string with at most 2 decimals`, { field });
  }
  return Dec(v);
}

function validate(c: SimBankConfig): void {
  if (typeof c.code !== "string" || !/^[A-Z0-9_]{1,16}$/.test(c.code)) throw new DomainError("VALIDATION_ERROR", "code must match [A-Z0-9_]{1,16}", { field: "code" });
  if (typeof c.seed !== "string") throw new DomainError("VALIDATION_ERROR", "seed must be a string", { field: "seed" });
  const { min, max } = c.latencyMs;
  if (!(Number.isInteger(min) && Number.isInteger(max) && min >= 0 && max >= min)) {
    throw new DomainError("VALIDATION_ERROR", "latencyMs must be integers with 0 <= min <= max", { field: "latencyMs" });
  }
  probability(c.successRate, "successRate");
  probability(c.unknownRate, "unknownRate");
  for (const [k, w] of Object.entries(c.failureMix)) {
    if (typeof w !== "number" || !(w >= 0)) throw new DomainError("VALIDATION_ERROR", `failureMix.${k} must be a weight >= 0`, { field: "failureMix" });
  }
  if (!(Number.isInteger(c.unknownSettleMs) && c.unknownSettleMs >= 0)) throw new DomainError("VALIDATION_ERROR", "unknownSettleMs must be an integer >= 0", { field: "unknownSettleMs" });
  amountOf(c.merchantBalance, "merchantBalance");
  if (c.autoOpenBalance !== null) amountOf(c.autoOpenBalance, "autoOpenBalance");
  if (c.limits.perTransaction !== undefined) amountOf(c.limits.perTransaction, "limits.perTransaction");
  if (c.limits.perDay !== undefined) amountOf(c.limits.perDay, "limits.perDay");
  if (c.limits.perCardPerDay !== undefined && !(Number.isInteger(c.limits.perCardPerDay) && c.limits.perCardPerDay >= 1)) {
    throw new DomainError("VALIDATION_ERROR", "limits.perCardPerDay must be an integer >= 1", { field: "limits.perCardPerDay" });
  }
  if (c.fees.fixed !== undefined) amountOf(c.fees.fixed, "fees.fixed");
  if (c.fees.rate !== undefined && !/^0(\.\d{1,10})?$/.test(c.fees.rate)) throw new DomainError("VALIDATION_ERROR", "fees.rate must be a decimal in [0, 1)", { field: "fees.rate" });
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: c.timeZone });
  } catch {
    throw new DomainError("VALIDATION_ERROR", "timeZone must be an IANA zone", { field: "timeZone" });
  }
}

export class SimBank {
  private cfg: SimBankConfig;
  private readonly clock: () => number;
  private readonly accounts = new Map<string, Account>();
  private merchant: Decimal = Dec("0");
  private readonly signRequests = new Map<string, SignRequest>();
  private readonly signByRequestNo = new Map<string, string>();
  private readonly agreements = new Map<string, Agreement>();
  private readonly agreementByCard = new Map<string, string>();
  private readonly agreementCountByCard = new Map<string, number>();
  private readonly tradeBook = new Map<string, SimTradeRecord>();
  private readonly tradesByDate = new Map<string, string[]>();
  private readonly dayTotals = new Map<string, Decimal>();
  private readonly cardDayCounts = new Map<string, number>();
  /** Trade numbers refused as expired (never recorded as trades, never acted on). */
  private readonly expiredRefusals = new Set<string>();
  private journalOffset = 0;
  private journalFd: number | null = null;

  constructor(init: SimBankInit) {
    const cfg: SimBankConfig = { ...SIM_BANK_DEFAULTS, ...init } as SimBankConfig;
    validate(cfg);
    this.cfg = cfg;
    this.clock = init.now ?? Date.now;
    if (cfg.journalFile) {
      fs.mkdirSync(path.dirname(cfg.journalFile), { recursive: true });
      if (!fs.existsSync(cfg.journalFile)) fs.writeFileSync(cfg.journalFile, "");
      this.dropTornTail(cfg.journalFile);
      this.sync();
      if (this.journalOffset === 0) this.commit({ e: "mer", bal: fmt(Dec(cfg.merchantBalance)) });
    } else {
      this.commit({ e: "mer", bal: fmt(Dec(cfg.merchantBalance)) });
    }
  }

  get code(): ChannelCode {
    return this.cfg.code;
  }

  /** The resolved configuration (a copy). */
  get config(): Readonly<SimBankConfig> {
    return { ...this.cfg };
  }

  /** Change behaviour at run time (success rate, outage, latency, limits…). Not journaled. */
  configure(patch: SimBankPatch): void {
    const next = { ...this.cfg, ...patch } as SimBankConfig;
    validate(next);
    this.cfg = next;
  }

  setOutage(outage: SimBankConfig["outage"]): void {
    this.configure({ outage });
  }

  now(): number {
    return this.clock();
  }

  /** Is the bank refusing requests at this instant? */
  isDown(at: number = this.clock()): boolean {
    const o = this.cfg.outage;
    if (typeof o === "boolean") return o;
    const windows: readonly OutageWindow[] = Array.isArray(o) ? o : [o as OutageWindow];
    return windows.some((w) => at >= w.from && at < w.to);
  }

  // ------------------------------------------------------------------------------ accounts

  /** Open an account (or reset an existing one: balance, name, unfrozen). */
  openAccount(cardNo: string, balance: string, name?: string): void {
    this.sync();
    this.checkCard(cardNo);
    const bal = fmt(amountOf(balance, "balance"));
    this.commit(name === undefined ? { e: "open", card: cardNo, bal } : { e: "open", card: cardNo, bal, name });
  }

  setBalance(cardNo: string, balance: string): void {
    this.sync();
    this.account(cardNo);
    this.commit({ e: "bal", card: cardNo, bal: fmt(amountOf(balance, "balance")) });
  }

  freeze(cardNo: string): void {
    this.sync();
    this.account(cardNo);
    this.commit({ e: "frz", card: cardNo, on: true });
  }

  unfreeze(cardNo: string): void {
    this.sync();
    this.account(cardNo);
    this.commit({ e: "frz", card: cardNo, on: false });
  }

  hasAccount(cardNo: string): boolean {
    this.sync();
    return this.accounts.has(cardNo);
  }

  balanceOf(cardNo: string): string {
    this.sync();
    return fmt(this.account(cardNo).balance);
  }

  isFrozen(cardNo: string): boolean {
    this.sync();
    return this.account(cardNo).frozen;
  }

  /** The merchant's payout position at this bank. */
  merchantBalance(): string {
    this.sync();
    return fmt(this.merchant);
  }

  setMerchantBalance(balance: string): void {
    this.sync();
    this.commit({ e: "mer", bal: fmt(amountOf(balance, "balance")) });
  }

  topUpMerchant(amount: string): void {
    this.sync();
    this.commit({ e: "mer", bal: fmt(this.merchant.plus(amountOf(amount, "amount"))) });
  }

  // ------------------------------------------------------------------------------ signing

  startSign(req: { requestNo: string; cardNo: string; name: string; idNo?: string; mobile?: string }): SimSignStart {
    this.sync();
    const now = this.clock();
    if (this.isDown(now)) return { code: "MAINTENANCE" };
    const knownId = this.signByRequestNo.get(req.requestNo);
    if (knownId) return this.signView(this.signRequests.get(knownId) as SignRequest);
    if (typeof req.cardNo !== "string" || !/^\d{12,19}$/.test(req.cardNo)) return { code: "INVALID_CARD" };
    let acct = this.accounts.get(req.cardNo);
    if (!acct) {
      if (this.cfg.autoOpenBalance === null) return { code: "INVALID_CARD" };
      this.commit({ e: "open", card: req.cardNo, bal: fmt(Dec(this.cfg.autoOpenBalance)), name: req.name });
      acct = this.accounts.get(req.cardNo) as Account;
    }
    if (acct.name !== undefined && acct.name !== req.name) return { code: "INVALID_CARD" };
    if (acct.frozen) return { code: "CARD_FROZEN" };
    const id = `${this.prefix()}SR${hex16(this.cfg.seed, this.cfg.code, "sign", req.requestNo)}`;
    const smsCode = String(between(rngFor(this.cfg.seed, this.cfg.code, "sms", req.requestNo)(), 0, 999_999)).padStart(6, "0");
    this.commit({ e: "sreq", id, requestNo: req.requestNo, card: req.cardNo, code: smsCode, at: now });
    return this.signView(this.signRequests.get(id) as SignRequest);
  }

  confirmSign(signRequestId: string, smsCode: string): SimSignConfirm {
    this.sync();
    const now = this.clock();
    if (this.isDown(now)) return { code: "MAINTENANCE" };
    const sr = this.signRequests.get(signRequestId);
    if (!sr) return { code: "SIGN_EXPIRED" };
    if (sr.agreementNo !== undefined) {
      return smsCode === sr.smsCode ? { code: "OK", agreementNo: sr.agreementNo, cardNo: sr.cardNo } : { code: "WRONG_CODE" };
    }
    if (now > sr.at + this.cfg.signCodeTtlMs || sr.attempts >= this.cfg.signMaxAttempts) return { code: "SIGN_EXPIRED" };
    if (smsCode !== sr.smsCode) {
      this.commit({ e: "stry", id: sr.id });
      return { code: "WRONG_CODE" };
    }
    const acct = this.accounts.get(sr.cardNo);
    if (acct?.frozen) return { code: "CARD_FROZEN" };
    const existing = this.agreementByCard.get(sr.cardNo);
    const agreementNo =
      existing ?? `${this.prefix()}AG${hex16(this.cfg.seed, this.cfg.code, "agreement", sr.cardNo, String(this.agreementCountByCard.get(sr.cardNo) ?? 0))}`;
    this.commit({ e: "agr", id: sr.id, agreementNo, card: sr.cardNo });
    return { code: "OK", agreementNo, cardNo: sr.cardNo };
  }

  /** The card's agreement is terminated at the bank (解约); debits with it are then AGREEMENT_INVALID. */
  terminateAgreement(agreementNo: string): void {
    this.sync();
    if (!this.agreements.get(agreementNo)?.active) throw new DomainError("NOT_FOUND", "no active agreement", { agreementNo });
    this.commit({ e: "term", agreementNo });
  }

  agreement(agreementNo: string): { cardNo: string; active: boolean } | undefined {
    this.sync();
    const a = this.agreements.get(agreementNo);
    return a ? { cardNo: a.cardNo, active: a.active } : undefined;
  }

  // ------------------------------------------------------------------------------ trades

  debit(req: { tradeNo: string; agreementNo: string; amount: string; expiresAt?: number }): SimTradeResult {
    this.sync();
    const now = this.clock();
    const amount = amountOf(req.amount, "amount");
    if (this.isDown(now)) return { code: "MAINTENANCE", tradeNo: req.tradeNo, kind: "DEBIT", amount: fmt(amount) };
    const first = this.tradeBook.get(req.tradeNo);
    if (first) return this.view(first, now, false);
    if (this.refuseExpired(req.tradeNo, req.expiresAt, now)) return { code: "ORDER_EXPIRED", tradeNo: req.tradeNo, kind: "DEBIT", amount: fmt(amount) };

    const date = localDate(now, this.cfg.timeZone);
    const agr = this.agreements.get(req.agreementNo);
    const cardNo = agr?.active ? agr.cardNo : "";
    const acct = cardNo ? this.accounts.get(cardNo) : undefined;
    const { perTransaction, perDay, perCardPerDay } = this.cfg.limits;
    let answer: SimCode;
    let final: SimCode;
    if (!agr || !agr.active) final = answer = "AGREEMENT_INVALID";
    else if (!acct) final = answer = "INVALID_CARD";
    else if (acct.frozen) final = answer = "CARD_FROZEN";
    else if (perTransaction !== undefined && amount.gt(Dec(perTransaction))) final = answer = "TXN_LIMIT";
    else if (perDay !== undefined && this.dayTotal("DEBIT", date).plus(amount).gt(Dec(perDay))) final = answer = "DAILY_LIMIT";
    else if (perCardPerDay !== undefined && (this.cardDayCounts.get(`${cardNo}\u0001${date}`) ?? 0) >= perCardPerDay) final = answer = "CARD_LIMIT";
    else {
      const fate = this.fate("DEBIT", req.tradeNo);
      final = fate.final === "OK" ? (acct.balance.gte(amount) ? "OK" : "INSUFFICIENT_BALANCE") : fate.final;
      answer = fate.unknown ? fate.flavor : final;
    }
    const record: SimTradeRecord = {
      tradeNo: req.tradeNo,
      kind: "DEBIT",
      amount: fmt(amount),
      accountNo: cardNo,
      agreementNo: req.agreementNo,
      bankRef: this.bankRef(req.tradeNo),
      acceptedAt: now,
      date,
      answer,
      final,
      settleAt: answer === final ? now : now + this.cfg.unknownSettleMs,
      moved: final === "OK",
    };
    this.commit({ e: "trade", r: record });
    return this.view(record, now, false);
  }

  payout(req: { tradeNo: string; accountNo: string; accountName: string; amount: string; expiresAt?: number }): SimTradeResult {
    this.sync();
    const now = this.clock();
    const amount = amountOf(req.amount, "amount");
    if (this.isDown(now)) return { code: "MAINTENANCE", tradeNo: req.tradeNo, kind: "PAYOUT", amount: fmt(amount) };
    const first = this.tradeBook.get(req.tradeNo);
    if (first) return this.view(first, now, false);
    if (this.refuseExpired(req.tradeNo, req.expiresAt, now)) return { code: "ORDER_EXPIRED", tradeNo: req.tradeNo, kind: "PAYOUT", amount: fmt(amount) };

    const date = localDate(now, this.cfg.timeZone);
    const target = this.accounts.get(req.accountNo);
    const { perTransaction, perDay } = this.cfg.limits;
    let answer: SimCode;
    let final: SimCode;
    if (!/^\d{8,32}$/.test(req.accountNo)) final = answer = "INVALID_CARD";
    else if (target && target.name !== undefined && target.name !== req.accountName) final = answer = "INVALID_CARD";
    else if (target?.frozen) final = answer = "CARD_FROZEN";
    else if (perTransaction !== undefined && amount.gt(Dec(perTransaction))) final = answer = "TXN_LIMIT";
    else if (perDay !== undefined && this.dayTotal("PAYOUT", date).plus(amount).gt(Dec(perDay))) final = answer = "DAILY_LIMIT";
    else {
      const fate = this.fate("PAYOUT", req.tradeNo);
      final = fate.final === "OK" ? (this.merchant.gte(amount) ? "OK" : "MERCHANT_SHORT") : fate.final;
      answer = fate.unknown ? fate.flavor : final;
    }
    const record: SimTradeRecord = {
      tradeNo: req.tradeNo,
      kind: "PAYOUT",
      amount: fmt(amount),
      accountNo: req.accountNo,
      accountName: req.accountName,
      bankRef: this.bankRef(req.tradeNo),
      acceptedAt: now,
      date,
      answer,
      final,
      settleAt: answer === final ? now : now + this.cfg.unknownSettleMs,
      moved: final === "OK",
    };
    this.commit({ e: "trade", r: record });
    return this.view(record, now, false);
  }

  /**
   * The trade as the bank knows it now: PROCESSING until an unknown trade settles; NOT_FOUND if never
   * received — or refused as expired (the bank never recorded a trade for it and never will).
   */
  query(tradeNo: string): SimTradeResult | { code: "NOT_FOUND" | "MAINTENANCE"; tradeNo: string } {
    this.sync();
    const now = this.clock();
    if (this.isDown(now)) return { code: "MAINTENANCE", tradeNo };
    const r = this.tradeBook.get(tradeNo);
    return r ? this.view(r, now, true) : { code: "NOT_FOUND", tradeNo };
  }

  /**
   * Every final trade accepted on `date` (the bank's zone): SUCCESS and FAILED, unknown ones once
   * settled (a trade still processing when the file is cut is left out — it is not final).
   */
  statement(date: string): SimStatement {
    this.sync();
    const now = this.clock();
    if (this.isDown(now)) return { code: "MAINTENANCE" };
    const records = (this.tradesByDate.get(date) ?? [])
      .map((tradeNo) => this.tradeBook.get(tradeNo) as SimTradeRecord)
      .filter((r) => now >= r.settleAt)
      .sort((a, b) => a.acceptedAt - b.acceptedAt || a.tradeNo.localeCompare(b.tradeNo));
    const out: SimStatementRecord[] = [];
    for (const r of records) {
      const ok = r.final === "OK";
      const { time } = localParts(r.acceptedAt, this.cfg.timeZone);
      out.push({
        tradeNo: r.tradeNo,
        channelRef: r.bankRef,
        kind: r.kind,
        amount: r.amount,
        fee: ok ? computeFee(this.cfg.fees, r.amount) : "0.00",
        status: ok ? "SUCCESS" : "FAILED",
        date: r.date,
        time,
        simCode: r.final,
      });
    }
    return { code: "OK", records: out };
  }

  /** Was this trade number refused because it arrived after its expiry? (tests and ops) */
  wasRefusedAsExpired(tradeNo: string): boolean {
    this.sync();
    return this.expiredRefusals.has(tradeNo);
  }

  /** The bank's record of a trade (for tests and ops). */
  trade(tradeNo: string): SimTradeRecord | undefined {
    this.sync();
    const r = this.tradeBook.get(tradeNo);
    return r ? { ...r } : undefined;
  }

  /** Every trade on record, in arrival order. */
  trades(): SimTradeRecord[] {
    this.sync();
    return [...this.tradeBook.values()].map((r) => ({ ...r }));
  }

  // ------------------------------------------------------------------------------ internals

  /**
   * A request for a number never recorded as a trade: refused when it arrives after its expiry, or
   * when the number was refused as expired before (the refusal is journaled, so it survives restarts).
   */
  private refuseExpired(tradeNo: string, expiresAt: number | undefined, now: number): boolean {
    if (this.expiredRefusals.has(tradeNo)) return true;
    if (expiresAt === undefined || now <= expiresAt) return false;
    this.commit({ e: "exp", tradeNo, at: now });
    return true;
  }

  private prefix(): string {
    return this.cfg.refPrefix ?? (this.cfg.code.split("_").pop() as string);
  }

  private bankRef(tradeNo: string): string {
    return `${this.prefix()}${hex16(this.cfg.seed, this.cfg.code, "ref", tradeNo).toUpperCase()}`;
  }

  private checkCard(cardNo: string): void {
    if (typeof cardNo !== "string" || !/^\d{8,32}$/.test(cardNo)) {
      throw new DomainError("VALIDATION_ERROR", "cardNo must be 8-32 digits", { field: "cardNo" });
    }
  }

  private account(cardNo: string): Account {
    const a = this.accounts.get(cardNo);
    if (!a) throw new DomainError("NOT_FOUND", `${this.cfg.code} has no account for this card`, { bank: this.cfg.code });
    return a;
  }

  private dayTotal(kind: TradeKind, date: string): Decimal {
    return this.dayTotals.get(`${kind}\u0001${date}`) ?? Dec("0");
  }

  private signView(sr: SignRequest): SimSignStart {
    return { code: "OK", signRequestId: sr.id, smsCode: sr.smsCode, expiresAt: sr.at + this.cfg.signCodeTtlMs };
  }

  /** The trade's fate: four draws, always in the same order, from (seed, bank, kind, tradeNo). */
  private fate(kind: TradeKind, tradeNo: string): { unknown: boolean; flavor: SimCode; final: SimCode } {
    const rnd = rngFor(this.cfg.seed, this.cfg.code, kind, tradeNo);
    const uUnknown = rnd();
    const uSuccess = rnd();
    const uFailure = rnd();
    const uFlavor = rnd();
    const unknown = uUnknown < probability(this.cfg.unknownRate, "unknownRate");
    const ok = uSuccess < probability(this.cfg.successRate, "successRate");
    return {
      unknown,
      flavor: uFlavor < 0.5 ? "PROCESSING" : "SYSTEM_ERROR",
      final: ok ? "OK" : this.pickFailure(kind, uFailure),
    };
  }

  /** A random failure from the mix; a payout's beneficiary balance is irrelevant, so no INSUFFICIENT_BALANCE there. */
  private pickFailure(kind: TradeKind, u: number): SimCode {
    const mix = this.cfg.failureMix;
    const table: Array<[number, SimCode]> = [
      [kind === "DEBIT" ? (mix.INSUFFICIENT_BALANCE ?? 0) : 0, "INSUFFICIENT_BALANCE"],
      [mix.CARD_FROZEN ?? 0, "CARD_FROZEN"],
      [mix.LIMIT_EXCEEDED ?? 0, "CARD_LIMIT"],
      [mix.CHANNEL_ERROR ?? 0, "CHANNEL_ERROR"],
    ];
    const total = table.reduce((s, [w]) => s + w, 0);
    if (total <= 0) return "CHANNEL_ERROR";
    let x = u * total;
    for (const [w, code] of table) {
      if (x < w) return code;
      x -= w;
    }
    return "CHANNEL_ERROR";
  }

  private view(r: SimTradeRecord, now: number, forQuery: boolean): SimTradeResult {
    const pending = r.answer !== r.final && now < r.settleAt;
    const base = { tradeNo: r.tradeNo, kind: r.kind, amount: r.amount, bankRef: r.bankRef, acceptedAt: r.acceptedAt };
    if (pending) return { ...base, code: forQuery ? "PROCESSING" : r.answer };
    return { ...base, code: r.final, completedAt: r.settleAt };
  }

  // ------------------------------------------------------------------------------ journal

  private commit(ev: JournalEvent): void {
    const file = this.cfg.journalFile;
    if (file) {
      const line = `${JSON.stringify(ev)}\n`;
      // One descriptor opened for appending and kept: an open and a close per line cost more than the write.
      if (this.journalFd === null) this.journalFd = fs.openSync(file, "a");
      fs.writeSync(this.journalFd, line);
      this.journalOffset += Buffer.byteLength(line);
    }
    this.apply(ev);
  }

  /** Read and apply whatever other instances appended since we last looked (in chunks: journals get big). */
  private sync(): void {
    const file = this.cfg.journalFile;
    if (!file) return;
    const size = fs.statSync(file).size;
    if (size <= this.journalOffset) return;
    const fd = fs.openSync(file, "r");
    try {
      let carry = Buffer.alloc(0); // bytes from journalOffset on that do not yet end a line
      let pos = this.journalOffset + carry.length;
      while (pos < size) {
        const chunk = Buffer.alloc(Math.min(JOURNAL_CHUNK, size - pos));
        const n = fs.readSync(fd, chunk, 0, chunk.length, pos);
        if (n === 0) break;
        pos += n;
        const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
        const end = data.lastIndexOf(0x0a);
        if (end < 0) {
          carry = data;
          continue;
        }
        for (const line of data.subarray(0, end).toString("utf8").split("\n")) {
          if (line.length > 0) this.apply(JSON.parse(line) as JournalEvent);
        }
        this.journalOffset += end + 1;
        carry = data.subarray(end + 1);
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** A crash in the middle of an append leaves a line without its newline: drop it (it never happened). */
  private dropTornTail(file: string): void {
    const size = fs.statSync(file).size;
    if (size === 0) return;
    const fd = fs.openSync(file, "r");
    let keep = 0;
    try {
      let end = size;
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      if (last[0] === 0x0a) return;
      while (end > 0) {
        const start = Math.max(0, end - JOURNAL_CHUNK);
        const buf = Buffer.alloc(end - start);
        fs.readSync(fd, buf, 0, buf.length, start);
        const nl = buf.lastIndexOf(0x0a);
        if (nl >= 0) {
          keep = start + nl + 1;
          break;
        }
        end = start;
      }
    } finally {
      fs.closeSync(fd);
    }
    fs.truncateSync(file, keep);
  }

  private apply(ev: JournalEvent): void {
    switch (ev.e) {
      case "open":
        this.accounts.set(ev.card, { balance: Dec(ev.bal), frozen: false, ...(ev.name !== undefined ? { name: ev.name } : {}) });
        return;
      case "bal":
        (this.accounts.get(ev.card) as Account).balance = Dec(ev.bal);
        return;
      case "frz":
        (this.accounts.get(ev.card) as Account).frozen = ev.on;
        return;
      case "mer":
        this.merchant = Dec(ev.bal);
        return;
      case "sreq":
        this.signRequests.set(ev.id, { id: ev.id, requestNo: ev.requestNo, cardNo: ev.card, smsCode: ev.code, at: ev.at, attempts: 0 });
        this.signByRequestNo.set(ev.requestNo, ev.id);
        return;
      case "stry":
        (this.signRequests.get(ev.id) as SignRequest).attempts += 1;
        return;
      case "agr": {
        (this.signRequests.get(ev.id) as SignRequest).agreementNo = ev.agreementNo;
        if (!this.agreements.has(ev.agreementNo)) {
          this.agreementCountByCard.set(ev.card, (this.agreementCountByCard.get(ev.card) ?? 0) + 1);
        }
        this.agreements.set(ev.agreementNo, { agreementNo: ev.agreementNo, cardNo: ev.card, active: true });
        this.agreementByCard.set(ev.card, ev.agreementNo);
        return;
      }
      case "term": {
        const a = this.agreements.get(ev.agreementNo) as Agreement;
        a.active = false;
        if (this.agreementByCard.get(a.cardNo) === ev.agreementNo) this.agreementByCard.delete(a.cardNo);
        return;
      }
      case "exp":
        this.expiredRefusals.add(ev.tradeNo);
        return;
      case "trade": {
        const r = ev.r;
        this.tradeBook.set(r.tradeNo, r);
        const list = this.tradesByDate.get(r.date);
        if (list) list.push(r.tradeNo);
        else this.tradesByDate.set(r.date, [r.tradeNo]);
        if (!r.moved) return;
        const amount = Dec(r.amount);
        const key = `${r.kind}\u0001${r.date}`;
        this.dayTotals.set(key, this.dayTotal(r.kind, r.date).plus(amount));
        if (r.kind === "DEBIT") {
          const acct = this.accounts.get(r.accountNo) as Account;
          acct.balance = acct.balance.minus(amount);
          const ck = `${r.accountNo}\u0001${r.date}`;
          this.cardDayCounts.set(ck, (this.cardDayCounts.get(ck) ?? 0) + 1);
        } else {
          this.merchant = this.merchant.minus(amount);
          const target = this.accounts.get(r.accountNo);
          if (target) target.balance = target.balance.plus(amount);
          else this.accounts.set(r.accountNo, { balance: amount, frozen: false, ...(r.accountName !== undefined ? { name: r.accountName } : {}) });
        }
        return;
      }
      default: {
        const never: never = ev;
        throw new Error(`unknown journal event ${JSON.stringify(never)}`);
      }
    }
  }
}
