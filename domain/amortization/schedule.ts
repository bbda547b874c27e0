/**
 * Schedule builders, one per family of methods. Input is already validated (./validate.ts);
 * the semantics are documented in ./index.ts.
 */
import * as calendar from "../calendar";
import { Dec, ZERO, type Decimal } from "../money";
import { levelPayment } from "./annuity";
import * as decimal from "./decimal";
import type { Schedule, ScheduleLine } from "./types";
import type { NormalizedPlan } from "./validate";

// Module-local bindings for the per-line hot path: under CommonJS interop (tsx, jest) every use
// of a named import is a property-getter call, which showed as ~8 % of a 12-line plan's profile.
const { civilToDayNumber, dayNumberToCivil, days30E, dayCountBasis, formatDate, monthLength } = calendar;
const { divByIntToCent, formatCents } = decimal;
const ZERO_DEC = ZERO;

/** Small integers as big.js values, built once (day counts and terms are small integers). */
const intCache: Decimal[] = [];
function decInt(n: number): Decimal {
  if (n >= 0 && n < 4096) {
    let d = intCache[n];
    if (d === undefined) intCache[n] = d = Dec(String(n));
    return d;
  }
  return Dec(String(n));
}

function clampPrincipal(p: Decimal, balance: Decimal): Decimal {
  if (p.lt(ZERO_DEC)) return ZERO_DEC;
  return p.gt(balance) ? balance : p;
}

/**
 * Collects lines and formats each amount once. A line's opening text is the previous closing
 * text; closing = opening − principal along the chain, so Σ principal = P − last closing and the
 * check of the last closing in finish() is the check of the principal sum.
 */
class ScheduleWriter {
  readonly lines: ScheduleLine[];
  private readonly principal: Decimal;
  private readonly flatFee: Decimal | null;
  private readonly flatFeeText: string;
  private openingText: string;
  private totalInterest = ZERO_DEC;
  private totalFee = ZERO_DEC;
  private count = 0;

  /** `flatFee`: the same fee on every line (known total, formatted once); null when lines differ. */
  constructor(size: number, principal: Decimal, flatFee: Decimal | null) {
    this.lines = new Array<ScheduleLine>(size);
    this.principal = principal;
    this.flatFee = flatFee;
    this.flatFeeText = flatFee === null ? "" : formatCents(flatFee);
    this.openingText = formatCents(principal);
  }

  /** Appends line `count + 1`; returns the closing balance. */
  push(startDate: string, dueDate: string, days: number, opening: Decimal, principal: Decimal, interest: Decimal, fee: Decimal): Decimal {
    const closing = opening.minus(principal);
    let total = principal.plus(interest);
    if (!fee.eq(ZERO_DEC)) total = total.plus(fee);
    this.totalInterest = this.totalInterest.plus(interest);
    if (this.flatFee === null) this.totalFee = this.totalFee.plus(fee);
    const closingText = formatCents(closing);
    const period = ++this.count;
    this.lines[period - 1] = {
      period,
      startDate,
      dueDate,
      days,
      openingPrincipal: this.openingText,
      principal: formatCents(principal),
      interest: formatCents(interest),
      fee: this.flatFee === null ? formatCents(fee) : this.flatFeeText,
      total: formatCents(total),
      closingPrincipal: closingText,
    };
    this.openingText = closingText;
    return closing;
  }

  finish(closing: Decimal, periodicPayment?: Decimal): Schedule {
    // Guards against a bug in a builder, not against input: validation ran before.
    if (!closing.eq(ZERO_DEC) || this.count !== this.lines.length) {
      throw new Error(`amortization invariant broken: closing ${closing.toFixed(2)} after ${this.count} of ${this.lines.length} lines`);
    }
    const totalFee = this.flatFee === null ? this.totalFee : this.flatFee.times(decInt(this.count));
    const schedule: Schedule = {
      lines: this.lines,
      totalPrincipal: formatCents(this.principal),
      totalInterest: formatCents(this.totalInterest),
      totalFee: formatCents(totalFee),
      total: formatCents(this.principal.plus(this.totalInterest).plus(totalFee)),
    };
    if (periodicPayment !== undefined) schedule.periodicPayment = formatCents(periodicPayment);
    return schedule;
  }
}

