/**
 * Overdue fees (逾期罚息 / 滞纳金): pure, exact (big.js), never a JS number for money.
 * No service, DB or clock here: the caller gives the installment, the FEE rule versions in force for
 * its scope (funderId / productCode / bizType, resolved with rules.ts) and the dates.
 *
 * Conventions (the exact choices made here):
 *
 * Rules and dates
 * - A FEE rule is versioned by `effectiveFrom`. `ruleOn(versions, d)` is the version with the latest
 *   effectiveFrom ≤ d, so a change applies from its date on; each accrual date is computed with the
 *   rule in force on THAT date and earlier dates are never recomputed (history is not rewritten).
 *   Two versions with the same effectiveFrom are an INVALID_RULE error.
 * - Days overdue on `asOf` = asOf − dueDate in calendar days (the due date itself is day 0: payable
 *   through the due date). 0 when the installment is paid (status PAID or nothing unpaid).
 *   Status OVERDUE starts at day 1 regardless of grace: the grace period only delays charges.
 * - Aging buckets: the first bucket (in rule order) with minDays ≤ daysOverdue ≤ maxDays (no maxDays =
 *   open-ended), else null (day 0 is never in a bucket).
 *
 * Base (accrualBase), always the UNPAID part, never the penalty or a late fee (no compounding):
 * - OVERDUE_PRINCIPAL   = principal − paidPrincipal
 * - PRINCIPAL_INTEREST  = that + interest − paidInterest
 * - INSTALLMENT         = that + unpaid scheduled fee, where scheduled fee = fee − lateFee and FEE
 *                         payments are taken to pay the scheduled fee before the late fee.
 *   The base is the installment as given: the job must accrue up to the previous day before a
 *   payment is applied (a partial payment reduces the base from the next accrual on).
 *
 * Rate
 * - DAILY: `rate` per day. ANNUAL: `rate` / 360 per day (day basis 360, constant FEE_DAY_BASIS; the
 *   FEE rule schema is strict, so no per-rule day basis field).
 * - One date's penalty = roundHalfUp₂(base × dailyRate × days), days being 1, or G + 1 on the first
 *   charging day with chargeFrom DUE_DATE (see below). Each date is rounded on its own, so a catch-up
 *   over n dates is exactly n single dates.
 *
 * Grace (G = graceDays) and chargeFrom
 * - Overdue days 1..G are inside grace: nothing is charged (paid within grace → nothing ever).
 * - Day G + 1 on is chargeable. The first chargeable date actually accrued (not paused) is the
 *   "first charging day":
 *   - GRACE_END: it charges 1 day, like every later date → charges run from dueDate + G + 1.
 *   - DUE_DATE:  it charges G + 1 days (the G grace days retroactively plus itself), later dates
 *     1 day → with no pause, after n > G days overdue exactly n days are charged, as from the due date.
 *   With G = 0 the two are the same.
 * - The fixed late fee (滞纳金) is charged once, on the first charging day, with the rule in force
 *   that day; a later rule change never adds or refunds it. State flag `chargingStarted`.
 *
 * Caps, on the charges of the installment: charged = accruedPenalty + accruedLateFee (cumulative, what
 * accrual has ever charged: a waiver does not reopen the headroom). After a date's charge:
 * - charged ≤ capAbsolute
 * - charged ≤ capPctOfPrincipal × installment principal (or × planPrincipal with capPctOf "PLAN",
 *   e.g. for interest-first installments whose principal is 0)
 * - charged ≤ base × capAnnualRate × daysOverdue / 360 (the annualized overdue cost, same day basis;
 *   daysOverdue counted from the due date, grace included)
 * Each limit is rounded DOWN to the cent. The date's penalty is cut first to the headroom, then the
 * late fee to what is left; a cut is forgone (never charged later) and the entry says capped: true.
 * If a limit is already below what was charged (e.g. the base fell), the headroom is 0: no claw-back.
 *
 * Accrual job (accrue)
 * - Dates (from, to]: `from` is the last accrued date (exclusive; null = never), `to` is today
 *   (inclusive). Dates on or before the due date are not listed (nothing can accrue). One entry per
 *   remaining date, zero entries included (reason IN_GRACE, PAUSED_DAY, NO_RULE, …) so that the job
 *   can record each (installment, date) key. A date ≤ from is never produced; the same input gives
 *   the same list (idempotent by construction); catch-up after downtime = the single dates in order.
 * - Nothing (empty list, totals unchanged, `skipped` set) for an installment PAID (or with nothing
 *   unpaid), `waived`, `settled` or `feesPaused`. `skip(date)` marks single paused days (PAUSED_DAY).
 *
 * Where the charges go: penalty → `penalty`; late fee → `fee` (and `lateFee`, the late-fee part of
 * `fee`). Returned installments keep total = principal + interest + fee and
 * outstanding = principal + interest + fee + penalty − paidTotal (as in allocation.ts).
 *
 * Waivers (减免): applyWaiver takes amounts off the UNPAID penalty / fee (a fee waiver comes off the
 * late fee first); asking for more than is unpaid is a VALIDATION_ERROR. The cumulative accrued
 * amounts are kept, so the caps still count the waived charges.
 */
