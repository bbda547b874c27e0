/**
 * Channel routing (渠道路由) for one debit or payout, and what to do after a channel answered.
 * Pure: every input (rules, agreements, rolling success rates, breaker states, today's usage,
 * positions) is passed in; the executor gathers them.
 *
 * Eligibility, checked in this order; the first rule a channel breaks is its rejection reason:
 *   CARD_DAILY_ATTEMPT_CAP     the card's attempts today (all channels) ≥ cardDailyAttemptCap:
 *                              every channel is rejected, there is no candidate at all
 *   DISABLED                   setting.enabled is false
 *   NO_CAPABILITY              setting.capabilities lacks the kind (no `capabilities` = both kinds)
 *   EXCLUDED                   already tried in this slot (`exclude`)
 *   NO_AGREEMENT               DEBIT only: the card has no ACTIVE agreement with the channel
 *                              (`agreements` missing = none)
 *   BREAKER_OPEN               the channel's breaker is OPEN (HALF_OPEN is allowed through)
 *   OVER_PER_TRANSACTION_LIMIT amount > limits.perTransaction
 *   OVER_DAILY_LIMIT           usedToday.amount + amount > limits.perDay (this card on this channel)
 *   CARD_CHANNEL_ATTEMPT_CAP   usedToday.cardAttempts ≥ limits.perCardPerDay
 *   CHANNEL_DAILY_ATTEMPT_CAP  usedToday.attempts ≥ channelDailyAttemptCap
 *   INSUFFICIENT_POSITION      PAYOUT only: position[code] < amount (no position given = zero)
 * A `designated` code that is not among the settings is reported as NOT_CONFIGURED.
 *
 * Order of the candidates:
 *   1. the designated channel of the order/rules (`input.designated`), if eligible;
 *   2. channels flagged `designated: true` in the CHANNEL_SETTINGS rule;
 *   3. higher rolling success rate. A channel with no data (undefined) is ranked as the prior
 *      `unknownRatePrior` (default 0.5, CHANNEL_SETTINGS `successRate.unknownPrior`) and, at an equal
 *      rate, after a channel whose rate was measured: it never outranks a channel known to be at
 *      least that good, and still gets traffic before one known to be worse;
 *   4. lower priority number; 5. lower fee; 6. code (so the order is total and stable).
 *
 * After an answer (`nextStep`): a channel-side decline or UNAVAILABLE (provably not sent) moves on
 * to the next channel; a borrower-side decline (insufficient balance, frozen card) stops until the
 * next slot — another channel would only burn the card's attempts; UNKNOWN waits for a query and
 * never tries another channel, since money may have moved.
 */
import { DomainError } from "./errors";
import { fmt, money, parseAmount, RATE_PATTERN, roundCent, ZERO, AMOUNT_PATTERN, type Decimal } from "./money";
import { DEFAULT_SUCCESS_RATE, type BreakerEvent, type BreakerState } from "./sliding-window";

export type TradeKind = "DEBIT" | "PAYOUT";

export interface ChannelSetting {
  code: string;
  enabled: boolean;
  priority: number;
  designated?: boolean;
  capabilities?: TradeKind[];
  limits?: { perTransaction?: string; perDay?: string; perCardPerDay?: number };
  cost?: { fixed?: string; rate?: string };
}

export interface ChannelUsage {
  /** Amount already debited/paid today through this channel for this card. */
  amount: string;
  /** Attempts today through this channel for this card. */
  cardAttempts: number;
  /** Attempts today through this channel in total (all cards). */
  attempts: number;
}

export interface RouteInput {
  kind: TradeKind;
  amount: string;
  /** From the CHANNEL_SETTINGS rule. */
  settings: ChannelSetting[];
  /** DEBIT: channel codes where the card has an ACTIVE agreement. Missing = none. Ignored for PAYOUT. */
  agreements?: string[];
  /** A designated channel from the rules or the order, tried first if eligible. */
  designated?: string;
  /** Rolling success ratio 0..1 per channel; undefined = no data, ranked as `unknownRatePrior`. */
  successRate: Record<string, number | undefined>;
  /** 0..1, default 0.5: the rate a channel with no data is ranked as (after a measured channel of the same rate). */
  unknownRatePrior?: number;
  /** Missing = CLOSED. */
  breaker: Record<string, BreakerState>;
  /** Per channel, for this card. Missing = nothing used. */
  usedToday: Record<string, ChannelUsage>;
  cardAttemptsToday: number;
  cardDailyAttemptCap: number;
  channelDailyAttemptCap?: number;
  /** Channels already tried in this slot. */
  exclude?: string[];
  /** PAYOUT: available position (头寸) per channel. */
  position?: Record<string, string>;
}

export interface RouteCandidate {
  code: string;
  fee: string;
  /** Why it is where it is in the order, e.g. ["designated by order", "success rate 0.9500", "priority 10", "fee 1.50"]. */
  reasons: string[];
}

