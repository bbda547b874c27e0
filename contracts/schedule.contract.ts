/** schedule: repayment plans (还款计划), installments inside the plan document. */
import type { CreditEntry } from "../domain/credit";
import type { ValidationSchema } from "fastest-validator";
import { amountRule, dateRule, idRule, optionalAmountRule, optionalIdRule, pageRules, rateRule, type PageParams } from "./common";
import type { PlanInput, CustomLine } from "../domain/amortization";
import type { OutboxEntry } from "./events.contract";

export const BIZ_TYPES = ["LEASE", "CONSUMER", "SUPPLY_CHAIN"] as const;
export type BizType = (typeof BIZ_TYPES)[number];
export const METHODS = ["EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL", "INTEREST_FIRST", "BULLET", "LEASE_ANNUITY", "CUSTOM"] as const;

/** The schedule terms of an order: what `plans/preview` takes and `order-sync` forwards. */
export interface PlanTerms {
  principal: string;
  annualRate: string;
  term: number;
  termUnit?: "MONTH" | "DAY";
  repaymentMethod: PlanInput["repaymentMethod"];
  startDate: string;
  dueDay?: number;
  interestBasis?: "MONTHLY" | "DAILY";
  dayCount?: "ACT/360" | "ACT/365" | "30/360";
  leaseTiming?: "ADVANCE" | "ARREARS";
  residual?: string;
  fee?: string;
  customLines?: CustomLine[];
}

export const planTermsRules = {
  principal: amountRule,
  annualRate: rateRule,
  term: { type: "number", integer: true, min: 1, max: 3650 },
  termUnit: { type: "enum", values: ["MONTH", "DAY"], optional: true },
  repaymentMethod: { type: "enum", values: [...METHODS] },
  startDate: dateRule,
  dueDay: { type: "number", integer: true, min: 1, max: 31, optional: true },
  interestBasis: { type: "enum", values: ["MONTHLY", "DAILY"], optional: true },
  dayCount: { type: "enum", values: ["ACT/360", "ACT/365", "30/360"], optional: true },
  leaseTiming: { type: "enum", values: ["ADVANCE", "ARREARS"], optional: true },
  residual: optionalAmountRule,
  fee: optionalAmountRule,
  customLines: {
    type: "array",
    optional: true,
    min: 1,
    max: 600,
    items: {
      type: "object",
      strict: true,
      props: { dueDate: dateRule, principal: amountRule, interest: optionalAmountRule, fee: optionalAmountRule },
    },
  },
} as const satisfies ValidationSchema<PlanTerms>;

export type PreviewParams = PlanTerms;
export const previewParams = { $$strict: true, ...planTermsRules } satisfies ValidationSchema<PreviewParams>;

/** Whose plan it is: the order it came from, the business, the funder, the borrower. */
export interface PlanOwner {
  planId: string;
  orderId: string;
  source: string;
  orderNo: string;
  bizType: BizType;
  funderId: string;
  productCode: string;
  customerId: string;
  bindingId?: string;
}

export interface CreatePlanParams extends PlanTerms, PlanOwner {}
export const createPlanParams = {
  $$strict: true,
  ...planTermsRules,
  planId: idRule,
  orderId: idRule,
  source: idRule,
  orderNo: idRule,
  bizType: { type: "enum", values: [...BIZ_TYPES] },
  funderId: idRule,
  productCode: idRule,
  customerId: idRule,
  bindingId: optionalIdRule,
} satisfies ValidationSchema<CreatePlanParams>;

export interface GetPlanParams {
  planId: string;
}
export const getPlanParams = { $$strict: true, planId: idRule } satisfies ValidationSchema<GetPlanParams>;

export interface ListPlansParams extends PageParams {
  funderId?: string;
  productCode?: string;
  bizType?: BizType;
  customerId?: string;
  status?: PlanStatus;
  partition?: number;
  source?: string;
}
export const listPlansParams = {
  $$strict: true,
  ...pageRules,
  funderId: optionalIdRule,
  productCode: optionalIdRule,
  bizType: { type: "enum", values: [...BIZ_TYPES], optional: true },
  customerId: optionalIdRule,
  status: { type: "enum", values: ["ACTIVE", "SETTLED", "PAUSED", "CANCELLED"], optional: true },
  partition: { type: "number", integer: true, min: 0, max: 4095, optional: true, convert: true },
  source: optionalIdRule,
} satisfies ValidationSchema<ListPlansParams>;

export type PlanStatus = "ACTIVE" | "SETTLED" | "PAUSED" | "CANCELLED";
export type InstallmentStatus = "PENDING" | "PARTIALLY_PAID" | "PAID" | "OVERDUE";

/** An installment (期次) as stored inside the plan and returned by the API. */
export interface Installment {
  period: number;
  startDate: string;
  dueDate: string;
  days: number;
  principal: string;
  interest: string;
  fee: string;
  penalty: string;
  total: string;
  paidPrincipal: string;
  paidInterest: string;
  paidFee: string;
  paidPenalty: string;
  paidTotal: string;
  outstanding: string;
  status: InstallmentStatus;
  // ---- overdue-fee state (domain/fees.ts; absent = defaults) ----
  /** The late-fee (滞纳金) part of `fee`, after waivers. */
  lateFee?: string;
  /** Penalty ever accrued, waivers not deducted (caps count it). */
  accruedPenalty?: string;
  /** Late fee ever accrued, waivers not deducted. */
  accruedLateFee?: string;
  chargingStarted?: boolean;
  /** Fully waived: no more accrual. */
  waived?: boolean;
  /** Fees paused (e.g. under a rescheduling or a dispute): no accrual. */
  feesPaused?: boolean;
  /** Closed by an early settlement: no accrual. */
  settled?: boolean;
  /** Last business date accrued (inclusive): accrual is idempotent per (installment, date). */
  accruedThrough?: string;
  /** Days overdue as of `accruedThrough` (0 when paid or not yet due). */
  daysOverdue?: number;
  /** Aging bucket (M1, M2, M3+…) by the FEE rule, null when not overdue. */
  aging?: string | null;
  /** Waived so far (减免), for display. */
  waivedPenalty?: string;
  waivedFee?: string;
}

