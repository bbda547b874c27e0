/**
 * Early settlement (提前结清): what a borrower pays on a business date to close the whole plan, and
 * the plan restructured so that exactly that amount, applied like any repayment, pays everything.
 * Pure, exact (big.js), never a JS number for money; no service, no I/O, no clock.
 *
 * Field definitions are those of domain/allocation.ts: total = principal + interest + fee,
 * outstanding = principal + interest + fee + penalty − paidTotal, unpaid(c) = c − paid c.
 *
 * Conventions (the exact choices made here):
 *
 * Classification on the quote date `date` (PAID installments are ignored entirely: a paid
 * installment is closed and never reopened — the interest of a fully prepaid future installment is
 * not refunded):
 * - DUE:     dueDate ≤ date. Owed in full: unpaid principal, interest, fee (scheduled + late) and penalty.
 * - CURRENT: the first installment (oldest first: dueDate, then period) with startDate < date < dueDate.
 *            At most one; when `date` is a start date (= the previous due date) there is none.
 * - FUTURE:  every other installment with dueDate > date (normally startDate ≥ date; an overlapping
 *            second "current" one, which a generated schedule never has, is FUTURE too).
 *
 * Interest, by the SERVICING rule's `settlementInterest` (the "interest by rule" of an installment):
 * - TO_DATE:     CURRENT: roundHalfUp₂(scheduled interest × elapsed / period), elapsed =
 *                daysBetween(startDate, date), period = the installment's `days` (calendar days).
 *                Pro rata on the SCHEDULED interest: for daily-basis ACT/360 / ACT/365 plans this is
 *                the day-count interest to date (up to the schedule's cent rounding); for monthly
 *                basis (and 30/360) plans it is a calendar-day pro rata of the month's interest.
 *                FUTURE: 0.
 * - TO_NEXT_DUE: CURRENT: its full scheduled interest. FUTURE: 0.
 * - FULL_TERM:   CURRENT and FUTURE: their full scheduled interest.
 * The quoted interest of a line is interest by rule − paidInterest, never below 0. When more
 * interest was paid than the rule asks for, the excess counts toward THAT installment's principal
 * (the quoted principal is lowered by it), up to its unpaid principal; anything beyond that is not
 * credited (an installment is never credited past being fully paid, like a PAID one).
 *
 * Principal: unpaid principal of CURRENT + FUTURE (less the interest excess above); DUE: unpaid.
 *
 * Fees: `fee` of an installment includes its late fee (`lateFee`, domain/fees.ts); FEE payments are
 * taken to pay the scheduled fee (fee − lateFee) before the late fee, as in fees.ts.
 * - DUE and CURRENT: all unpaid fee (scheduled + late).
 * - FUTURE: only the unpaid late fee (normally 0). Their scheduled fees (service fee per period)
 *   are NOT charged: the service is not rendered for periods that will not run.
 * - Penalty: all unpaid penalty of every installment (DUE, CURRENT, FUTURE).
 *
 * Prepayment fee (提前还款违约金), not in `lines`:
 *   max(prepaymentFeeMin, roundHalfUp₂(prepaymentFeeRate × Σ quoted principal of CURRENT + FUTURE)),
 *   and 0 when that principal is 0 (only DUE installments left: settling is paying what is due).
 *
 * The quote: every amount a 2-decimal string; lines (one per non-PAID installment, by period) sum to
 * principal / interest / fee / penalty; total = principal + interest + fee + penalty + prepaymentFee.
 * A quote can be 0.00 (e.g. only unquoted future interest / fees left): restructuring then closes
 * those installments directly (outstanding 0 → PAID).
 *
 * Errors:
 * - a bad date (quote date or an installment's) → INVALID_DATE (calendar.parseDate, like every module)
 * - rule not TO_DATE|TO_NEXT_DUE|FULL_TERM, bad prepaymentFeeRate / prepaymentFeeMin → INVALID_RULE
 * - installments not a non-empty array, a paid component above its amount, lateFee > fee, a bad
 *   `days` on the current installment → VALIDATION_ERROR; a malformed amount → INVALID_AMOUNT
 * - nothing unpaid on any installment → PLAN_SETTLED
 * - restructureForSettlement with a quote that does not match the installments → VALIDATION_ERROR
 */
