/**
 * Applying a repayment to a plan (还款冲账 / 分配): which installment and which component each
 * yuan of a repayment pays. Pure, exact (big.js), never a JS number.
 *
 * Definitions used throughout (an installment as stored, contracts/schedule.contract.ts):
 * - `total`        = principal + interest + fee (the scheduled amount; penalty accrues separately)
 * - due            = principal + interest + fee + penalty
 * - unpaid(c)      = c − paid c, per component c ∈ {PENALTY, FEE, INTEREST, PRINCIPAL}
 * - `paidTotal`    = paidPrincipal + paidInterest + paidFee + paidPenalty
 * - `outstanding`  = due − paidTotal
 *
 * Order (the ALLOCATION rule, DESIGN.md flow 5): installments oldest first (dueDate, then period);
 * within an installment the components in the rule's order, default PENALTY → FEE → INTEREST →
 * PRINCIPAL. An installment is paid off in the rule's order before the next one gets anything.
 */
import type { Installment, InstallmentStatus } from "../contracts/schedule.contract";
import { compareDates, parseDate } from "./calendar";
import { DomainError } from "./errors";
import { AMOUNT_PATTERN, fmt, min, money, parseAmount, ZERO, type Decimal } from "./money";

export type AllocationComponent = "PENALTY" | "FEE" | "INTEREST" | "PRINCIPAL";

/** The default allocation order: penalty → fee → interest → principal. */
export const DEFAULT_ALLOCATION_ORDER: readonly AllocationComponent[] = Object.freeze(["PENALTY", "FEE", "INTEREST", "PRINCIPAL"] as AllocationComponent[]);

/** What one installment receives from a repayment. Amounts are 2-decimal strings. */
export interface Allocation {
  period: number;
  penalty: string;
  fee: string;
  interest: string;
  principal: string;
  total: string;
}

export interface AllocationResult {
  /** Only installments that receive something, oldest first. */
  allocations: Allocation[];
  /** Sum of all allocations. */
  applied: string;
  /** amount − applied: what is left when everything in scope is paid (kept by the caller, e.g. as a credit). */
  surplus: string;
}

export interface AllocateOptions {
  /** Only installments due on or before this date (YYYY-MM-DD). Prepaying later ones is a later feature. */
  asOf?: string;
  /** Only these periods. Each must exist in the plan. */
  periods?: number[];
}

type Field = "penalty" | "fee" | "interest" | "principal";
const FIELD: Record<AllocationComponent, Field> = { PENALTY: "penalty", FEE: "fee", INTEREST: "interest", PRINCIPAL: "principal" };
const PAID: Record<Field, "paidPenalty" | "paidFee" | "paidInterest" | "paidPrincipal"> = {
  penalty: "paidPenalty",
  fee: "paidFee",
  interest: "paidInterest",
  principal: "paidPrincipal",
};
const FIELDS: readonly Field[] = ["penalty", "fee", "interest", "principal"];

function amountOf(value: unknown, field: string, period: number): Decimal {
  if (typeof value !== "string" || !AMOUNT_PATTERN.test(value)) {
    throw new DomainError("INVALID_AMOUNT", `${field} of period ${period} must be a decimal string with at most 2 decimals`, { field, period });
  }
  return money(value);
}

/** Unpaid amount per component of one installment. Throws VALIDATION_ERROR if a component is overpaid. */
export function unpaidOf(installment: Installment): Record<Field, Decimal> {
  const out = {} as Record<Field, Decimal>;
  for (const f of FIELDS) {
    const due = amountOf(installment[f], f, installment.period);
    const paid = amountOf(installment[PAID[f]], PAID[f], installment.period);
    if (paid.gt(due)) {
      throw new DomainError("VALIDATION_ERROR", `Period ${installment.period}: ${PAID[f]} exceeds ${f}`, {
        period: installment.period,
        field: PAID[f],
        due: fmt(due),
        paid: fmt(paid),
      });
    }
    out[f] = due.minus(paid);
  }
  return out;
}

function checkOrder(order: readonly AllocationComponent[]): void {
  const ok =
    Array.isArray(order) &&
    order.length === DEFAULT_ALLOCATION_ORDER.length &&
    new Set(order).size === order.length &&
    order.every((c) => DEFAULT_ALLOCATION_ORDER.includes(c));
  if (!ok) {
    throw new DomainError("VALIDATION_ERROR", "order must name each of PENALTY, FEE, INTEREST, PRINCIPAL exactly once", { field: "order" });
  }
}

function byAge(a: Installment, b: Installment): number {
  return compareDates(a.dueDate, b.dueDate) || a.period - b.period;
}

/** The installments in scope of `opts`, oldest first. */
function inScope(installments: readonly Installment[], opts: AllocateOptions): Installment[] {
  const asOf = opts.asOf === undefined ? undefined : parseDate(opts.asOf, "asOf");
  let wanted: Set<number> | undefined;
  if (opts.periods !== undefined) {
    if (!Array.isArray(opts.periods) || opts.periods.length === 0) {
      throw new DomainError("VALIDATION_ERROR", "periods must be a non-empty array when given", { field: "periods" });
    }
    const known = new Set(installments.map((i) => i.period));
    const missing = opts.periods.filter((p) => !known.has(p));
    if (missing.length > 0) {
      throw new DomainError("VALIDATION_ERROR", `No such period(s): ${missing.join(", ")}`, { field: "periods", missing });
    }
    wanted = new Set(opts.periods);
  }
  return installments
    .filter((i) => (wanted ? wanted.has(i.period) : true) && (asOf === undefined || compareDates(i.dueDate, asOf) <= 0))
    .sort(byAge);
}

