/**
 * Overdue fees: table tests with the expected figures worked out by hand in the comments.
 * Common fixture: period 1 due 2025-03-10, principal 1000.00, interest 50.00, fee 10.00, nothing paid.
 * "day n" = dueDate + n (2025-03-11 is day 1).
 */
import type { Installment } from "../../../contracts/schedule.contract";
import { DomainError } from "../../../domain/errors";
import {
  accrualBase,
  accrue,
  agingBucket,
  applyWaiver,
  dailyAccrual,
  daysOverdue,
  ruleOn,
  type AccrueOptions,
  type FeeInstallment,
  type FeeRule,
  type FeeRuleVersion,
} from "../../../domain/fees";
import { Dec, fmt, sum } from "../../../domain/money";

type Paid = Partial<Record<"principal" | "interest" | "fee" | "penalty", string>>;

function inst(over: Partial<FeeInstallment> = {}, paid: Paid = {}): FeeInstallment {
  const p = { principal: "0.00", interest: "0.00", fee: "0.00", penalty: "0.00", ...paid };
  const base: FeeInstallment = {
    period: 1,
    startDate: "2025-02-10",
    dueDate: "2025-03-10",
    days: 28,
    principal: "1000.00",
    interest: "50.00",
    fee: "10.00",
    penalty: "0.00",
    total: "1060.00",
    paidPrincipal: p.principal,
    paidInterest: p.interest,
    paidFee: p.fee,
    paidPenalty: p.penalty,
    paidTotal: fmt(sum([p.principal, p.interest, p.fee, p.penalty])),
    outstanding: "0.00",
    status: "PENDING",
    ...over,
  };
  const due = sum([base.principal, base.interest, base.fee, base.penalty]);
  return { ...base, total: fmt(sum([base.principal, base.interest, base.fee])), outstanding: fmt(due.minus(Dec(base.paidTotal))) };
}

function rule(over: Partial<FeeRule> = {}): FeeRule {
  return { graceDays: 0, base: "OVERDUE_PRINCIPAL", rateType: "DAILY", rate: "0.0005", fixedLateFee: "0.00", chargeFrom: "GRACE_END", accrualTime: "01:00", ...over };
}

const v = (content: FeeRule, effectiveFrom = "2025-01-01"): FeeRuleVersion => ({ effectiveFrom, content });
const OPTS = { planPrincipal: "12000.00" };
const run = (i: FeeInstallment, versions: FeeRuleVersion[], to: string, extra: Partial<AccrueOptions> = {}) => accrue(i, versions, { ...OPTS, from: null, to, ...extra });
const pen = (r: ReturnType<typeof accrue>) => r.accruals.map((a) => a.penalty);
const fees = (r: ReturnType<typeof accrue>) => r.accruals.map((a) => a.lateFee);

describe("ruleOn (effective dates)", () => {
  const a = v(rule({ rate: "0.0005" }), "2025-01-01");
  const b = v(rule({ rate: "0.001" }), "2025-03-13");
  it.each<[string, string, FeeRuleVersion | null]>([
    ["before the first version", "2024-12-31", null],
    ["on the first effective date", "2025-01-01", a],
    ["the day before the change", "2025-03-12", a],
    ["on the change date", "2025-03-13", b],
    ["after the change", "2026-01-01", b],
  ])("%s", (_name, date, expected) => {
    expect(ruleOn([b, a], date)).toBe(expected); // order of the list does not matter
  });
  it("rejects two versions with the same effectiveFrom", () => {
    expect(() => ruleOn([a, v(rule(), "2025-01-01")], "2025-02-01")).toThrow(DomainError);
  });
});

