/** Rescheduling (换期): deferral, term extension, partial prepayment with re-amortization, prepayment fee. */
import type { Installment, PlanTerms } from "../../../contracts/schedule.contract";
import { generateSchedule } from "../../../domain/amortization";
import { DomainError } from "../../../domain/errors";
import { Dec, fmt, sum, type Decimal } from "../../../domain/money";
import { installmentsOf } from "../../../domain/plan";
import { deferInstallments, extendTerm, prepaymentFee, prepayAndReamortize } from "../../../domain/reschedule";

// ---- fixtures ----------------------------------------------------------------------------------

const ANNUITY: PlanTerms = { principal: "12000.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2025-01-15" };

function planOf(terms: PlanTerms): Installment[] {
  return installmentsOf(generateSchedule({ ...terms } as Parameters<typeof generateSchedule>[0]));
}

/** Periods 1..n fully paid. */
function paidThrough(installments: Installment[], n: number): Installment[] {
  return installments.map((i) =>
    i.period <= n ? { ...i, paidPrincipal: i.principal, paidInterest: i.interest, paidFee: i.fee, paidTotal: i.total, outstanding: "0.00", status: "PAID" as const } : i,
  );
}

function deepFreeze<T>(x: T): T {
  if (x && typeof x === "object") {
    Object.values(x as object).forEach(deepFreeze);
    Object.freeze(x);
  }
  return x;
}

const principalSum = (xs: Installment[]): string => fmt(sum(xs.map((i) => i.principal)));
const payment = (i: Installment): Decimal => Dec(i.principal).plus(Dec(i.interest));

/** Field invariants of domain/allocation.ts on every installment. */
function expectConsistent(xs: Installment[]): void {
  xs.forEach((i, n) => {
    expect(i.period).toBe(n + 1);
    expect(i.total).toBe(fmt(sum([i.principal, i.interest, i.fee])));
    expect(i.paidTotal).toBe(fmt(sum([i.paidPrincipal, i.paidInterest, i.paidFee, i.paidPenalty])));
    expect(i.outstanding).toBe(fmt(sum([i.principal, i.interest, i.fee, i.penalty]).minus(Dec(i.paidTotal))));
    if (n > 0) expect(i.startDate).toBe(xs[n - 1].dueDate);
  });
}

function domainError(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error("expected a DomainError");
}

/** Annuity payment B·r/(1 − (1+r)^−n) = B·r·X/(X − 1), X = (1+r)^n, rounded half-up to the cent. */
function annuity(B: string, r: string, n: number): string {
  const X = Dec("1").plus(Dec(r)).pow(n); // exact: big.js pow with a positive integer exponent
  return fmt(Dec(B).times(Dec(r)).times(X).div(X.minus(Dec("1"))));
}

// ---- the base plan -----------------------------------------------------------------------------

describe("fixture: 12-month annuity of 12000.00 at 12 %", () => {
  it("has the textbook payment and due dates on the 15th", () => {
    const plan = planOf(ANNUITY);
    expect(plan).toHaveLength(12);
    expect(annuity("12000.00", "0.01", 12)).toBe("1066.19");
    expect(payment(plan[0]).toFixed(2)).toBe("1066.19");
    expect(plan[3].dueDate).toBe("2025-05-15");
    expect(plan[11].dueDate).toBe("2026-01-15");
  });
});

// ---- deferInstallments --------------------------------------------------------------------------