import type { Installment, PlanTerms } from "../contracts/schedule.contract";
import { unpaidOf } from "./allocation";
import { compareDates, daysBetween, parseDate } from "./calendar";
import { DomainError } from "./errors";
import { AMOUNT_PATTERN, Dec, fmt, max, min, money, RATE_PATTERN, roundCent, ZERO, type Decimal } from "./money";

export const SETTLEMENT_INTEREST_MODES = ["TO_DATE", "TO_NEXT_DUE", "FULL_TERM"] as const;
export type SettlementInterestMode = (typeof SETTLEMENT_INTEREST_MODES)[number];

/** The settlement part of the SERVICING rule's content (domain/rules.ts). */
export interface SettlementRule {
  settlementInterest: SettlementInterestMode;
  /** Rate string in [0, 1), e.g. "0.02". */
  prepaymentFeeRate: string;
  /** Amount string, e.g. "50.00". */
  prepaymentFeeMin: string;
}

export type SettlementLineKind = "DUE" | "CURRENT" | "FUTURE";

/** What one installment contributes to the quote (2-decimal strings; prepayment fee not included). */
export interface SettlementLine {
  period: number;
  kind: SettlementLineKind;
  principal: string;
  interest: string;
  fee: string;
  penalty: string;
}

export interface SettlementQuote {
  /** Business date the quote is for (YYYY-MM-DD). */
  date: string;
  principal: string;
  interest: string;
  fee: string;
  penalty: string;
  prepaymentFee: string;
  /** principal + interest + fee + penalty + prepaymentFee. */
  total: string;
  /** One per non-PAID installment, by period; they sum to principal / interest / fee / penalty. */
  lines: SettlementLine[];
}

type Part = "principal" | "interest" | "fee" | "penalty";
const PARTS: readonly Part[] = ["principal", "interest", "fee", "penalty"];

function byAge(a: Installment, b: Installment): number {
  return compareDates(a.dueDate, b.dueDate) || a.period - b.period;
}

function checkRule(rule: SettlementRule): { mode: SettlementInterestMode; rate: Decimal; feeMin: Decimal } {
  if (!rule || typeof rule !== "object") throw new DomainError("INVALID_RULE", "SERVICING rule content is required", { field: "rule" });
  if (!SETTLEMENT_INTEREST_MODES.includes(rule.settlementInterest)) {
    throw new DomainError("INVALID_RULE", "settlementInterest must be TO_DATE, TO_NEXT_DUE or FULL_TERM", { field: "settlementInterest" });
  }
  if (typeof rule.prepaymentFeeRate !== "string" || !RATE_PATTERN.test(rule.prepaymentFeeRate)) {
    throw new DomainError("INVALID_RULE", "prepaymentFeeRate must be a decimal string in [0, 1)", { field: "prepaymentFeeRate" });
  }
  if (typeof rule.prepaymentFeeMin !== "string" || !AMOUNT_PATTERN.test(rule.prepaymentFeeMin)) {
    throw new DomainError("INVALID_RULE", "prepaymentFeeMin must be a decimal string with at most 2 decimals", { field: "prepaymentFeeMin" });
  }
  return { mode: rule.settlementInterest, rate: Dec(rule.prepaymentFeeRate), feeMin: Dec(rule.prepaymentFeeMin) };
}

function checkInstallments(installments: readonly Installment[]): void {
  if (!Array.isArray(installments) || installments.length === 0) {
    throw new DomainError("VALIDATION_ERROR", "installments must be a non-empty array", { field: "installments" });
  }
  const seen = new Set<number>();
  for (const i of installments) {
    if (seen.has(i.period)) throw new DomainError("VALIDATION_ERROR", `Duplicate period ${i.period} in the plan`, { period: i.period });
    seen.add(i.period);
  }
}

