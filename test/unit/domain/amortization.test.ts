import { generateSchedule, REPAYMENT_METHODS, type PlanInput, type RepaymentMethod, type Schedule } from "../../../domain/amortization";
import cases from "../../fixtures/amortization/expected.json";

type Row = [startDate: string, dueDate: string, principal: string, interest: string, total: string, closing: string];

function rows(s: Schedule): Row[] {
  return s.lines.map((l) => [l.startDate, l.dueDate, l.principal, l.interest, l.total, l.closingPrincipal]);
}

const base = { startDate: "2025-01-15" } as const;

describe("published figures", () => {
  // Widely published examples; see test/fixtures/amortization/README.md for the sources.
  test.each<[string, PlanInput, string]>([
    ["100,000 at 12 % over 12 months (textbook annuity)", { ...base, principal: "100000.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT" }, "8884.88"],
    ["1,000,000 at 4.9 % over 30 years (Chinese mortgage calculators, 月供 5307.27)", { ...base, principal: "1000000", annualRate: "0.049", term: 360, repaymentMethod: "EQUAL_INSTALLMENT" }, "5307.27"],
    ["Excel PMT(8%/12, 10, 10000)", { ...base, principal: "10000", annualRate: "0.08", term: 10, repaymentMethod: "LEASE_ANNUITY" }, "1037.03"],
    ["Excel PMT(8%/12, 10, 10000, 0, 1)", { ...base, principal: "10000", annualRate: "0.08", term: 10, repaymentMethod: "LEASE_ANNUITY", leaseTiming: "ADVANCE" }, "1030.16"],
  ])("%s → %s", (_name, input, payment) => {
    const s = generateSchedule(input);
    expect(s.periodicPayment).toBe(payment);
    expect(s.lines[0].total).toBe(payment);
  });

  test("等额本金 1,000,000 at 4.9 % over 30 years: first month 6,861.11, then 11.34 less each month (published)", () => {
    const s = generateSchedule({ ...base, principal: "1000000.00", annualRate: "0.049", term: 360, repaymentMethod: "EQUAL_PRINCIPAL" });
    expect(s.lines.slice(0, 3).map((l) => l.total)).toEqual(["6861.11", "6849.77", "6838.43"]);
    expect(s.lines[0].principal).toBe("2777.78");
    expect(s.periodicPayment).toBeUndefined();
  });
});