describe("deferInstallments", () => {
  it("defers by one period from the first unpaid installment: months on each date's day, amounts unchanged", () => {
    const plan = paidThrough(planOf(ANNUITY), 3);
    const out = deferInstallments(plan, { asOf: "2025-04-20", periods: 1 });
    expect(out).toHaveLength(12);
    expect(out.slice(0, 3)).toEqual(plan.slice(0, 3));
    // Period 4 keeps its start, its period becomes two months long.
    expect(out[3]).toMatchObject({ period: 4, startDate: "2025-04-15", dueDate: "2025-06-15", days: 61 });
    expect(out[4]).toMatchObject({ period: 5, startDate: "2025-06-15", dueDate: "2025-07-15", days: 30 });
    expect(out[11]).toMatchObject({ period: 12, startDate: "2026-01-15", dueDate: "2026-02-15", days: 31 });
    for (let n = 3; n < 12; n++) {
      for (const f of ["principal", "interest", "fee", "penalty", "total", "paidTotal", "outstanding", "status"] as const) expect(out[n][f]).toBe(plan[n][f]);
    }
    expectConsistent(out);
  });

  it("defers by 10 days from an explicit period, later periods following", () => {
    const plan = planOf(ANNUITY);
    const out = deferInstallments(plan, { asOf: "2025-01-15", fromPeriod: 2, days: 10 });
    expect(out[0]).toEqual(plan[0]);
    expect(out[1]).toMatchObject({ startDate: "2025-02-15", dueDate: "2025-03-25", days: 38 });
    expect(out[2]).toMatchObject({ startDate: "2025-03-25", dueDate: "2025-04-25", days: 31 });
    expect(out[11]).toMatchObject({ startDate: "2025-12-25", dueDate: "2026-01-25", days: 31 });
    expect(principalSum(out)).toBe("12000.00");
    expect(out.map((i) => i.interest)).toEqual(plan.map((i) => i.interest)); // no interest recomputation
  });

  it("turns an OVERDUE installment whose new date is after asOf into PENDING, keeping its accrued fees", () => {
    const plan = paidThrough(planOf(ANNUITY), 3);
    plan[3] = {
      ...plan[3],
      status: "OVERDUE",
      penalty: "4.50",
      outstanding: fmt(Dec(plan[3].total).plus(Dec("4.50"))),
      accruedPenalty: "4.50",
      chargingStarted: true,
      accruedThrough: "2025-05-20",
      daysOverdue: 5,
      aging: "M1",
    };
    const out = deferInstallments(plan, { asOf: "2025-05-20", periods: 1 });
    expect(out[3]).toMatchObject({
      dueDate: "2025-06-15",
      status: "PENDING",
      daysOverdue: 0,
      aging: null,
      penalty: "4.50",
      accruedPenalty: "4.50",
      chargingStarted: true,
      accruedThrough: "2025-05-20",
      outstanding: fmt(Dec(plan[3].total).plus(Dec("4.50"))),
    });
  });

  it("an overdue installment partly paid becomes PARTIALLY_PAID; one still due on or before asOf stays OVERDUE", () => {
    const plan = paidThrough(planOf(ANNUITY), 3);
    plan[3] = { ...plan[3], status: "OVERDUE", paidInterest: "50.00", paidTotal: "50.00", outstanding: fmt(Dec(plan[3].total).minus(Dec("50.00"))), daysOverdue: 15, aging: "M1" };
    expect(deferInstallments(plan, { asOf: "2025-05-30", days: 30 })[3]).toMatchObject({ dueDate: "2025-06-14", status: "PARTIALLY_PAID", daysOverdue: 0, aging: null });
    expect(deferInstallments(plan, { asOf: "2025-05-30", days: 10 })[3]).toMatchObject({ dueDate: "2025-05-25", status: "OVERDUE", daysOverdue: 15, aging: "M1" });
  });

  it("adds the rescheduling fee to the first shifted installment only", () => {
    const plan = paidThrough(planOf(ANNUITY), 3);
    const out = deferInstallments(plan, { asOf: "2025-04-20", periods: 2, fee: "50.00" });
    expect(out[3]).toMatchObject({ dueDate: "2025-07-15", fee: "50.00", total: "1116.19", outstanding: "1116.19" });
    expect(out[4]).toMatchObject({ fee: "0.00", total: "1066.19" });
    expectConsistent(out);
  });

  it("month deferral: each date's own day by default (clamped), the plan's due day when given", () => {
    const plan = planOf({ ...ANNUITY, startDate: "2025-01-31" });
    expect(plan.slice(0, 3).map((i) => i.dueDate)).toEqual(["2025-02-28", "2025-03-31", "2025-04-30"]);
    const own = deferInstallments(plan, { asOf: "2025-01-31", periods: 1 });
    expect(own.slice(0, 4).map((i) => i.dueDate)).toEqual(["2025-03-28", "2025-04-30", "2025-05-30", "2025-06-30"]);
    const onDay = deferInstallments(plan, { asOf: "2025-01-31", periods: 1, dueDay: 31 });
    expect(onDay.slice(0, 4).map((i) => i.dueDate)).toEqual(["2025-03-31", "2025-04-30", "2025-05-31", "2025-06-30"]);
    expect(onDay[0]).toMatchObject({ startDate: "2025-01-31", days: 59 });
    expectConsistent(onDay);
  });

  it("rejects bad inputs", () => {
    const plan = paidThrough(planOf(ANNUITY), 3);
    expect(domainError(() => deferInstallments(plan, { asOf: "2025-04-20", days: -5 }))).toMatchObject({ code: "VALIDATION_ERROR", data: { field: "days" } });
    expect(domainError(() => deferInstallments(plan, { asOf: "2025-04-20", days: 0 })).code).toBe("VALIDATION_ERROR");
    expect(domainError(() => deferInstallments(plan, { asOf: "2025-04-20", periods: 1.5 })).code).toBe("VALIDATION_ERROR");
    expect(domainError(() => deferInstallments(plan, { asOf: "2025-04-20", days: 10, periods: 1 })).data.reason).toBe("DAYS_XOR_PERIODS");
    expect(domainError(() => deferInstallments(plan, { asOf: "2025-04-20" })).data.reason).toBe("DAYS_XOR_PERIODS");
    expect(domainError(() => deferInstallments(plan, { asOf: "2025-04-20", periods: 1, fromPeriod: 13 })).data).toMatchObject({ field: "fromPeriod", reason: "UNKNOWN_PERIOD" });
    expect(domainError(() => deferInstallments(plan, { asOf: "2025-04-20", days: 5, dueDay: 15 })).data.field).toBe("dueDay");
    expect(domainError(() => deferInstallments(plan, { asOf: "2025-04-20", days: 5, fee: "-1" })).code).toBe("INVALID_AMOUNT");
    expect(domainError(() => deferInstallments(plan, { asOf: "2025-02-30", days: 5 })).code).toBe("INVALID_DATE");
    const allPaid = paidThrough(planOf(ANNUITY), 12);
    expect(domainError(() => deferInstallments(allPaid, { asOf: "2026-02-01", days: 5 }))).toMatchObject({ code: "VALIDATION_ERROR", data: { reason: "NOTHING_TO_DEFER" } });
  });
});