describe("daysOverdue and aging buckets", () => {
  it.each<[string, FeeInstallment, string, number]>([
    ["before the due date", inst(), "2025-03-01", 0],
    ["on the due date (payable through it)", inst(), "2025-03-10", 0],
    ["day after the due date", inst(), "2025-03-11", 1],
    ["31 days later (03-10 → 04-10)", inst(), "2025-04-10", 31],
    ["paid installment", inst({ status: "PAID" }, { principal: "1000.00", interest: "50.00", fee: "10.00" }), "2025-04-10", 0],
  ])("%s", (_n, i, asOf, expected) => {
    expect(daysOverdue(i, asOf)).toBe(expected);
  });

  const buckets = [
    { name: "M1", minDays: 1, maxDays: 30 },
    { name: "M2", minDays: 31, maxDays: 60 },
    { name: "M3+", minDays: 61 },
  ];
  it.each<[number, string | null]>([
    [0, null],
    [1, "M1"],
    [30, "M1"],
    [31, "M2"],
    [60, "M2"],
    [61, "M3+"],
    [365, "M3+"],
  ])("%i days → %s", (days, expected) => {
    expect(agingBucket(days, buckets)).toBe(expected);
  });
  it("no buckets → null; accrue reports the bucket of `to` with the rule in force then", () => {
    expect(agingBucket(5, undefined)).toBeNull();
    // 2025-03-10 → 2025-04-10 = 21 + 10 = 31 days → M2.
    expect(run(inst(), [v(rule({ agingBuckets: buckets }))], "2025-04-10").aging).toBe("M2");
  });
});

describe("accrualBase", () => {
  it.each<[string, FeeInstallment, string, string, string]>([
    // 1000 | 1000 + 50 | 1000 + 50 + 10
    ["nothing paid", inst(), "1000.00", "1050.00", "1060.00"],
    // 30 paid as fee 10 + interest 20: 1000 | 1000 + 30 | 1000 + 30 + 0
    ["fee and part of interest paid", inst({}, { fee: "10.00", interest: "20.00" }), "1000.00", "1030.00", "1030.00"],
    // 300 paid: fee 10 + interest 50 + principal 240 → 760 for all three
    ["part of the principal paid", inst({}, { fee: "10.00", interest: "50.00", principal: "240.00" }), "760.00", "760.00", "760.00"],
    // fee 15 = scheduled 10 + late fee 5; late fee and penalty never in the base: 1000 | 1050 | 1050 + 10
    ["late fee and penalty excluded", inst({ fee: "15.00", lateFee: "5.00", penalty: "3.00" }), "1000.00", "1050.00", "1060.00"],
    // paidFee 12 pays the scheduled 10 first: unpaid scheduled fee = max(0, 10 − 12) = 0
    ["fee payments pay the scheduled fee first", inst({ fee: "15.00", lateFee: "5.00" }, { fee: "12.00" }), "1000.00", "1050.00", "1050.00"],
  ])("%s", (_n, i, op, pi, all) => {
    expect([accrualBase(i, "OVERDUE_PRINCIPAL"), accrualBase(i, "PRINCIPAL_INTEREST"), accrualBase(i, "INSTALLMENT")]).toEqual([op, pi, all]);
  });
});

