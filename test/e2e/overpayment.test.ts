/**
 * Overpayments as money (issue 12, item 1) over REST on a real node with the test clock: an offline
 * repayment above what is owed is refused (nothing written) unless allowOverpayment; the surplus goes
 * to the plan's credit balance with its source, `plan.overpaid` goes out once per source, a replay or
 * a race credits once, the remittance pays the funder only what was owed; a debit that succeeds after
 * the plan was paid offline is credited too; a NEXT_DUE SERVICING rule applies credit to what falls due.
 */
import { startTestNode, orderFixture, type TestNode, WAIT_SCALE } from "../support/node";
import { spy } from "../support/events";
import { bankDebits, banks, bindCard, calmBanks, runSlot, until } from "../support/debit";
import { fmt, money, sum } from "../../domain/money";

jest.setTimeout(120_000 * WAIT_SCALE);

const NO_JOBS = "clock,rules,schedule,order-sync,sign-bind,ledger,asset-transfer,deduction-executor,sim-banks,api";

async function at(node: TestNode, date: string, time = "09:00") {
  const res = await node.http("POST", "/api/v1/test-clock", { to: `${date}T${time}:00+08:00`, frozen: true });
  expect(res.status).toBe(200);
}

async function plan(node: TestNode, planId: string) {
  return (await node.http("GET", `/api/v1/plans/${planId}`)).body;
}

/** Owed in all, computed here from the installments' components (not the service's own figure). */
function owedOf(p: any): string {
  return fmt(sum(p.installments.flatMap((i: any) => [money(i.principal).plus(i.interest).plus(i.fee).plus(i.penalty).minus(i.paidTotal)])));
}