/** Unpaid scheduled fee and unpaid late fee (FEE payments pay the scheduled fee first). */
function feeSplit(inst: Installment, unpaidFee: Decimal): { scheduled: Decimal; late: Decimal } {
  const fee = money(inst.fee);
  let lateFee = ZERO;
  if (inst.lateFee !== undefined) {
    if (typeof inst.lateFee !== "string" || !AMOUNT_PATTERN.test(inst.lateFee)) {
      throw new DomainError("INVALID_AMOUNT", `lateFee of period ${inst.period} must be a decimal string with at most 2 decimals`, { field: "lateFee", period: inst.period });
    }
    lateFee = Dec(inst.lateFee);
  }
  if (lateFee.gt(fee)) throw new DomainError("VALIDATION_ERROR", `Period ${inst.period}: lateFee exceeds fee`, { period: inst.period, field: "lateFee" });
  const scheduled = max(ZERO, fee.minus(lateFee).minus(money(inst.paidFee)));
  return { scheduled, late: unpaidFee.minus(scheduled) };
}

/** The current installment's interest to `date`: scheduled interest × elapsed / period days, half-up. */
function interestToDate(inst: Installment, date: string): Decimal {
  const elapsed = daysBetween(inst.startDate, date);
  if (!Number.isInteger(inst.days) || inst.days <= elapsed) {
    throw new DomainError("VALIDATION_ERROR", `Period ${inst.period}: days must be an integer above the ${elapsed} days elapsed`, { period: inst.period, field: "days" });
  }
  return roundCent(money(inst.interest).times(Dec(String(elapsed))).div(Dec(String(inst.days))));
}

function zeroLine(period: number, kind: SettlementLineKind): Record<Part, Decimal> & { period: number; kind: SettlementLineKind } {
  return { period, kind, principal: ZERO, interest: ZERO, fee: ZERO, penalty: ZERO };
}

/**
 * The settlement quote of a plan on business date `date` under the SERVICING rule (see the module
 * comment for every convention). `terms` is accepted for the plan context but not needed: the
 * quote is computed from the installments as stored (pro rata on their scheduled interest).
 */
export function settlementQuote(installments: Installment[], _terms: PlanTerms, date: string, rule: SettlementRule): SettlementQuote {
  parseDate(date, "date");
  const { mode, rate, feeMin } = checkRule(rule);
  checkInstallments(installments);

  const open = installments.filter((i) => i.status !== "PAID").sort(byAge);
  const unpaid = new Map(open.map((i) => [i.period, unpaidOf(i)]));
  const anythingUnpaid = open.some((i) => {
    const u = unpaid.get(i.period)!;
    return PARTS.some((p) => u[p].gt(ZERO));
  });
  if (!anythingUnpaid) throw new DomainError("PLAN_SETTLED", "Nothing is unpaid: the plan is settled", {});

  const current = open.find((i) => compareDates(i.startDate, date) < 0 && compareDates(date, i.dueDate) < 0);
  const lines = open.map((inst) => {
    const u = unpaid.get(inst.period)!;
    const fees = feeSplit(inst, u.fee);
    if (compareDates(inst.dueDate, date) <= 0) {
      return { period: inst.period, kind: "DUE" as SettlementLineKind, principal: u.principal, interest: u.interest, fee: u.fee, penalty: u.penalty };
    }
    const kind: SettlementLineKind = inst === current ? "CURRENT" : "FUTURE";
    const line = zeroLine(inst.period, kind);
    let byRule: Decimal;
    if (kind === "CURRENT") byRule = mode === "TO_DATE" ? interestToDate(inst, date) : money(inst.interest);
    else byRule = mode === "FULL_TERM" ? money(inst.interest) : ZERO;
    const paidInterest = money(inst.paidInterest);
    const credit = min(max(ZERO, paidInterest.minus(byRule)), u.principal);
    line.interest = max(ZERO, byRule.minus(paidInterest));
    line.principal = u.principal.minus(credit);
    line.fee = kind === "CURRENT" ? u.fee : fees.late;
    line.penalty = u.penalty;
    return line;
  });
  lines.sort((a, b) => a.period - b.period);

  const sums: Record<Part, Decimal> = { principal: ZERO, interest: ZERO, fee: ZERO, penalty: ZERO };
  let prepayBase = ZERO;
  for (const l of lines) {
    for (const p of PARTS) sums[p] = sums[p].plus(l[p]);
    if (l.kind !== "DUE") prepayBase = prepayBase.plus(l.principal);
  }
  const prepaymentFee = prepayBase.gt(ZERO) ? max(feeMin, roundCent(rate.times(prepayBase))) : ZERO;
  const total = PARTS.reduce((s, p) => s.plus(sums[p]), prepaymentFee);
  return {
    date,
    principal: fmt(sums.principal),
    interest: fmt(sums.interest),
    fee: fmt(sums.fee),
    penalty: fmt(sums.penalty),
    prepaymentFee: fmt(prepaymentFee),
    total: fmt(total),
    lines: lines.map((l) => ({ period: l.period, kind: l.kind, principal: fmt(l.principal), interest: fmt(l.interest), fee: fmt(l.fee), penalty: fmt(l.penalty) })),
  };
}