export const REJECT_REASONS = [
  "CARD_DAILY_ATTEMPT_CAP",
  "DISABLED",
  "NO_CAPABILITY",
  "EXCLUDED",
  "NO_AGREEMENT",
  "BREAKER_OPEN",
  "OVER_PER_TRANSACTION_LIMIT",
  "OVER_DAILY_LIMIT",
  "CARD_CHANNEL_ATTEMPT_CAP",
  "CHANNEL_DAILY_ATTEMPT_CAP",
  "INSUFFICIENT_POSITION",
  "NOT_CONFIGURED",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface RouteDecision {
  candidates: RouteCandidate[];
  rejected: Array<{ code: string; reason: RejectReason }>;
}

function amountField(value: unknown, field: string): Decimal {
  if (typeof value !== "string" || !AMOUNT_PATTERN.test(value)) {
    throw new DomainError("INVALID_AMOUNT", `${field} must be a decimal string with at most 2 decimals`, { field });
  }
  return money(value);
}

function count(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new DomainError("VALIDATION_ERROR", `${field} must be a non-negative integer`, { field });
  }
  return value;
}

/** fixed + amount × rate, rounded half-up to the cent. No cost = "0.00". */
export function channelFee(amount: string, cost?: { fixed?: string; rate?: string }): string {
  const a = amountField(amount, "amount");
  let fee: Decimal = ZERO;
  if (cost?.fixed !== undefined) fee = fee.plus(amountField(cost.fixed, "cost.fixed"));
  if (cost?.rate !== undefined) {
    if (typeof cost.rate !== "string" || !RATE_PATTERN.test(cost.rate)) {
      throw new DomainError("INVALID_RATE", "cost.rate must be a decimal string in [0, 1)", { field: "cost.rate" });
    }
    fee = fee.plus(a.times(money(cost.rate)));
  }
  return fmt(roundCent(fee));
}

function rateOf(input: RouteInput, code: string): number | undefined {
  const r = input.successRate[code];
  if (r === undefined) return undefined;
  if (typeof r !== "number" || !(r >= 0 && r <= 1)) {
    throw new DomainError("VALIDATION_ERROR", `successRate of ${code} must be a number in [0, 1]`, { field: "successRate", code });
  }
  return r;
}

function rejection(input: RouteInput, s: ChannelSetting, amount: Decimal): RejectReason | null {
  const used = input.usedToday[s.code];
  if (!s.enabled) return "DISABLED";
  if (s.capabilities !== undefined && !s.capabilities.includes(input.kind)) return "NO_CAPABILITY";
  if (input.exclude?.includes(s.code)) return "EXCLUDED";
  if (input.kind === "DEBIT" && !(input.agreements ?? []).includes(s.code)) return "NO_AGREEMENT";
  if ((input.breaker[s.code] ?? "CLOSED") === "OPEN") return "BREAKER_OPEN";
  const limits = s.limits ?? {};
  if (limits.perTransaction !== undefined && amount.gt(amountField(limits.perTransaction, `${s.code}.limits.perTransaction`))) {
    return "OVER_PER_TRANSACTION_LIMIT";
  }
  if (limits.perDay !== undefined) {
    const usedAmount = used ? amountField(used.amount, `usedToday.${s.code}.amount`) : ZERO;
    if (usedAmount.plus(amount).gt(amountField(limits.perDay, `${s.code}.limits.perDay`))) return "OVER_DAILY_LIMIT";
  }
  if (limits.perCardPerDay !== undefined && count(used?.cardAttempts ?? 0, `usedToday.${s.code}.cardAttempts`) >= limits.perCardPerDay) {
    return "CARD_CHANNEL_ATTEMPT_CAP";
  }
  if (input.channelDailyAttemptCap !== undefined && count(used?.attempts ?? 0, `usedToday.${s.code}.attempts`) >= input.channelDailyAttemptCap) {
    return "CHANNEL_DAILY_ATTEMPT_CAP";
  }
  if (input.kind === "PAYOUT") {
    const pos = input.position?.[s.code];
    const available = pos === undefined ? ZERO : amountField(pos, `position.${s.code}`);
    if (available.lt(amount)) return "INSUFFICIENT_POSITION";
  }
  return null;
}

interface Ranked {
  setting: ChannelSetting;
  tier: number;
  rate: number;
  rateKnown: boolean;
  fee: Decimal;
}

function compareRanked(a: Ranked, b: Ranked): number {
  if (a.tier !== b.tier) return a.tier - b.tier;
  if (a.rate !== b.rate) return b.rate - a.rate;
  if (a.rateKnown !== b.rateKnown) return a.rateKnown ? -1 : 1;
  if (a.setting.priority !== b.setting.priority) return a.setting.priority - b.setting.priority;
  const byFee = a.fee.cmp(b.fee);
  if (byFee !== 0) return byFee;
  return a.setting.code < b.setting.code ? -1 : a.setting.code > b.setting.code ? 1 : 0;
}

