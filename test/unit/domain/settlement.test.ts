/** Early settlement (提前结清): quotes checked by hand, and the restructure → allocate property. */
import type { Installment, PlanTerms } from "../../../contracts/schedule.contract";
import { allocate, applyAllocation } from "../../../domain/allocation";
import { generateSchedule } from "../../../domain/amortization";
import { addDays } from "../../../domain/calendar";
import { Dec, fmt, sum, ZERO } from "../../../domain/money";
import { installmentsOf, toPlanInput } from "../../../domain/plan";
import { restructureForSettlement, settlementQuote, type SettlementQuote, type SettlementRule } from "../../../domain/settlement";

const terms: PlanTerms = { principal: "12000.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2026-01-15" };

function fresh(t: PlanTerms = terms): Installment[] {
  return installmentsOf(generateSchedule(toPlanInput(t)));
}

/** Pay `amount` like a repayment (oldest first), optionally on some periods only. */
function pay(insts: Installment[], amount: string, periods?: number[]): Installment[] {
  const r = allocate(insts, amount, undefined, periods ? { periods } : {});
  expect(r.surplus).toBe("0.00");
  return applyAllocation(insts, r.allocations);
}

/** Periods 1–3 paid (3 × 1066.19). */
function paidThrough3(t: PlanTerms = terms): Installment[] {
  const out = pay(fresh(t), fmt(Dec(fresh(t)[0].total).times(Dec("3"))), [1, 2, 3]);
  expect(out.slice(0, 3).every((i) => i.status === "PAID")).toBe(true);
  return out;
}

const rule = (settlementInterest: SettlementRule["settlementInterest"], prepaymentFeeRate = "0.01", prepaymentFeeMin = "50.00"): SettlementRule => ({
  settlementInterest,
  prepaymentFeeRate,
  prepaymentFeeMin,
});

const d = (s: string) => Dec(s);

/** Periods 4..12 as generated (hand-checked below): principal and interest. */
const P = ["974.86", "984.61", "994.46", "1004.40", "1014.44", "1024.59", "1034.83", "1045.18", "1055.58"];
const I = ["91.33", "81.58", "71.73", "61.79", "51.75", "41.60", "31.36", "21.01", "10.56"];
// Principal outstanding after period 3 = 12000.00 − (946.19 + 955.65 + 965.21).
const REMAINING = d("12000.00").minus(d("946.19")).minus(d("955.65")).minus(d("965.21"));

function expectConsistent(q: SettlementQuote): void {
  for (const f of ["principal", "interest", "fee", "penalty"] as const) {
    expect(fmt(sum(q.lines.map((l) => l[f])))).toBe(q[f]);
  }
  expect(fmt(sum([q.principal, q.interest, q.fee, q.penalty, q.prepaymentFee]))).toBe(q.total);
  for (const v of [q.principal, q.interest, q.fee, q.penalty, q.prepaymentFee, q.total]) expect(v).toMatch(/^\d+\.\d\d$/);
}

/** The property: Σ outstanding == total, and allocating exactly total pays everything, surplus 0. */
function expectSettles(insts: Installment[], q: SettlementQuote): Installment[] {
  const before = JSON.stringify(insts);
  const r = restructureForSettlement(insts, q);
  expect(JSON.stringify(insts)).toBe(before); // inputs not mutated
  expect(fmt(sum(r.map((i) => i.outstanding)))).toBe(q.total);
  for (const i of r) {
    expect(i.total).toBe(fmt(sum([i.principal, i.interest, i.fee])));
    expect(i.outstanding).toBe(fmt(sum([i.principal, i.interest, i.fee, i.penalty]).minus(d(i.paidTotal))));
    expect(i.principal).toBe(insts.find((x) => x.period === i.period)!.principal);
  }
  insts.forEach((orig, n) => {
    if (orig.status === "PAID") expect(r[n]).toEqual(orig);
    else expect(r[n].settled).toBe(true);
  });
  if (d(q.total).gt(ZERO)) {
    const a = allocate(r, q.total);
    expect(a.surplus).toBe("0.00");
    expect(a.applied).toBe(q.total);
    const after = applyAllocation(r, a.allocations);
    expect(after.every((i) => i.status === "PAID" && i.outstanding === "0.00")).toBe(true);
  } else {
    expect(r.every((i) => i.status === "PAID")).toBe(true);
  }
  return r;
}