/** Interest rules shared by the builders. */
class Accrual {
  private readonly rate: Decimal;
  private readonly basisDays: number;
  private readonly thirty: boolean;

  constructor(p: NormalizedPlan) {
    this.rate = p.rate;
    this.basisDays = dayCountBasis(p.dayCount);
    this.thirty = p.dayCount === "30/360";
  }

  /** round(balance × annualRate / 12). */
  monthly(balance: Decimal): Decimal {
    if (balance.eq(ZERO_DEC)) return ZERO_DEC;
    return divByIntToCent(balance.times(this.rate), 12);
  }

  /** round(balance × annualRate × days / basis). */
  daily(balance: Decimal, days: number): Decimal {
    if (days === 0 || balance.eq(ZERO_DEC)) return ZERO_DEC;
    return divByIntToCent(balance.times(this.rate).times(decInt(days)), this.basisDays);
  }

  /** Days between two dates under the day count (30E/360 or actual). */
  days(y1: number, m1: number, d1: number, n1: number, y2: number, m2: number, d2: number, n2: number): number {
    return this.thirty ? days30E(y1, m1, d1, y2, m2, d2) : n2 - n1;
  }

  /**
   * Interest of a bullet over `term` months where only the first month may be irregular:
   * round(P·a·(term−1)/12 + P·a·firstDays/basis), rounded once.
   */
  bulletMonthly(principal: Decimal, term: number, firstDays: number | null): Decimal {
    if (firstDays === null) return divByIntToCent(principal.times(this.rate).times(decInt(term)), 12);
    const numerator = decInt((term - 1) * this.basisDays + 12 * firstDays);
    return divByIntToCent(principal.times(this.rate).times(numerator), 12 * this.basisDays);
  }
}

/** A due date k months after the start with the plan's due day (clamped to month end). */
interface Due {
  y: number;
  m: number;
  d: number;
  no: number;
  text: string;
}

function dueAfterMonths(p: NormalizedPlan, months: number): Due {
  const t = p.startMonth - 1 + months;
  const y = p.startYear + Math.floor(t / 12);
  const m = (t % 12) + 1;
  const len = monthLength(y, m);
  const d = p.dueDay > len ? len : p.dueDay;
  return { y, m, d, no: civilToDayNumber(y, m, d), text: formatDate(y, m, d) };
}

/** The first period is irregular (short or long) when the start is not itself on the due day. */
function firstPeriodIrregular(p: NormalizedPlan): boolean {
  const len = monthLength(p.startYear, p.startMonth);
  return p.startDay !== (p.dueDay > len ? len : p.dueDay);
}

type Kind = "ANNUITY" | "EQUAL_PRINCIPAL" | "INTEREST_FIRST";

/**
 * Monthly schedules: EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, INTEREST_FIRST and LEASE_ANNUITY.
 * `advance`: line 1 is due on the start date and is all principal (lease in advance).
 */
