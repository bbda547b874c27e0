/** Plans: from order terms to the stored plan document, and views of it. Pure. */
import type { Installment, Plan, PlanTerms } from "../contracts/schedule.contract";
import { generateSchedule, type PlanInput, type Schedule } from "./amortization";
import { partitionOf } from "./partition";
import { dueAmount } from "./allocation";

export function toPlanInput(terms: PlanTerms): PlanInput {
  return { ...terms } as PlanInput;
}

export function installmentsOf(schedule: Schedule): Installment[] {
  return schedule.lines.map((l) => ({
    period: l.period,
    startDate: l.startDate,
    dueDate: l.dueDate,
    days: l.days,
    principal: l.principal,
    interest: l.interest,
    fee: l.fee,
    penalty: "0.00",
    total: l.total,
    paidPrincipal: "0.00",
    paidInterest: "0.00",
    paidFee: "0.00",
    paidPenalty: "0.00",
    paidTotal: "0.00",
    outstanding: l.total,
    status: "PENDING",
  }));
}

export type NewPlan = Omit<Plan, "installments" | "totals" | "partition" | "status" | "version" | "createdAt" | "updatedAt" | "_id" | "nextDueDate" | "appliedTrades">;

/** Build the stored plan: schedule generated, partition = hash(planId) mod P. */
export function buildPlan(p: NewPlan, partitions: number, nowIso: string): Plan {
  const schedule = generateSchedule(toPlanInput(p.terms));
  return {
    _id: p.planId,
    ...p,
    partition: partitionOf(p.planId, partitions),
    status: "ACTIVE",
    installments: installmentsOf(schedule),
    totals: { principal: schedule.totalPrincipal, interest: schedule.totalInterest, fee: schedule.totalFee, total: schedule.total },
    nextDueDate: schedule.lines[0]?.dueDate ?? null,
    appliedTrades: {},
    revision: 1,
    version: 1,
    createdAt: nowIso,
    updatedAt: nowIso,
  };
}

/** The first unpaid installment, for list views. */
export function nextDue(plan: Pick<Plan, "installments">): Installment | undefined {
  return plan.installments.find((i) => i.status !== "PAID");
}

/** Installments with money due on or before `asOf`, and how much: a debit's scope. */
export function dueScope(plan: Pick<Plan, "installments">, asOf: string): { periods: number[]; amount: string } {
  const periods = plan.installments.filter((i) => i.status !== "PAID" && i.dueDate <= asOf && i.outstanding !== "0.00").map((i) => i.period);
  return { periods, amount: periods.length ? dueAmount(plan.installments, asOf) : "0.00" };
}
