/** asset-transfer: transfers of plans' receivables to another funder, funders' accounts, remittances. */
import type { ValidationSchema } from "fastest-validator";
import { dateRule, idRule, optionalDateRule, optionalIdRule, pageRules, type PageParams } from "./common";

const transferNo = { type: "string", pattern: "^[A-Za-z0-9_-]{4,48}$", messages: { stringPattern: "'{field}' must be 4-48 letters, digits, _ or -" } } as const;
/** A price ratio: > 0, up to 6 decimals, e.g. "0.95" (a discount) or "1.02" (a premium). */
export const PRICE_RATIO_PATTERN = "^\\d{1,2}(\\.\\d{1,6})?$";

export interface CreateTransferParams {
  transferNo: string;
  planIds: string[];
  toFunderId: string;
  effectiveDate: string;
  priceRatio: string;
  reason?: string;
}
export const createTransferParams = {
  $$strict: true,
  transferNo,
  planIds: { type: "array", min: 1, max: 1000, unique: true, items: idRule },
  toFunderId: idRule,
  effectiveDate: dateRule,
  priceRatio: { type: "string", pattern: PRICE_RATIO_PATTERN, messages: { stringPattern: "'priceRatio' must be a positive decimal like 0.95" } },
  reason: { type: "string", max: 200, optional: true },
} satisfies ValidationSchema<CreateTransferParams>;

export interface TransferNoParams {
  transferNo: string;
}
export const transferNoParams = { $$strict: true, transferNo } satisfies ValidationSchema<TransferNoParams>;

export interface CancelTransferParams {
  transferNo: string;
  reason: string;
}
export const cancelTransferParams = { $$strict: true, transferNo, reason: { type: "string", min: 2, max: 200, trim: true } } satisfies ValidationSchema<CancelTransferParams>;

export interface ListTransfersParams extends PageParams {
  status?: TransferStatus;
  toFunderId?: string;
}
export const listTransfersParams = {
  $$strict: true,
  ...pageRules,
  status: { type: "enum", values: ["SCHEDULED", "EFFECTIVE", "CANCELLED"], optional: true },
  toFunderId: optionalIdRule,
} satisfies ValidationSchema<ListTransfersParams>;

export type TransferStatus = "SCHEDULED" | "EFFECTIVE" | "CANCELLED";

export interface TransferPlan {
  planId: string;
  fromFunderId: string;
  status: "PENDING" | "ADDED" | "EFFECTIVE" | "REMOVED";
  remainingPrincipal?: string;
  price?: string;
}

export interface Transfer {
  _id: string;
  transferNo: string;
  toFunderId: string;
  effectiveDate: string;
  priceRatio: string;
  status: TransferStatus;
  plans: TransferPlan[];
  totals: { plans: number; remainingPrincipal: string; price: string };
  reason?: string;
  fingerprint: string;
  by: string;
  history: Array<{ at: string; by: string; action: string; reason?: string }>;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface PutFunderParams {
  funderId: string;
  name: string;
  accountNo: string;
  accountName: string;
}
export const putFunderParams = {
  $$strict: true,
  funderId: idRule,
  name: { type: "string", min: 1, max: 64, trim: true },
  accountNo: { type: "string", pattern: "^\\d{8,32}$", messages: { stringPattern: "'accountNo' must be 8-32 digits" } },
  accountName: { type: "string", min: 1, max: 64, trim: true },
} satisfies ValidationSchema<PutFunderParams>;

export interface RemittanceRunParams {
  /** Business date whose collections are paid out (default yesterday; not today or later). */
  date?: string;
}
export const remittanceRunParams = { $$strict: true, date: optionalDateRule } satisfies ValidationSchema<RemittanceRunParams>;

export interface ListRemittancesParams extends PageParams {
  date?: string;
  funderId?: string;
}
export const listRemittancesParams = { $$strict: true, ...pageRules, date: optionalDateRule, funderId: optionalIdRule } satisfies ValidationSchema<ListRemittancesParams>;

/** What each owner was paid for a business date's collections. Unique per (date, funder). */
export interface Remittance {
  _id: string;
  remittanceNo: string;
  date: string;
  funderId: string;
  amount: string;
  flows: number;
  /** PAID: payout succeeded; SENT: in flight; HELD: no account registered; FAILED: retried on the next run. */
  status: "PENDING" | "SENT" | "PAID" | "HELD" | "FAILED";
  /** The payout that pays it (the remittance number, or `-R<n>` after a payout that failed). */
  payoutNo?: string;
  payoutStatus?: string;
  error?: string;
  attempts: number;
  createdAt: string;
  updatedAt: string;
}

export { dateRule };
