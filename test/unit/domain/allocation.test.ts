/** Allocation of a repayment to installments: table tests and a seeded property test. */
import type { Installment } from "../../../contracts/schedule.contract";
import { allocate, applyAllocation, DEFAULT_ALLOCATION_ORDER, dueAmount, statusAfterPayment, unpaidOf, type Allocation, type AllocationComponent } from "../../../domain/allocation";
import { ALLOCATION_COMPONENTS } from "../../../domain/rules";
import { Dec, fmt, sum, ZERO, type Decimal } from "../../../domain/money";

type Parts = { principal: string; interest: string; fee?: string; penalty?: string; paid?: Partial<Record<"principal" | "interest" | "fee" | "penalty", string>> };

function inst(period: number, dueDate: string, p: Parts, status: Installment["status"] = "PENDING"): Installment {
  const fee = p.fee ?? "0.00";
  const penalty = p.penalty ?? "0.00";
  const paid = { principal: "0.00", interest: "0.00", fee: "0.00", penalty: "0.00", ...p.paid };
  const paidTotal = sum([paid.principal, paid.interest, paid.fee, paid.penalty]);
  const total = sum([p.principal, p.interest, fee]);
  return {
    period,
    startDate: "2025-01-01",
    dueDate,
    days: 30,
    principal: p.principal,
    interest: p.interest,
    fee,
    penalty,
    total: fmt(total),
    paidPrincipal: paid.principal,
    paidInterest: paid.interest,
    paidFee: paid.fee,
    paidPenalty: paid.penalty,
    paidTotal: fmt(paidTotal),
    outstanding: fmt(total.plus(Dec(penalty)).minus(paidTotal)),
    status,
  };
}

function row(period: number, penalty: string, fee: string, interest: string, principal: string): Allocation {
  return { period, penalty, fee, interest, principal, total: fmt(sum([penalty, fee, interest, principal])) };
}

// Two overdue installments and one in the future.
const plan = (): Installment[] => [
  inst(1, "2025-02-10", { principal: "800.00", interest: "50.00", fee: "10.00", penalty: "5.00" }, "OVERDUE"),
  inst(2, "2025-03-10", { principal: "810.00", interest: "40.00", fee: "10.00", penalty: "2.50" }, "OVERDUE"),
  inst(3, "2025-04-10", { principal: "820.00", interest: "30.00", fee: "10.00" }),
];

