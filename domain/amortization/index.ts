/**
 * Plan generation (还款计划生成): repayment schedules for the six repayment methods.
 * Pure: no clock, no I/O. Money is big.js (`Dec`) inside, 2-decimal strings outside.
 *
 * ## Notation
 * P principal, a annualRate, r = a/12 the monthly rate, n term, Res the lease residual.
 * round() = half-up to the cent. "Monthly interest" of a balance B = round(B·a/12) (computed as
 * B·a/12, never with a truncated r). "Daily interest" of B over a period = round(B·a·days/basis)
 * with { days, basis } from the day count (calendar.yearFraction): ACT/360 and ACT/365 count
 * calendar days, 30/360 is 30E/360 (see domain/calendar.ts).
 *
 * ## Dates
 * - Period k (1-based) is due in month start+k on `dueDay` (default: the start date's day),
 *   clamped to the month end: start 2025-01-31 → 2025-02-28, 2025-03-31, …
 * - Line k runs from the previous due date (line 1: the start date) to its due date;
 *   `days` is always the calendar day count of that span, whatever day count the interest uses.
 * - Irregular first period: the first period is regular when the start date is itself on the due
 *   day (the due day clamped in the start month: start 2025-02-28 with dueDay 31 is regular).
 *   Otherwise it is short (dueDay before the start day: 2025-01-20 → 2025-02-05) or long
 *   (dueDay after: 2025-01-10 → 2025-02-25). Its interest is daily interest under `dayCount` on
 *   the actual span; its principal follows the regular schedule (annuity: payment − the regular
 *   monthly interest of that period), so only the interest and the line total move.
 *
 * ## Interest basis
 * - MONTHLY (default): regular periods bear monthly interest, whatever their length.
 * - DAILY: every period bears daily interest on its span. EQUAL_INSTALLMENT / LEASE_ANNUITY still
 *   compute the level payment with r = a/12, and principal = payment − that period's daily
 *   interest (never below 0 — a long, expensive period pays interest only — never above the
 *   balance); the last line takes what remains.
 *
 * ## Methods
 * - EQUAL_INSTALLMENT (等额本息): payment = round(P·r/(1−(1+r)^−n)); line interest = monthly
 *   interest of the opening balance; principal = payment − interest; the LAST line takes the whole
 *   remaining balance (its total differs slightly from the payment). r = 0: payment = round(P/n).
 *   `periodicPayment` = payment.
 * - EQUAL_PRINCIPAL (等额本金): principal = round(P/n) per line, the last line takes the rest;
 *   interest on the opening balance.
 * - INTEREST_FIRST (先息后本): interest each period, all principal in the last line.
 * - BULLET (到期一次还本付息): one line.
 *   · termUnit MONTH: due in month start+term on dueDay. MONTHLY basis: interest =
 *     round(P·a·term/12); if the first month is irregular, round(P·a·(term−1)/12 + P·a·d1/basis)
 *     with d1 the day count of that first irregular month (one rounding). DAILY basis: daily
 *     interest from start to maturity.
 *   · termUnit DAY (supply-chain bills): due = start + term days, interest = round(P·a·days/basis)
 *     (days = term for ACT, the 30E/360 count for 30/360). Basis is DAILY by definition.
 * - LEASE_ANNUITY (融资租赁): n rents with optional residual (balloon).
 *   · ARREARS (后付, default): rent R = round((P − Res·v^n)·r/(1−v^n)), v = 1/(1+r); line k due as
 *     above; annuity rounding; the residual is added to the last line's principal (the balance
 *     left after the last rent is exactly Res, paid with it).
 *   · ADVANCE (先付): line 1 is due ON the start date, bears no interest, and is all principal
 *     (R, or P when n = 1). Line k ≥ 2 is due in month start+(k−1) on dueDay (line 2 is the
 *     irregular one when dueDay differs from the start day) and bears the interest of the balance
 *     outstanding since the previous line. The residual is paid WITH THE LAST RENT (line n, month
 *     start+n−1), as principal of exactly Res. Being paid then, not one month later at the end of
 *     the term, it is discounted by v^(n−1):
 *         R = round((P − Res·v^(n−1))·r / ((1 − v^n)(1 + r)))
 *     which is the textbook advance annuity (P·r/((1 − v^n)(1 + r))) when Res = 0. (Excel's
 *     PMT(r, n, −P, Res, 1) discounts by v^n instead, placing the residual one month after the
 *     last rent; we keep every schedule at exactly n lines.) A residual above P/(1+r) is refused in
 *     ADVANCE: the rents would then be below the interest of the balance (negative amortisation).
 *     r = 0: R = round((P − Res)/n) for both timings. `periodicPayment` = R.
 * - CUSTOM: the caller's lines. Interest and fee per line default to 0; term must equal the
 *   number of lines; due dates strictly increasing and after the start date; principals ≥ 0
 *   summing exactly to P; a line with nothing to pay is refused.
 * - `fee`: a flat amount added to every line's fee (CUSTOM: to the line's own fee).
 *
 * ## Invariants (every method)
 * Σ principal = P exactly; every line total = principal + interest + fee; no negative amount;
 * closingPrincipal(k) = openingPrincipal(k) − principal(k); the last closing is 0.00 (lease:
 * after the residual). Totals are the sums of the lines. Every amount has exactly two decimals.
 *
 * ## Validation (DomainError code, data.field)
 * - input not an object → VALIDATION_ERROR (input)
 * - repaymentMethod unknown → UNSUPPORTED_METHOD (repaymentMethod)
 * - principal not a 2-decimal string > 0 → INVALID_AMOUNT (principal)
 * - annualRate not a decimal string in [0, 1) → INVALID_RATE (annualRate)
 * - termUnit not MONTH/DAY, or DAY without BULLET → INVALID_TERM (termUnit)
 * - term not an integer in 1..600 (DAY: 1..3650) → INVALID_TERM (term); CUSTOM: term ≠ lines → INVALID_TERM (term)
 * - startDate not a real YYYY-MM-DD, or the plan ending after 9999-12-31 → INVALID_DATE (startDate)
 * - dueDay not an integer 1..31 → INVALID_DATE (dueDay); dueDay with CUSTOM or a DAY term → VALIDATION_ERROR (dueDay)
 * - interestBasis / dayCount / leaseTiming not one of theirs → VALIDATION_ERROR (the field);
 *   interestBasis or dayCount with CUSTOM, interestBasis MONTHLY with a DAY term,
 *   leaseTiming without LEASE_ANNUITY → VALIDATION_ERROR (the field)
 * - residual without LEASE_ANNUITY → VALIDATION_ERROR (residual); not an amount ≥ 0, or ≥ P, or (ADVANCE)
 *   above P/(1+r) → INVALID_AMOUNT (residual)
 * - fee not an amount ≥ 0 → INVALID_AMOUNT (fee)
 * - customLines without CUSTOM → VALIDATION_ERROR (customLines); missing/empty/over 600 with
 *   CUSTOM → INVALID_SCHEDULE (customLines); a bad line date → INVALID_DATE (customLines[i].dueDate);
 *   a date not after the previous one / the start → INVALID_SCHEDULE (customLines[i].dueDate);
 *   a bad amount → INVALID_AMOUNT (customLines[i].principal|interest|fee); a line with nothing to
 *   pay → INVALID_SCHEDULE (customLines[i]); principals not summing to P → INVALID_SCHEDULE (customLines)
 * Optional fields given as null count as absent.
 */
import { buildSchedule } from "./schedule";
import type { PlanInput, Schedule } from "./types";
import { normalizePlanInput } from "./validate";

export { REPAYMENT_METHODS } from "./types";
export type { CustomLine, DayCount, InterestBasis, LeaseTiming, PlanInput, RepaymentMethod, Schedule, ScheduleLine, TermUnit } from "./types";
export { MAX_CUSTOM_LINES, MAX_DAY_TERM, MAX_MONTH_TERM } from "./validate";
export { clearAnnuityCache } from "./annuity";

/** The repayment schedule of a plan; throws DomainError (code, data.field) on any invalid input. */
export function generateSchedule(input: PlanInput): Schedule {
  return buildSchedule(normalizePlanInput(input));
}

/** The checks of generateSchedule alone. */
export function validatePlanInput(input: PlanInput): void {
  normalizePlanInput(input);
}