describe("accrue: grace, chargeFrom, rates, bases", () => {
  it("grace not breached → nothing (3 grace days, 3 days overdue)", () => {
    const r = run(inst(), [v(rule({ graceDays: 3, chargeFrom: "DUE_DATE", fixedLateFee: "20.00" }))], "2025-03-13");
    expect(r.accruals.map((a) => [a.date, a.penalty, a.lateFee, a.reason])).toEqual([
      ["2025-03-11", "0.00", "0.00", "IN_GRACE"],
      ["2025-03-12", "0.00", "0.00", "IN_GRACE"],
      ["2025-03-13", "0.00", "0.00", "IN_GRACE"],
    ]);
    expect([r.penalty, r.fee, r.daysOverdue, r.installment.status]).toEqual(["0.00", "10.00", 3, "OVERDUE"]);
  });

  it("nothing on or before the due date", () => {
    const r = run(inst(), [v(rule())], "2025-03-10");
    expect(r.accruals).toEqual([]);
    expect(r.installment.status).toBe("PENDING");
  });

  it.each<[string, Partial<FeeRule>, string, string[], number[], string]>([
    // 1000 × 0.0005 = 0.50 a day. Grace 3: days 1–3 free; day 4 (03-14) and day 5 (03-15) charge.
    // GRACE_END: 1 day each → 0.50 + 0.50 = 1.00
    ["GRACE_END, grace 3", { graceDays: 3, chargeFrom: "GRACE_END" }, "2025-03-15", ["0.00", "0.00", "0.00", "0.50", "0.50"], [0, 0, 0, 1, 1], "1.00"],
    // DUE_DATE: day 4 charges 3 grace days + itself = 4 × 0.50 = 2.00, day 5 0.50 → 2.50 = 5 days × 0.50
    ["DUE_DATE, grace 3", { graceDays: 3, chargeFrom: "DUE_DATE" }, "2025-03-15", ["0.00", "0.00", "0.00", "2.00", "0.50"], [0, 0, 0, 4, 1], "2.50"],
    // grace 0: both conventions charge from day 1: 3 × 0.50 = 1.50
    ["DUE_DATE, grace 0", { chargeFrom: "DUE_DATE" }, "2025-03-13", ["0.50", "0.50", "0.50"], [1, 1, 1], "1.50"],
    ["GRACE_END, grace 0", { chargeFrom: "GRACE_END" }, "2025-03-13", ["0.50", "0.50", "0.50"], [1, 1, 1], "1.50"],
    // DAILY 0.001: 1000 × 0.001 = 1.00 a day
    ["DAILY 0.001", { rate: "0.001" }, "2025-03-12", ["1.00", "1.00"], [1, 1], "2.00"],
    // ANNUAL 0.18: 1000 × 0.18 / 360 = 0.50 a day (same as DAILY 0.0005)
    ["ANNUAL 0.18 on 360", { rateType: "ANNUAL", rate: "0.18" }, "2025-03-12", ["0.50", "0.50"], [1, 1], "1.00"],
    // ANNUAL 0.10: 1000 × 0.10 / 360 = 0.2777… → 0.28 each date (each date rounded): 3 × 0.28 = 0.84
    ["ANNUAL 0.10, rounded per date", { rateType: "ANNUAL", rate: "0.1" }, "2025-03-13", ["0.28", "0.28", "0.28"], [1, 1, 1], "0.84"],
    // ANNUAL with DUE_DATE grace 2: day 3 charges 3 days at once: 1000 × 0.1 × 3 / 360 = 0.8333 → 0.83
    ["ANNUAL 0.10, DUE_DATE grace 2", { rateType: "ANNUAL", rate: "0.1", graceDays: 2, chargeFrom: "DUE_DATE" }, "2025-03-13", ["0.00", "0.00", "0.83"], [0, 0, 3], "0.83"],
    // bases at DAILY 0.001 for one day: 1000 → 1.00; 1050 → 1.05; 1060 → 1.06
    ["base OVERDUE_PRINCIPAL", { rate: "0.001", base: "OVERDUE_PRINCIPAL" }, "2025-03-11", ["1.00"], [1], "1.00"],
    ["base PRINCIPAL_INTEREST", { rate: "0.001", base: "PRINCIPAL_INTEREST" }, "2025-03-11", ["1.05"], [1], "1.05"],
    ["base INSTALLMENT", { rate: "0.001", base: "INSTALLMENT" }, "2025-03-11", ["1.06"], [1], "1.06"],
  ])("%s", (_n, r, to, penalties, days, total) => {
    const res = run(inst(), [v(rule(r))], to);
    expect(pen(res)).toEqual(penalties);
    expect(res.accruals.map((a) => a.days)).toEqual(days);
    expect(res.penalty).toBe(total);
    expect(res.installment.penalty).toBe(total);
    expect(res.accruals.every((a) => !a.capped)).toBe(true);
  });

  it("a partial payment reduces the base", () => {
    // 240 of principal paid (plus fee 10, interest 50): base 760 × 0.001 = 0.76 a day (was 1.00)
    const i = inst({ status: "OVERDUE" }, { fee: "10.00", interest: "50.00", principal: "240.00" });
    expect(pen(run(i, [v(rule({ rate: "0.001" }))], "2025-03-12"))).toEqual(["0.76", "0.76"]);
    // PRINCIPAL_INTEREST with only 20 of interest paid: (1000 + 30) × 0.001 = 1.03
    const j = inst({}, { interest: "20.00" });
    expect(pen(run(j, [v(rule({ rate: "0.001", base: "PRINCIPAL_INTEREST" }))], "2025-03-11"))).toEqual(["1.03"]);
  });
});

