/** ledger: trades (debit and payout orders), money flows (资金流水) and payout positions (头寸). */
import type { ValidationSchema } from "fastest-validator";
import type { TradeState } from "../domain/trade-state";
import type { PendingStep } from "../domain/ledger-core";
import { tradeNoRule } from "../domain/trade-numbers";
import { amountRule, positiveAmountRule, dateRule, idRule, optionalDateRule, optionalIdRule, pageRules, type PageParams } from "./common";

export type TradeKind = "DEBIT" | "PAYOUT";

export interface TradeFailure {
  reason: string;
  side?: "BORROWER" | "CHANNEL";
  bankCode?: string;
  message?: string;
}

export interface TradeHistoryEntry {
  from: TradeState | null;
  to: TradeState;
  at: string;
  note?: string;
}

export interface Trade {
  _id: string;
  /** Our trade number: unique, and the merchant order number sent to the channel. */
  tradeNo: string;
  kind: TradeKind;
  state: TradeState;
  amount: string;
  fee: string;
  channel: string;
  /** Set while the trade is open (INIT, SENDING, UNKNOWN): one open trade per plan (debit) or payout. Unique. */
  openKey?: string;
  // debits
  planId?: string;
  /** The owner (funder) of the plan's receivables on the trade's business date: the money is theirs. */
  funderId?: string;
  partition?: number;
  periods?: number[];
  slotId?: string;
  attempt: number;
  runId?: string;
  bindingId?: string;
  agreementNo?: string;
  /** HMAC of the card number: daily per-card caps count by it. */
  cardFingerprint?: string;
  /** Repayment applied to the plan (debits): the sweep applies SUCCESS trades with applied=false. */
  applied?: boolean;
  // payouts
  payoutNo?: string;
  beneficiary?: { accountNo: string; accountName: string; funderId?: string };
  purpose?: string;
  // outcome
  channelRef?: string;
  failure?: TradeFailure;
  queries: number;
  nextQueryAt?: string;
  /** UNKNOWN past the last compensating query: reconciliation decides, ops were alerted. */
  needsReconciliation?: boolean;
  /** The bank refuses the request after this instant (sent with it): NOT_FOUND is final only after it. */
  expiresAt?: string;
  /** Steps after the outcome still to finish, set in the compare-and-set that recorded the outcome. */
  pending?: PendingStep[];
  /** A SUCCESS that came after the trade was recorded FAILED (audited). */
  lateSuccess?: { at: string; source: "SENDER" | "QUERY" | "STATEMENT"; previousFailure: TradeFailure | null };
  history: TradeHistoryEntry[];
  /** Business date the trade was opened on (statements and reports group by it). */
  businessDate: string;
  createdAt: string;
  updatedAt: string;
  sentAt?: string;
  completedAt?: string;
}

export interface Flow {
  _id: string;
  flowNo: string;
  tradeNo: string;
  /**
   * OFFLINE: money received outside a channel (offline repayment, prepayment, settlement).
   * CREDIT: a move between an owner's collections and the plan's credit balance (the borrower's
   * money): OUT = a surplus taken out of what the owner collected, IN = credit applied to an installment.
   */
  kind: TradeKind | "OFFLINE" | "CREDIT";
  direction: "IN" | "OUT";
  amount: string;
  fee: string;
  channel: string;
  planId?: string;
  /** Whose money it is (debits and offline: the plan's owner on the business date). */
  funderId?: string;
  partition?: number;
  payoutNo?: string;
  /** Written for a late success. */
  late?: boolean;
  businessDate: string;
  createdAt: string;
}

export interface Position {
  _id: string;
  channel: string;
  balance: string;
  reserved: string;
  /** Reservations by trade number, so reserve/commit/release are idempotent per trade. */
  reservations: Record<string, string>;
  /** Late payout successes taken off the balance, by trade number (so the take is idempotent). */
  lateCommits?: Record<string, string>;
  lowWatermark: string;
  version: number;
  /** The last moves (POSITION_HISTORY_KEEP); all of them are in the positionMoves collection (domain/history.ts). */
  history: Array<{ at: string; by: string; action: string; amount: string; balance: string; reason?: string; tradeNo?: string; seq?: number }>;
  /** Every move numbered at or below this is in positionMoves. */
  historyCopied?: number;
  updatedAt: string;
}