import type { Installment } from "../contracts/schedule.contract";
import { statusAfterPayment, unpaidOf } from "./allocation";
import { addDays, compareDates, daysBetween, parseDate } from "./calendar";
import { DomainError } from "./errors";
import { AMOUNT_PATTERN, Dec, fmt, max, min, money, parseAmount, parseRate, ZERO, type Decimal } from "./money";

/** Day basis of ANNUAL rates and of the annualized cap. */
export const FEE_DAY_BASIS = 360;

export type FeeBase = "OVERDUE_PRINCIPAL" | "PRINCIPAL_INTEREST" | "INSTALLMENT";

export interface AgingBucket {
  name: string;
  minDays: number;
  maxDays?: number;
}

/** Content of a FEE rule (RULE_CONTENT_SCHEMAS.FEE). Amounts and rates are decimal strings. */
export interface FeeRule {
  graceDays: number;
  base: FeeBase;
  rateType: "DAILY" | "ANNUAL";
  rate: string;
  fixedLateFee: string;
  chargeFrom: "DUE_DATE" | "GRACE_END";
  capAbsolute?: string;
  capPctOfPrincipal?: string;
  capAnnualRate?: string;
  accrualTime: string;
  agingBuckets?: AgingBucket[];
}

export interface FeeRuleVersion {
  effectiveFrom: string;
  content: FeeRule;
}

/** An installment with the fee-accrual state (all optional: defaults in brackets). */
/**
 * An installment with its fee-accrual state: the optional fields of `Installment`
 * (contracts/schedule.contract.ts) — lateFee, accruedPenalty, accruedLateFee, chargingStarted,
 * waived, feesPaused, settled; absent means the default (lateFee "0.00", accrued = what is charged,
 * chargingStarted when something was charged).
 */
export type FeeInstallment = Installment;

export interface FeeOptions {
  /** Principal of the whole plan (a positive amount). */
  planPrincipal: string;
  /** What capPctOfPrincipal applies to: the installment principal (default) or the plan principal. */
  capPctOf?: "INSTALLMENT" | "PLAN";
}

export type AccrualReason = "NOT_OVERDUE" | "IN_GRACE" | "PAUSED_DAY" | "NO_RULE" | "PAID" | "WAIVED" | "SETTLED" | "PAUSED" | "CAPPED";

export interface DailyAccrual {
  date: string;
  penalty: string;
  lateFee: string;
  /** Days of penalty charged on this date (0, 1, or G + 1 on the first DUE_DATE charging day). */
  days: number;
  capped: boolean;
  reason?: AccrualReason;
}