describe("fixed late fee", () => {
  it("charged once, on the first chargeable day, into fee", () => {
    // grace 3 GRACE_END: day 4 (03-14) is the first chargeable day: penalty 0.50 + late fee 20.00;
    // days 5 and 6 penalty only. penalty 3 × 0.50 = 1.50; fee 10 + 20 = 30.00.
    const r = run(inst(), [v(rule({ graceDays: 3, fixedLateFee: "20.00" }))], "2025-03-16");
    expect(fees(r)).toEqual(["0.00", "0.00", "0.00", "20.00", "0.00", "0.00"]);
    expect(pen(r)).toEqual(["0.00", "0.00", "0.00", "0.50", "0.50", "0.50"]);
    expect([r.penalty, r.fee, r.installment.lateFee, r.installment.accruedLateFee]).toEqual(["1.50", "30.00", "20.00", "20.00"]);
    // total = 1000 + 50 + 30 = 1080; outstanding = 1080 + 1.50 = 1081.50
    expect([r.installment.total, r.installment.outstanding]).toEqual(["1080.00", "1081.50"]);
    // accruing later again never charges it twice
    const again = accrue(r.installment, [v(rule({ graceDays: 3, fixedLateFee: "20.00" }))], { ...OPTS, from: "2025-03-16", to: "2025-03-18" });
    expect(fees(again)).toEqual(["0.00", "0.00"]);
    expect(again.fee).toBe("30.00");
  });

  it("a paused first chargeable day moves the first charging day (late fee and DUE_DATE grace days) to the next day", () => {
    // grace 1 DUE_DATE: day 2 (03-12) paused; day 3 charges grace 1 + itself = 2 × 0.50 = 1.00 and the late fee 5.00
    const r = run(inst(), [v(rule({ graceDays: 1, chargeFrom: "DUE_DATE", fixedLateFee: "5.00" }))], "2025-03-14", { skip: (d) => d === "2025-03-12" });
    expect(r.accruals.map((a) => [a.penalty, a.lateFee, a.reason ?? null])).toEqual([
      ["0.00", "0.00", "IN_GRACE"],
      ["0.00", "0.00", "PAUSED_DAY"],
      ["1.00", "5.00", null],
      ["0.50", "0.00", null],
    ]);
  });
});