export interface OpenTradeParams {
  tradeNo: string;
  kind: TradeKind;
  amount: string;
  fee?: string;
  channel: string;
  openKey: string;
  attempt: number;
  planId?: string;
  funderId?: string;
  partition?: number;
  periods?: number[];
  slotId?: string;
  runId?: string;
  bindingId?: string;
  agreementNo?: string;
  cardFingerprint?: string;
  payoutNo?: string;
  beneficiary?: { accountNo: string; accountName: string; funderId?: string };
  purpose?: string;
  expiresAt?: string;
}
export const openTradeParams = {
  $$strict: true,
  tradeNo: tradeNoRule,
  kind: { type: "enum", values: ["DEBIT", "PAYOUT"] },
  amount: amountRule,
  fee: { ...amountRule, optional: true },
  channel: { type: "string", pattern: "^[A-Z0-9_]{1,16}$" },
  openKey: { type: "string", min: 1, max: 128 },
  attempt: { type: "number", integer: true, min: 1, max: 1000 },
  planId: optionalIdRule,
  funderId: optionalIdRule,
  partition: { type: "number", integer: true, min: 0, optional: true },
  periods: { type: "array", items: { type: "number", integer: true, min: 1 }, optional: true },
  slotId: { type: "string", max: 32, optional: true },
  runId: { type: "string", max: 64, optional: true },
  bindingId: optionalIdRule,
  agreementNo: { type: "string", max: 64, optional: true },
  cardFingerprint: { type: "string", pattern: "^[0-9a-f]{64}$", optional: true },
  payoutNo: optionalIdRule,
  beneficiary: { type: "object", optional: true, strict: true, props: { accountNo: { type: "string", min: 4, max: 40 }, accountName: { type: "string", min: 1, max: 64 }, funderId: optionalIdRule } },
  purpose: { type: "string", max: 200, optional: true },
  expiresAt: { type: "string", max: 40, optional: true },
} satisfies ValidationSchema<OpenTradeParams>;

export interface TransitionParams {
  tradeNo: string;
  from: TradeState;
  to: TradeState;
  channelRef?: string;
  failure?: TradeFailure;
  note?: string;
  nextQueryAt?: string;
  needsReconciliation?: boolean;
  countQuery?: boolean;
  kind?: TradeKind;
}
const stateRule = { type: "enum", values: ["INIT", "SENDING", "SUCCESS", "FAILED", "UNKNOWN"] } as const;
export const transitionParams = {
  $$strict: true,
  tradeNo: tradeNoRule,
  from: stateRule,
  to: stateRule,
  channelRef: { type: "string", max: 64, optional: true },
  failure: { type: "object", optional: true, props: { reason: { type: "string", max: 64 }, side: { type: "enum", values: ["BORROWER", "CHANNEL"], optional: true }, bankCode: { type: "string", max: 32, optional: true }, message: { type: "string", max: 256, optional: true } } },
  note: { type: "string", max: 256, optional: true },
  nextQueryAt: { type: "string", max: 40, optional: true },
  needsReconciliation: { type: "boolean", optional: true },
  countQuery: { type: "boolean", optional: true },
  kind: { type: "enum", values: ["DEBIT", "PAYOUT"], optional: true },
} satisfies ValidationSchema<TransitionParams>;

export interface LateSuccessParams {
  tradeNo: string;
  channelRef?: string;
  source: "SENDER" | "QUERY" | "STATEMENT";
  note?: string;
}
export const lateSuccessParams = {
  $$strict: true,
  tradeNo: tradeNoRule,
  channelRef: { type: "string", max: 64, optional: true },
  source: { type: "enum", values: ["SENDER", "QUERY", "STATEMENT"] },
  note: { type: "string", max: 256, optional: true },
} satisfies ValidationSchema<LateSuccessParams>;

export interface CompleteStepParams {
  tradeNo: string;
  step: PendingStep;
}
export const completeStepParams = {
  $$strict: true,
  tradeNo: tradeNoRule,
  step: { type: "enum", values: ["FLOW", "APPLY", "COMMIT", "RELEASE", "LATE_COMMIT"] },
} satisfies ValidationSchema<CompleteStepParams>;

export interface NoteQueryParams {
  tradeNo: string;
  nextQueryAt?: string;
  needsReconciliation?: boolean;
}
export const noteQueryParams = {
  $$strict: true,
  tradeNo: tradeNoRule,
  nextQueryAt: { type: "string", max: 40, optional: true },
  needsReconciliation: { type: "boolean", optional: true },
} satisfies ValidationSchema<NoteQueryParams>;

export interface TradeNoParams {
  tradeNo: string;
}
export const tradeNoParams = { $$strict: true, tradeNo: tradeNoRule } satisfies ValidationSchema<TradeNoParams>;