describe("offline overpayment", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("is refused without allowOverpayment (nothing written), credited once with it, and never remitted", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS });
    await at(node, "2026-01-20");
    const events = spy(node, ["plan.overpaid", "plan.settled"]);
    // 20,000.00 over 12 months: the remittance stays under the simulated banks' per-payout limit.
    const created = await node.http("POST", "/api/v1/orders", orderFixture({ startDate: "2026-01-15", principal: "20000.00" }));
    const planId = created.body.planId;
    const before = await plan(node, planId);
    const owed = owedOf(before);
    const amount = fmt(money(owed).plus("27048.68"));

    const refused = await node.http("POST", `/api/v1/plans/${planId}/repayments`, { repaymentNo: "PAY-OVER-1", amount }, "ops");
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: "OVERPAYMENT", details: { field: "amount", owed, surplus: "27048.68" } });
    const untouched = await plan(node, planId);
    expect(untouched.version).toBe(before.version);
    expect(untouched.creditBalance).toBeUndefined();
    expect((await node.http("GET", `/api/v1/flows?planId=${planId}`)).body.total).toBe(0);
    // The number is still free: refused means not recorded.
    expect(untouched.operations?.["PAY-OVER-1"]).toBeUndefined();

    // Allowed, sent three times at once and once more later: one credit, one event, one flow pair.
    const body = { repaymentNo: "PAY-OVER-1", amount, allowOverpayment: true };
    const raced = await Promise.all([1, 2, 3].map(() => node.http("POST", `/api/v1/plans/${planId}/repayments`, body, "ops")));
    for (const r of raced) expect(r.status).toBe(200);
    expect(raced.filter((r) => !r.body.replayed)).toHaveLength(1);
    const replay = await node.http("POST", `/api/v1/plans/${planId}/repayments`, body, "ops");
    expect(replay.body).toMatchObject({ replayed: true, applied: owed, surplus: "27048.68", creditBalance: "27048.68" });

    const after = await plan(node, planId);
    expect(after).toMatchObject({ status: "SETTLED", creditBalance: "27048.68" });
    expect(after.credits).toEqual([expect.objectContaining({ kind: "OVERPAYMENT", source: "OFF-PAY-OVER-1", repaymentNo: "PAY-OVER-1", amount: "27048.68", balance: "27048.68" })]);
    await until(async () => events.length, (n) => n >= 2, 5000);
    await new Promise((r) => setTimeout(r, 300));
    const overpaid = events.filter((e) => e.event === "plan.overpaid");
    expect(overpaid).toHaveLength(1);
    expect(overpaid[0].params).toMatchObject({ planId, source: "OFF-PAY-OVER-1", repaymentNo: "PAY-OVER-1", amount: "27048.68", creditBalance: "27048.68", funderId: "F001" });

    const flows = (await node.http("GET", `/api/v1/flows?planId=${planId}`)).body.rows;
    expect(flows.map((f: any) => [f.kind, f.direction, f.amount, f.funderId]).sort()).toEqual([
      ["CREDIT", "OUT", "27048.68", "F001"],
      ["OFFLINE", "IN", amount, "F001"],
    ]);

    // The next day's remittance pays F001 what the plan owed, not the borrower's surplus.
    await node.http("PUT", "/api/v1/funders/F001", { name: "Fund One", accountNo: "6214000000001111", accountName: "Fund One Ltd" }, "admin");
    await node.http("POST", "/api/v1/positions/BANK_A/adjust", { amount: "200000.00", direction: "TOP_UP", reason: "remittance float" });
    calmBanks(node);
    await at(node, "2026-01-21", "03:00");
    const run = await node.http("POST", "/api/v1/remittances/runs", { date: "2026-01-20" }, "ops");
    expect(run.body).toMatchObject({ remittances: 1, paid: 1 });
    const rem = (await node.http("GET", "/api/v1/remittances?date=2026-01-20")).body.rows;
    expect(rem.map((r: any) => [r.funderId, r.amount, r.status])).toEqual([["F001", owed, "PAID"]]);
    const payouts = [...banks(node).values()].flatMap((bk) => bk.trades()).filter((x) => x.kind === "PAYOUT" && x.moved);
    expect(payouts.map((x) => x.amount)).toEqual([owed]);
  });

  it("takes an amount up to what is owed as before, without the flag", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS });
    await at(node, "2026-01-20");
    const planId = (await node.http("POST", "/api/v1/orders", orderFixture({ startDate: "2026-01-15" }))).body.planId;
    const owed = owedOf(await plan(node, planId));
    const res = await node.http("POST", `/api/v1/plans/${planId}/repayments`, { repaymentNo: "PAY-EXACT-1", amount: owed }, "ops");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ applied: owed, surplus: "0.00" });
    const p = await plan(node, planId);
    expect(p.status).toBe("SETTLED");
    expect(p.creditBalance).toBeUndefined();
    expect((await node.http("GET", `/api/v1/flows?planId=${planId}`)).body.rows.map((f: any) => f.kind)).toEqual(["OFFLINE"]);
  });
});

describe("a debit that succeeds after the plan was paid offline", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("credits the whole debit once, emits plan.overpaid, and the remittance nets it out", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", STALE_TRADE_SECONDS: "30" });
    await node.http("POST", "/api/v1/test-clock", { to: "2026-02-15T12:00:05+08:00", frozen: true });
    calmBanks(node);
    const events = spy(node, ["plan.overpaid"]);
    const bindingId = await bindCard(node, { channels: ["BANK_A"], balance: "50000.00" });
    const res = await node.http("POST", "/api/v1/orders", orderFixture({ bindingId, startDate: "2026-01-15", principal: "10000.00", term: 1 }));
    const planId = res.body.planId;
    const due = owedOf(await plan(node, planId));

    banks(node).get("BANK_A")!.configure({ unknownRate: 1, unknownSettleMs: 500 });
    expect((await runSlot(node)).totals).toMatchObject({ unknown: 1 });
    // Meanwhile the borrower pays at the branch: the plan is settled offline.
    const off = await node.http("POST", `/api/v1/plans/${planId}/repayments`, { repaymentNo: "PAY-BRANCH-1", amount: due }, "ops");
    expect(off.body).toMatchObject({ applied: due, surplus: "0.00" });
    // The bank settles the debit as moved; the sweep's query finds it and applies it: all surplus.
    await new Promise((r) => setTimeout(r, 600));
    await node.http("POST", "/api/v1/test-clock", { advanceSeconds: 61 });
    await node.broker.call("deduction-executor.repairNow");
    const [debit] = bankDebits(node, planId);
    expect(debit.moved).toBe(true);
    const p = await until(() => plan(node, planId), (x: any) => x.creditBalance !== undefined);
    expect(p).toMatchObject({ status: "SETTLED", creditBalance: due });
    expect(p.credits).toEqual([expect.objectContaining({ kind: "OVERPAYMENT", source: debit.tradeNo, amount: due })]);
    // Applying the same trade again (the sweep runs again) credits nothing more.
    const again: any = await node.broker.call("schedule.applyRepayment", { planId, tradeNo: debit.tradeNo, amount: due });
    expect(again).toMatchObject({ changed: false, surplus: due });
    await node.broker.call("deduction-executor.repairNow");
    expect((await plan(node, planId)).creditBalance).toBe(due);
    await until(async () => events.length, (n) => n >= 1, 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(events.map((e) => [e.params.source, e.params.amount])).toEqual([[debit.tradeNo, due]]);

    // Collected on the day: the debit and the offline payment in, the surplus out = what was owed.
    const collected: any[] = await node.broker.call("ledger.collected", { businessDate: "2026-02-15" });
    expect(collected).toEqual([{ funderId: "F001", amount: due, flows: 2 }]);
  });
});