/** One owner (资产方) of the plan's receivables from a business date on (asset transfer, flow 6). */
export interface PlanOwnerEntry {
  funderId: string;
  /** First business date this owner is in force. */
  from: string;
  transferNo?: string;
  priceRatio?: string;
}

/** An audited manual operation on a plan (pause, resume, waiver, reschedule, settlement, transfer…). */
export interface PlanEvent {
  at: string;
  by: string;
  action: string;
  ref?: string;
  reason?: string;
  details?: Record<string, unknown>;
}

/** A settlement (提前结清) asked for and waiting for its money (debit or offline). */
export interface PendingSettlement {
  settlementNo: string;
  /** Business date the quote is for; the debit is attempted on it; expires after it. */
  date: string;
  amount: string;
  method: "DEBIT" | "OFFLINE";
  quote: Record<string, unknown>;
  requestedAt: string;
  by: string;
}

/** A ledger flow a plan's change implies (money in outside a channel, or a credit-balance move; ledger.recordFlow). */
export interface FlowSpec {
  flowNo: string;
  amount: string;
  funderId: string;
  businessDate: string;
  source: string;
  credit?: "HOLD" | "APPLY";
}

export interface Plan extends PlanOwner {
  _id: string;
  partition: number;
  terms: PlanTerms;
  status: PlanStatus;
  installments: Installment[];
  totals: { principal: string; interest: string; fee: string; total: string };
  /** Due date of the first installment not yet paid (null when all are paid): the index due work uses. */
  nextDueDate: string | null;
  /** Repayments applied, by trade number: applying the same trade twice is a no-op. */
  appliedTrades: Record<string, { amount: string; applied: string; surplus: string; at: string; source: string; funderId?: string; creditFlow?: FlowSpec }>;
  /** The borrower's money the plan holds (overpayments; domain/credit.ts): never remitted to a funder. */
  creditBalance?: string;
  /** Movements of the credit balance, newest last (bounded). */
  credits?: CreditEntry[];
  /** creditBalance > 0 (an index the accrual job finds plans with credit to apply by). */
  creditHeld?: boolean;
  /** Owners by date, oldest first; `funderId` is the owner in force today (absent on old plans = [funderId from start]). */
  owners?: PlanOwnerEntry[];
  /** Idempotency of manual operations: operation number → result summary. */
  operations?: Record<string, { kind: string; at: string; result?: Record<string, unknown> }>;
  /** Debits paused (collection): reason, until (inclusive; resumes after it), who. */
  pause?: { reason: string; until?: string; by: string; at: string };
  pendingSettlement?: PendingSettlement;
  settledAt?: string;
  /** Structure revision: +1 on each reschedule/prepayment/settlement; earlier ones are in planRevisions. */
  revision?: number;
  /** Audit trail of manual operations. */
  events?: PlanEvent[];
  /** Events recorded with the last changes and not yet published (the outbox; see mixins/messaging). */
  outbox?: OutboxEntry[];
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** Event `plan.generated`. */
export interface PlanGeneratedEvent {
  planId: string;
  orderId: string;
  partition: number;
  funderId: string;
  installments: number;
  total: string;
}

export interface DueWorkParams {
  partition: number;
  asOf: string;
  limit?: number;
  afterPlanId?: string;
}
export const dueWorkParams = {
  $$strict: true,
  partition: { type: "number", integer: true, min: 0, max: 4095 },
  asOf: dateRule,
  limit: { type: "number", integer: true, min: 1, max: 10000, optional: true },
  afterPlanId: optionalIdRule,
} satisfies ValidationSchema<DueWorkParams>;

/** What "collect this plan now" debits: what is due as of a date, or a given amount up to what is owed. */
export interface CollectScopeParams {
  planId: string;
  asOf: string;
  amount?: string;
}
export const collectScopeParams = {
  $$strict: true,
  planId: idRule,
  asOf: dateRule,
  amount: { ...optionalAmountRule },
} satisfies ValidationSchema<CollectScopeParams>;

/** One plan with money due: what a debit slot works on. */
export interface DueItem {
  planId: string;
  partition: number;
  bizType: BizType;
  funderId: string;
  productCode: string;
  customerId: string;
  bindingId?: string;
  periods: number[];
  amount: string;
}

export interface ApplyRepaymentParams {
  planId: string;
  tradeNo: string;
  amount: string;
  /** Where the money came from: DEBIT (a channel trade), OFFLINE… */
  source?: string;
}
export const applyRepaymentParams = {
  $$strict: true,
  planId: idRule,
  tradeNo: { type: "string", pattern: "^[A-Za-z0-9_-]{4,64}$" },
  amount: amountRule,
  source: { type: "string", max: 16, optional: true },
} satisfies ValidationSchema<ApplyRepaymentParams>;