describe("the plan used here", () => {
  it("is the 12-month 12000.00 @ 12 % annuity whose figures the tests compute from", () => {
    const s = fresh();
    expect(s.slice(3).map((i) => i.principal)).toEqual(P);
    expect(s.slice(3).map((i) => i.interest)).toEqual(I);
    expect(s[3]).toMatchObject({ startDate: "2026-04-15", dueDate: "2026-05-15", days: 30 });
    expect(s[4]).toMatchObject({ startDate: "2026-05-15", dueDate: "2026-06-15", days: 31 });
    expect(fmt(REMAINING)).toBe("9132.95");
    expect(fmt(sum(P))).toBe("9132.95");
    // Period 4 interest = monthly interest of its opening balance: 9132.95 × 0.12 / 12.
    expect(fmt(REMAINING.times(d("0.12")).div(d("12")))).toBe("91.33");
  });
});

describe("settlementQuote in the middle of period 4 (2026-04-25, 10 of 30 days elapsed)", () => {
  const date = "2026-04-25";
  // Prepayment fee: 1 % of the principal of current + future = 9132.95 × 0.01 = 91.3295 → 91.33 (above the 50.00 minimum).
  const prepay = fmt(REMAINING.times(d("0.01")));

  it("TO_DATE: interest = 91.33 × 10 / 30 = 30.443… → 30.44; future interest 0", () => {
    const q = settlementQuote(paidThrough3(), terms, date, rule("TO_DATE"));
    const interest = d("91.33").times(d("10")).div(d("30")).round(2, Dec.roundHalfUp);
    expect(fmt(interest)).toBe("30.44");
    expect(prepay).toBe("91.33");
    expect(q).toMatchObject({ date, principal: "9132.95", interest: fmt(interest), fee: "0.00", penalty: "0.00", prepaymentFee: prepay });
    expect(q.total).toBe(fmt(REMAINING.plus(interest).plus(d(prepay))));
    expect(q.total).toBe("9254.72");
    expect(q.lines.map((l) => l.period)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(q.lines[0]).toEqual({ period: 4, kind: "CURRENT", principal: "974.86", interest: "30.44", fee: "0.00", penalty: "0.00" });
    expect(q.lines.slice(1).every((l) => l.kind === "FUTURE" && l.interest === "0.00")).toBe(true);
    expect(q.lines.map((l) => l.principal)).toEqual(P);
    expectConsistent(q);
  });

  it("TO_NEXT_DUE: the current installment's full interest 91.33; future 0", () => {
    const q = settlementQuote(paidThrough3(), terms, date, rule("TO_NEXT_DUE"));
    expect(q).toMatchObject({ principal: "9132.95", interest: "91.33", fee: "0.00", penalty: "0.00", prepaymentFee: "91.33" });
    expect(q.total).toBe(fmt(REMAINING.plus(d("91.33")).plus(d("91.33"))));
    expect(q.total).toBe("9315.61");
    expectConsistent(q);
  });

  it("FULL_TERM: all scheduled interest of periods 4–12 = 462.71", () => {
    const q = settlementQuote(paidThrough3(), terms, date, rule("FULL_TERM"));
    const interest = sum(I);
    expect(fmt(interest)).toBe("462.71");
    expect(q).toMatchObject({ principal: "9132.95", interest: "462.71", fee: "0.00", penalty: "0.00", prepaymentFee: "91.33" });
    expect(q.lines.map((l) => l.interest)).toEqual(I);
    expect(q.total).toBe(fmt(REMAINING.plus(interest).plus(d("91.33"))));
    expect(q.total).toBe("9686.99");
    expectConsistent(q);
  });

  it.each(["TO_DATE", "TO_NEXT_DUE", "FULL_TERM"] as const)("restructure (%s): Σ outstanding = total and paying the total settles every installment", (mode) => {
    const insts = paidThrough3();
    const q = settlementQuote(insts, terms, date, rule(mode));
    const r = expectSettles(insts, q);
    // The prepayment fee sits on the current installment (period 4).
    expect(r[3].fee).toBe(fmt(d("0.00").plus(d(q.prepaymentFee))));
    expect(r[3].interest).toBe(q.lines[0].interest);
    if (mode !== "FULL_TERM") expect(r.slice(4).every((i) => i.interest === "0.00" && i.fee === "0.00")).toBe(true);
  });

  it("paid interest beyond the interest by rule counts toward that installment's principal", () => {
    // 100.00 prepaid on period 4: interest 91.33, principal 8.67.
    const insts = pay(paidThrough3(), "100.00", [4]);
    expect(insts[3]).toMatchObject({ paidInterest: "91.33", paidPrincipal: "8.67" });
    const q = settlementQuote(insts, terms, date, rule("TO_DATE"));
    // Interest by rule 30.44; paid 91.33 → excess 60.89 credited to principal: 974.86 − 8.67 − 60.89 = 905.30.
    const excess = d("91.33").minus(d("30.44"));
    expect(fmt(excess)).toBe("60.89");
    expect(q.lines[0]).toEqual({ period: 4, kind: "CURRENT", principal: fmt(d("974.86").minus(d("8.67")).minus(excess)), interest: "0.00", fee: "0.00", penalty: "0.00" });
    expect(q.lines[0].principal).toBe("905.30");
    const principal = REMAINING.minus(d("8.67")).minus(excess);
    expect(q.principal).toBe(fmt(principal));
    // 9063.39 × 0.01 = 90.6339 → 90.63
    expect(q.prepaymentFee).toBe("90.63");
    expect(q.total).toBe(fmt(principal.plus(d("90.63"))));
    expectConsistent(q);
    const r = expectSettles(insts, q);
    // The excess is reclassified from paid interest to paid principal, paidTotal unchanged.
    expect(r[3]).toMatchObject({ paidInterest: "30.44", paidPrincipal: "69.56", interest: "30.44", paidTotal: "100.00" });
  });
});

describe("settlementQuote with an overdue installment (2026-05-20: period 4 overdue, period 5 current)", () => {
  // Period 4 overdue with a late fee 20.00 (inside fee) and penalty 3.20.
  function overdue(): Installment[] {
    const insts = paidThrough3();
    const p4 = insts[3];
    insts[3] = { ...p4, fee: "20.00", lateFee: "20.00", penalty: "3.20", total: fmt(sum([p4.principal, p4.interest, "20.00"])), outstanding: fmt(sum([p4.principal, p4.interest, "20.00", "3.20"])), status: "OVERDUE" };
    return insts;
  }

  it("TO_DATE: period 4 owed in full with its late fee and penalty; period 5 interest 81.58 × 5 / 31", () => {
    const q = settlementQuote(overdue(), terms, "2026-05-20", rule("TO_DATE"));
    const current = d("81.58").times(d("5")).div(d("31")).round(2, Dec.roundHalfUp);
    expect(fmt(current)).toBe("13.16");
    expect(q.lines[0]).toEqual({ period: 4, kind: "DUE", principal: "974.86", interest: "91.33", fee: "20.00", penalty: "3.20" });
    expect(q.lines[1]).toEqual({ period: 5, kind: "CURRENT", principal: "984.61", interest: "13.16", fee: "0.00", penalty: "0.00" });
    // Prepayment fee on the principal of periods 5–12 only: (9132.95 − 974.86) × 0.01 = 81.5809 → 81.58.
    const prepay = REMAINING.minus(d("974.86")).times(d("0.01")).round(2, Dec.roundHalfUp);
    expect(fmt(prepay)).toBe("81.58");
    expect(q).toMatchObject({ principal: "9132.95", interest: fmt(d("91.33").plus(current)), fee: "20.00", penalty: "3.20", prepaymentFee: "81.58" });
    expect(q.total).toBe(fmt(REMAINING.plus(d("91.33")).plus(current).plus(d("20.00")).plus(d("3.20")).plus(prepay)));
    expect(q.total).toBe("9342.22");
    expectConsistent(q);
    const r = expectSettles(overdue(), q);
    expect(r[3]).toMatchObject({ fee: "20.00", penalty: "3.20", interest: "91.33", status: "OVERDUE", settled: true });
    expect(r[4].fee).toBe("81.58");
  });

  it("a partly paid late fee: fee payments pay the scheduled fee first, a future late fee is still charged", () => {
    const withFee: PlanTerms = { ...terms, fee: "5.00" };
    const insts = paidThrough3(withFee);
    // Period 6 (future) carries a late fee 7.00 (fee 12.00) and penalty 1.10, of which 6.00 of fee is paid.
    const p6 = insts[5];
    insts[5] = { ...p6, fee: "12.00", lateFee: "7.00", penalty: "1.10", paidFee: "6.00", paidTotal: "6.00", total: fmt(sum([p6.principal, p6.interest, "12.00"])), outstanding: fmt(sum([p6.principal, p6.interest, "12.00", "1.10"]).minus(d("6.00"))) };
    const q = settlementQuote(insts, withFee, "2026-04-25", rule("TO_NEXT_DUE"));
    // Current period 4: scheduled fee 5.00 charged. Future: scheduled fee 5.00 not charged — except
    // period 6's unpaid late fee: 12.00 − 6.00 paid = 6.00 unpaid, of which scheduled max(0, 5.00 − 6.00) = 0 → late 6.00.
    expect(q.lines[0]).toMatchObject({ kind: "CURRENT", fee: "5.00" });
    expect(q.lines[2]).toMatchObject({ period: 6, kind: "FUTURE", fee: "6.00", penalty: "1.10", interest: "0.00" });
    expect(q.lines.filter((l) => l.period !== 4 && l.period !== 6).every((l) => l.fee === "0.00")).toBe(true);
    expect(q).toMatchObject({ fee: "11.00", penalty: "1.10", interest: "91.33" });
    expectConsistent(q);
    const r = expectSettles(insts, q);
    expect(r[5]).toMatchObject({ fee: "12.00", lateFee: "7.00" });
    expect(r[6].fee).toBe("0.00");
  });
});

describe("settlementQuote on boundary dates", () => {
  it("on period 4's due date: period 4 is due in full, no current installment, future interest 0", () => {
    const q = settlementQuote(paidThrough3(), terms, "2026-05-15", rule("TO_NEXT_DUE"));
    expect(q.lines.map((l) => l.kind)).toEqual(["DUE", ...Array(8).fill("FUTURE")]);
    expect(q.lines[0]).toEqual({ period: 4, kind: "DUE", principal: "974.86", interest: "91.33", fee: "0.00", penalty: "0.00" });
    expect(q.interest).toBe("91.33");
    expect(q.prepaymentFee).toBe("81.58");
    expect(q.total).toBe(fmt(REMAINING.plus(d("91.33")).plus(d("81.58"))));
    expect(q.total).toBe("9305.86");
    expect(settlementQuote(paidThrough3(), terms, "2026-05-15", rule("TO_DATE"))).toEqual(q);
    expectConsistent(q);
    expectSettles(paidThrough3(), q);
  });

  it("on period 4's start date (= period 3's due date, paid): no current installment, TO_NEXT_DUE charges no interest", () => {
    const q = settlementQuote(paidThrough3(), terms, "2026-04-15", rule("TO_NEXT_DUE"));
    expect(q.lines.every((l) => l.kind === "FUTURE")).toBe(true);
    expect(q).toMatchObject({ principal: "9132.95", interest: "0.00", prepaymentFee: "91.33", total: "9224.28" });
    expectSettles(paidThrough3(), q);
  });

  it("after maturity everything is due: no prepayment fee even with a minimum", () => {
    const q = settlementQuote(paidThrough3(), terms, "2027-02-01", rule("FULL_TERM", "0.05", "100.00"));
    expect(q.lines.every((l) => l.kind === "DUE")).toBe(true);
    expect(q).toMatchObject({ principal: "9132.95", interest: "462.71", prepaymentFee: "0.00", total: "9595.66" });
    expectSettles(paidThrough3(), q);
  });
});

describe("prepayment fee: minimum vs rate", () => {
  it.each([
    ["rate above the minimum", "0.01", "50.00", "91.33"],
    ["minimum above the rate", "0.01", "100.00", "100.00"],
    ["rate 2.5 %: 9132.95 × 0.025 = 228.32375 → 228.32", "0.025", "0.00", "228.32"],
    ["half-up: 9132.95 × 0.0005 = 4.566475 → 4.57", "0.0005", "0.00", "4.57"],
    ["none", "0", "0.00", "0.00"],
  ])("%s", (_name, rate, feeMin, expected) => {
    const q = settlementQuote(paidThrough3(), terms, "2026-04-25", rule("TO_DATE", rate, feeMin));
    expect(q.prepaymentFee).toBe(expected);
    const byRate = REMAINING.times(d(rate)).round(2, Dec.roundHalfUp);
    expect(q.prepaymentFee).toBe(fmt(byRate.gte(d(feeMin)) ? byRate : d(feeMin)));
    expectSettles(paidThrough3(), q);
  });
});

describe("errors", () => {
  it("PLAN_SETTLED when every installment is paid", () => {
    const all = pay(fresh(), fmt(sum(fresh().map((i) => i.total))));
    expect(() => settlementQuote(all, terms, "2026-04-25", rule("TO_DATE"))).toThrow(expect.objectContaining({ code: "PLAN_SETTLED" }));
  });

  it.each(["2026-02-30", "2026-4-25", "", "tomorrow"])("a bad date %p → INVALID_DATE (calendar.parseDate)", (date) => {
    expect(() => settlementQuote(paidThrough3(), terms, date, rule("TO_DATE"))).toThrow(expect.objectContaining({ code: "INVALID_DATE", data: expect.objectContaining({ field: "date" }) }));
  });

  it("a bad rule → INVALID_RULE", () => {
    const insts = paidThrough3();
    expect(() => settlementQuote(insts, terms, "2026-04-25", { ...rule("TO_DATE"), settlementInterest: "SOMETIME" as never })).toThrow(expect.objectContaining({ code: "INVALID_RULE" }));
    expect(() => settlementQuote(insts, terms, "2026-04-25", rule("TO_DATE", "1.5"))).toThrow(expect.objectContaining({ code: "INVALID_RULE" }));
    expect(() => settlementQuote(insts, terms, "2026-04-25", rule("TO_DATE", "0.01", "5.001"))).toThrow(expect.objectContaining({ code: "INVALID_RULE" }));
  });

  it("restructure with a quote of other installments → VALIDATION_ERROR", () => {
    const insts = paidThrough3();
    const q = settlementQuote(insts, terms, "2026-04-25", rule("TO_DATE"));
    expect(() => restructureForSettlement(pay(insts, "1066.19", [4]), q)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
    const tampered = { ...q, total: fmt(d(q.total).minus(d("0.01"))) };
    expect(() => restructureForSettlement(insts, tampered)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
});

describe("restructure property over seeded random plans and dates", () => {
  it("holds for 60 cases (paid periods, partial payments, fees, every mode)", () => {
    let seed = 20260415;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const modes = ["TO_DATE", "TO_NEXT_DUE", "FULL_TERM"] as const;
    for (let k = 0; k < 60; k++) {
      const t: PlanTerms = { ...terms, fee: rnd(2) ? "3.50" : undefined, repaymentMethod: rnd(2) ? "EQUAL_INSTALLMENT" : "EQUAL_PRINCIPAL" };
      let insts = fresh(t);
      const paidPeriods = rnd(12);
      if (paidPeriods > 0) insts = pay(insts, fmt(sum(insts.slice(0, paidPeriods).map((i) => i.total))), insts.slice(0, paidPeriods).map((i) => i.period));
      if (paidPeriods < 12 && rnd(2)) insts = pay(insts, `${1 + rnd(300)}.${rnd(10)}5`, [insts[paidPeriods].period]);
      const date = addDays("2026-01-15", rnd(400));
      const q = settlementQuote(insts, t, date, rule(modes[rnd(3)], rnd(2) ? "0.01" : "0", rnd(2) ? "30.00" : "0.00"));
      expectConsistent(q);
      expectSettles(insts, q);
    }
  });
});