describe("caps", () => {
  it.each<[string, Partial<FeeRule>, string, [string, string][], boolean[], string, { capPctOf?: "INSTALLMENT" | "PLAN" }]>([
    // 1.00 a day, cap 2.00: 1.00, 1.00, then 0 (capped)
    ["capAbsolute 2.00", { rate: "0.001", capAbsolute: "2.00" }, "2025-03-13", [["1.00", "0.00"], ["1.00", "0.00"], ["0.00", "0.00"]], [false, false, true], "2.00", {}],
    // with a late fee 0.50: day 1 1.00 + 0.50 = 1.50 (headroom 2.00); day 2 headroom 0.50 → penalty 0.50; day 3 0
    ["capAbsolute counts the late fee", { rate: "0.001", capAbsolute: "2.00", fixedLateFee: "0.50" }, "2025-03-13", [["1.00", "0.50"], ["0.50", "0.00"], ["0.00", "0.00"]], [false, true, true], "1.50", {}],
    // penalty takes the headroom first: cap 1.20, day 1 penalty 1.00, late fee cut from 0.50 to 0.20
    ["late fee cut after the penalty", { rate: "0.001", capAbsolute: "1.20", fixedLateFee: "0.50" }, "2025-03-11", [["1.00", "0.20"]], [true], "1.00", {}],
    // 0.3 % × installment principal 1000 = 3.00: 1.00 × 3, then 0
    ["capPctOfPrincipal (installment)", { rate: "0.001", capPctOfPrincipal: "0.003" }, "2025-03-14", [["1.00", "0.00"], ["1.00", "0.00"], ["1.00", "0.00"], ["0.00", "0.00"]], [false, false, false, true], "3.00", {}],
    // 0.3 % × plan principal 12000 = 36.00: not reached in 4 days
    ["capPctOfPrincipal (plan)", { rate: "0.001", capPctOfPrincipal: "0.003" }, "2025-03-14", [["1.00", "0.00"], ["1.00", "0.00"], ["1.00", "0.00"], ["1.00", "0.00"]], [false, false, false, false], "4.00", { capPctOf: "PLAN" }],
    // DAILY 0.001 = 36 %/yr on 360, cap 24 %: limit(n) = floor₂(1000 × 0.24 × n / 360) = floor₂(0.6666…·n)
    //   n=1: 0.66 → 0.66; n=2: 1.33 → 1.33 − 0.66 = 0.67; n=3: 2.00 → 0.67; n=4: 2.66 → 0.66. Total 2.66
    //   (check: 2.66 / 1000 × 360 / 4 = 0.2394 ≤ 0.24)
    ["capAnnualRate 24 %", { rate: "0.001", capAnnualRate: "0.24" }, "2025-03-14", [["0.66", "0.00"], ["0.67", "0.00"], ["0.67", "0.00"], ["0.66", "0.00"]], [true, true, true, true], "2.66", {}],
    // DAILY 0.0005 = 18 %/yr: below a 24 % cap → untouched
    ["capAnnualRate above the rate", { capAnnualRate: "0.24" }, "2025-03-12", [["0.50", "0.00"], ["0.50", "0.00"]], [false, false], "1.00", {}],
  ])("%s", (_n, r, to, expected, capped, total, extra) => {
    const res = run(inst(), [v(rule(r))], to, extra);
    expect(res.accruals.map((a) => [a.penalty, a.lateFee])).toEqual(expected);
    expect(res.accruals.map((a) => a.capped)).toEqual(capped);
    expect(res.penalty).toBe(total);
  });
});

describe("rule change mid-way", () => {
  // v1 from 2025-01-01: 0.0005 a day (0.50); v2 from 2025-03-13: 0.001 a day (1.00)
  const versions = [v(rule({ rate: "0.0005" }), "2025-01-01"), v(rule({ rate: "0.001" }), "2025-03-13")];
  it("each date uses the rule in force on it", () => {
    // 03-11 0.50, 03-12 0.50, 03-13 1.00, 03-14 1.00, 03-15 1.00 → 4.00
    const r = run(inst(), versions, "2025-03-15");
    expect(pen(r)).toEqual(["0.50", "0.50", "1.00", "1.00", "1.00"]);
    expect(r.penalty).toBe("4.00");
  });
  it("never rewrites history: accrued up to 03-12 under v1, the change only affects later dates", () => {
    const before = run(inst(), [versions[0]], "2025-03-12"); // 2 × 0.50 = 1.00, v2 not yet known
    const after = accrue(before.installment, versions, { ...OPTS, from: "2025-03-12", to: "2025-03-15" });
    expect(after.accruals.map((a) => a.date)).toEqual(["2025-03-13", "2025-03-14", "2025-03-15"]);
    expect(after.penalty).toBe("4.00"); // 1.00 + 3 × 1.00
  });
  it("a date with no rule in force charges nothing", () => {
    const r = run(inst(), [v(rule(), "2025-03-12")], "2025-03-12");
    expect(r.accruals.map((a) => [a.penalty, a.reason ?? null])).toEqual([["0.00", "NO_RULE"], ["0.50", null]]);
  });
});