/** The eligible channels in the order to try them, and every other channel with the reason it was left out. */
export function route(input: RouteInput): RouteDecision {
  if (input.kind !== "DEBIT" && input.kind !== "PAYOUT") {
    throw new DomainError("VALIDATION_ERROR", "kind must be DEBIT or PAYOUT", { field: "kind" });
  }
  const amount = parseAmount(input.amount, "amount");
  const codes = input.settings.map((s) => s.code);
  if (new Set(codes).size !== codes.length) throw new DomainError("VALIDATION_ERROR", "Channel codes must be unique", { field: "settings" });
  const cardAttempts = count(input.cardAttemptsToday, "cardAttemptsToday");
  const cap = count(input.cardDailyAttemptCap, "cardDailyAttemptCap");
  const prior = input.unknownRatePrior ?? DEFAULT_SUCCESS_RATE.unknownPrior;
  if (typeof prior !== "number" || !(prior >= 0 && prior <= 1)) {
    throw new DomainError("VALIDATION_ERROR", "unknownRatePrior must be a number in [0, 1]", { field: "unknownRatePrior" });
  }

  const rejected: RouteDecision["rejected"] = [];
  if (input.designated !== undefined && !codes.includes(input.designated)) rejected.push({ code: input.designated, reason: "NOT_CONFIGURED" });
  if (cardAttempts >= cap) {
    for (const s of input.settings) rejected.push({ code: s.code, reason: "CARD_DAILY_ATTEMPT_CAP" });
    return { candidates: [], rejected };
  }

  const eligible: Ranked[] = [];
  for (const s of input.settings) {
    const reason = rejection(input, s, amount);
    if (reason) {
      rejected.push({ code: s.code, reason });
      continue;
    }
    const rate = rateOf(input, s.code);
    eligible.push({
      setting: s,
      tier: s.code === input.designated ? 0 : s.designated ? 1 : 2,
      rate: rate ?? prior,
      rateKnown: rate !== undefined,
      fee: money(channelFee(input.amount, s.cost)),
    });
  }
  eligible.sort(compareRanked);
  const candidates = eligible.map((r) => {
    const reasons: string[] = [];
    if (r.tier === 0) reasons.push("designated by order");
    else if (r.tier === 1) reasons.push("designated by rule");
    reasons.push(r.rateKnown ? `success rate ${r.rate.toFixed(4)}` : `success rate: no data (ranked as ${r.rate.toFixed(4)})`);
    reasons.push(`priority ${r.setting.priority}`);
    reasons.push(`fee ${fmt(r.fee)}`);
    return { code: r.setting.code, fee: fmt(r.fee), reasons };
  });
  return { candidates, rejected };
}

export interface ChannelOutcome {
  status: "SUCCESS" | "DECLINED" | "UNAVAILABLE" | "UNKNOWN";
  /** Whose fault a decline is. A decline without a side is treated as the borrower's (the safe reading: do not retry elsewhere). */
  side?: "BORROWER" | "CHANNEL";
}

export type NextStep = "DONE" | "TRY_NEXT_CHANNEL" | "STOP_UNTIL_NEXT_SLOT" | "WAIT_FOR_QUERY";

export function nextStep(outcome: ChannelOutcome): NextStep {
  switch (outcome.status) {
    case "SUCCESS":
      return "DONE";
    case "DECLINED":
      return outcome.side === "CHANNEL" ? "TRY_NEXT_CHANNEL" : "STOP_UNTIL_NEXT_SLOT";
    case "UNAVAILABLE":
      return "TRY_NEXT_CHANNEL";
    case "UNKNOWN":
      return "WAIT_FOR_QUERY";
    default:
      throw new DomainError("VALIDATION_ERROR", `Unknown channel outcome ${String((outcome as { status: unknown }).status)}`, { field: "status" });
  }
}

/**
 * What an outcome means to the channel's circuit breaker and success rate: SUCCESS; a channel-side
 * decline, UNAVAILABLE or UNKNOWN is a CHANNEL_FAILURE; a borrower-side decline says nothing about
 * the channel and is not recorded (null).
 */
export function breakerEventOf(outcome: ChannelOutcome): BreakerEvent | null {
  switch (outcome.status) {
    case "SUCCESS":
      return "SUCCESS";
    case "DECLINED":
      return outcome.side === "CHANNEL" ? "CHANNEL_FAILURE" : null;
    case "UNAVAILABLE":
    case "UNKNOWN":
      return "CHANNEL_FAILURE";
    default:
      throw new DomainError("VALIDATION_ERROR", `Unknown channel outcome ${String((outcome as { status: unknown }).status)}`, { field: "status" });
  }
}
