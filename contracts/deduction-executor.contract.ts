/** deduction-executor: debit runs (代扣批次) and payouts (代付). */
import type { ValidationSchema } from "fastest-validator";
import { amountRule, idRule, optionalIdRule, pageRules, type PageParams } from "./common";

export interface CreateRunParams {
  bizType?: "LEASE" | "CONSUMER" | "SUPPLY_CHAIN";
  funderId?: string;
  productCode?: string;
  /** The slot's wall time (HH:mm, business zone); default: now. Trade numbers derive from it. */
  slotTime?: string;
  partitions?: number[];
}
export const createRunParams = {
  $$strict: true,
  bizType: { type: "enum", values: ["LEASE", "CONSUMER", "SUPPLY_CHAIN"], optional: true },
  funderId: optionalIdRule,
  productCode: optionalIdRule,
  slotTime: { type: "string", pattern: "^([01]\\d|2[0-3]):[0-5]\\d$", optional: true },
  partitions: { type: "array", optional: true, min: 1, max: 4096, items: { type: "number", integer: true, min: 0, max: 4095 } },
} satisfies ValidationSchema<CreateRunParams>;

export interface RunIdParams {
  runId: string;
}
export const runIdParams = { $$strict: true, runId: { type: "string", pattern: "^[A-Za-z0-9_-]{4,64}$" } } satisfies ValidationSchema<RunIdParams>;

export interface ListRunsParams extends PageParams {
  job?: string;
}
export const listRunsParams = { $$strict: true, ...pageRules, job: { type: "enum", values: ["debitSlot", "repair", "accrual", "daily", "reminderScan"], optional: true } } satisfies ValidationSchema<ListRunsParams>;

export interface CreatePayoutParams {
  payoutNo: string;
  amount: string;
  beneficiary: { accountNo: string; accountName: string; funderId?: string };
  purpose?: string;
}
export const createPayoutParams = {
  $$strict: true,
  payoutNo: idRule,
  amount: amountRule,
  beneficiary: {
    type: "object",
    strict: true,
    props: {
      accountNo: { type: "string", pattern: "^\\d{8,32}$", messages: { stringPattern: "'beneficiary.accountNo' must be 8-32 digits" } },
      accountName: { type: "string", min: 1, max: 64, trim: true },
      funderId: optionalIdRule,
    },
  },
  purpose: { type: "string", max: 200, optional: true },
} satisfies ValidationSchema<CreatePayoutParams>;

export interface PayoutNoParams {
  payoutNo: string;
}
export const payoutNoParams = { $$strict: true, payoutNo: idRule } satisfies ValidationSchema<PayoutNoParams>;

/** A run as stored and shown: progress per partition and totals. */
export interface RunRecord {
  _id: string;
  runId: string;
  job: string;
  trigger: "SCHEDULE" | "MANUAL";
  slotId?: string;
  scope?: { bizType?: string; funderId?: string; productCode?: string };
  status: "RUNNING" | "DONE" | "FAILED";
  partitions: Record<string, { status: string; processed: number; counters: Record<string, number>; error?: string; nodeId?: string }>;
  totals: Record<string, number>;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Bumped on every totals update (compare-and-set: progress arrives from several nodes). */
  version: number;
}