// ---- extendTerm ---------------------------------------------------------------------------------

describe("extendTerm", () => {
  it("re-amortizes the future installments over 6 more periods", () => {
    const plan = paidThrough(planOf(ANNUITY), 3);
    const out = extendTerm(plan, ANNUITY, { asOf: "2025-04-20", extraPeriods: 6 });
    expect(out).toHaveLength(18);
    expect(out.slice(0, 3)).toEqual(plan.slice(0, 3));
    expect(principalSum(out)).toBe("12000.00");
    // Remaining balance 9132.95 over 15 months from 2025-04-15.
    expect(principalSum(out.slice(3))).toBe("9132.95");
    expect(payment(out[3]).toFixed(2)).toBe(annuity("9132.95", "0.01", 15));
    expect(payment(out[3]).lt(payment(plan[3]))).toBe(true);
    expect(out[3]).toMatchObject({ startDate: "2025-04-15", dueDate: "2025-05-15", interest: "91.33", status: "PENDING", paidTotal: "0.00", penalty: "0.00" });
    expect(out[17].dueDate).toBe("2026-07-15");
    expectConsistent(out);
  });

  it("adds the fee to period k and treats a partly paid not-yet-due installment as not future", () => {
    let plan = paidThrough(planOf(ANNUITY), 3);
    plan = plan.map((i) => (i.period === 4 ? { ...i, paidInterest: "10.00", paidTotal: "10.00", outstanding: fmt(Dec(i.total).minus(Dec("10.00"))), status: "PARTIALLY_PAID" as const } : i));
    const out = extendTerm(plan, ANNUITY, { asOf: "2025-04-20", extraPeriods: 2, fee: "50.00" });
    expect(out).toHaveLength(14);
    expect(out[3]).toEqual(plan[3]);
    expect(out[4]).toMatchObject({ period: 5, startDate: "2025-05-15", fee: "50.00" });
    expect(out[4].total).toBe(fmt(payment(out[4]).plus(Dec("50.00"))));
    expect(principalSum(out)).toBe("12000.00");
    expectConsistent(out);
  });

  it("a lease in advance re-amortizes its tail in arrears, dates unchanged, residual kept", () => {
    const lease: PlanTerms = { principal: "10000.00", annualRate: "0.08", term: 6, repaymentMethod: "LEASE_ANNUITY", startDate: "2025-03-10", leaseTiming: "ADVANCE", residual: "1000.00" };
    const plan = paidThrough(planOf(lease), 2);
    const out = extendTerm(plan, lease, { asOf: "2025-04-10", extraPeriods: 3 });
    expect(out).toHaveLength(9);
    expect(out[2]).toMatchObject({ period: 3, startDate: "2025-04-10", dueDate: "2025-05-10" });
    expect(out[8].dueDate).toBe("2025-11-10");
    expect(principalSum(out)).toBe("10000.00");
    expect(Dec(out[8].principal).gt(Dec("1000.00"))).toBe(true);
    expectConsistent(out);
  });

  it("rejects: nothing in the future, bad extraPeriods, CUSTOM and DAY plans", () => {
    const plan = paidThrough(planOf(ANNUITY), 3);
    expect(domainError(() => extendTerm(plan, ANNUITY, { asOf: "2026-01-15", extraPeriods: 3 }))).toMatchObject({ code: "VALIDATION_ERROR", data: { reason: "NO_FUTURE_INSTALLMENTS" } });
    expect(domainError(() => extendTerm(plan, ANNUITY, { asOf: "2025-04-20", extraPeriods: 0 })).data.field).toBe("extraPeriods");
    const custom: PlanTerms = { principal: "100.00", annualRate: "0", term: 1, repaymentMethod: "CUSTOM", startDate: "2025-01-01", customLines: [{ dueDate: "2025-02-01", principal: "100.00" }] };
    expect(domainError(() => extendTerm(planOf(custom), custom, { asOf: "2025-01-01", extraPeriods: 1 })).code).toBe("RESCHEDULE_UNSUPPORTED");
    const bill: PlanTerms = { principal: "5000.00", annualRate: "0.1", term: 90, termUnit: "DAY", repaymentMethod: "BULLET", startDate: "2025-01-01" };
    expect(domainError(() => extendTerm(planOf(bill), bill, { asOf: "2025-01-01", extraPeriods: 1 })).code).toBe("RESCHEDULE_UNSUPPORTED");
  });

  it("rejects a tail with a prepaid installment in it", () => {
    const plan = planOf(ANNUITY).map((i) => (i.period === 8 ? { ...i, paidInterest: "1.00", paidTotal: "1.00", outstanding: fmt(Dec(i.total).minus(Dec("1.00"))), status: "PARTIALLY_PAID" as const } : i));
    expect(domainError(() => extendTerm(plan, ANNUITY, { asOf: "2025-01-15", extraPeriods: 2 })).data).toMatchObject({ reason: "PAID_IN_TAIL", period: 8 });
  });
});

