/**
 * Servicing a plan after it is generated (flows 5–7): who owns it on a date, overdue accrual over the
 * whole plan, the overdue summary collection systems filter on. Pure; the services resolve the rules
 * and store the result with a compare-and-set on the plan's version.
 *
 * Owners (asset transfer): `owners` is a list of { funderId, from } oldest first; the owner on a
 * date is the last entry with from ≤ date. A plan without the list has one owner, `funderId`, from
 * its start. Money collected on a date belongs to the owner on that date; the FEE rule of a date is
 * the one of the owner on that date.
 *
 * Accrual over a plan: each installment past its due date is accrued over (accruedThrough, to] with
 * domain/fees.ts `accrue`, the rule of each date being the one resolved for (owner on that date,
 * that date). `accruedThrough` moves to `to` on every installment past due (including paid or
 * skipped ones, so the next run starts after it): running it again for the same `to` changes
 * nothing; a missed week is the seven single dates in order.
 */
import type { Installment, Plan, PlanOwnerEntry } from "../contracts/schedule.contract";
import { unpaidOf } from "./allocation";
import { addDays, compareDates, daysBetween } from "./calendar";
import { DomainError } from "./errors";
import { accrue, agingBucket, daysOverdue, type FeeInstallment, type FeeRule, type FeeRuleVersion } from "./fees";
import { centsKey, fmt, money, ZERO } from "./money";

export type OwnedPlan = Pick<Plan, "funderId" | "owners" | "terms">;

/** The owner list, defaulting to the plan's funder from its start date. */
export function ownersOf(plan: OwnedPlan): PlanOwnerEntry[] {
  return plan.owners && plan.owners.length ? plan.owners : [{ funderId: plan.funderId, from: plan.terms.startDate }];
}

/** The funder that owns the plan's receivables on `date`. */
export function ownerOn(plan: OwnedPlan, date: string): string {
  let owner = ownersOf(plan)[0].funderId;
  for (const o of ownersOf(plan)) if (compareDates(o.from, date) <= 0) owner = o.funderId;
  return owner;
}

/** The owner list with a new owner from `from` on. Entries already starting on or after `from` are invalid (one change per date, in date order). */
export function withOwner(plan: OwnedPlan, entry: PlanOwnerEntry): PlanOwnerEntry[] {
  const list = ownersOf(plan);
  const last = list[list.length - 1];
  if (compareDates(entry.from, last.from) <= 0) {
    throw new DomainError("TRANSFER_STATE", `The plan already has an owner change on or after ${entry.from}`, { from: entry.from, lastFrom: last.from });
  }
  if (ownerOn(plan, entry.from) === entry.funderId) {
    throw new DomainError("TRANSFER_SAME_FUNDER", `The plan already belongs to ${entry.funderId} on ${entry.from}`, { funderId: entry.funderId });
  }
  return [...list, entry];
}

function isOpen(i: Installment): boolean {
  return i.status !== "PAID" && !(i as FeeInstallment).settled;
}

/** The dates whose FEE rule an accrual through `to` needs, ascending (empty when nothing accrues). */
export function accrualDates(plan: Pick<Plan, "installments">, to: string): string[] {
  let first: string | null = null;
  for (const i of plan.installments as FeeInstallment[]) {
    if (!isOpen(i) || i.waived || i.feesPaused || compareDates(i.dueDate, to) >= 0) continue;
    const after = i.accruedThrough && compareDates(i.accruedThrough, i.dueDate) > 0 ? i.accruedThrough : i.dueDate;
    const start = addDays(after, 1);
    if (compareDates(start, to) <= 0 && (first === null || compareDates(start, first) < 0)) first = start;
  }
  const out: string[] = [];
  if (first === null) return out;
  for (let d = first; compareDates(d, to) <= 0; d = addDays(d, 1)) out.push(d);
  return out;
}

export interface PlanAccrual {
  installments: Installment[];
  /** Something changed (an amount, a status, a date, days overdue): the caller stores it. */
  changed: boolean;
  /** Periods that became OVERDUE in this run (installment.overdue events). */
  newlyOverdue: Array<{ period: number; dueDate: string; daysOverdue: number; outstanding: string }>;
  penalty: string;
  lateFee: string;
  /** (installment, date) entries computed, zero ones included. */
  entries: number;
}

/**
 * Accrue every installment of the plan through `to`. `rules(date)` is the FEE rule in force on that
 * date for the owner of that date (null = none: nothing accrues that day).
 */