function amountField(value: unknown, field: string): Decimal {
  if (typeof value !== "string" || !AMOUNT_PATTERN.test(value)) {
    throw new DomainError("VALIDATION_ERROR", `quote ${field} must be a decimal string with at most 2 decimals`, { field: `quote.${field}` });
  }
  return Dec(value);
}

function mismatch(message: string, data: Record<string, unknown>): never {
  throw new DomainError("VALIDATION_ERROR", `Quote does not match the installments: ${message}`, data);
}

/**
 * The installments restructured for settlement by `quote` (the inputs are not modified; order kept).
 * Applying exactly quote.total with allocation.allocate + applyAllocation then pays every
 * installment off with no surplus (Σ outstanding of the result == quote.total).
 * - DUE lines: amounts unchanged (owed in full).
 * - CURRENT / FUTURE: principal unchanged; interest = paidInterest + quoted interest; fee = paidFee
 *   + quoted fee. An interest excess credited to principal by the quote (quoted principal below the
 *   unpaid principal) is reclassified from paidInterest to paidPrincipal (paidTotal unchanged).
 * - The prepayment fee is added to the fee of the first CURRENT-or-FUTURE installment (by period),
 *   or of the last DUE one when there is none.
 * - total / paidTotal / outstanding recomputed as in allocation.ts; an installment left with
 *   nothing outstanding becomes PAID; every non-PAID input installment gets `settled: true` (stops
 *   overdue accrual, domain/fees.ts). PAID installments are returned as copies, untouched.
 * A quote that does not fit the installments (other periods, other unpaid amounts, sums that do not
 * add up) → VALIDATION_ERROR.
 */