// ---- prepayAndReamortize ------------------------------------------------------------------------

describe("prepayAndReamortize", () => {
  const paid3 = () => paidThrough(planOf(ANNUITY), 3);

  it("KEEP_TERM: same count, lower payment, prepayment recorded on period k, principal exact", () => {
    const plan = paid3();
    const r = prepayAndReamortize(plan, ANNUITY, { date: "2025-04-20", principal: "3000.00", mode: "KEEP_TERM" });
    expect(r.prepaidPeriod).toBe(4);
    expect(r.removedPeriods).toBe(0);
    expect(r.installments).toHaveLength(12);
    expect(r.remainingPrincipalBefore).toBe("9132.95");
    expect(r.remainingPrincipalAfter).toBe("6132.95");
    expect(principalSum(r.installments)).toBe("12000.00");
    // Period k: scheduled interest and principal kept, P added to principal and paidPrincipal.
    expect(r.installments[3]).toMatchObject({
      interest: plan[3].interest,
      principal: fmt(Dec(plan[3].principal).plus(Dec("3000.00"))),
      paidPrincipal: "3000.00",
      paidTotal: "3000.00",
      total: fmt(Dec(plan[3].total).plus(Dec("3000.00"))),
      outstanding: plan[3].outstanding,
      status: "PARTIALLY_PAID",
    });
    // Tail: B − P = 8158.09 − 3000.00 = 5158.09 over 8 months from 2025-05-15.
    const tail = r.installments.slice(4);
    expect(principalSum(tail)).toBe("5158.09");
    expect(tail[0]).toMatchObject({ period: 5, startDate: "2025-05-15", dueDate: "2025-06-15", interest: "51.58" });
    expect(tail[7].dueDate).toBe("2026-01-15");
    // Hand-computed annuity: 5158.09·0.01/(1 − 1.01^−8) = 674.1098… → 674.11 (half-up, as levelPayment rounds).
    expect(annuity("5158.09", "0.01", 8)).toBe("674.11");
    for (const i of tail.slice(0, 7)) expect(payment(i).toFixed(2)).toBe("674.11");
    expect(payment(tail[0]).lt(payment(plan[4]))).toBe(true);
    expectConsistent(r.installments);
  });

  it("KEEP_PAYMENT: fewer periods with a payment at most the old one", () => {
    const plan = paid3();
    const r = prepayAndReamortize(plan, ANNUITY, { date: "2025-04-20", principal: "3000.00", mode: "KEEP_PAYMENT" });
    const oldPayment = payment(plan[4]); // 1066.19
    expect(r.installments).toHaveLength(9);
    expect(r.removedPeriods).toBe(3);
    expect(principalSum(r.installments)).toBe("12000.00");
    const tail = r.installments.slice(4);
    expect(principalSum(tail)).toBe("5158.09");
    // n = 5 is the smallest term whose level payment fits: 1062.77 ≤ 1066.19 < payment over 4 months.
    expect(annuity("5158.09", "0.01", 5)).toBe("1062.77");
    expect(Dec(annuity("5158.09", "0.01", 4)).gt(oldPayment)).toBe(true);
    for (const i of tail.slice(0, 4)) expect(payment(i).toFixed(2)).toBe("1062.77");
    expect(tail.every((i) => payment(i).lte(oldPayment.plus(Dec("0.05"))))).toBe(true);
    expect(tail[4].dueDate).toBe("2025-10-15");
    expectConsistent(r.installments);
  });

  it("EQUAL_PRINCIPAL KEEP_PAYMENT keeps the principal per period (n = ceil((B − P)/1000.00))", () => {
    const terms: PlanTerms = { ...ANNUITY, repaymentMethod: "EQUAL_PRINCIPAL" };
    const plan = paidThrough(planOf(terms), 3);
    const even = prepayAndReamortize(plan, terms, { date: "2025-04-20", principal: "3000.00", mode: "KEEP_PAYMENT" });
    expect(even.installments).toHaveLength(9);
    expect(even.installments.slice(4).map((i) => i.principal)).toEqual(["1000.00", "1000.00", "1000.00", "1000.00", "1000.00"]);
    expect(even.installments[4].interest).toBe("50.00"); // 5000.00 · 1 %
    const uneven = prepayAndReamortize(plan, terms, { date: "2025-04-20", principal: "2500.00", mode: "KEEP_PAYMENT" });
    expect(uneven.removedPeriods).toBe(2); // ceil(5500/1000) = 6 periods after k
    expect(uneven.installments.slice(4).map((i) => i.principal)).toEqual(["916.67", "916.67", "916.67", "916.67", "916.67", "916.65"]);
    expect(principalSum(uneven.installments)).toBe("12000.00");
  });

  it("INTEREST_FIRST KEEP_TERM keeps the bullet at the end", () => {
    const terms: PlanTerms = { ...ANNUITY, repaymentMethod: "INTEREST_FIRST" };
    const plan = paidThrough(planOf(terms), 3);
    const r = prepayAndReamortize(plan, terms, { date: "2025-04-20", principal: "3000.00", mode: "KEEP_TERM" });
    expect(r.installments).toHaveLength(12);
    expect(r.installments[3]).toMatchObject({ principal: "3000.00", paidPrincipal: "3000.00", interest: "120.00", outstanding: "120.00" });
    expect(r.installments.slice(4, 11).every((i) => i.principal === "0.00" && i.interest === "90.00")).toBe(true);
    expect(r.installments[11]).toMatchObject({ principal: "9000.00", interest: "90.00" });
    expect(r.remainingPrincipalAfter).toBe("9000.00");
  });

  it("prepaying the whole balance after k removes the later periods", () => {
    const plan = paid3();
    const r = prepayAndReamortize(plan, ANNUITY, { date: "2025-04-20", principal: "8158.09", mode: "KEEP_TERM" });
    expect(r.installments).toHaveLength(4);
    expect(r.removedPeriods).toBe(8);
    expect(r.remainingPrincipalAfter).toBe(plan[3].principal);
    expect(principalSum(r.installments)).toBe("12000.00");
  });

  it("on the last period the prepayment just pays part of its principal", () => {
    const plan = paidThrough(planOf(ANNUITY), 11);
    const r = prepayAndReamortize(plan, ANNUITY, { date: "2025-12-20", principal: "1000.00", mode: "KEEP_TERM" });
    expect(r.installments[11]).toMatchObject({ principal: "1055.58", paidPrincipal: "1000.00", paidTotal: "1000.00", outstanding: "66.14", status: "PARTIALLY_PAID" });
    expect(domainError(() => prepayAndReamortize(plan, ANNUITY, { date: "2025-12-20", principal: "1055.59", mode: "KEEP_TERM" })).data.reason).toBe("EXCEEDS_BALANCE");
  });

  it("keeps a lease residual in the last period and refuses to eat into it", () => {
    const lease: PlanTerms = { principal: "12000.00", annualRate: "0.12", term: 12, repaymentMethod: "LEASE_ANNUITY", startDate: "2025-01-15", residual: "2000.00" };
    const plan = paidThrough(planOf(lease), 3);
    const r = prepayAndReamortize(plan, lease, { date: "2025-04-20", principal: "3000.00", mode: "KEEP_TERM" });
    const tail = r.installments.slice(4);
    expect(principalSum(r.installments)).toBe("12000.00");
    expect(Dec(tail[7].principal).minus(Dec(tail[6].principal)).gt(Dec("1900.00"))).toBe(true);
    const B = sum(plan.slice(4).map((i) => i.principal));
    expect(domainError(() => prepayAndReamortize(plan, lease, { date: "2025-04-20", principal: fmt(B.minus(Dec("2000.00"))), mode: "KEEP_TERM" })).data.reason).toBe("RESIDUAL");
  });

  it("rejects unsupported plans and modes", () => {
    const io: PlanTerms = { ...ANNUITY, repaymentMethod: "INTEREST_FIRST" };
    expect(domainError(() => prepayAndReamortize(planOf(io), io, { date: "2025-01-20", principal: "100.00", mode: "KEEP_PAYMENT" })).code).toBe("RESCHEDULE_UNSUPPORTED");
    const bullet: PlanTerms = { ...ANNUITY, repaymentMethod: "BULLET" };
    expect(domainError(() => prepayAndReamortize(planOf(bullet), bullet, { date: "2025-01-20", principal: "100.00", mode: "KEEP_PAYMENT" })).code).toBe("RESCHEDULE_UNSUPPORTED");
    const custom: PlanTerms = { principal: "100.00", annualRate: "0", term: 1, repaymentMethod: "CUSTOM", startDate: "2025-01-01", customLines: [{ dueDate: "2025-02-01", principal: "100.00" }] };
    expect(domainError(() => prepayAndReamortize(planOf(custom), custom, { date: "2025-01-10", principal: "10.00", mode: "KEEP_TERM" })).code).toBe("RESCHEDULE_UNSUPPORTED");
    const bill: PlanTerms = { principal: "5000.00", annualRate: "0.1", term: 90, termUnit: "DAY", repaymentMethod: "BULLET", startDate: "2025-01-01" };
    expect(domainError(() => prepayAndReamortize(planOf(bill), bill, { date: "2025-01-10", principal: "10.00", mode: "KEEP_TERM" })).code).toBe("RESCHEDULE_UNSUPPORTED");
  });

  it("a bullet KEEP_TERM prepayment pays part of the single line", () => {
    const bullet: PlanTerms = { ...ANNUITY, repaymentMethod: "BULLET" };
    const r = prepayAndReamortize(planOf(bullet), bullet, { date: "2025-06-01", principal: "2000.00", mode: "KEEP_TERM" });
    expect(r.installments[0]).toMatchObject({ principal: "12000.00", paidPrincipal: "2000.00", interest: "1440.00", outstanding: "11440.00" });
  });

  it("rejects bad inputs", () => {
    const plan = paid3();
    const go = (o: Partial<Parameters<typeof prepayAndReamortize>[2]>, xs = plan) =>
      domainError(() => prepayAndReamortize(xs, ANNUITY, { date: "2025-04-20", principal: "3000.00", mode: "KEEP_TERM", ...o }));
    expect(go({ principal: "8158.10" })).toMatchObject({ code: "VALIDATION_ERROR", data: { reason: "EXCEEDS_BALANCE", max: "8158.09" } });
    expect(go({ principal: "0.00" }).code).toBe("INVALID_AMOUNT");
    expect(go({ principal: "-5.00" }).code).toBe("INVALID_AMOUNT");
    expect(go({ mode: "SHORTER" as never }).data.field).toBe("mode");
    expect(go({ date: "2025-05-20" }).data.reason).toBe("DUE_NOT_SETTLED"); // period 4 due 05-15 unpaid
    expect(go({ date: "2026-02-01" }, paidThrough(planOf(ANNUITY), 12)).data.reason).toBe("NOTHING_TO_PREPAY");
    const prepaidLater = plan.map((i) => (i.period === 9 ? { ...i, paidInterest: "5.00", paidTotal: "5.00", outstanding: fmt(Dec(i.total).minus(Dec("5.00"))) } : i));
    expect(go({}, prepaidLater).data.reason).toBe("PAID_IN_TAIL");
  });
});