describe("credit application (SERVICING creditApplication)", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  /**
   * A credit on a plan that still has installments to pay (today only reversals, a later item, can
   * leave one): written into the store as the fixture, then the accrual applies it or holds it.
   */
  async function creditedPlan(productCode: string) {
    const planId = (await node.http("POST", "/api/v1/orders", orderFixture({ startDate: "2026-01-15", productCode }))).body.planId;
    const store = (node.broker.getLocalService("schedule") as any).stores.plans;
    const p = await store.findById(planId);
    await store.updateOne({ _id: planId, version: p.version }, { $set: { creditBalance: "10000.00", creditHeld: true, credits: [{ kind: "OVERPAYMENT", source: "OFF-FIXTURE", amount: "10000.00", balance: "10000.00", at: "2026-01-20T09:00:00+08:00" }] } });
    return planId;
  }

  it("NEXT_DUE pays the installment that falls due from the credit; HOLD keeps it", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS });
    await at(node, "2026-01-20");
    const rule = await node.http("POST", "/api/v1/rules", { kind: "SERVICING", name: "apply credit", scope: { productCode: "CRNEXT" }, effectiveFrom: "2026-01-01", content: { creditApplication: "NEXT_DUE" } });
    expect(rule.status).toBe(200);
    const next = await creditedPlan("CRNEXT");
    const held = await creditedPlan("P12");

    // Before the due date nothing is due: the credit stays.
    await node.broker.call("schedule.accrue", { planId: next });
    expect((await plan(node, next)).creditBalance).toBe("10000.00");

    await at(node, "2026-02-15");
    const candidates: string[] = await node.broker.call("schedule.accrualCandidates", { partition: (await plan(node, next)).partition, asOf: "2026-02-15" });
    expect(candidates).toContain(next);
    for (const id of [next, held]) await node.broker.call("schedule.accrue", { planId: id });
    const p = await plan(node, next);
    expect(p.installments[0]).toMatchObject({ status: "PAID", paidTotal: "8884.88", outstanding: "0.00" });
    expect(p.installments[1].paidTotal).toBe("0.00");
    expect(p.creditBalance).toBe("1115.12");
    expect(p.credits.at(-1)).toMatchObject({ kind: "APPLIED", period: 1, amount: "8884.88", balance: "1115.12" });
    const flows = (await node.http("GET", `/api/v1/flows?planId=${next}`)).body.rows;
    expect(flows.map((f: any) => [f.kind, f.direction, f.amount, f.businessDate])).toEqual([["CREDIT", "IN", "8884.88", "2026-02-15"]]);
    // Again the same day: nothing more (nothing else is due).
    await node.broker.call("schedule.accrue", { planId: next });
    expect((await plan(node, next)).creditBalance).toBe("1115.12");

    const h = await plan(node, held);
    expect(h.creditBalance).toBe("10000.00");
    expect(h.installments[0].paidTotal).toBe("0.00");
  });
});