export interface AccrueOptions extends FeeOptions {
  /** Last accrued date, exclusive; null = never accrued. */
  from: string | null;
  /** Today, inclusive. */
  to: string;
  /** Paused single days: nothing is charged on them. */
  skip?: (date: string) => boolean;
}

export interface AccrueResult {
  /** One entry per date in (max(from, dueDate), to], in date order. */
  accruals: DailyAccrual[];
  /** New penalty total of the installment. */
  penalty: string;
  /** New fee total (scheduled fee + late fees). */
  fee: string;
  /** The installment with the charges added, state updated, status OVERDUE when overdue on `to`. */
  installment: FeeInstallment;
  daysOverdue: number;
  /** Aging bucket on `to` with the rule in force on `to` (null when none). */
  aging: string | null;
  /** Set when the installment accrues nothing at all (the list is then empty). */
  skipped?: "PAID" | "WAIVED" | "SETTLED" | "PAUSED";
}

function amount(value: unknown, field: string): Decimal {
  if (typeof value !== "string" || !AMOUNT_PATTERN.test(value)) {
    throw new DomainError("INVALID_AMOUNT", `${field} must be a decimal string with at most 2 decimals`, { field });
  }
  return money(value);
}

/** An integer as a Dec (strict big.js takes no JS numbers). */
function int(n: number): Decimal {
  return Dec(String(n));
}

const BASIS = Dec(String(FEE_DAY_BASIS));

function roundDown(d: Decimal): Decimal {
  return d.round(2, Dec.roundDown);
}

interface FeeState {
  lateFee: Decimal;
  accruedPenalty: Decimal;
  accruedLateFee: Decimal;
  chargingStarted: boolean;
}

function stateOf(inst: FeeInstallment): FeeState {
  const lateFee = inst.lateFee === undefined ? ZERO : amount(inst.lateFee, "lateFee");
  if (lateFee.gt(amount(inst.fee, "fee"))) {
    throw new DomainError("VALIDATION_ERROR", `Period ${inst.period}: lateFee exceeds fee`, { period: inst.period, field: "lateFee" });
  }
  const accruedPenalty = inst.accruedPenalty === undefined ? amount(inst.penalty, "penalty") : amount(inst.accruedPenalty, "accruedPenalty");
  const accruedLateFee = inst.accruedLateFee === undefined ? lateFee : amount(inst.accruedLateFee, "accruedLateFee");
  const chargingStarted = inst.chargingStarted ?? accruedPenalty.plus(accruedLateFee).gt(ZERO);
  return { lateFee, accruedPenalty, accruedLateFee, chargingStarted };
}

function validateRule(rule: FeeRule): void {
  if (!rule || typeof rule !== "object") throw new DomainError("INVALID_RULE", "FEE rule content is required", { field: "rule" });
  if (!Number.isInteger(rule.graceDays) || rule.graceDays < 0) {
    throw new DomainError("INVALID_RULE", "graceDays must be a non-negative integer", { field: "graceDays" });
  }
  if (!["OVERDUE_PRINCIPAL", "PRINCIPAL_INTEREST", "INSTALLMENT"].includes(rule.base)) {
    throw new DomainError("INVALID_RULE", `Unknown base: ${String(rule.base)}`, { field: "base" });
  }
  if (rule.rateType !== "DAILY" && rule.rateType !== "ANNUAL") {
    throw new DomainError("INVALID_RULE", `Unknown rateType: ${String(rule.rateType)}`, { field: "rateType" });
  }
  if (rule.chargeFrom !== "DUE_DATE" && rule.chargeFrom !== "GRACE_END") {
    throw new DomainError("INVALID_RULE", `Unknown chargeFrom: ${String(rule.chargeFrom)}`, { field: "chargeFrom" });
  }
  parseRate(rule.rate, "rate");
  parseAmount(rule.fixedLateFee, "fixedLateFee", { allowZero: true });
  if (rule.capAbsolute !== undefined) parseAmount(rule.capAbsolute, "capAbsolute", { allowZero: true });
  if (rule.capPctOfPrincipal !== undefined) parseRate(rule.capPctOfPrincipal, "capPctOfPrincipal");
  if (rule.capAnnualRate !== undefined) parseRate(rule.capAnnualRate, "capAnnualRate");
}

