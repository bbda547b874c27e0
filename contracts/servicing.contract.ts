/**
 * Servicing a plan (flows 5–7): overdue accrual, waivers, pause/resume, offline repayments,
 * rescheduling, prepayment, settlement, owners. Actions of `schedule` and `fee-calculator`.
 * Every write carries an operation number the caller chooses: a replay returns the first result, the
 * same number with other content is OPERATION_CONFLICT.
 */
import type { ValidationSchema } from "fastest-validator";
import { amountRule, dateRule, idRule, optionalAmountRule, optionalDateRule, optionalIdRule, pageRules, type PageParams } from "./common";
import { BIZ_TYPES, type BizType } from "./schedule.contract";
import { PRICE_RATIO_PATTERN } from "./asset-transfer.contract";

const opNo = { type: "string", pattern: "^[A-Za-z0-9_-]{4,48}$", messages: { stringPattern: "'{field}' must be 4-48 letters, digits, _ or -" } } as const;
const reason = { type: "string", min: 2, max: 200, trim: true } as const;
/** In bodies: a JSON integer, never coerced (`true` or `[1]` are refused). */
const period = { type: "number", integer: true, min: 1, max: 3650 } as const;

export interface AccrueParams {
  planId: string;
  /** Accrue through this business date (default today; never after today). */
  asOf?: string;
}
export const accrueParams = { $$strict: true, planId: idRule, asOf: optionalDateRule } satisfies ValidationSchema<AccrueParams>;

export interface CandidatesParams {
  partition: number;
  asOf: string;
  limit?: number;
  afterPlanId?: string;
}
export const candidatesParams = {
  $$strict: true,
  partition: { type: "number", integer: true, min: 0, max: 4095 },
  asOf: dateRule,
  limit: { type: "number", integer: true, min: 1, max: 10000, optional: true },
  afterPlanId: optionalIdRule,
} satisfies ValidationSchema<CandidatesParams>;

export interface ReminderWorkParams {
  partition: number;
  asOf: string;
  /** Include installments due up to this many days after asOf (BEFORE_DUE reminders). */
  horizonDays: number;
  limit?: number;
  afterPlanId?: string;
}
export const reminderWorkParams = {
  $$strict: true,
  partition: { type: "number", integer: true, min: 0, max: 4095 },
  asOf: dateRule,
  horizonDays: { type: "number", integer: true, min: 0, max: 366 },
  limit: { type: "number", integer: true, min: 1, max: 10000, optional: true },
  afterPlanId: optionalIdRule,
} satisfies ValidationSchema<ReminderWorkParams>;

/** One plan as the reminder scan sees it: unpaid installments only. */
export interface ReminderItem {
  planId: string;
  orderId: string;
  partition: number;
  customerId: string;
  bizType: string;
  funderId: string;
  productCode: string;
  status: string;
  installments: Array<{ period: number; dueDate: string; outstanding: string; status: string; daysOverdue: number }>;
}

export const AGING_FILTER = { type: "string", pattern: "^[A-Za-z0-9+_-]{1,16}$", optional: true } as const;
export interface OverdueListParams extends PageParams {
  funderId?: string;
  productCode?: string;
  bizType?: BizType;
  bucket?: string;
  minDays?: number;
  maxDays?: number;
  minAmount?: string;
  maxAmount?: string;
  paused?: boolean;
}
export const overdueListParams = {
  $$strict: true,
  ...pageRules,
  funderId: optionalIdRule,
  productCode: optionalIdRule,
  bizType: { type: "enum", values: [...BIZ_TYPES], optional: true },
  bucket: AGING_FILTER,
  minDays: { type: "number", integer: true, min: 0, max: 100000, optional: true, convert: true },
  maxDays: { type: "number", integer: true, min: 0, max: 100000, optional: true, convert: true },
  minAmount: optionalAmountRule,
  maxAmount: optionalAmountRule,
  paused: { type: "boolean", optional: true, convert: true },
} satisfies ValidationSchema<OverdueListParams>;

/** A row of the overdue list (催收 list). */
export interface OverdueRow {
  planId: string;
  orderNo: string;
  funderId: string;
  productCode: string;
  bizType: string;
  customerId: string;
  status: string;
  overdueSince: string;
  overdueDays: number;
  overdueAmount: string;
  overduePenalty: string;
  overduePeriods: number[];
  aging: string | null;
  paused: boolean;
}

export interface PauseParams {
  planId: string;
  reason: string;
  /** Last business date of the pause (inclusive); absent = until resumed by hand. */
  until?: string;
}
export const pauseParams = { $$strict: true, planId: idRule, reason, until: optionalDateRule } satisfies ValidationSchema<PauseParams>;

export interface ResumeParams {
  planId: string;
  reason: string;
}
export const resumeParams = { $$strict: true, planId: idRule, reason } satisfies ValidationSchema<ResumeParams>;

export interface OfflineRepaymentParams {
  planId: string;
  repaymentNo: string;
  amount: string;
  /** Business date the money arrived (default today; not in the future). */
  paidOn?: string;
  note?: string;
  /** Accept an amount above what the plan owes; the difference goes to the plan's credit balance. */
  allowOverpayment?: boolean;
}
export const offlineRepaymentParams = {
  $$strict: true,
  planId: idRule,
  repaymentNo: opNo,
  amount: amountRule,
  paidOn: optionalDateRule,
  note: { type: "string", max: 200, optional: true },
  allowOverpayment: { type: "boolean", optional: true },
} satisfies ValidationSchema<OfflineRepaymentParams>;