describe("idempotency and catch-up", () => {
  const versions = [
    v(rule({ graceDays: 2, chargeFrom: "DUE_DATE", fixedLateFee: "5.00", rate: "0.001", capAnnualRate: "0.36" }), "2025-01-01"),
    v(rule({ graceDays: 2, chargeFrom: "DUE_DATE", fixedLateFee: "5.00", rate: "0.002", capAbsolute: "9.00" }), "2025-03-14"),
  ];

  it("catch-up over 5 missed days equals 5 single days", () => {
    // single days: accrue (d−1, d] and carry the installment forward
    let i = inst();
    let last: string | null = null;
    const singles = [];
    for (const d of ["2025-03-11", "2025-03-12", "2025-03-13", "2025-03-14", "2025-03-15"]) {
      const r = accrue(i, versions, { ...OPTS, from: last, to: d });
      expect(r.accruals).toHaveLength(1);
      singles.push(...r.accruals);
      i = r.installment;
      last = d;
    }
    const caught = run(inst(), versions, "2025-03-15");
    expect(caught.accruals).toEqual(singles);
    expect(caught.installment).toEqual(i);
    // by hand: days 1–2 grace; day 3 (v1, first charging day): 3 days × 1.00 = 3.00 + late fee 5.00 wanted,
    //   annual cap 36 %: limit floor₂(1000 × 0.36 × 3 / 360) = 3.00 → penalty 3.00, late fee cut to 0 (capped, forgone);
    // day 4 (v2, 2.00/day, capAbsolute 9.00): 2.00 → charged 5.00; day 5: 2.00 → 7.00
    expect(caught.accruals.map((a) => [a.penalty, a.lateFee, a.capped])).toEqual([
      ["0.00", "0.00", false],
      ["0.00", "0.00", false],
      ["3.00", "0.00", true],
      ["2.00", "0.00", false],
      ["2.00", "0.00", false],
    ]);
    expect([caught.penalty, caught.fee]).toEqual(["7.00", "10.00"]);
  });

  it("same `from` → same list; a date ≤ from is never produced", () => {
    const a = accrue(inst(), versions, { ...OPTS, from: "2025-03-12", to: "2025-03-15" });
    const b = accrue(inst(), versions, { ...OPTS, from: "2025-03-12", to: "2025-03-15" });
    expect(a).toEqual(b);
    expect(a.accruals.map((x) => x.date)).toEqual(["2025-03-13", "2025-03-14", "2025-03-15"]);
    expect(accrue(inst(), versions, { ...OPTS, from: "2025-03-15", to: "2025-03-15" }).accruals).toEqual([]);
    expect(accrue(inst(), versions, { ...OPTS, from: "2025-03-16", to: "2025-03-15" }).accruals).toEqual([]);
  });
});

describe("installments that never accrue", () => {
  const paidAll = { principal: "1000.00", interest: "50.00", fee: "10.00" };
  it.each<[string, FeeInstallment, string]>([
    ["paid", inst({ status: "PAID" }, paidAll), "PAID"],
    ["nothing unpaid (status not updated yet)", inst({ status: "OVERDUE" }, paidAll), "PAID"],
    ["waived", inst({ waived: true }), "WAIVED"],
    ["settled", inst({ settled: true }), "SETTLED"],
    ["paused for fees", inst({ feesPaused: true }), "PAUSED"],
  ])("%s → nothing", (_n, i, reason) => {
    const r = run(i, [v(rule({ fixedLateFee: "20.00" }))], "2025-04-30");
    expect(r.accruals).toEqual([]);
    expect(r.skipped).toBe(reason);
    expect([r.penalty, r.fee]).toEqual([i.penalty, i.fee]);
    expect(dailyAccrual(i, rule(), "2025-03-20", OPTS)).toMatchObject({ penalty: "0.00", lateFee: "0.00", reason });
  });
  it("paused single days charge nothing", () => {
    // 0.50 a day, 03-12 and 03-13 paused
    const r = run(inst(), [v(rule())], "2025-03-14", { skip: (d) => d === "2025-03-12" || d === "2025-03-13" });
    expect(pen(r)).toEqual(["0.50", "0.00", "0.00", "0.50"]);
    expect(r.penalty).toBe("1.00");
  });
});