/**
 * Split `amount` over the installments: oldest first, components in `order`, only the unpaid part
 * of each. Amount must be a positive 2-decimal string (INVALID_AMOUNT otherwise).
 */
export function allocate(
  installments: readonly Installment[],
  amount: string,
  order: readonly AllocationComponent[] = DEFAULT_ALLOCATION_ORDER,
  opts: AllocateOptions = {},
): AllocationResult {
  const total = parseAmount(amount, "amount");
  checkOrder(order);
  let left = total;
  const allocations: Allocation[] = [];
  for (const inst of inScope(installments, opts)) {
    if (left.eq(ZERO)) break;
    const unpaid = unpaidOf(inst);
    const got: Record<Field, Decimal> = { penalty: ZERO, fee: ZERO, interest: ZERO, principal: ZERO };
    let instTotal = ZERO;
    for (const c of order) {
      const f = FIELD[c];
      const take = min(left, unpaid[f]);
      got[f] = take;
      instTotal = instTotal.plus(take);
      left = left.minus(take);
    }
    if (instTotal.gt(ZERO)) {
      allocations.push({ period: inst.period, penalty: fmt(got.penalty), fee: fmt(got.fee), interest: fmt(got.interest), principal: fmt(got.principal), total: fmt(instTotal) });
    }
  }
  return { allocations, applied: fmt(total.minus(left)), surplus: fmt(left) };
}

/**
 * Status after a payment: PAID when nothing is outstanding; else PARTIALLY_PAID when something has
 * been paid — except that an OVERDUE installment stays OVERDUE until it is paid off (collection
 * lists and overdue accrual must not lose it because the borrower paid part); else unchanged.
 */
export function statusAfterPayment(previous: InstallmentStatus, outstanding: Decimal, paidTotal: Decimal): InstallmentStatus {
  if (outstanding.eq(ZERO)) return "PAID";
  if (previous === "OVERDUE") return "OVERDUE";
  if (paidTotal.gt(ZERO)) return "PARTIALLY_PAID";
  return previous;
}

/**
 * New installments (same order as given; the inputs are not modified) with the allocations added to
 * the paid fields, paidTotal and outstanding recomputed and the status updated. Throws
 * VALIDATION_ERROR when an allocation names an unknown period, its total is not the sum of its
 * components, or it would pay more than is unpaid (several allocations for one period are applied
 * one after another, each checked against what is left).
 */
export function applyAllocation(installments: readonly Installment[], allocations: readonly Allocation[]): Installment[] {
  const out = installments.map((i) => ({ ...i }));
  const index = new Map<number, number>();
  out.forEach((inst, n) => {
    if (index.has(inst.period)) throw new DomainError("VALIDATION_ERROR", `Duplicate period ${inst.period} in the plan`, { period: inst.period });
    index.set(inst.period, n);
  });
  const touched = new Set<number>();
  for (const a of allocations) {
    const n = index.get(a.period);
    if (n === undefined) throw new DomainError("VALIDATION_ERROR", `No such period: ${a.period}`, { field: "period", period: a.period });
    const inst = out[n];
    const unpaid = unpaidOf(inst);
    let allocTotal = ZERO;
    for (const f of FIELDS) {
      const x = amountOf(a[f], `allocation.${f}`, a.period);
      if (x.gt(unpaid[f])) {
        throw new DomainError("VALIDATION_ERROR", `Allocation to period ${a.period} pays more ${f} than is unpaid`, {
          period: a.period,
          component: f,
          unpaid: fmt(unpaid[f]),
          amount: fmt(x),
        });
      }
      allocTotal = allocTotal.plus(x);
      inst[PAID[f]] = fmt(money(inst[PAID[f]]).plus(x));
    }
    if (!amountOf(a.total, "allocation.total", a.period).eq(allocTotal)) {
      throw new DomainError("VALIDATION_ERROR", `Allocation to period ${a.period}: total is not the sum of its components`, {
        period: a.period,
        total: a.total,
        sum: fmt(allocTotal),
      });
    }
    touched.add(n);
  }
  for (const n of touched) {
    const inst = out[n];
    const due = FIELDS.reduce((s, f) => s.plus(money(inst[f])), ZERO);
    const paid = FIELDS.reduce((s, f) => s.plus(money(inst[PAID[f]])), ZERO);
    const outstanding = due.minus(paid);
    inst.paidTotal = fmt(paid);
    inst.outstanding = fmt(outstanding);
    inst.status = statusAfterPayment(installments[n].status, outstanding, paid);
  }
  return out;
}

/** Total unpaid (penalty + fee + interest + principal) of the installments due on or before `asOf`. */
export function dueAmount(installments: readonly Installment[], asOf: string): string {
  let total = ZERO;
  for (const inst of inScope(installments, { asOf })) {
    const u = unpaidOf(inst);
    total = total.plus(u.penalty).plus(u.fee).plus(u.interest).plus(u.principal);
  }
  return fmt(total);
}