export interface WaiverParams {
  planId: string;
  waiverNo: string;
  period: number;
  /** Amount of unpaid penalty to waive. */
  penalty?: string;
  /** Amount of unpaid fee to waive (late fee first). */
  fee?: string;
  /** Waive everything unpaid in penalty and late fee and stop accruing on this installment. */
  full?: boolean;
  reason: string;
}
export const waiverParams = {
  $$strict: true,
  planId: idRule,
  waiverNo: opNo,
  period,
  penalty: optionalAmountRule,
  fee: optionalAmountRule,
  full: { type: "boolean", optional: true },
  reason,
} satisfies ValidationSchema<WaiverParams>;

export interface FeesPauseParams {
  planId: string;
  period: number;
  paused: boolean;
  reason: string;
}
export const feesPauseParams = { $$strict: true, planId: idRule, period, paused: { type: "boolean" }, reason } satisfies ValidationSchema<FeesPauseParams>;

export interface RescheduleParams {
  planId: string;
  rescheduleNo: string;
  type: "DEFER" | "EXTEND";
  /** DEFER by days or by periods (one of them). */
  days?: number;
  periods?: number;
  /** DEFER from this period on (default: the first unpaid). */
  fromPeriod?: number;
  /** EXTEND by this many periods. */
  extraPeriods?: number;
  /** Charge the SERVICING rule's reschedule fee (default true). */
  chargeFee?: boolean;
  reason: string;
}
export const rescheduleParams = {
  $$strict: true,
  planId: idRule,
  rescheduleNo: opNo,
  type: { type: "enum", values: ["DEFER", "EXTEND"] },
  days: { type: "number", integer: true, min: 1, max: 3650, optional: true },
  periods: { type: "number", integer: true, min: 1, max: 600, optional: true },
  fromPeriod: { ...period, optional: true },
  extraPeriods: { type: "number", integer: true, min: 1, max: 600, optional: true },
  chargeFee: { type: "boolean", optional: true },
  reason,
} satisfies ValidationSchema<RescheduleParams>;

export interface PrepaymentQuoteParams {
  planId: string;
  principal: string;
}
export const prepaymentQuoteParams = { $$strict: true, planId: idRule, principal: amountRule } satisfies ValidationSchema<PrepaymentQuoteParams>;

export interface PrepaymentParams {
  planId: string;
  prepaymentNo: string;
  /** Principal to prepay. */
  principal: string;
  /** Money received: must equal the quote (due now + principal + prepayment fee). */
  amount: string;
  mode: "KEEP_TERM" | "KEEP_PAYMENT";
  reason?: string;
}
export const prepaymentParams = {
  $$strict: true,
  planId: idRule,
  prepaymentNo: opNo,
  principal: amountRule,
  amount: amountRule,
  mode: { type: "enum", values: ["KEEP_TERM", "KEEP_PAYMENT"] },
  reason: { ...reason, optional: true },
} satisfies ValidationSchema<PrepaymentParams>;

export interface SettlementQuoteParams {
  planId: string;
  /** Business date of the settlement (default today; not in the past). */
  date?: string;
}
export const settlementQuoteParams = { $$strict: true, planId: idRule, date: optionalDateRule } satisfies ValidationSchema<SettlementQuoteParams>;

export interface SettleParams {
  planId: string;
  settlementNo: string;
  /** DEBIT: collected by the debit machinery on `date`; OFFLINE: the money is in, `amount` given. */
  method: "DEBIT" | "OFFLINE";
  date?: string;
  amount?: string;
  reason?: string;
}
export const settleParams = {
  $$strict: true,
  planId: idRule,
  settlementNo: opNo,
  method: { type: "enum", values: ["DEBIT", "OFFLINE"] },
  date: optionalDateRule,
  amount: optionalAmountRule,
  reason: { ...reason, optional: true },
} satisfies ValidationSchema<SettleParams>;

export interface CancelSettlementParams {
  planId: string;
  settlementNo: string;
  reason: string;
}
export const cancelSettlementParams = { $$strict: true, planId: idRule, settlementNo: opNo, reason } satisfies ValidationSchema<CancelSettlementParams>;

export interface AddOwnerParams {
  planId: string;
  transferNo: string;
  toFunderId: string;
  from: string;
  priceRatio: string;
  /** The owner the transfer was asked from: refused if the plan's owner on `from` is another. */
  fromFunderId?: string;
}
export const addOwnerParams = {
  $$strict: true,
  planId: idRule,
  transferNo: opNo,
  toFunderId: idRule,
  from: dateRule,
  priceRatio: { type: "string", pattern: PRICE_RATIO_PATTERN },
  fromFunderId: optionalIdRule,
} satisfies ValidationSchema<AddOwnerParams>;

export interface RemoveOwnerParams {
  planId: string;
  transferNo: string;
}
export const removeOwnerParams = { $$strict: true, planId: idRule, transferNo: opNo } satisfies ValidationSchema<RemoveOwnerParams>;

export interface PlanIdParams {
  planId: string;
}
export const planIdParams = { $$strict: true, planId: idRule } satisfies ValidationSchema<PlanIdParams>;

export interface AccrualRunParams {
  partitions?: number[];
}
export const accrualRunParams = {
  $$strict: true,
  partitions: { type: "array", optional: true, min: 1, max: 4096, items: { type: "number", integer: true, min: 0, max: 4095 } },
} satisfies ValidationSchema<AccrualRunParams>;

