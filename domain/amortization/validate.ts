/**
 * Plan input validation: every rule documented in ./index.ts, each failure a DomainError with a
 * code and data.field. Returns the input parsed once (big.js values, integer dates) so that
 * generation does not parse twice.
 */
import { civilToDayNumber, isDayCount, toCivil, type DayCount } from "../calendar";
import { DomainError } from "../errors";
import { Dec, parseAmount, parseRate, ZERO, type Decimal } from "../money";
import { REPAYMENT_METHODS, type InterestBasis, type LeaseTiming, type PlanInput, type RepaymentMethod, type TermUnit } from "./types";

export const MAX_MONTH_TERM = 600;
export const MAX_DAY_TERM = 3650;
export const MAX_CUSTOM_LINES = 600;
const LAST_DAY_NUMBER = civilToDayNumber(9999, 12, 31);
const TWELVE = Dec("12");

export interface NormalizedCustomLine {
  dueDate: string;
  dueDayNo: number;
  principal: Decimal;
  interest: Decimal;
  fee: Decimal;
}

export interface NormalizedPlan {
  method: RepaymentMethod;
  principal: Decimal;
  /** The annual rate. */
  rate: Decimal;
  /** Canonical text of the rate (cache key). */
  rateKey: string;
  term: number;
  termUnit: TermUnit;
  startDate: string;
  startYear: number;
  startMonth: number;
  startDay: number;
  startDayNo: number;
  dueDay: number;
  interestBasis: InterestBasis;
  dayCount: DayCount;
  leaseTiming: LeaseTiming;
  residual: Decimal;
  fee: Decimal;
  customLines: NormalizedCustomLine[];
}

function fail(code: ConstructorParameters<typeof DomainError>[0], field: string, message: string): never {
  throw new DomainError(code, message, { field });
}

/** undefined and null both mean "not given" (JSON callers send null). */
function absent(v: unknown): v is undefined | null {
  return v === undefined || v === null;
}

const isMethod = (m: unknown): m is RepaymentMethod => typeof m === "string" && (REPAYMENT_METHODS as readonly string[]).includes(m);

export function normalizePlanInput(input: PlanInput): NormalizedPlan {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    fail("VALIDATION_ERROR", "input", "Plan input must be an object");
  }
  const method = input.repaymentMethod;
  if (!isMethod(method)) {
    throw new DomainError("UNSUPPORTED_METHOD", `Unsupported repayment method: ${String(method)}`, { field: "repaymentMethod", value: String(method) });
  }
  const principal = parseAmount(input.principal, "principal");
  const rate = parseRate(input.annualRate, "annualRate");

  // Term and its unit.
  let termUnit: TermUnit = "MONTH";
  if (!absent(input.termUnit)) {
    if (input.termUnit !== "MONTH" && input.termUnit !== "DAY") fail("INVALID_TERM", "termUnit", "termUnit must be MONTH or DAY");
    termUnit = input.termUnit;
  }
  if (termUnit === "DAY" && method !== "BULLET") fail("INVALID_TERM", "termUnit", "termUnit DAY is only valid with BULLET");
  const term = input.term;
  const maxTerm = termUnit === "DAY" ? MAX_DAY_TERM : MAX_MONTH_TERM;
  if (typeof term !== "number" || !Number.isInteger(term) || term < 1 || term > maxTerm) {
    fail("INVALID_TERM", "term", `term must be an integer 1..${maxTerm}${termUnit === "DAY" ? " (days)" : ""}`);
  }

  // Dates.
  const start = toCivil(input.startDate, "startDate");
  const startDayNo = civilToDayNumber(start.year, start.month, start.day);
  let dueDay = start.day;
  if (!absent(input.dueDay)) {
    if (method === "CUSTOM" || termUnit === "DAY") fail("VALIDATION_ERROR", "dueDay", "dueDay does not apply to CUSTOM plans or DAY terms");
    if (typeof input.dueDay !== "number" || !Number.isInteger(input.dueDay) || input.dueDay < 1 || input.dueDay > 31) {
      fail("INVALID_DATE", "dueDay", "dueDay must be an integer 1..31");
    }
    dueDay = input.dueDay;
  }
  if (termUnit === "DAY") {
    if (startDayNo + term > LAST_DAY_NUMBER) fail("INVALID_DATE", "startDate", "The plan would end after 9999-12-31");
  } else if (method !== "CUSTOM" && start.year * 12 + start.month - 1 + term > 9999 * 12 + 11) {
    fail("INVALID_DATE", "startDate", "The plan would end after 9999-12-31");
  }

  // Interest conventions.
  let interestBasis: InterestBasis = termUnit === "DAY" ? "DAILY" : "MONTHLY";
  if (!absent(input.interestBasis)) {
    if (input.interestBasis !== "MONTHLY" && input.interestBasis !== "DAILY") fail("VALIDATION_ERROR", "interestBasis", "interestBasis must be MONTHLY or DAILY");
    if (method === "CUSTOM") fail("VALIDATION_ERROR", "interestBasis", "interestBasis does not apply to CUSTOM plans");
    if (termUnit === "DAY" && input.interestBasis === "MONTHLY") fail("VALIDATION_ERROR", "interestBasis", "A DAY-term bullet accrues daily interest");
    interestBasis = input.interestBasis;
  }
  let dayCount: DayCount = "ACT/360";
  if (!absent(input.dayCount)) {
    if (!isDayCount(input.dayCount)) fail("VALIDATION_ERROR", "dayCount", "dayCount must be ACT/360, ACT/365 or 30/360");
    if (method === "CUSTOM") fail("VALIDATION_ERROR", "dayCount", "dayCount does not apply to CUSTOM plans");
    dayCount = input.dayCount;
  }

  // Lease options.
  let leaseTiming: LeaseTiming = "ARREARS";
  if (!absent(input.leaseTiming)) {
    if (method !== "LEASE_ANNUITY") fail("VALIDATION_ERROR", "leaseTiming", "leaseTiming is only valid with LEASE_ANNUITY");
    if (input.leaseTiming !== "ADVANCE" && input.leaseTiming !== "ARREARS") fail("VALIDATION_ERROR", "leaseTiming", "leaseTiming must be ADVANCE or ARREARS");
    leaseTiming = input.leaseTiming;
  }
  let residual = ZERO;
  if (!absent(input.residual)) {
    if (method !== "LEASE_ANNUITY") fail("VALIDATION_ERROR", "residual", "residual is only valid with LEASE_ANNUITY");
    residual = parseAmount(input.residual, "residual", { allowZero: true });
    if (residual.gte(principal)) fail("INVALID_AMOUNT", "residual", "residual must be less than principal");
    // Rents in advance: above P/(1+r) the rents could not even cover the interest (the balance would
    // grow), so the residual would not be paid as stated. residual·(12 + a) > 12·P ⇔ residual > P/(1 + a/12).
    if (leaseTiming === "ADVANCE" && residual.times(TWELVE.plus(rate)).gt(principal.times(TWELVE))) {
      fail("INVALID_AMOUNT", "residual", "With rents in advance the residual must not exceed principal / (1 + annualRate/12)");
    }
  }

  const fee = absent(input.fee) ? ZERO : parseAmount(input.fee, "fee", { allowZero: true });

  // Custom lines.
  let customLines: NormalizedCustomLine[] = [];
  if (method === "CUSTOM") {
    customLines = normalizeCustomLines(input, principal, fee, startDayNo, term);
  } else if (!absent(input.customLines)) {
    fail("VALIDATION_ERROR", "customLines", "customLines are only valid with CUSTOM");
  }

  return {
    method,
    principal,
    rate,
    rateKey: rate.toString(),
    term,
    termUnit,
    startDate: input.startDate,
    startYear: start.year,
    startMonth: start.month,
    startDay: start.day,
    startDayNo,
    dueDay,
    interestBasis,
    dayCount,
    leaseTiming,
    residual,
    fee,
    customLines,
  };
}