describe("allocate", () => {
  it("uses penalty → fee → interest → principal by default, like the ALLOCATION rule", () => {
    expect([...DEFAULT_ALLOCATION_ORDER]).toEqual(["PENALTY", "FEE", "INTEREST", "PRINCIPAL"]);
    expect([...DEFAULT_ALLOCATION_ORDER].sort()).toEqual([...ALLOCATION_COMPONENTS].sort());
  });

  it.each<[string, string, AllocationComponent[], Allocation[], string, string]>([
    ["default order, within the first installment", "40.00", ["PENALTY", "FEE", "INTEREST", "PRINCIPAL"], [row(1, "5.00", "10.00", "25.00", "0.00")], "40.00", "0.00"],
    ["default order, exactly the first installment", "865.00", ["PENALTY", "FEE", "INTEREST", "PRINCIPAL"], [row(1, "5.00", "10.00", "50.00", "800.00")], "865.00", "0.00"],
    ["principal first", "805.00", ["PRINCIPAL", "INTEREST", "FEE", "PENALTY"], [row(1, "0.00", "0.00", "5.00", "800.00")], "805.00", "0.00"],
    ["interest first", "55.00", ["INTEREST", "PRINCIPAL", "FEE", "PENALTY"], [row(1, "0.00", "0.00", "50.00", "5.00")], "55.00", "0.00"],
    [
      "partial across two installments",
      "900.00",
      ["PENALTY", "FEE", "INTEREST", "PRINCIPAL"],
      [row(1, "5.00", "10.00", "50.00", "800.00"), row(2, "2.50", "10.00", "22.50", "0.00")],
      "900.00",
      "0.00",
    ],
    [
      "partial across two, principal first",
      "900.00",
      ["PRINCIPAL", "INTEREST", "FEE", "PENALTY"],
      [row(1, "5.00", "10.00", "50.00", "800.00"), row(2, "0.00", "0.00", "0.00", "35.00")],
      "900.00",
      "0.00",
    ],
    [
      "surplus beyond everything",
      "3000.00",
      ["PENALTY", "FEE", "INTEREST", "PRINCIPAL"],
      [row(1, "5.00", "10.00", "50.00", "800.00"), row(2, "2.50", "10.00", "40.00", "810.00"), row(3, "0.00", "10.00", "30.00", "820.00")],
      "2587.50",
      "412.50",
    ],
    ["one cent", "0.01", ["PENALTY", "FEE", "INTEREST", "PRINCIPAL"], [row(1, "0.01", "0.00", "0.00", "0.00")], "0.01", "0.00"],
  ])("%s", (_name, amount, order, allocations, applied, surplus) => {
    expect(allocate(plan(), amount, order)).toEqual({ allocations, applied, surplus });
  });

  it("pays only the unpaid part of each component", () => {
    const p = [inst(1, "2025-02-10", { principal: "100.00", interest: "10.00", fee: "1.00", penalty: "2.00", paid: { penalty: "2.00", fee: "0.40", interest: "3.00" } }, "OVERDUE")];
    expect(allocate(p, "10.00", DEFAULT_ALLOCATION_ORDER).allocations).toEqual([row(1, "0.00", "0.60", "7.00", "2.40")]);
  });

  it("skips paid installments and goes oldest first by due date, then period, whatever the input order", () => {
    const p = [
      inst(4, "2025-03-10", { principal: "10.00", interest: "0.00" }),
      inst(2, "2025-02-10", { principal: "10.00", interest: "0.00", paid: { principal: "10.00" } }, "PAID"),
      inst(3, "2025-03-10", { principal: "10.00", interest: "0.00" }),
      inst(1, "2025-01-10", { principal: "10.00", interest: "0.00" }),
    ];
    expect(allocate(p, "25.00", DEFAULT_ALLOCATION_ORDER).allocations.map((a) => [a.period, a.total])).toEqual([
      [1, "10.00"],
      [3, "10.00"],
      [4, "5.00"],
    ]);
  });

  it.each<[string, { asOf?: string; periods?: number[] }, Array<[number, string]>, string]>([
    ["asOf before the second due date", { asOf: "2025-03-09" }, [[1, "865.00"]], "135.00"],
    ["asOf on the second due date", { asOf: "2025-03-10" }, [[1, "865.00"], [2, "135.00"]], "0.00"],
    ["asOf before anything is due", { asOf: "2025-01-01" }, [], "1000.00"],
    ["periods [2]", { periods: [2] }, [[2, "862.50"]], "137.50"],
    ["periods [3, 2] are still paid oldest first", { periods: [3, 2] }, [[2, "862.50"], [3, "137.50"]], "0.00"],
    ["periods and asOf together", { periods: [2, 3], asOf: "2025-03-31" }, [[2, "862.50"]], "137.50"],
  ])("restricts the scope: %s", (_name, opts, expected, surplus) => {
    const r = allocate(plan(), "1000.00", DEFAULT_ALLOCATION_ORDER, opts);
    expect(r.allocations.map((a) => [a.period, a.total])).toEqual(expected);
    expect(r.surplus).toBe(surplus);
  });

  it.each([["0"], ["0.00"], ["-1.00"], ["1.001"], ["abc"], [""]])("rejects amount %j with INVALID_AMOUNT", (amount) => {
    expect(() => allocate(plan(), amount, DEFAULT_ALLOCATION_ORDER)).toThrow(expect.objectContaining({ code: "INVALID_AMOUNT" }));
  });

  it("rejects a JS number as amount", () => {
    expect(() => allocate(plan(), 10 as unknown as string, DEFAULT_ALLOCATION_ORDER)).toThrow(expect.objectContaining({ code: "INVALID_AMOUNT" }));
  });

  it.each<[string, unknown]>([
    ["missing a component", ["PENALTY", "FEE", "INTEREST"]],
    ["a duplicate", ["PENALTY", "FEE", "INTEREST", "INTEREST"]],
    ["an unknown name", ["PENALTY", "FEE", "INTEREST", "CAPITAL"]],
  ])("rejects an order with %s", (_name, order) => {
    expect(() => allocate(plan(), "1.00", order as AllocationComponent[])).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR", data: { field: "order" } }));
  });

  it("rejects unknown periods, a bad asOf and corrupt installments", () => {
    expect(() => allocate(plan(), "1.00", DEFAULT_ALLOCATION_ORDER, { periods: [9] })).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR", data: expect.objectContaining({ missing: [9] }) }));
    expect(() => allocate(plan(), "1.00", DEFAULT_ALLOCATION_ORDER, { periods: [] })).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
    expect(() => allocate(plan(), "1.00", DEFAULT_ALLOCATION_ORDER, { asOf: "2025-02-30" })).toThrow(expect.objectContaining({ code: "INVALID_DATE" }));
    const bad = [inst(1, "2025-02-10", { principal: "10.00", interest: "0.00", paid: { principal: "11.00" } })];
    expect(() => allocate(bad, "1.00", DEFAULT_ALLOCATION_ORDER)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR", data: expect.objectContaining({ field: "paidPrincipal" }) }));
  });

  it("does not modify its input", () => {
    const p = plan();
    const copy = JSON.parse(JSON.stringify(p));
    allocate(p, "900.00", DEFAULT_ALLOCATION_ORDER);
    expect(p).toEqual(copy);
  });
});

describe("applyAllocation", () => {
  it("adds to the paid fields and recomputes paidTotal, outstanding and status", () => {
    const before = plan();
    const { allocations } = allocate(before, "900.00", DEFAULT_ALLOCATION_ORDER);
    const after = applyAllocation(before, allocations);
    expect(after[0]).toMatchObject({ paidPenalty: "5.00", paidFee: "10.00", paidInterest: "50.00", paidPrincipal: "800.00", paidTotal: "865.00", outstanding: "0.00", status: "PAID", total: "860.00" });
    // Installment 2 was OVERDUE and is only partly paid: it stays OVERDUE.
    expect(after[1]).toMatchObject({ paidPenalty: "2.50", paidFee: "10.00", paidInterest: "22.50", paidPrincipal: "0.00", paidTotal: "35.00", outstanding: "827.50", status: "OVERDUE" });
    expect(after[2]).toEqual(before[2]);
    expect(before).toEqual(plan());
    expect(after[0]).not.toBe(before[0]);
  });

  it("marks a PENDING installment PARTIALLY_PAID, then PAID", () => {
    const p = [inst(1, "2025-02-10", { principal: "100.00", interest: "1.00" })];
    const once = applyAllocation(p, [row(1, "0.00", "0.00", "1.00", "50.00")]);
    expect(once[0]).toMatchObject({ status: "PARTIALLY_PAID", paidTotal: "51.00", outstanding: "50.00" });
    const twice = applyAllocation(once, [row(1, "0.00", "0.00", "0.00", "50.00")]);
    expect(twice[0]).toMatchObject({ status: "PAID", paidTotal: "101.00", outstanding: "0.00" });
  });

  it.each<[Installment["status"], string, string, Installment["status"]]>([
    ["PENDING", "5.00", "0.00", "PENDING"],
    ["PENDING", "5.00", "1.00", "PARTIALLY_PAID"],
    ["PENDING", "0.00", "5.00", "PAID"],
    ["PARTIALLY_PAID", "5.00", "1.00", "PARTIALLY_PAID"],
    ["OVERDUE", "5.00", "0.00", "OVERDUE"],
    ["OVERDUE", "5.00", "1.00", "OVERDUE"],
    ["OVERDUE", "0.00", "5.00", "PAID"],
  ])("status %s with outstanding %s, paid %s → %s", (prev, outstanding, paid, expected) => {
    expect(statusAfterPayment(prev, Dec(outstanding), Dec(paid))).toBe(expected);
  });

  it.each<[string, Allocation[], string, Record<string, unknown>]>([
    ["over-applies a component", [row(1, "6.00", "0.00", "0.00", "0.00")], "VALIDATION_ERROR", { period: 1, component: "penalty", unpaid: "5.00", amount: "6.00" }],
    ["over-applies in two steps", [row(1, "0.00", "0.00", "0.00", "500.00"), row(1, "0.00", "0.00", "0.00", "300.01")], "VALIDATION_ERROR", { component: "principal", unpaid: "300.00" }],
    ["names an unknown period", [row(7, "0.00", "0.00", "0.00", "1.00")], "VALIDATION_ERROR", { period: 7 }],
    ["has a wrong total", [{ ...row(1, "1.00", "0.00", "0.00", "0.00"), total: "2.00" }], "VALIDATION_ERROR", { total: "2.00", sum: "1.00" }],
    ["has a negative amount", [row(1, "0.00", "0.00", "0.00", "0.00"), { ...row(1, "0.00", "0.00", "0.00", "0.00"), interest: "-1.00" }], "INVALID_AMOUNT", {}],
  ])("throws when an allocation %s", (_name, allocations, code, data) => {
    expect(() => applyAllocation(plan(), allocations)).toThrow(expect.objectContaining({ code, data: expect.objectContaining(data) }));
  });
});

describe("dueAmount", () => {
  it.each([
    ["2025-01-31", "0.00"],
    ["2025-02-10", "865.00"],
    ["2025-03-10", "1727.50"],
    ["2030-01-01", "2587.50"],
  ])("as of %s is %s", (asOf, due) => {
    expect(dueAmount(plan(), asOf)).toBe(due);
  });
  it("counts only what is unpaid", () => {
    const after = applyAllocation(plan(), allocate(plan(), "900.00", DEFAULT_ALLOCATION_ORDER).allocations);
    expect(dueAmount(after, "2025-03-10")).toBe("827.50");
  });
});

/** mulberry32: a tiny seeded PRNG, enough for test data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("allocation properties (seeded)", () => {
  const next = prng(20250310);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  /** A 2-decimal amount in [0, 10^digits), zero about one time in five. */
  const amount = (digits: number): string => (next() < 0.2 ? "0.00" : `${int(0, 10 ** digits - 1)}.${String(int(0, 99)).padStart(2, "0")}`);
  const part = (x: string): string => fmt(Dec(x).times(Dec(String(int(0, 100)))).div(Dec("100")).round(2, Dec.roundDown));
  const orders: AllocationComponent[][] = [
    ["PENALTY", "FEE", "INTEREST", "PRINCIPAL"],
    ["PRINCIPAL", "INTEREST", "FEE", "PENALTY"],
    ["INTEREST", "PENALTY", "PRINCIPAL", "FEE"],
    ["FEE", "PRINCIPAL", "PENALTY", "INTEREST"],
  ];

  function randomPlan(): Installment[] {
    const n = int(1, 8);
    const out: Installment[] = [];
    for (let k = 1; k <= n; k++) {
      const parts = { principal: amount(4), interest: amount(3), fee: amount(2), penalty: amount(2) };
      const paid = next() < 0.5 ? {} : { principal: part(parts.principal), interest: part(parts.interest), fee: part(parts.fee), penalty: part(parts.penalty) };
      // Due dates not always in period order, some equal.
      out.push(inst(k, `2025-${String(int(1, 12)).padStart(2, "0")}-${String(int(1, 28)).padStart(2, "0")}`, { ...parts, paid }));
    }
    return out;
  }

  const unpaidTotal = (p: Installment[]): Decimal => p.reduce((s, i) => Object.values(unpaidOf(i)).reduce((t, x) => t.plus(x), s), ZERO);

  it("keeps applied + surplus = amount, never goes negative and never over-applies (2000 cases)", () => {
    const failures: string[] = [];
    const check = (ok: boolean, what: string, ctx: unknown) => {
      if (!ok && failures.length < 20) failures.push(`${what}: ${JSON.stringify(ctx)}`);
    };
    for (let c = 0; c < 2000; c++) {
      const p = randomPlan();
      const order = orders[int(0, orders.length - 1)];
      let amt = amount(5);
      if (Dec(amt).eq(ZERO)) amt = "0.01";
      const asOf = next() < 0.5 ? undefined : `2025-${String(int(1, 12)).padStart(2, "0")}-15`;
      const ctx = { case: c, amt, asOf, order };
      const before = asOf ? Dec(dueAmount(p, asOf)) : unpaidTotal(p);
      const r = allocate(p, amt, order, { asOf });
      check(Dec(r.applied).plus(Dec(r.surplus)).eq(Dec(amt)), "applied + surplus = amount", ctx);
      check(Dec(r.surplus).gte(ZERO), "surplus ≥ 0", ctx);
      check(fmt(sum(r.allocations.map((a) => a.total))) === r.applied, "applied = Σ allocations", ctx);
      for (const a of r.allocations) {
        for (const f of ["penalty", "fee", "interest", "principal"] as const) check(Dec(a[f]).gte(ZERO), "component ≥ 0", { ...ctx, a });
        check(Dec(a.total).gt(ZERO), "no empty allocation rows", { ...ctx, a });
      }
      // Either the whole amount went in, or everything in scope is now paid.
      check(Dec(r.applied).eq(Dec(amt)) || Dec(r.applied).eq(before), "applied is the amount or all that is due", ctx);

      const after = applyAllocation(p, r.allocations);
      const afterDue = asOf ? Dec(dueAmount(after, asOf)) : unpaidTotal(after);
      check(fmt(before.minus(afterDue)) === r.applied, "dues fall by exactly the applied amount", ctx);
      for (const i of after) {
        check(fmt(sum([i.paidPenalty, i.paidFee, i.paidInterest, i.paidPrincipal])) === i.paidTotal, "paidTotal = Σ paid", { ...ctx, i });
        check(fmt(sum([i.principal, i.interest, i.fee, i.penalty]).minus(Dec(i.paidTotal))) === i.outstanding, "outstanding = due − paid", { ...ctx, i });
        check(Dec(i.outstanding).gte(ZERO), "outstanding ≥ 0", { ...ctx, i });
        const touched = r.allocations.some((a) => a.period === i.period);
        if (touched) check((i.status === "PAID") === Dec(i.outstanding).eq(ZERO), "PAID iff nothing outstanding", { ...ctx, i });
      }

      // Re-allocating another amount on the new state never exceeds what is still due, and applies cleanly.
      const more = amount(5);
      const again = allocate(after, more === "0.00" ? "1.00" : more, order, { asOf });
      check(Dec(again.applied).lte(afterDue), "re-allocation within dues", ctx);
      try {
        applyAllocation(after, again.allocations);
      } catch (err) {
        check(false, `re-applying threw ${String(err)}`, ctx);
      }
    }
    expect(failures).toEqual([]);
  });
});