export function restructureForSettlement(installments: Installment[], quote: SettlementQuote): Installment[] {
  checkInstallments(installments);
  if (!quote || typeof quote !== "object" || !Array.isArray(quote.lines)) {
    throw new DomainError("VALIDATION_ERROR", "quote must be a settlement quote", { field: "quote" });
  }
  const lines = new Map<number, SettlementLine>();
  const sums: Record<Part, Decimal> = { principal: ZERO, interest: ZERO, fee: ZERO, penalty: ZERO };
  for (const l of quote.lines) {
    if (lines.has(l.period)) mismatch(`period ${l.period} twice`, { period: l.period });
    if (l.kind !== "DUE" && l.kind !== "CURRENT" && l.kind !== "FUTURE") mismatch(`bad kind of period ${l.period}`, { period: l.period });
    lines.set(l.period, l);
    for (const p of PARTS) sums[p] = sums[p].plus(amountField(l[p], `lines.${p}`));
  }
  const prepaymentFee = amountField(quote.prepaymentFee, "prepaymentFee");
  const total = amountField(quote.total, "total");
  for (const p of PARTS) {
    if (!amountField(quote[p], p).eq(sums[p])) mismatch(`${p} is not the sum of its lines`, { field: `quote.${p}` });
  }
  if (!PARTS.reduce((s, p) => s.plus(sums[p]), prepaymentFee).eq(total)) mismatch("total is not the sum of its parts", { field: "quote.total" });

  const open = installments.filter((i) => i.status !== "PAID");
  if (open.length !== lines.size || open.some((i) => !lines.has(i.period))) {
    mismatch("the quote's periods are not the plan's unpaid installments", { periods: [...lines.keys()] });
  }
  // Where the prepayment fee goes.
  const byPeriod = [...open].sort((a, b) => a.period - b.period);
  const feeTarget = byPeriod.find((i) => lines.get(i.period)!.kind !== "DUE") ?? [...open].sort(byAge).pop();
  if (prepaymentFee.gt(ZERO) && feeTarget === undefined) mismatch("a prepayment fee with no installment to carry it", { field: "quote.prepaymentFee" });

  let outstandingSum = ZERO;
  const out = installments.map((orig) => {
    const inst: Installment = { ...orig };
    if (orig.status === "PAID") return inst;
    const line = lines.get(orig.period)!;
    const u = unpaidOf(orig);
    const q = { principal: Dec(line.principal), interest: Dec(line.interest), fee: Dec(line.fee), penalty: Dec(line.penalty) };
    if (line.kind === "DUE") {
      for (const p of PARTS) if (!q[p].eq(u[p])) mismatch(`period ${orig.period}: ${p} is not the unpaid ${p}`, { period: orig.period, field: p });
    } else {
      if (!q.penalty.eq(u.penalty)) mismatch(`period ${orig.period}: penalty is not the unpaid penalty`, { period: orig.period, field: "penalty" });
      if (q.fee.gt(u.fee) || q.fee.lt(feeSplit(orig, u.fee).late)) {
        mismatch(`period ${orig.period}: fee outside [unpaid late fee, unpaid fee]`, { period: orig.period, field: "fee" });
      }
      if (q.principal.gt(u.principal)) mismatch(`period ${orig.period}: principal above the unpaid principal`, { period: orig.period, field: "principal" });
      const credit = u.principal.minus(q.principal);
      const paidInterest = money(orig.paidInterest);
      if (credit.gt(ZERO) && (q.interest.gt(ZERO) || credit.gt(paidInterest))) {
        mismatch(`period ${orig.period}: principal credit without paid interest to back it`, { period: orig.period, field: "principal" });
      }
      inst.paidPrincipal = fmt(money(orig.paidPrincipal).plus(credit));
      inst.paidInterest = fmt(paidInterest.minus(credit));
      inst.interest = fmt(paidInterest.minus(credit).plus(q.interest));
      inst.fee = fmt(money(orig.paidFee).plus(q.fee));
    }
    if (feeTarget !== undefined && orig.period === feeTarget.period) inst.fee = fmt(money(inst.fee).plus(prepaymentFee));
    const scheduled = money(inst.principal).plus(money(inst.interest)).plus(money(inst.fee));
    const paid = money(inst.paidPrincipal).plus(money(inst.paidInterest)).plus(money(inst.paidFee)).plus(money(inst.paidPenalty));
    const outstanding = scheduled.plus(money(inst.penalty)).minus(paid);
    inst.total = fmt(scheduled);
    inst.paidTotal = fmt(paid);
    inst.outstanding = fmt(outstanding);
    if (outstanding.eq(ZERO)) inst.status = "PAID";
    inst.settled = true;
    outstandingSum = outstandingSum.plus(outstanding);
    return inst;
  });
  if (!outstandingSum.eq(total)) mismatch("the restructured outstanding is not the quote total", { outstanding: fmt(outstandingSum), total: fmt(total) });
  return out;
}