/** The version in force on `date`: the latest effectiveFrom ≤ date, or null when none is. */
export function ruleOn(versions: readonly FeeRuleVersion[], date: string): FeeRuleVersion | null {
  parseDate(date, "date");
  let best: FeeRuleVersion | null = null;
  const seen = new Set<string>();
  for (const v of versions) {
    parseDate(v.effectiveFrom, "effectiveFrom");
    if (seen.has(v.effectiveFrom)) {
      throw new DomainError("INVALID_RULE", `Two FEE rule versions effective from ${v.effectiveFrom}`, { field: "effectiveFrom", effectiveFrom: v.effectiveFrom });
    }
    seen.add(v.effectiveFrom);
    if (compareDates(v.effectiveFrom, date) <= 0 && (!best || compareDates(v.effectiveFrom, best.effectiveFrom) > 0)) best = v;
  }
  return best;
}

function unpaidTotal(inst: Installment): Decimal {
  const u = unpaidOf(inst);
  return u.principal.plus(u.interest).plus(u.fee).plus(u.penalty);
}

function isPaid(inst: Installment): boolean {
  return inst.status === "PAID" || unpaidTotal(inst).eq(ZERO);
}

/** Calendar days past the due date on `asOf`; 0 when paid or not yet past due. */
export function daysOverdue(installment: Installment, asOf: string): number {
  parseDate(asOf, "asOf");
  parseDate(installment.dueDate, "dueDate");
  if (isPaid(installment)) return 0;
  return Math.max(0, daysBetween(installment.dueDate, asOf));
}

/** The first bucket with minDays ≤ days ≤ maxDays (maxDays absent = no upper bound), else null. */
export function agingBucket(days: number, buckets: readonly AgingBucket[] | undefined): string | null {
  if (!Number.isInteger(days) || days < 0) throw new DomainError("VALIDATION_ERROR", "daysOverdue must be a non-negative integer", { field: "daysOverdue" });
  for (const b of buckets ?? []) {
    if (days >= b.minDays && (b.maxDays === undefined || days <= b.maxDays)) return b.name;
  }
  return null;
}

/** The unpaid base a penalty accrues on (2-decimal string). */
export function accrualBase(installment: FeeInstallment, base: FeeBase): string {
  return fmt(baseOf(installment, base));
}

function baseOf(inst: FeeInstallment, base: FeeBase): Decimal {
  const u = unpaidOf(inst);
  switch (base) {
    case "OVERDUE_PRINCIPAL":
      return u.principal;
    case "PRINCIPAL_INTEREST":
      return u.principal.plus(u.interest);
    case "INSTALLMENT": {
      const scheduledFee = money(inst.fee).minus(stateOf(inst).lateFee);
      const unpaidScheduledFee = max(ZERO, scheduledFee.minus(money(inst.paidFee)));
      return u.principal.plus(u.interest).plus(unpaidScheduledFee);
    }
    default:
      throw new DomainError("INVALID_RULE", `Unknown base: ${String(base)}`, { field: "base" });
  }
}

function terminalReason(inst: FeeInstallment): AccrueResult["skipped"] | undefined {
  if (inst.settled) return "SETTLED";
  if (inst.waived) return "WAIVED";
  if (isPaid(inst)) return "PAID";
  if (inst.feesPaused) return "PAUSED";
  return undefined;
}

function zero(date: string, reason: AccrualReason): DailyAccrual {
  return { date, penalty: "0.00", lateFee: "0.00", days: 0, capped: false, reason };
}

