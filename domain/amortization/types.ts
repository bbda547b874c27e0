/** Public types of plan generation. The semantics are documented in ./index.ts. */
import type { DayCount } from "../calendar";

export type { DayCount } from "../calendar";

export type RepaymentMethod = "EQUAL_INSTALLMENT" | "EQUAL_PRINCIPAL" | "INTEREST_FIRST" | "BULLET" | "LEASE_ANNUITY" | "CUSTOM";

export const REPAYMENT_METHODS: readonly RepaymentMethod[] = Object.freeze([
  "EQUAL_INSTALLMENT", // 等额本息 (annuity)
  "EQUAL_PRINCIPAL", // 等额本金
  "INTEREST_FIRST", // 先息后本
  "BULLET", // 到期一次还本付息
  "LEASE_ANNUITY", // 融资租赁租金 (先付 / 后付, optional residual)
  "CUSTOM", // lines given by the caller
] as RepaymentMethod[]);

export type TermUnit = "MONTH" | "DAY";
export type InterestBasis = "MONTHLY" | "DAILY";
export type LeaseTiming = "ADVANCE" | "ARREARS";

export interface CustomLine {
  dueDate: string;
  principal: string;
  interest?: string;
  fee?: string;
}

export interface PlanInput {
  /** Decimal string, > 0, at most 2 decimals. */
  principal: string;
  /** Decimal string in [0, 1): "0.12" = 12 %. */
  annualRate: string;
  /** Periods (months), 1..600; days when termUnit is DAY, 1..3650. CUSTOM: the number of lines. */
  term: number;
  /** DAY only with BULLET (supply-chain bills). Default MONTH. */
  termUnit?: TermUnit;
  repaymentMethod: RepaymentMethod;
  /** YYYY-MM-DD, the loan value date. */
  startDate: string;
  /** 1..31, default the start date's day; clamped to month end. */
  dueDay?: number;
  /** Default MONTHLY: periodic rate = annualRate / 12. */
  interestBasis?: InterestBasis;
  /** Default ACT/360: used with DAILY basis, DAY-term bullets and irregular first periods. */
  dayCount?: DayCount;
  /** LEASE_ANNUITY only, default ARREARS. */
  leaseTiming?: LeaseTiming;
  /** LEASE_ANNUITY only: residual / balloon, >= 0 and < principal. */
  residual?: string;
  /** Flat service fee per period, added to each line's fee. Default 0. */
  fee?: string;
  /** CUSTOM only (and required there). */
  customLines?: CustomLine[];
}

export interface ScheduleLine {
  period: number;
  startDate: string;
  dueDate: string;
  /** Calendar days from startDate to dueDate (whatever day count the interest used). */
  days: number;
  openingPrincipal: string;
  principal: string;
  interest: string;
  fee: string;
  total: string;
  closingPrincipal: string;
}

export interface Schedule {
  lines: ScheduleLine[];
  totalPrincipal: string;
  totalInterest: string;
  totalFee: string;
  total: string;
  /** The level payment: EQUAL_INSTALLMENT's installment, LEASE_ANNUITY's rent (without fee). */
  periodicPayment?: string;
}
