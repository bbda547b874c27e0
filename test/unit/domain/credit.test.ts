/** Overpayments and the credit balance (domain/credit.ts): the applied/surplus split, crediting, NEXT_DUE application. */
import type { Installment } from "../../../contracts/schedule.contract";
import { DEFAULT_ALLOCATION_ORDER } from "../../../domain/allocation";
import { addCredit, applyCredit, MAX_CREDIT_ENTRIES, owedInAll, splitRepayment } from "../../../domain/credit";
import { Dec, fmt, sum } from "../../../domain/money";

function inst(period: number, dueDate: string, principal: string, interest: string, penalty = "0.00", paidPrincipal = "0.00"): Installment {
  const total = sum([principal, interest]);
  const paidTotal = Dec(paidPrincipal);
  return {
    period, startDate: "2026-01-01", dueDate, days: 30, principal, interest, fee: "0.00", penalty, total: fmt(total),
    paidPrincipal, paidInterest: "0.00", paidFee: "0.00", paidPenalty: "0.00", paidTotal: fmt(paidTotal),
    outstanding: fmt(total.plus(penalty).minus(paidTotal)), status: "PENDING",
  };
}

const plan = (): Installment[] => [inst(1, "2026-02-15", "7884.88", "1000.00", "27.59"), inst(2, "2026-03-15", "3938.85", "100.00", "0.00", "0.00")];

describe("what is owed and the split of a repayment", () => {
  it("owes every unpaid component of every installment, penalties included", () => {
    expect(fmt(owedInAll(plan()))).toBe("12951.32");
    expect(fmt(owedInAll([inst(1, "2026-02-15", "100.00", "10.00", "0.00", "40.00")]))).toBe("70.00");
  });

  it.each([
    ["12951.32", "12951.32", true, "12951.32", "0.00"],
    ["12951.32", "100.00", false, "100.00", "0.00"],
    ["12951.32", "40000.00", true, "12951.32", "27048.68"],
    ["12951.32", "12951.33", true, "12951.32", "0.01"],
    ["0.00", "30.00", true, "0.00", "30.00"],
  ])("owed %s, paid %s (allowed %s) → applied %s, surplus %s", (owed, amount, allow, applied, surplus) => {
    expect(splitRepayment(owed, amount, allow as boolean)).toEqual({ applied, surplus });
  });

  it("refuses an amount above what is owed without allowOverpayment, saying what is owed", () => {
    expect(() => splitRepayment("12951.32", "40000.00", false)).toThrow(expect.objectContaining({ code: "OVERPAYMENT", data: expect.objectContaining({ owed: "12951.32", surplus: "27048.68" }) }));
    expect(() => splitRepayment("12951.32", "12951.33", false)).toThrow(expect.objectContaining({ code: "OVERPAYMENT" }));
  });
});

describe("the credit balance", () => {
  it("adds each surplus with its source and the balance after it", () => {
    const a = addCredit(undefined, undefined, { source: "OFF-PAY-1", repaymentNo: "PAY-1", amount: "27048.68", at: "t1" });
    const b = addCredit(a.creditBalance, a.credits, { source: "T-1", amount: "30.00", at: "t2" });
    expect(b.creditBalance).toBe("27078.68");
    expect(b.credits).toEqual([
      { kind: "OVERPAYMENT", source: "OFF-PAY-1", repaymentNo: "PAY-1", amount: "27048.68", balance: "27048.68", at: "t1" },
      { kind: "OVERPAYMENT", source: "T-1", amount: "30.00", balance: "27078.68", at: "t2" },
    ]);
  });

  it("keeps a bounded list (the balance counts every entry)", () => {
    let c = addCredit("0.00", [], { source: "S0", amount: "0.01", at: "t" });
    for (let i = 1; i < MAX_CREDIT_ENTRIES + 5; i++) c = addCredit(c.creditBalance, c.credits, { source: `S${i}`, amount: "0.01", at: "t" });
    expect(c.credits).toHaveLength(MAX_CREDIT_ENTRIES);
    expect(c.credits[0].source).toBe("S5");
    expect(c.creditBalance).toBe("1.05");
  });
});

describe("NEXT_DUE: credit applied to what falls due", () => {
  it("pays only installments due on or before the date, up to the balance", () => {
    const before = applyCredit(plan(), "100.00", "2026-02-14", DEFAULT_ALLOCATION_ORDER);
    expect(before).toBeNull(); // nothing due yet
    const r = applyCredit(plan(), "100.00", "2026-02-15", DEFAULT_ALLOCATION_ORDER)!;
    expect(r.applied).toBe("100.00");
    expect(r.creditBalance).toBe("0.00");
    expect(r.allocations).toEqual([{ period: 1, penalty: "27.59", fee: "0.00", interest: "72.41", principal: "0.00", total: "100.00" }]);
    expect(r.installments[1]).toEqual(plan()[1]); // the future installment is untouched
  });

  it("leaves what the due installments do not need on the balance", () => {
    const r = applyCredit(plan(), "10000.00", "2026-02-20", DEFAULT_ALLOCATION_ORDER)!;
    expect(r.applied).toBe("8912.47");
    expect(r.creditBalance).toBe("1087.53");
    expect(r.installments[0]).toMatchObject({ status: "PAID", outstanding: "0.00" });
    expect(r.installments[1].paidTotal).toBe("0.00");
  });

  it("does nothing without credit", () => {
    expect(applyCredit(plan(), undefined, "2026-03-20", DEFAULT_ALLOCATION_ORDER)).toBeNull();
    expect(applyCredit(plan(), "0.00", "2026-03-20", DEFAULT_ALLOCATION_ORDER)).toBeNull();
  });
});