describe("dailyAccrual", () => {
  it("one date with the installment state as given", () => {
    // DUE_DATE grace 2, day 3: 3 days × 0.50 = 1.50 + late fee 5.00
    const r = rule({ graceDays: 2, chargeFrom: "DUE_DATE", fixedLateFee: "5.00" });
    expect(dailyAccrual(inst(), r, "2025-03-13", OPTS)).toEqual({ date: "2025-03-13", penalty: "1.50", lateFee: "5.00", days: 3, capped: false });
    // charging already started (a penalty exists): 1 day, no late fee
    expect(dailyAccrual(inst({ penalty: "1.50" }), r, "2025-03-14", OPTS)).toEqual({ date: "2025-03-14", penalty: "0.50", lateFee: "0.00", days: 1, capped: false });
    expect(dailyAccrual(inst(), r, "2025-03-12", OPTS).reason).toBe("IN_GRACE");
    expect(dailyAccrual(inst(), r, "2025-03-10", OPTS).reason).toBe("NOT_OVERDUE");
  });
  it("validates money and rules", () => {
    expect(() => dailyAccrual(inst(), rule({ rate: 0.001 as unknown as string }), "2025-03-11", OPTS)).toThrow(DomainError);
    expect(() => dailyAccrual(inst(), rule(), "2025-03-11", { planPrincipal: 12000 as unknown as string })).toThrow(DomainError);
    expect(() => dailyAccrual(inst(), rule(), "2025-02-30", OPTS)).toThrow(DomainError);
  });
});

describe("applyWaiver", () => {
  // penalty 3.00 (1.00 paid), fee 30.00 = scheduled 10 + late fee 20 (scheduled 10 paid)
  const accrued = (): FeeInstallment =>
    inst({ penalty: "3.00", fee: "30.00", lateFee: "20.00", accruedPenalty: "3.00", accruedLateFee: "20.00", status: "OVERDUE" }, { penalty: "1.00", fee: "10.00" });

  it("removes the waived amounts from the unpaid penalty / fee, late fee first", () => {
    const w = applyWaiver(accrued(), { penalty: "2.00", fee: "15.00" });
    // penalty 3.00 − 2.00 = 1.00 (= paid); fee 30.00 − 15.00 = 15.00; late fee 20.00 − 15.00 = 5.00
    expect([w.penalty, w.fee, w.lateFee, w.paidPenalty, w.paidFee]).toEqual(["1.00", "15.00", "5.00", "1.00", "10.00"]);
    // total 1000 + 50 + 15 = 1065; outstanding 1065 + 1 − paid 11 = 1055
    expect([w.total, w.outstanding, w.status]).toEqual(["1065.00", "1055.00", "OVERDUE"]);
    // what was charged still counts for the caps
    expect([w.accruedPenalty, w.accruedLateFee]).toEqual(["3.00", "20.00"]);
  });

  it.each<[string, { penalty?: string; fee?: string }]>([
    ["more penalty than unpaid (3.00 − 1.00 = 2.00)", { penalty: "2.01" }],
    ["more fee than unpaid (30.00 − 10.00 = 20.00)", { fee: "20.01" }],
    ["a JS number", { penalty: 1 as unknown as string }],
  ])("rejects %s", (_n, waiver) => {
    expect(() => applyWaiver(accrued(), waiver)).toThrow(DomainError);
  });

  it("a waiver does not reopen a cap: capAbsolute 23.00 already reached by 3.00 + 20.00", () => {
    const w = applyWaiver(accrued(), { penalty: "2.00", fee: "20.00" });
    const r = accrue(w, [v(rule({ capAbsolute: "23.00" }))], { ...OPTS, from: "2025-03-20", to: "2025-03-21" });
    expect(r.accruals.map((a) => [a.penalty, a.capped])).toEqual([["0.00", true]]);
  });

  it("waiving everything unpaid leaves the installment PAID", () => {
    const i = inst({ penalty: "2.00", fee: "15.00", lateFee: "5.00", status: "OVERDUE" }, { principal: "1000.00", interest: "50.00", fee: "10.00" });
    const w = applyWaiver(i, { penalty: "2.00", fee: "5.00" });
    expect([w.outstanding, w.status, w.penalty, w.fee, w.lateFee]).toEqual(["0.00", "PAID", "0.00", "10.00", "0.00"]);
  });
});

// Installment is the stored shape: a FeeInstallment without the optional state is accepted as is.
const _plain: Installment = inst();
void _plain;