function amortize(p: NormalizedPlan, kind: Kind, payment: Decimal, advance: boolean): Schedule {
  const n = p.term;
  const out = new ScheduleWriter(n, p.principal, p.fee);
  const accrual = new Accrual(p);
  const daily = p.interestBasis === "DAILY";
  const irregularFirst = firstPeriodIrregular(p);
  let balance = p.principal;
  let prev: Due = { y: p.startYear, m: p.startMonth, d: p.startDay, no: p.startDayNo, text: p.startDate };
  let k = 1;
  if (advance) {
    const principal = n === 1 ? balance : clampPrincipal(payment, balance);
    balance = out.push(p.startDate, p.startDate, 0, balance, principal, ZERO_DEC, p.fee);
    k = 2;
  }
  for (; k <= n; k++) {
    const months = advance ? k - 1 : k;
    const due = dueAfterMonths(p, months);
    const irregular = months === 1 && irregularFirst;
    let interest: Decimal;
    let regularInterest: Decimal;
    if (daily || irregular) {
      interest = accrual.daily(balance, accrual.days(prev.y, prev.m, prev.d, prev.no, due.y, due.m, due.d, due.no));
      // DAILY basis: the principal takes what the payment leaves after the actual interest.
      // Irregular first period under MONTHLY basis: the principal follows the regular schedule.
      regularInterest = daily || kind !== "ANNUITY" ? interest : accrual.monthly(balance);
    } else {
      interest = regularInterest = accrual.monthly(balance);
    }
    let principal: Decimal;
    if (k === n) principal = balance;
    else if (kind === "ANNUITY") principal = clampPrincipal(payment.minus(regularInterest), balance);
    else if (kind === "EQUAL_PRINCIPAL") principal = clampPrincipal(payment, balance);
    else principal = ZERO_DEC;
    balance = out.push(prev.text, due.text, due.no - prev.no, balance, principal, interest, p.fee);
    prev = due;
  }
  return out.finish(balance, kind === "ANNUITY" ? payment : undefined);
}

function bullet(p: NormalizedPlan): Schedule {
  const out = new ScheduleWriter(1, p.principal, p.fee);
  const accrual = new Accrual(p);
  let due: Due;
  let interest: Decimal;
  if (p.termUnit === "DAY") {
    const no = p.startDayNo + p.term;
    const c = dayNumberToCivil(no); // in range: validation bounded startDate + term
    due = { y: c.year, m: c.month, d: c.day, no, text: formatDate(c.year, c.month, c.day) };
    interest = accrual.daily(p.principal, accrual.days(p.startYear, p.startMonth, p.startDay, p.startDayNo, due.y, due.m, due.d, no));
  } else {
    due = dueAfterMonths(p, p.term);
    if (p.interestBasis === "DAILY") {
      interest = accrual.daily(p.principal, accrual.days(p.startYear, p.startMonth, p.startDay, p.startDayNo, due.y, due.m, due.d, due.no));
    } else if (firstPeriodIrregular(p)) {
      const first = dueAfterMonths(p, 1);
      interest = accrual.bulletMonthly(p.principal, p.term, accrual.days(p.startYear, p.startMonth, p.startDay, p.startDayNo, first.y, first.m, first.d, first.no));
    } else {
      interest = accrual.bulletMonthly(p.principal, p.term, null);
    }
  }
  const closing = out.push(p.startDate, due.text, due.no - p.startDayNo, p.principal, p.principal, interest, p.fee);
  return out.finish(closing);
}

function custom(p: NormalizedPlan): Schedule {
  const lines = p.customLines;
  const out = new ScheduleWriter(lines.length, p.principal, null);
  let balance = p.principal;
  let prevText = p.startDate;
  let prevNo = p.startDayNo;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    balance = out.push(prevText, line.dueDate, line.dueDayNo - prevNo, balance, line.principal, line.interest, line.fee.plus(p.fee));
    prevText = line.dueDate;
    prevNo = line.dueDayNo;
  }
  return out.finish(balance);
}

export function buildSchedule(p: NormalizedPlan): Schedule {
  switch (p.method) {
    case "EQUAL_INSTALLMENT":
      return amortize(p, "ANNUITY", levelPayment(p.principal, p.rate, p.rateKey, p.term, ZERO_DEC, false), false);
    case "EQUAL_PRINCIPAL":
      return amortize(p, "EQUAL_PRINCIPAL", divByIntToCent(p.principal, p.term), false);
    case "INTEREST_FIRST":
      return amortize(p, "INTEREST_FIRST", ZERO_DEC, false);
    case "LEASE_ANNUITY": {
      const advance = p.leaseTiming === "ADVANCE";
      return amortize(p, "ANNUITY", levelPayment(p.principal, p.rate, p.rateKey, p.term, p.residual, advance), advance);
    }
    case "BULLET":
      return bullet(p);
    case "CUSTOM":
      return custom(p);
    default: {
      const never: never = p.method;
      throw new Error(`unreachable: ${String(never)}`);
    }
  }
}