// ---- inputs are never modified -----------------------------------------------------------------

describe("purity", () => {
  it("does not modify its inputs", () => {
    const plan = deepFreeze(paidThrough(planOf(ANNUITY), 3));
    const terms = deepFreeze({ ...ANNUITY });
    const snapshot = JSON.stringify(plan);
    const deferred = deferInstallments(plan, { asOf: "2025-04-20", periods: 1, fee: "50.00" });
    const extended = extendTerm(plan, terms, { asOf: "2025-04-20", extraPeriods: 6, fee: "50.00" });
    const prepaid = prepayAndReamortize(plan, terms, { date: "2025-04-20", principal: "3000.00", mode: "KEEP_PAYMENT" });
    expect(JSON.stringify(plan)).toBe(snapshot);
    // New objects, even for the copied installments.
    for (const out of [deferred, extended, prepaid.installments]) {
      expect(out).not.toBe(plan);
      out.forEach((i, n) => expect(i).not.toBe(plan[n]));
    }
  });
});

// ---- prepaymentFee ------------------------------------------------------------------------------

describe("prepaymentFee", () => {
  it("is max(min, principal × rate rounded half-up to the cent)", () => {
    const rule = { prepaymentFeeRate: "0.01", prepaymentFeeMin: "10.00" };
    expect(prepaymentFee("3000.00", rule)).toBe("30.00");
    expect(prepaymentFee("500.00", rule)).toBe("10.00");
    expect(prepaymentFee("1234.50", rule)).toBe("12.35"); // 12.345 → 12.35
    expect(prepaymentFee("1234.49", { prepaymentFeeRate: "0.01", prepaymentFeeMin: "0.00" })).toBe("12.34"); // 12.3449
    expect(prepaymentFee("3000.00", { prepaymentFeeRate: "0", prepaymentFeeMin: "0.00" })).toBe("0.00");
    expect(() => prepaymentFee("3000.00", { prepaymentFeeRate: "1.5", prepaymentFeeMin: "0.00" })).toThrow(DomainError);
  });
});