function pctCapBase(inst: FeeInstallment, opts: FeeOptions): Decimal {
  const planPrincipal = parseAmount(opts.planPrincipal, "planPrincipal");
  if (opts.capPctOf !== undefined && opts.capPctOf !== "INSTALLMENT" && opts.capPctOf !== "PLAN") {
    throw new DomainError("VALIDATION_ERROR", "capPctOf must be INSTALLMENT or PLAN", { field: "capPctOf" });
  }
  return opts.capPctOf === "PLAN" ? planPrincipal : amount(inst.principal, "principal");
}

/**
 * The charges of ONE date (see the header for the exact semantics). Uses the installment's state
 * (accrued amounts, chargingStarted) as given: call it for dates in order, applying each result.
 */
export function dailyAccrual(installment: FeeInstallment, rule: FeeRule, date: string, opts: FeeOptions): DailyAccrual {
  parseDate(date, "date");
  validateRule(rule);
  const capPctBase = pctCapBase(installment, opts);
  const terminal = terminalReason(installment);
  if (terminal) return zero(date, terminal);
  const n = daysBetween(parseDate(installment.dueDate, "dueDate"), date);
  if (n <= 0) return zero(date, "NOT_OVERDUE");
  if (n <= rule.graceDays) return zero(date, "IN_GRACE");

  const state = stateOf(installment);
  const first = !state.chargingStarted;
  const days = first && rule.chargeFrom === "DUE_DATE" ? rule.graceDays + 1 : 1;
  const base = baseOf(installment, rule.base);
  const rate = Dec(rule.rate);
  const raw = rule.rateType === "DAILY" ? base.times(rate).times(int(days)) : base.times(rate).times(int(days)).div(BASIS);
  const penalty = raw.round(2, Dec.roundHalfUp);
  const lateFee = first ? Dec(rule.fixedLateFee) : ZERO;

  const charged = state.accruedPenalty.plus(state.accruedLateFee);
  const limits: Decimal[] = [];
  if (rule.capAbsolute !== undefined) limits.push(Dec(rule.capAbsolute));
  if (rule.capPctOfPrincipal !== undefined) limits.push(roundDown(capPctBase.times(Dec(rule.capPctOfPrincipal))));
  if (rule.capAnnualRate !== undefined) limits.push(roundDown(base.times(Dec(rule.capAnnualRate)).times(int(n)).div(BASIS)));
  let headroom: Decimal | null = null;
  for (const l of limits) {
    const h = max(ZERO, l.minus(charged));
    headroom = headroom === null ? h : min(headroom, h);
  }
  const gotPenalty = headroom === null ? penalty : min(penalty, headroom);
  const gotLateFee = headroom === null ? lateFee : min(lateFee, headroom.minus(gotPenalty));
  const capped = !gotPenalty.eq(penalty) || !gotLateFee.eq(lateFee);
  const out: DailyAccrual = { date, penalty: fmt(gotPenalty), lateFee: fmt(gotLateFee), days, capped };
  if (capped) out.reason = "CAPPED";
  return out;
}

function withTotals(inst: FeeInstallment): FeeInstallment {
  const due = money(inst.principal).plus(money(inst.interest)).plus(money(inst.fee)).plus(money(inst.penalty));
  const outstanding = due.minus(money(inst.paidTotal));
  return { ...inst, total: fmt(money(inst.principal).plus(money(inst.interest)).plus(money(inst.fee))), outstanding: fmt(outstanding) };
}

/** The installment after one date's accrual. */
function applyAccrual(inst: FeeInstallment, a: DailyAccrual): FeeInstallment {
  if (a.days === 0 && a.penalty === "0.00" && a.lateFee === "0.00") return inst;
  const s = stateOf(inst);
  const p = Dec(a.penalty);
  const f = Dec(a.lateFee);
  return withTotals({
    ...inst,
    penalty: fmt(money(inst.penalty).plus(p)),
    fee: fmt(money(inst.fee).plus(f)),
    lateFee: fmt(s.lateFee.plus(f)),
    accruedPenalty: fmt(s.accruedPenalty.plus(p)),
    accruedLateFee: fmt(s.accruedLateFee.plus(f)),
    chargingStarted: true,
  });
}