describe("hand-checkable schedules", () => {
  // Figures from test/fixtures/amortization/reference.py (Python decimal); the payment 8,884.88 is
  // the published one. Monthly interest = round(balance × 0.12 / 12) = 1 % of the opening balance.
  test("EQUAL_INSTALLMENT 100,000 at 12 % over 12 months: last line takes the remaining principal", () => {
    const s = generateSchedule({ principal: "100000.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2025-01-15" });
    expect(rows(s)).toEqual<Row[]>([
      ["2025-01-15", "2025-02-15", "7884.88", "1000.00", "8884.88", "92115.12"],
      ["2025-02-15", "2025-03-15", "7963.73", "921.15", "8884.88", "84151.39"],
      ["2025-03-15", "2025-04-15", "8043.37", "841.51", "8884.88", "76108.02"],
      ["2025-04-15", "2025-05-15", "8123.80", "761.08", "8884.88", "67984.22"],
      ["2025-05-15", "2025-06-15", "8205.04", "679.84", "8884.88", "59779.18"],
      ["2025-06-15", "2025-07-15", "8287.09", "597.79", "8884.88", "51492.09"],
      ["2025-07-15", "2025-08-15", "8369.96", "514.92", "8884.88", "43122.13"],
      ["2025-08-15", "2025-09-15", "8453.66", "431.22", "8884.88", "34668.47"],
      ["2025-09-15", "2025-10-15", "8538.20", "346.68", "8884.88", "26130.27"],
      ["2025-10-15", "2025-11-15", "8623.58", "261.30", "8884.88", "17506.69"],
      ["2025-11-15", "2025-12-15", "8709.81", "175.07", "8884.88", "8796.88"],
      ["2025-12-15", "2026-01-15", "8796.88", "87.97", "8884.85", "0.00"],
    ]);
    expect(s).toMatchObject({ totalPrincipal: "100000.00", totalInterest: "6618.53", totalFee: "0.00", total: "106618.53", periodicPayment: "8884.88" });
  });

  // Python reference. Long first period (Jan 10 → Feb 25, 46 days): interest 50,000 × 0.085 × 46/360
  // = 543.06; principal follows the regular schedule: 8,541.15 − round(50,000 × 0.085/12) = 8,186.98.
  test("EQUAL_INSTALLMENT with a long irregular first period (ACT/360)", () => {
    const s = generateSchedule({ principal: "50000.00", annualRate: "0.085", term: 6, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2025-01-10", dueDay: 25 });
    expect(rows(s)).toEqual<Row[]>([
      ["2025-01-10", "2025-02-25", "8186.98", "543.06", "8730.04", "41813.02"],
      ["2025-02-25", "2025-03-25", "8244.97", "296.18", "8541.15", "33568.05"],
      ["2025-03-25", "2025-04-25", "8303.38", "237.77", "8541.15", "25264.67"],
      ["2025-04-25", "2025-05-25", "8362.19", "178.96", "8541.15", "16902.48"],
      ["2025-05-25", "2025-06-25", "8421.42", "119.73", "8541.15", "8481.06"],
      ["2025-06-25", "2025-07-25", "8481.06", "60.07", "8541.13", "0.00"],
    ]);
    expect(s.lines[0].days).toBe(46);
  });

  // By hand: 1000/3 = 333.33 twice, the last takes 333.34; interest 1 % of the opening balance.
  test("EQUAL_PRINCIPAL 1,000 over 3 months: the last period absorbs the rounding", () => {
    const s = generateSchedule({ principal: "1000.00", annualRate: "0.12", term: 3, repaymentMethod: "EQUAL_PRINCIPAL", startDate: "2025-01-31" });
    expect(rows(s)).toEqual<Row[]>([
      ["2025-01-31", "2025-02-28", "333.33", "10.00", "343.33", "666.67"],
      ["2025-02-28", "2025-03-31", "333.33", "6.67", "340.00", "333.34"],
      ["2025-03-31", "2025-04-30", "333.34", "3.33", "336.67", "0.00"],
    ]);
  });

  // By hand: 50,000 × 0.08 / 12 = 333.333… → 333.33 each month; clamped to the 30th after Feb.
  test("INTEREST_FIRST 50,000 at 8 % over 6 months", () => {
    const s = generateSchedule({ principal: "50000.00", annualRate: "0.08", term: 6, repaymentMethod: "INTEREST_FIRST", startDate: "2025-04-30" });
    expect(rows(s)).toEqual<Row[]>([
      ["2025-04-30", "2025-05-30", "0.00", "333.33", "333.33", "50000.00"],
      ["2025-05-30", "2025-06-30", "0.00", "333.33", "333.33", "50000.00"],
      ["2025-06-30", "2025-07-30", "0.00", "333.33", "333.33", "50000.00"],
      ["2025-07-30", "2025-08-30", "0.00", "333.33", "333.33", "50000.00"],
      ["2025-08-30", "2025-09-30", "0.00", "333.33", "333.33", "50000.00"],
      ["2025-09-30", "2025-10-30", "50000.00", "333.33", "50333.33", "0.00"],
    ]);
  });

  // By hand (calendar days from Python's datetime):
  //   6 × 100,000 × 0.06/12 = 3,000; irregular: Jan 12 → Feb 20 = 39 days × 100,000 × 0.06/360 = 650
  //   + 5 months × 500 = 3,150; 1,234,567.89 × 0.055 × 90/360 = 16,975.308…; 2025-01-31 → 03-17 is
  //   45 calendar days but 47 days 30E/360 (60 + 17 − 30): 500,000 × 0.07 × 47/360 = 4,569.44;
  //   366 days ACT/365: 1,000 × 0.05 × 366/365 = 50.137….
  test.each<[string, PlanInput, string, number, string]>([
    ["6 months, monthly basis", { principal: "100000.00", annualRate: "0.06", term: 6, repaymentMethod: "BULLET", startDate: "2025-01-31" }, "2025-07-31", 181, "3000.00"],
    ["6 months, irregular first month", { principal: "100000.00", annualRate: "0.06", term: 6, repaymentMethod: "BULLET", startDate: "2025-01-12", dueDay: 20 }, "2025-07-20", 189, "3150.00"],
    ["90-day bill ACT/360", { principal: "1234567.89", annualRate: "0.055", term: 90, termUnit: "DAY", repaymentMethod: "BULLET", startDate: "2025-11-20" }, "2026-02-18", 90, "16975.31"],
    ["45-day bill 30/360", { principal: "500000.00", annualRate: "0.07", term: 45, termUnit: "DAY", repaymentMethod: "BULLET", startDate: "2025-01-31", dayCount: "30/360" }, "2025-03-17", 45, "4569.44"],
    ["366-day bill ACT/365", { principal: "1000.00", annualRate: "0.05", term: 366, termUnit: "DAY", repaymentMethod: "BULLET", startDate: "2024-01-01", dayCount: "ACT/365" }, "2025-01-01", 366, "50.14"],
  ])("BULLET %s", (_name, input, dueDate, days, interest) => {
    const s = generateSchedule(input);
    expect(s.lines).toHaveLength(1);
    expect(s.lines[0]).toMatchObject({ period: 1, startDate: input.startDate, dueDate, days, principal: input.principal, interest, closingPrincipal: "0.00" });
    expect(s.totalInterest).toBe(interest);
  });

  // Rent 1,030.16 is Excel's PMT(8%/12, 10, −10000, 0, 1). Line 1 is due on the start date, all
  // principal; each later line bears one month of interest on the balance left by the previous one.
  test("LEASE_ANNUITY in advance: first rent on the start date, no interest in it", () => {
    const s = generateSchedule({ principal: "10000.00", annualRate: "0.08", term: 10, repaymentMethod: "LEASE_ANNUITY", leaseTiming: "ADVANCE", startDate: "2025-01-01" });
    expect(rows(s)).toEqual<Row[]>([
      ["2025-01-01", "2025-01-01", "1030.16", "0.00", "1030.16", "8969.84"],
      ["2025-01-01", "2025-02-01", "970.36", "59.80", "1030.16", "7999.48"],
      ["2025-02-01", "2025-03-01", "976.83", "53.33", "1030.16", "7022.65"],
      ["2025-03-01", "2025-04-01", "983.34", "46.82", "1030.16", "6039.31"],
      ["2025-04-01", "2025-05-01", "989.90", "40.26", "1030.16", "5049.41"],
      ["2025-05-01", "2025-06-01", "996.50", "33.66", "1030.16", "4052.91"],
      ["2025-06-01", "2025-07-01", "1003.14", "27.02", "1030.16", "3049.77"],
      ["2025-07-01", "2025-08-01", "1009.83", "20.33", "1030.16", "2039.94"],
      ["2025-08-01", "2025-09-01", "1016.56", "13.60", "1030.16", "1023.38"],
      ["2025-09-01", "2025-10-01", "1023.38", "6.82", "1030.20", "0.00"],
    ]);
    expect(s.lines[0].days).toBe(0);
  });

  // Python reference: rent = (P − Res·v^11)·r/((1 − v^12)(1 + r)) = 8,008.42; the residual 10,000 is
  // paid with the last rent (17,830.15 = 7,830.15 of rent principal + the residual, to the cent
  // drift of rounding); line 2 is the long irregular one (Jan 15 → Feb 20, daily ACT/360).
  test("LEASE_ANNUITY in advance with a residual paid with the last rent", () => {
    const s = generateSchedule({ principal: "100000.00", annualRate: "0.12", term: 12, repaymentMethod: "LEASE_ANNUITY", leaseTiming: "ADVANCE", residual: "10000.00", startDate: "2025-01-15", dueDay: 20 });
    expect(s.periodicPayment).toBe("8008.42");
    expect(rows(s)[1]).toEqual(["2025-01-15", "2025-02-20", "7088.50", "1103.90", "8192.40", "84903.08"]);
    expect(rows(s)[11]).toEqual(["2025-11-20", "2025-12-20", "17830.15", "178.30", "18008.45", "0.00"]);
    expect(s.lines).toHaveLength(12);
  });

  // By hand: no interest; lines as given plus the flat fee of 1.00 each.
  test("CUSTOM lines are taken as given, with the flat fee added", () => {
    const s = generateSchedule({
      principal: "10000.00",
      annualRate: "0.1",
      term: 3,
      repaymentMethod: "CUSTOM",
      startDate: "2025-01-01",
      fee: "1.00",
      customLines: [
        { dueDate: "2025-02-01", principal: "0", interest: "83.33" },
        { dueDate: "2025-03-15", principal: "4000.00", interest: "120.50", fee: "20.00" },
        { dueDate: "2025-12-31", principal: "6000" },
      ],
    });
    expect(s.lines.map((l) => [l.startDate, l.dueDate, l.days, l.principal, l.interest, l.fee, l.total, l.closingPrincipal])).toEqual([
      ["2025-01-01", "2025-02-01", 31, "0.00", "83.33", "1.00", "84.33", "10000.00"],
      ["2025-02-01", "2025-03-15", 42, "4000.00", "120.50", "21.00", "4141.50", "6000.00"],
      ["2025-03-15", "2025-12-31", 291, "6000.00", "0.00", "1.00", "6001.00", "0.00"],
    ]);
    expect(s).toMatchObject({ totalPrincipal: "10000.00", totalInterest: "203.83", totalFee: "23.00", total: "10226.83" });
  });
});

interface Case {
  name: string;
  input: PlanInput;
  expected: Schedule;
}
const fixture = cases as unknown as Case[];

describe("full schedules against the Python reference (test/fixtures/amortization/expected.json)", () => {
  // Every figure below was computed by test/fixtures/amortization/reference.py with Python's
  // decimal module, independently of domain/amortization; each whole schedule must match.
  test("the fixture covers every method", () => {
    const methods = new Set(fixture.map((c) => c.input.repaymentMethod));
    expect([...methods].sort()).toEqual([...REPAYMENT_METHODS].sort());
  });

  for (const method of REPAYMENT_METHODS) {
    const table = fixture.filter((c) => c.input.repaymentMethod === method).map((c) => [c.name, c] as const);
    describe(method satisfies RepaymentMethod, () => {
      test.each(table)("%s", (_name, c) => {
        expect(generateSchedule(c.input)).toEqual(c.expected);
      });
    });
  }
});

describe("output format", () => {
  test("the input is not mutated and amounts are normalised to two decimals", () => {
    const input: PlanInput = { principal: "1200", annualRate: "0.120", term: 2, repaymentMethod: "EQUAL_PRINCIPAL", startDate: "2025-01-15", fee: "0.5" };
    const copy = JSON.parse(JSON.stringify(input));
    const s = generateSchedule(input);
    expect(input).toEqual(copy);
    expect(s.lines[0]).toMatchObject({ openingPrincipal: "1200.00", principal: "600.00", interest: "12.00", fee: "0.50", total: "612.50" });
  });

  test("an annuity's cached factor does not leak between rates: same term, different rate", () => {
    const a = generateSchedule({ principal: "100000.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2025-01-15" });
    const b = generateSchedule({ principal: "100000.00", annualRate: "0.1200000001", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2025-01-15" });
    const c = generateSchedule({ principal: "100000.00", annualRate: "0.24", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2025-01-15" });
    expect(a.periodicPayment).toBe("8884.88");
    expect(b.periodicPayment).toBe("8884.88");
    expect(c.periodicPayment).toBe("9455.96"); // Python: 100000·0.02/(1 − 1.02^−12)
  });
});