export interface ListTradesParams extends PageParams {
  kind?: TradeKind;
  state?: TradeState;
  planId?: string;
  channel?: string;
  slotId?: string;
  runId?: string;
  payoutNo?: string;
  date?: string;
  needsReconciliation?: boolean;
}
export const listTradesParams = {
  $$strict: true,
  ...pageRules,
  kind: { type: "enum", values: ["DEBIT", "PAYOUT"], optional: true },
  state: { ...stateRule, optional: true },
  planId: optionalIdRule,
  channel: { type: "string", pattern: "^[A-Z0-9_]{1,16}$", optional: true },
  slotId: { type: "string", max: 32, optional: true },
  runId: { type: "string", max: 64, optional: true },
  payoutNo: optionalIdRule,
  date: optionalDateRule,
  needsReconciliation: { type: "boolean", optional: true, convert: true },
} satisfies ValidationSchema<ListTradesParams>;

export interface ListFlowsParams extends PageParams {
  kind?: TradeKind | "OFFLINE";
  channel?: string;
  planId?: string;
  funderId?: string;
  businessDate?: string;
}
export const listFlowsParams = {
  $$strict: true,
  ...pageRules,
  kind: { type: "enum", values: ["DEBIT", "PAYOUT", "OFFLINE"], optional: true },
  channel: { type: "string", pattern: "^[A-Z0-9_]{1,16}$", optional: true },
  planId: optionalIdRule,
  funderId: optionalIdRule,
  businessDate: optionalDateRule,
} satisfies ValidationSchema<ListFlowsParams>;

/** Money received outside a channel (offline repayment, prepayment, settlement): one flow per number. */
export interface RecordFlowParams {
  flowNo: string;
  amount: string;
  planId: string;
  partition?: number;
  funderId: string;
  businessDate: string;
  source: string;
  /** A credit-balance move (kind CREDIT): HOLD = surplus out of the owner's collections, APPLY = credit into an installment. */
  credit?: "HOLD" | "APPLY";
}
export const recordFlowParams = {
  $$strict: true,
  flowNo: { type: "string", pattern: "^[A-Za-z0-9_-]{4,64}$" },
  amount: amountRule,
  planId: idRule,
  partition: { type: "number", integer: true, min: 0, optional: true },
  funderId: idRule,
  businessDate: dateRule,
  source: { type: "string", max: 16 },
  credit: { type: "enum", values: ["HOLD", "APPLY"], optional: true },
} satisfies ValidationSchema<RecordFlowParams>;

/** Money in per owner for a business date (what a remittance pays out). */
export interface CollectedParams {
  businessDate: string;
  funderId?: string;
}
export const collectedParams = { $$strict: true, businessDate: dateRule, funderId: optionalIdRule } satisfies ValidationSchema<CollectedParams>;

export interface AdjustPositionParams {
  channel: string;
  amount: string;
  direction: "TOP_UP" | "WITHDRAW";
  reason: string;
  lowWatermark?: string;
}
export const adjustPositionParams = {
  $$strict: true,
  channel: { type: "string", pattern: "^[A-Z0-9_]{1,16}$" },
  amount: positiveAmountRule,
  direction: { type: "enum", values: ["TOP_UP", "WITHDRAW"] },
  reason: { type: "string", min: 3, max: 200 },
  lowWatermark: { ...amountRule, optional: true },
} satisfies ValidationSchema<AdjustPositionParams>;

/** A position's moves (its audit: payouts, top-ups, withdrawals), newest first. */
export interface PositionHistoryParams extends PageParams {
  channel: string;
}
export const positionHistoryParams = {
  $$strict: true,
  channel: { type: "string", pattern: "^[A-Z0-9_]{1,16}$" },
  ...pageRules,
} satisfies ValidationSchema<PositionHistoryParams>;

export interface PositionMoveParams {
  channel: string;
  tradeNo: string;
  amount: string;
}
export const positionMoveParams = {
  $$strict: true,
  channel: { type: "string", pattern: "^[A-Z0-9_]{1,16}$" },
  tradeNo: tradeNoRule,
  amount: amountRule,
} satisfies ValidationSchema<PositionMoveParams>;


/** Reconciliation (mesh only): a channel's trades of a business date, by trade number, a page at a time. */
export interface ReconTradesParams {
  channel: string;
  date: string;
  /** Trade numbers after this one (the last of the previous page). */
  after?: string;
  limit?: number;
}
export const reconTradesParams = {
  $$strict: true,
  channel: { type: "string", pattern: "^[A-Z0-9_]{1,16}$" },
  date: dateRule,
  after: { type: "string", max: 64, optional: true },
  limit: { type: "number", integer: true, min: 1, max: 10000, optional: true },
} satisfies ValidationSchema<ReconTradesParams>;
export type ReconTrade = Pick<Trade, "tradeNo" | "kind" | "state" | "amount" | "businessDate" | "planId" | "applied" | "channelRef">;