/**
 * The daily accrual job for one installment over (from, to]: one entry per date after the due date,
 * each with the rule in force on that date, and the installment's new totals.
 */
export function accrue(installment: FeeInstallment, versions: readonly FeeRuleVersion[], opts: AccrueOptions): AccrueResult {
  const to = parseDate(opts.to, "to");
  const from = opts.from === null ? null : parseDate(opts.from, "from");
  const dueDate = parseDate(installment.dueDate, "dueDate");
  pctCapBase(installment, opts);
  unpaidOf(installment);
  stateOf(installment);
  const overdue = daysOverdue(installment, to);
  const ruleToday = ruleOn(versions, to);
  const result = (inst: FeeInstallment, accruals: DailyAccrual[], skipped?: AccrueResult["skipped"]): AccrueResult => {
    const out: AccrueResult = {
      accruals,
      penalty: inst.penalty,
      fee: inst.fee,
      installment: inst,
      daysOverdue: overdue,
      aging: ruleToday ? agingBucket(overdue, ruleToday.content.agingBuckets) : null,
    };
    if (skipped) out.skipped = skipped;
    return out;
  };

  const terminal = terminalReason(installment);
  if (terminal) return result({ ...installment }, [], terminal);

  let inst: FeeInstallment = overdue > 0 ? { ...installment, status: "OVERDUE" } : { ...installment };
  const start = from !== null && compareDates(from, dueDate) > 0 ? addDays(from, 1) : addDays(dueDate, 1);
  const accruals: DailyAccrual[] = [];
  for (let d = start; compareDates(d, to) <= 0; d = addDays(d, 1)) {
    let a: DailyAccrual;
    const v = ruleOn(versions, d);
    if (!v) a = zero(d, "NO_RULE");
    else if (opts.skip?.(d)) a = zero(d, "PAUSED_DAY");
    else a = dailyAccrual(inst, v.content, d, opts);
    accruals.push(a);
    inst = applyAccrual(inst, a);
  }
  return result(inst, accruals);
}

/**
 * A new installment with `penalty` / `fee` waived off the unpaid amounts (a fee waiver comes off the
 * late fee first). VALIDATION_ERROR when more than is unpaid is asked; the paid fields are untouched.
 */
export function applyWaiver(installment: FeeInstallment, waiver: { penalty?: string; fee?: string }): FeeInstallment {
  const unpaid = unpaidOf(installment);
  const s = stateOf(installment);
  const wp = waiver.penalty === undefined ? ZERO : parseAmount(waiver.penalty, "penalty", { allowZero: true });
  const wf = waiver.fee === undefined ? ZERO : parseAmount(waiver.fee, "fee", { allowZero: true });
  if (wp.gt(unpaid.penalty)) {
    throw new DomainError("VALIDATION_ERROR", `Period ${installment.period}: cannot waive more penalty than is unpaid`, { period: installment.period, field: "penalty", unpaid: fmt(unpaid.penalty), waiver: fmt(wp) });
  }
  if (wf.gt(unpaid.fee)) {
    throw new DomainError("VALIDATION_ERROR", `Period ${installment.period}: cannot waive more fee than is unpaid`, { period: installment.period, field: "fee", unpaid: fmt(unpaid.fee), waiver: fmt(wf) });
  }
  const next = withTotals({
    ...installment,
    penalty: fmt(money(installment.penalty).minus(wp)),
    fee: fmt(money(installment.fee).minus(wf)),
    lateFee: fmt(s.lateFee.minus(min(wf, s.lateFee))),
    accruedPenalty: fmt(s.accruedPenalty),
    accruedLateFee: fmt(s.accruedLateFee),
    chargingStarted: s.chargingStarted,
  });
  next.status = statusAfterPayment(installment.status, money(next.outstanding), money(next.paidTotal));
  return next;
}