function normalizeCustomLines(input: PlanInput, principal: Decimal, fee: Decimal, startDayNo: number, term: number): NormalizedCustomLine[] {
  const raw = input.customLines;
  if (!Array.isArray(raw) || raw.length === 0) fail("INVALID_SCHEDULE", "customLines", "CUSTOM needs a non-empty customLines array");
  if (raw.length > MAX_CUSTOM_LINES) fail("INVALID_SCHEDULE", "customLines", `At most ${MAX_CUSTOM_LINES} custom lines`);
  if (raw.length !== term) fail("INVALID_TERM", "term", "term must equal the number of customLines");
  const out: NormalizedCustomLine[] = new Array(raw.length);
  let prev = startDayNo;
  let total = ZERO;
  for (let i = 0; i < raw.length; i++) {
    const line = raw[i];
    const at = `customLines[${i}]`;
    if (typeof line !== "object" || line === null) fail("INVALID_SCHEDULE", at, `${at} must be an object`);
    const due = toCivil(line.dueDate, `${at}.dueDate`);
    const dueDayNo = civilToDayNumber(due.year, due.month, due.day);
    if (dueDayNo <= prev) {
      fail("INVALID_SCHEDULE", `${at}.dueDate`, i === 0 ? `${at}.dueDate must be after startDate` : `${at}.dueDate must be after the previous line's`);
    }
    prev = dueDayNo;
    const p = parseAmount(line.principal, `${at}.principal`, { allowZero: true });
    const interest = absent(line.interest) ? ZERO : parseAmount(line.interest, `${at}.interest`, { allowZero: true });
    const lineFee = absent(line.fee) ? ZERO : parseAmount(line.fee, `${at}.fee`, { allowZero: true });
    if (p.eq(ZERO) && interest.eq(ZERO) && lineFee.eq(ZERO) && fee.eq(ZERO)) {
      fail("INVALID_SCHEDULE", at, `${at} has nothing to pay`);
    }
    total = total.plus(p);
    out[i] = { dueDate: line.dueDate, dueDayNo, principal: p, interest, fee: lineFee };
  }
  if (!total.eq(principal)) {
    throw new DomainError("INVALID_SCHEDULE", `customLines principal sums to ${total.toFixed(2)}, not ${principal.toFixed(2)}`, {
      field: "customLines",
      expected: principal.toFixed(2),
      actual: total.toFixed(2),
    });
  }
  return out;
}