export function accruePlan(plan: Pick<Plan, "installments" | "totals">, to: string, rules: (date: string) => FeeRule | null): PlanAccrual {
  let changed = false;
  let penalty = ZERO;
  let lateFee = ZERO;
  let entries = 0;
  const newlyOverdue: PlanAccrual["newlyOverdue"] = [];
  const installments = plan.installments.map((raw) => {
    const inst = raw as FeeInstallment;
    if (compareDates(inst.dueDate, to) >= 0) {
      // Not past due (e.g. deferred): no days overdue.
      if (inst.daysOverdue || inst.aging) {
        changed = true;
        return { ...inst, daysOverdue: 0, aging: null };
      }
      return inst;
    }
    if (!isOpen(inst)) {
      // Paid or settled: nothing accrues and it is no longer overdue.
      if (inst.daysOverdue || inst.aging) {
        changed = true;
        return { ...inst, daysOverdue: 0, aging: null };
      }
      return inst;
    }
    if (inst.waived || inst.feesPaused) {
      // Still overdue, but these days are never charged (not even later): accruedThrough moves on.
      const days = daysOverdue(inst, to);
      const next: FeeInstallment = { ...inst, status: days > 0 ? "OVERDUE" : inst.status, accruedThrough: to, daysOverdue: days, aging: agingBucket(days, rules(to)?.agingBuckets) };
      if (next.accruedThrough !== inst.accruedThrough || next.daysOverdue !== inst.daysOverdue || next.status !== inst.status) changed = true;
      return next;
    }
    const after = inst.accruedThrough && compareDates(inst.accruedThrough, inst.dueDate) > 0 ? inst.accruedThrough : inst.dueDate;
    const versions: FeeRuleVersion[] = [];
    for (let d = addDays(after, 1); compareDates(d, to) <= 0; d = addDays(d, 1)) {
      const r = rules(d);
      if (r && (versions.length === 0 || versions[versions.length - 1].content !== r)) versions.push({ effectiveFrom: d, content: r });
    }
    if (versions.length === 0) {
      const r = rules(to);
      if (r) versions.push({ effectiveFrom: to, content: r });
    }
    const res = accrue(inst, versions, { from: inst.accruedThrough ?? null, to, planPrincipal: plan.totals.principal });
    entries += res.accruals.length;
    for (const a of res.accruals) {
      penalty = penalty.plus(a.penalty);
      lateFee = lateFee.plus(a.lateFee);
    }
    const days = res.daysOverdue;
    const next: FeeInstallment = {
      ...res.installment,
      accruedThrough: inst.accruedThrough && compareDates(inst.accruedThrough, to) > 0 ? inst.accruedThrough : to,
      daysOverdue: days,
      aging: res.aging,
    };
    if (days > 0 && inst.status !== "OVERDUE" && next.status === "OVERDUE") {
      newlyOverdue.push({ period: inst.period, dueDate: inst.dueDate, daysOverdue: days, outstanding: next.outstanding });
    }
    if (
      next.accruedThrough !== inst.accruedThrough ||
      next.daysOverdue !== inst.daysOverdue ||
      next.aging !== inst.aging ||
      next.status !== inst.status ||
      next.penalty !== inst.penalty ||
      next.fee !== inst.fee
    ) {
      changed = true;
    }
    return next;
  });
  return { installments, changed, newlyOverdue, penalty: fmt(penalty), lateFee: fmt(lateFee), entries };
}

/** What a collection system filters on: stored on the plan so the overdue list is a query. */
export interface OverdueSummary {
  /** Oldest overdue due date, null when nothing is overdue. */
  overdueSince: string | null;
  overdueDays: number;
  /** Unpaid amount (penalty included) of the overdue installments. */
  overdueAmount: string;
  /** overdueAmount as a cents key (money.ts centsKey): the overdue list filters by it in the store. Never computed with. */
  overdueCents: number;
  overduePenalty: string;
  overduePeriods: number[];
  aging: string | null;
}

export function overdueSummary(plan: Pick<Plan, "installments">, asOf: string, buckets?: FeeRule["agingBuckets"]): OverdueSummary {
  let amount = ZERO;
  let penalty = ZERO;
  const periods: number[] = [];
  let since: string | null = null;
  for (const i of plan.installments as FeeInstallment[]) {
    if (!isOpen(i) || compareDates(i.dueDate, asOf) >= 0) continue;
    const u = unpaidOf(i);
    const owed = u.principal.plus(u.interest).plus(u.fee).plus(u.penalty);
    if (owed.eq(ZERO)) continue;
    amount = amount.plus(owed);
    penalty = penalty.plus(u.penalty);
    periods.push(i.period);
    if (since === null || compareDates(i.dueDate, since) < 0) since = i.dueDate;
  }
  const days = since === null ? 0 : daysBetween(since, asOf);
  const oldest = (plan.installments as FeeInstallment[]).find((i) => i.dueDate === since);
  return {
    overdueSince: since,
    overdueDays: days,
    overdueAmount: fmt(amount),
    overdueCents: centsKey(amount),
    overduePenalty: fmt(penalty),
    overduePeriods: periods,
    aging: since === null ? null : (buckets ? agingBucket(days, buckets) : (oldest?.aging ?? null)),
  };
}

/** Remaining (unpaid) principal of the plan. */
export function remainingPrincipal(plan: Pick<Plan, "installments">): string {
  let total = ZERO;
  for (const i of plan.installments) total = total.plus(money(i.principal).minus(money(i.paidPrincipal)));
  return fmt(total);
}
