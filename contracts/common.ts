/** Shared validation rules (fastest-validator) for every contract. */
import { AMOUNT_PATTERN, RATE_PATTERN } from "../domain/money";
import { isValidDate } from "../domain/calendar";

export const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** A money amount on the wire: decimal string, at most 2 decimals (the service checks > 0). */
export const amountRule = { type: "string", pattern: AMOUNT_PATTERN.source, messages: { stringPattern: "'{field}' must be a decimal string with at most 2 decimals" } } as const;
export const optionalAmountRule = { ...amountRule, optional: true } as const;
/** An amount that must be above zero (a top-up, a payout, a repayment). */
export const positiveAmountRule = {
  ...amountRule,
  custom: (value: unknown, errors: Array<{ type: string; actual?: unknown }>) => {
    if (typeof value === "string" && AMOUNT_PATTERN.test(value) && /^0(\.0{1,2})?$/.test(value)) errors.push({ type: "amountPositive", actual: value });
    return value;
  },
  messages: { ...amountRule.messages, amountPositive: "'{field}' must be above zero" },
} as const;
export const rateRule = { type: "string", pattern: RATE_PATTERN.source, messages: { stringPattern: "'{field}' must be a decimal string in [0, 1)" } } as const;
/** A real calendar date 'YYYY-MM-DD' (2026-02-30, 2026-13-01 and 0000-00-00 are refused), one rule for every contract. */
export const dateRule = {
  type: "string",
  pattern: DATE_PATTERN.source,
  custom: (value: unknown, errors: Array<{ type: string; actual?: unknown }>) => {
    if (typeof value === "string" && DATE_PATTERN.test(value) && !isValidDate(value)) errors.push({ type: "dateCalendar", actual: value });
    return value;
  },
  messages: { stringPattern: "'{field}' must be a date YYYY-MM-DD", dateCalendar: "'{field}' must be a real calendar date YYYY-MM-DD" },
} as const;
export const optionalDateRule = { ...dateRule, optional: true } as const;
export const idRule = { type: "string", pattern: "^[A-Za-z0-9_.:-]{1,64}$", messages: { stringPattern: "'{field}' must be 1-64 letters, digits or _ . : -" } } as const;
export const optionalIdRule = { ...idRule, optional: true } as const;

/** Pagination for list endpoints; query strings arrive as text, hence `convert`. */
export const pageRules = {
  page: { type: "number", integer: true, min: 1, max: 1_000_000, optional: true, convert: true },
  pageSize: { type: "number", integer: true, min: 1, max: 500, optional: true, convert: true },
} as const;

export interface PageParams {
  page?: number;
  pageSize?: number;
}

export interface Page<T> {
  rows: T[];
  total: number;
  page: number;
  pageSize: number;
  totalPages: number;
}

export function pageWindow(p: PageParams): { page: number; pageSize: number; skip: number } {
  const page = p.page ?? 1;
  const pageSize = p.pageSize ?? 20;
  return { page, pageSize, skip: (page - 1) * pageSize };
}

/** Action metadata for the OpenAPI document (read by the api service). */
export interface ActionDoc {
  summary: string;
  description?: string;
  tags?: string[];
  /** The role needed over REST; reads default to viewer, writes to ops. */
  role?: "admin" | "ops" | "viewer";
}
