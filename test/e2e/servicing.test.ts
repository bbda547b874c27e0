/**
 * Servicing (issue 4) over REST on a real node: overdue accrual (idempotent, caught up after
 * downtime), the overdue list, pause/resume, settlement by debit, transfers and remittances, bad
 * input (4xx with a code, nothing written), replays, races and a crash halfway.
 *
 * The default FEE rule applies (config/defaults/rules.json): 3 grace days, 0.05 % a day on the
 * overdue principal, charged from the due date, capped at 24 % a year. The fixture's first
 * installment is 8884.88 (principal 7884.88, interest 1000.00), due 2026-02-15.
 */
import { crashOn } from "../support/crash";
import { startTestNode, orderFixture, type TestNode, WAIT_SCALE, TEST_PARTITIONS } from "../support/node";
import { bindCard, calmBanks, runSlot, until, bankDebits, banks } from "../support/debit";

jest.setTimeout(120_000 * WAIT_SCALE);

/** No fee-calculator: accrual happens only when a test asks for it (the catch-up case needs that). */
const NO_JOBS = "clock,rules,schedule,order-sync,sign-bind,ledger,asset-transfer,deduction-executor,sim-banks,api";

async function at(node: TestNode, date: string, time = "09:00") {
  const res = await node.http("POST", "/api/v1/test-clock", { to: `${date}T${time}:00+08:00`, frozen: true });
  expect(res.status).toBe(200);
}

async function order(node: TestNode, over: Record<string, unknown> = {}): Promise<string> {
  const res = await node.http("POST", "/api/v1/orders", orderFixture({ startDate: "2026-01-15", ...over }));
  expect(res.status).toBe(200);
  return res.body.planId;
}

async function plan(node: TestNode, planId: string) {
  return (await node.http("GET", `/api/v1/plans/${planId}`)).body;
}

/** Listens to mesh events, deduping on the event id as every consumer must (delivery is at least once). */
function spy(node: TestNode, names: string[]) {
  const seen: Array<{ event: string; params: any }> = [];
  const ids = new Set<string>();
  const record = (n: string, params: any) => {
    if (params.eventId && ids.has(params.eventId)) return;
    ids.add(params.eventId);
    seen.push({ event: n, params });
  };
  const events = Object.fromEntries(names.map((n) => [n, (ctx: any) => record(n, ctx.params)]));
  node.broker.createService({ name: `spy-${Math.random().toString(36).slice(2, 8)}`, events });
  return seen;
}

describe("overdue accrual", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("accrues once per installment and date, and catches up a missed week exactly", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS });
    await at(node, "2026-01-15");
    const events = spy(node, ["installment.overdue"]);
    const daily = await order(node);
    const missed = await order(node);

    // Day by day for the first plan (twice on one day); the second is not touched for a week.
    for (const d of ["2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-21", "2026-02-22"]) {
      await at(node, d);
      const r: any = await node.broker.call("schedule.accrue", { planId: daily });
      expect(r.changed).toBe(true);
      if (d === "2026-02-19") {
        const v = (await plan(node, daily)).version;
        const again: any = await node.broker.call("schedule.accrue", { planId: daily });
        expect(again).toMatchObject({ changed: false, entries: 0 });
        expect((await plan(node, daily)).version).toBe(v);
      }
    }
    const caught: any = await node.broker.call("schedule.accrue", { planId: missed });
    expect(caught.entries).toBe(7);

    const a = (await plan(node, daily)).installments[0];
    const b = (await plan(node, missed)).installments[0];
    // Day 4 (02-19) is the first charging day: 4 days × 7884.88 × 0.0005 = 15.77; days 5-7: 3.94 each.
    expect(a).toMatchObject({ status: "OVERDUE", penalty: "27.59", daysOverdue: 7, aging: "M1", accruedThrough: "2026-02-22", outstanding: "8912.47" });
    expect(b).toEqual(a);
    await until(async () => events.length, (n) => n >= 2, 5000);
    expect(events.map((e) => e.params.planId).sort()).toEqual([daily, missed].sort());
    expect(events[0].params).toMatchObject({ period: 1, dueDate: "2026-02-15" });
  });

  it("the scheduled job accrues every held partition, shows progress as a run, and a rerun changes nothing", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", JOB_TICK_MS: "50" });
    await at(node, "2026-01-15");
    const ids = [await order(node), await order(node), await order(node)];
    const runs = async () => (await node.http("GET", "/api/v1/runs?job=accrual&pageSize=50")).body.rows as any[];
    await until(runs, (rows) => rows.every((r) => r.status === "DONE"), 15_000); // today's run (nothing overdue yet)
    await at(node, "2026-02-20", "00:30");
    await new Promise((r) => setTimeout(r, 300));
    const before = new Set((await runs()).map((r) => r.runId));
    expect(before.size).toBeGreaterThan(0);
    for (const id of ids) expect((await plan(node, id)).installments[0].penalty).toBe("0.00"); // before the accrual time: not yet
    await at(node, "2026-02-20", "01:05"); // past the FEE rule's accrual time: the job starts by itself
    const fresh = async () => (await runs()).filter((r) => !before.has(r.runId));
    const done = await until(fresh, (rows) => rows.length === 1 && rows[0].status === "DONE", 15_000);
    expect(done[0]).toMatchObject({ trigger: "SCHEDULE" });
    expect(done[0].totals).toMatchObject({ changed: 3, entries: 15, failed: 0, partitions: TEST_PARTITIONS, partitionsDone: TEST_PARTITIONS });
    for (const id of ids) expect((await plan(node, id)).installments[0]).toMatchObject({ penalty: "19.71", daysOverdue: 5 }); // 02-19: 4 days (15.77), 02-20: 3.94
    // By hand, the same day: nothing changes.
    const versions = await Promise.all(ids.map(async (id) => (await plan(node, id)).version));
    const manual = await node.http("POST", "/api/v1/fees/accrual-runs", {}, "ops");
    expect(manual.status).toBe(200);
    const run = await until(async () => (await node.http("GET", `/api/v1/runs/${manual.body.runId}`)).body, (r: any) => r.status === "DONE", 15_000);
    expect(run.totals).toMatchObject({ changed: 0, entries: 0, failed: 0 });
    expect(await Promise.all(ids.map(async (id) => (await plan(node, id)).version))).toEqual(versions);
    const bad = await node.http("POST", "/api/v1/fees/accrual-runs", { partitions: [TEST_PARTITIONS] }, "ops");
    expect({ status: bad.status, code: bad.body.code }).toEqual({ status: 422, code: "VALIDATION_ERROR" });
  });
});

describe("collection support", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("lists overdue plans with filters, and pauses and resumes debits with reason, audit and events", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS });
    await at(node, "2026-01-15");
    const events = spy(node, ["plan.paused", "plan.resumed"]);
    const a = await order(node); // F001, due 02-15
    const b = await order(node, { funderId: "F002", principal: "12000.00" }); // due 02-15, smaller
    const c = await order(node, { startDate: "2026-02-10" }); // first due 03-10: not overdue
    await at(node, "2026-02-22");
    for (const id of [a, b, c]) await node.broker.call("schedule.accrue", { planId: id });

    const list = async (q: string) => (await node.http("GET", `/api/v1/overdue${q}`)).body;
    const all = await list("");
    expect(all.rows.map((r: any) => r.planId).sort()).toEqual([a, b].sort());
    expect(all.rows.find((r: any) => r.planId === a)).toMatchObject({ overdueDays: 7, aging: "M1", overdueAmount: "8912.47", overduePenalty: "27.59", overduePeriods: [1], paused: false });
    expect((await list("?funderId=F002")).rows.map((r: any) => r.planId)).toEqual([b]);
    expect((await list("?bucket=M2")).total).toBe(0);
    expect((await list("?minDays=8")).total).toBe(0);
    expect((await list("?minDays=7&maxDays=7")).total).toBe(2);
    expect((await list("?minAmount=5000.00")).rows.map((r: any) => r.planId)).toEqual([a]);
    expect((await list("?maxAmount=5000.00")).rows.map((r: any) => r.planId)).toEqual([b]);
    expect((await list("?minAmount=1e3")).total).toBeUndefined(); // a bad amount is a 422, not a filter

    const partition = (await plan(node, a)).partition;
    const due = async () => ((await node.broker.call("schedule.dueWork", { partition, asOf: "2026-02-22" })) as any[]).map((x) => x.planId);
    expect(await due()).toContain(a);

    const paused = await node.http("POST", `/api/v1/plans/${a}/pause`, { reason: "borrower disputes the debt", until: "2026-02-25" }, "ops");
    expect(paused.status).toBe(200);
    expect((await plan(node, a)).status).toBe("PAUSED");
    expect(await due()).not.toContain(a);
    expect((await list("?paused=true")).rows.map((r: any) => r.planId)).toEqual([a]);
    const twice = await node.http("POST", `/api/v1/plans/${a}/pause`, { reason: "again" }, "ops");
    expect({ status: twice.status, code: twice.body.code }).toEqual({ status: 409, code: "PLAN_STATE" });

    // The pause runs out after its last day: the daily pass resumes it.
    await at(node, "2026-02-25");
    await node.broker.call("schedule.accrue", { planId: a });
    expect((await plan(node, a)).status).toBe("PAUSED");
    await at(node, "2026-02-26");
    await node.broker.call("schedule.accrue", { planId: a });
    expect((await plan(node, a)).status).toBe("ACTIVE");

    // By hand.
    await node.http("POST", `/api/v1/plans/${b}/pause`, { reason: "collection agency call" }, "ops");
    const resumed = await node.http("POST", `/api/v1/plans/${b}/resume`, { reason: "promise to pay" }, "ops");
    expect(resumed.body).toMatchObject({ status: "ACTIVE" });
    const history = (await node.http("GET", `/api/v1/plans/${b}/revisions`)).body.events;
    expect(history.map((e: any) => [e.action, e.by, e.reason])).toEqual([
      ["PAUSE", "olivia", "collection agency call"],
      ["RESUME", "olivia", "promise to pay"],
    ]);
    await until(async () => events.length, (n) => n >= 4, 5000);
    // In order per plan (the outbox keeps a plan's events in order; plans are independent).
    for (const id of [a, b]) expect(events.filter((e) => e.params.planId === id).map((e) => e.event)).toEqual(["plan.paused", "plan.resumed"]);
  });

  it("records an offline repayment in the allocation order: penalty first, oldest installment first", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS });
    await at(node, "2026-01-15");
    const id = await order(node);
    await at(node, "2026-03-17"); // period 1: 30 days overdue, period 2 (due 03-15): 2 days, in grace
    const res = await node.http("POST", `/api/v1/plans/${id}/repayments`, { repaymentNo: "OFF-0001", amount: "9000.00", note: "paid at the branch" }, "ops");
    expect(res.status).toBe(200);
    let [i1, i2] = (await plan(node, id)).installments;
    // Period 1's penalty: 15.77 on day 4 (02-19), then 26 days × 3.94 = 102.44 → 118.21; owed 9003.09.
    expect(i1).toMatchObject({ penalty: "118.21", paidPenalty: "118.21", paidInterest: "1000.00", paidPrincipal: "7881.79", outstanding: "3.09", status: "OVERDUE" });
    expect(i2).toMatchObject({ paidTotal: "0.00", penalty: "0.00" });
    const second = await node.http("POST", `/api/v1/plans/${id}/repayments`, { repaymentNo: "OFF-0002", amount: "8890.00" }, "ops");
    expect(second.body.allocations.map((x: any) => [x.period, x.total])).toEqual([
      [1, "3.09"],
      [2, "8884.88"],
      [3, "2.03"],
    ]);
    [i1, i2] = (await plan(node, id)).installments;
    expect([i1.status, i2.status]).toEqual(["PAID", "PAID"]);
    const flows = (await node.http("GET", `/api/v1/flows?planId=${id}`)).body.rows;
    expect(flows.map((f: any) => [f.kind, f.channel, f.amount, f.funderId]).sort()).toEqual([
      ["OFFLINE", "OFFLINE", "8890.00", "F001"],
      ["OFFLINE", "OFFLINE", "9000.00", "F001"],
    ]);
  });
});

describe("settlement", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("settles by a debit through the debit machinery: SETTLED only when the money is in", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS });
    calmBanks(node);
    await at(node, "2026-01-15");
    const bindingId = await bindCard(node, { channels: ["BANK_A"] });
    const id = await order(node, { bindingId, principal: "30000.00" }); // the quote must fit BANK_A's 50,000.00 per debit
    await at(node, "2026-02-20", "10:00"); // period 1 five days overdue
    const events = spy(node, ["plan.settled"]);
    const quote = (await node.http("GET", `/api/v1/plans/${id}/settlement-quote`)).body;
    // Default SERVICING rule: interest to the next due date (period 2's full scheduled interest), 1 % prepayment fee.
    // Period 1 (principal 2365.46): 4 days on 02-19 = 4.73, 1.18 on 02-20.
    const p0 = await plan(node, id);
    const i2 = p0.installments[1];
    expect(quote.lines[0]).toMatchObject({ period: 1, kind: "DUE", penalty: "5.91" });
    expect(quote.lines[1]).toMatchObject({ period: 2, kind: "CURRENT", interest: i2.interest });
    expect(quote.lines.slice(2).every((l: any) => l.kind === "FUTURE" && l.interest === "0.00")).toBe(true);
    expect(quote.principal).toBe("30000.00");
    expect(quote.prepaymentFee).toBe("276.35"); // 1 % of the 27,634.54 not yet due

    const asked = await node.http("POST", `/api/v1/plans/${id}/settlements`, { settlementNo: "STL-DEBIT-1", method: "DEBIT" }, "ops");
    expect(asked.body).toMatchObject({ status: "PENDING", amount: quote.total });
    expect((await plan(node, id)).status).toBe("ACTIVE"); // not settled before the money is in
    const again = await node.http("POST", `/api/v1/plans/${id}/settlements`, { settlementNo: "STL-DEBIT-2", method: "DEBIT" }, "ops");
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 409, code: "SETTLEMENT_PENDING" });

    await runSlot(node, { slotTime: "12:00" });
    const moved = bankDebits(node, id).filter((t) => t.moved);
    expect(moved.map((t) => t.amount)).toEqual([quote.total]);
    const p = await plan(node, id);
    expect(p.status).toBe("SETTLED");
    expect(p.pendingSettlement).toBeUndefined();
    expect(p.installments.every((i: any) => i.status === "PAID" && i.outstanding === "0.00")).toBe(true);
    await until(async () => events.length, (n) => n >= 1, 5000);
    expect(events[0].params).toMatchObject({ planId: id, settlementNo: "STL-DEBIT-1", amount: quote.total });
    const flows = (await node.http("GET", `/api/v1/flows?planId=${id}`)).body.rows;
    expect(flows.map((f: any) => [f.kind, f.amount, f.funderId])).toEqual([["DEBIT", quote.total, "F001"]]);

    // Settling a settled plan: 409, nothing written.
    const v = p.version;
    const late = await node.http("POST", `/api/v1/plans/${id}/settlements`, { settlementNo: "STL-LATE", method: "OFFLINE", amount: "1.00" }, "ops");
    expect({ status: late.status, code: late.body.code }).toEqual({ status: 409, code: "PLAN_SETTLED" });
    expect((await plan(node, id)).version).toBe(v);
  });

  it("a DEBIT settlement not collected on its date lapses; the plan carries on", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS });
    await at(node, "2026-01-15");
    const id = await order(node);
    await at(node, "2026-01-20");
    const asked = await node.http("POST", `/api/v1/plans/${id}/settlements`, { settlementNo: "STL-LAPSE", method: "DEBIT" }, "ops");
    expect(asked.status).toBe(200);
    await at(node, "2026-01-21");
    await node.broker.call("schedule.accrue", { planId: id });
    const p = await plan(node, id);
    expect(p.pendingSettlement).toBeUndefined();
    expect(p.status).toBe("ACTIVE");
    const cancel = await node.http("POST", `/api/v1/plans/${id}/settlements/STL-LAPSE/cancel`, { reason: "too late" }, "ops");
    expect({ status: cancel.status, code: cancel.body.code }).toEqual({ status: 409, code: "PLAN_STATE" });
  });
});

describe("asset transfer", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("moves receivables from the effective date, attributes later money to the new owner, remits each owner once, and cancels before the date", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS });
    calmBanks(node);
    await at(node, "2026-02-01");
    const events = spy(node, ["plan.transferred"]);
    const a = await order(node);
    const b = await order(node);
    const c = await order(node);

    // Cancelled before its date: the plan is as before.
    const t0 = await node.http("POST", "/api/v1/transfers", { transferNo: "TR-CANCEL", planIds: [c], toFunderId: "F777", effectiveDate: "2026-02-10", priceRatio: "0.90" }, "ops");
    expect(t0.status).toBe(200);
    expect((await plan(node, c)).owners.map((o: any) => o.funderId)).toEqual(["F001", "F777"]);
    const cancelled = await node.http("POST", "/api/v1/transfers/TR-CANCEL/cancel", { reason: "buyer withdrew" }, "ops");
    expect(cancelled.body).toMatchObject({ status: "CANCELLED" });
    expect((await plan(node, c)).owners.map((o: any) => o.funderId)).toEqual(["F001"]);

    const t = await node.http("POST", "/api/v1/transfers", { transferNo: "TR-0001", planIds: [a, b], toFunderId: "F009", effectiveDate: "2026-02-15", priceRatio: "0.985", reason: "portfolio sale" }, "ops");
    expect(t.body).toMatchObject({ status: "SCHEDULED", totals: { plans: 2, remainingPrincipal: "200000.00", price: "197000.00" } });
    const replay = await node.http("POST", "/api/v1/transfers", { transferNo: "TR-0001", planIds: [a, b], toFunderId: "F009", effectiveDate: "2026-02-15", priceRatio: "0.985", reason: "portfolio sale" }, "ops");
    expect(replay.body.status).toBe("SCHEDULED");
    const other = await node.http("POST", "/api/v1/transfers", { transferNo: "TR-0001", planIds: [a], toFunderId: "F009", effectiveDate: "2026-02-15", priceRatio: "0.985" }, "ops");
    expect({ status: other.status, code: other.body.code }).toEqual({ status: 409, code: "OPERATION_CONFLICT" });

    // Money before the date is the old owner's.
    await at(node, "2026-02-14");
    await node.http("POST", `/api/v1/plans/${a}/repayments`, { repaymentNo: "PAY-A-0214", amount: "100.00" }, "ops");
    // On the date the daily job makes the transfer effective; money from then on is the new owner's.
    await at(node, "2026-02-15", "03:00");
    const daily = await node.http("POST", "/api/v1/remittances/runs", {}, "ops");
    expect(daily.status).toBe(200);
    expect((await node.http("GET", "/api/v1/transfers/TR-0001")).body).toMatchObject({ status: "EFFECTIVE" });
    expect((await plan(node, a)).funderId).toBe("F009");
    await until(async () => events.length, (n) => n >= 2, 5000);
    expect(events.map((e) => [e.params.planId, e.params.fromFunderId, e.params.toFunderId]).sort()).toEqual([[a, "F001", "F009"], [b, "F001", "F009"]].sort());
    await node.http("POST", `/api/v1/plans/${a}/repayments`, { repaymentNo: "PAY-A-0215", amount: "8784.88" }, "ops");
    await node.http("POST", `/api/v1/plans/${b}/repayments`, { repaymentNo: "PAY-B-0215", amount: "8884.88" }, "ops");
    const flows = (await node.http("GET", "/api/v1/flows?pageSize=50")).body.rows;
    expect(flows.map((f: any) => [f.tradeNo, f.funderId]).sort()).toEqual([
      ["OFF-PAY-A-0214", "F001"],
      ["OFF-PAY-A-0215", "F009"],
      ["OFF-PAY-B-0215", "F009"],
    ]);

    // Remittance of 02-15's collections the next day: F009 gets 17,669.76 once, through a payout.
    await node.http("PUT", "/api/v1/funders/F009", { name: "Fund Nine", accountNo: "6214000000009999", accountName: "Fund Nine Ltd" }, "admin");
    await node.http("POST", "/api/v1/positions/BANK_A/adjust", { amount: "50000.00", direction: "TOP_UP", reason: "remittance float" });
    await at(node, "2026-02-16", "03:00");
    const run1 = await node.http("POST", "/api/v1/remittances/runs", { date: "2026-02-15" }, "ops");
    expect(run1.body).toMatchObject({ remittances: 1, paid: 1 });
    const run2 = await node.http("POST", "/api/v1/remittances/runs", { date: "2026-02-15" }, "ops");
    expect(run2.body).toMatchObject({ remittances: 1, paid: 1 });
    const rem = (await node.http("GET", "/api/v1/remittances?date=2026-02-15")).body.rows;
    expect(rem.map((r: any) => [r.funderId, r.amount, r.status, r.flows])).toEqual([["F009", "17669.76", "PAID", 2]]);
    const payouts = [...banks(node).values()].flatMap((bk) => bk.trades()).filter((x) => x.kind === "PAYOUT" && x.moved);
    expect(payouts.map((x) => x.amount)).toEqual(["17669.76"]);
    // 02-14's 100.00 belongs to F001, which has no account: held, not lost.
    const held = await node.http("POST", "/api/v1/remittances/runs", { date: "2026-02-14" }, "ops");
    expect(held.body).toMatchObject({ held: 1 });
    // After the date a transfer can no longer be cancelled.
    const tooLate = await node.http("POST", "/api/v1/transfers/TR-0001/cancel", { reason: "changed mind" }, "ops");
    expect({ status: tooLate.status, code: tooLate.body.code }).toEqual({ status: 409, code: "TRANSFER_STATE" });
  });
});

describe("remittance replayed, raced and crashed halfway", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("a crash after the payout went out: the next run finds it paid; concurrent runs pay once", async () => {
    const crash = crashOn("deduction-executor.createPayout", { after: true, message: "simulated process death after the payout was sent" });
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS }, undefined, { middlewares: [crash] });
    calmBanks(node);
    await at(node, "2026-02-15");
    const a = await order(node);
    await node.http("POST", `/api/v1/plans/${a}/repayments`, { repaymentNo: "RMT-PAY-1", amount: "8884.88" }, "ops");
    await node.http("PUT", "/api/v1/funders/F001", { name: "Fund One", accountNo: "6214000000001111", accountName: "Fund One Ltd" }, "admin");
    await node.http("POST", "/api/v1/positions/BANK_A/adjust", { amount: "50000.00", direction: "TOP_UP", reason: "remittance float" });
    await at(node, "2026-02-16", "03:00");
    const first = await node.http("POST", "/api/v1/remittances/runs", { date: "2026-02-15" }, "ops");
    expect(first.body).toMatchObject({ remittances: 1, failed: 1 }); // the call died after the payout left
    node = await node.restart();
    calmBanks(node);
    const runs = await Promise.all([1, 2, 3].map(() => node.http("POST", "/api/v1/remittances/runs", { date: "2026-02-15" }, "ops")));
    expect(runs.every((r) => r.status === 200)).toBe(true);
    const rem = (await node.http("GET", "/api/v1/remittances?date=2026-02-15")).body.rows;
    expect(rem.map((r: any) => [r.funderId, r.amount, r.status, r.payoutNo])).toEqual([["F001", "8884.88", "PAID", "RMT-20260215-F001"]]);
    const payouts = [...banks(node).values()].flatMap((bk) => bk.trades()).filter((x) => x.kind === "PAYOUT" && x.moved);
    expect(payouts.map((x) => x.amount)).toEqual(["8884.88"]);
  });
});

describe("bad input: a clear 4xx with a code, nothing written", () => {
  let node: TestNode;
  let id: string;
  let settled: string;
  beforeAll(async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS });
    await at(node, "2026-01-15");
    id = await order(node);
    settled = await order(node, { principal: "1000.00", term: 1 });
    await at(node, "2026-01-20");
    const q = (await node.http("GET", `/api/v1/plans/${settled}/settlement-quote`)).body;
    expect((await node.http("POST", `/api/v1/plans/${settled}/settlements`, { settlementNo: "STL-OK-1", method: "OFFLINE", amount: q.total }, "ops")).status).toBe(200);
    await at(node, "2026-02-20");
  });
  afterAll(async () => {
    await node?.stop();
  });

  const cases: Array<[string, string, string, () => Record<string, unknown>, number, string]> = [
    ["unknown plan", "POST", "/api/v1/plans/NOPE-404/pause", () => ({ reason: "x y" }), 404, "NOT_FOUND"],
    ["unknown plan (repayment)", "POST", "/api/v1/plans/NOPE-404/repayments", () => ({ repaymentNo: "RP-0001", amount: "1.00" }), 404, "NOT_FOUND"],
    ["negative days", "POST", "/api/v1/plans/:id/reschedule", () => ({ rescheduleNo: "RS-0001", type: "DEFER", days: -3, reason: "hardship" }), 422, "VALIDATION_ERROR"],
    ["days and periods both", "POST", "/api/v1/plans/:id/reschedule", () => ({ rescheduleNo: "RS-0002", type: "DEFER", days: 3, periods: 1, reason: "hardship" }), 422, "VALIDATION_ERROR"],
    ["defer beyond the rule", "POST", "/api/v1/plans/:id/reschedule", () => ({ rescheduleNo: "RS-0003", type: "DEFER", days: 999, reason: "hardship" }), 422, "VALIDATION_ERROR"],
    ["extend without periods", "POST", "/api/v1/plans/:id/reschedule", () => ({ rescheduleNo: "RS-0004", type: "EXTEND", reason: "hardship" }), 422, "VALIDATION_ERROR"],
    ["zero repayment", "POST", "/api/v1/plans/:id/repayments", () => ({ repaymentNo: "RP-0002", amount: "0.00" }), 422, "INVALID_AMOUNT"],
    ["negative repayment", "POST", "/api/v1/plans/:id/repayments", () => ({ repaymentNo: "RP-0003", amount: "-5.00" }), 422, "VALIDATION_ERROR"],
    ["repayment as a JS number", "POST", "/api/v1/plans/:id/repayments", () => ({ repaymentNo: "RP-0004", amount: 5 }), 422, "VALIDATION_ERROR"],
    ["repayment dated in the future", "POST", "/api/v1/plans/:id/repayments", () => ({ repaymentNo: "RP-0005", amount: "5.00", paidOn: "2026-03-01" }), 422, "VALIDATION_ERROR"],
    ["waive more than unpaid", "POST", "/api/v1/plans/:id/waivers", () => ({ waiverNo: "WV-0001", period: 1, penalty: "999.00", reason: "goodwill" }), 422, "VALIDATION_ERROR"],
    ["waive nothing", "POST", "/api/v1/plans/:id/waivers", () => ({ waiverNo: "WV-0002", period: 1, reason: "goodwill" }), 422, "VALIDATION_ERROR"],
    ["waive an unknown period", "POST", "/api/v1/plans/:id/waivers", () => ({ waiverNo: "WV-0003", period: 99, penalty: "1.00", reason: "goodwill" }), 404, "NOT_FOUND"],
    ["waive without a reason", "POST", "/api/v1/plans/:id/waivers", () => ({ waiverNo: "WV-0004", period: 1, penalty: "1.00" }), 422, "VALIDATION_ERROR"],
    ["prepay the wrong amount", "POST", "/api/v1/plans/:id/prepayments", () => ({ prepaymentNo: "PP-0001", principal: "1000.00", amount: "1000.00", mode: "KEEP_TERM" }), 422, "AMOUNT_MISMATCH"],
    ["prepay everything", "POST", "/api/v1/plans/:id/prepayments", () => ({ prepaymentNo: "PP-0002", principal: "99999.00", amount: "1.00", mode: "KEEP_TERM" }), 422, "VALIDATION_ERROR"],
    ["settle in the past", "POST", "/api/v1/plans/:id/settlements", () => ({ settlementNo: "ST-0001", method: "DEBIT", date: "2026-01-01" }), 422, "VALIDATION_ERROR"],
    ["offline settlement without amount", "POST", "/api/v1/plans/:id/settlements", () => ({ settlementNo: "ST-0002", method: "OFFLINE" }), 422, "VALIDATION_ERROR"],
    ["offline settlement short", "POST", "/api/v1/plans/:id/settlements", () => ({ settlementNo: "ST-0003", method: "OFFLINE", amount: "10.00" }), 422, "AMOUNT_MISMATCH"],
    ["settle a settled plan", "POST", "/api/v1/plans/:settled/settlements", () => ({ settlementNo: "ST-0004", method: "OFFLINE", amount: "10.00" }), 409, "PLAN_SETTLED"],
    ["pause a settled plan", "POST", "/api/v1/plans/:settled/pause", () => ({ reason: "why not" }), 409, "PLAN_SETTLED"],
    ["resume an active plan", "POST", "/api/v1/plans/:id/resume", () => ({ reason: "why not" }), 409, "PLAN_STATE"],
    ["pause until yesterday", "POST", "/api/v1/plans/:id/pause", () => ({ reason: "dispute", until: "2026-02-19" }), 422, "VALIDATION_ERROR"],
    ["transfer to the same funder", "POST", "/api/v1/transfers", () => ({ transferNo: "TR-BAD-1", planIds: [id], toFunderId: "F001", effectiveDate: "2026-03-01", priceRatio: "1.00" }), 422, "TRANSFER_SAME_FUNDER"],
    ["transfer in the past", "POST", "/api/v1/transfers", () => ({ transferNo: "TR-BAD-2", planIds: [id], toFunderId: "F002", effectiveDate: "2026-02-01", priceRatio: "1.00" }), 422, "VALIDATION_ERROR"],
    ["transfer with an unknown plan", "POST", "/api/v1/transfers", () => ({ transferNo: "TR-BAD-3", planIds: [id, "NOPE-404"], toFunderId: "F002", effectiveDate: "2026-03-01", priceRatio: "1.00" }), 404, "NOT_FOUND"],
    ["transfer a settled plan", "POST", "/api/v1/transfers", () => ({ transferNo: "TR-BAD-4", planIds: [settled], toFunderId: "F002", effectiveDate: "2026-03-01", priceRatio: "1.00" }), 409, "PLAN_SETTLED"],
    ["transfer at a zero price", "POST", "/api/v1/transfers", () => ({ transferNo: "TR-BAD-5", planIds: [id], toFunderId: "F002", effectiveDate: "2026-03-01", priceRatio: "0" }), 422, "VALIDATION_ERROR"],
    ["transfer with duplicate plans", "POST", "/api/v1/transfers", () => ({ transferNo: "TR-BAD-6", planIds: [id, id], toFunderId: "F002", effectiveDate: "2026-03-01", priceRatio: "1.00" }), 422, "VALIDATION_ERROR"],
    ["cancel an unknown transfer", "POST", "/api/v1/transfers/TR-NONE/cancel", () => ({ reason: "x y" }), 404, "NOT_FOUND"],
    ["overdue list with a bad amount", "GET", "/api/v1/overdue?minAmount=1e3", () => ({}), 422, "VALIDATION_ERROR"],
    ["settlement quote with a bad date", "GET", "/api/v1/plans/:id/settlement-quote?date=2026-02-30", () => ({}), 422, "VALIDATION_ERROR"], // the shared date rule refuses it before the action
  ];

  it.each(cases)("%s", async (_name, method, url, body, status, code) => {
    const before = await plan(node, id);
    const transfers = (await node.http("GET", "/api/v1/transfers")).body.total;
    const flows = (await node.http("GET", "/api/v1/flows")).body.total;
    const res = await node.http(method, url.replace(":id", id).replace(":settled", settled), method === "GET" ? undefined : body(), "ops");
    expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
    expect(typeof res.body.message).toBe("string");
    const after = await plan(node, id);
    expect(after.version).toBe(before.version);
    expect(after.installments).toEqual(before.installments);
    expect((await node.http("GET", "/api/v1/transfers")).body.total).toBe(transfers);
    expect((await node.http("GET", "/api/v1/flows")).body.total).toBe(flows);
  });

  it("a viewer cannot write; a viewer can read", async () => {
    const res = await node.http("POST", `/api/v1/plans/${id}/waivers`, { waiverNo: "WV-VIEW", period: 1, penalty: "1.00", reason: "goodwill" }, "viewer");
    expect(res.status).toBe(403);
    expect((await node.http("GET", "/api/v1/overdue", undefined, "viewer")).status).toBe(200);
  });
});

describe("money paths replayed, raced and crashed halfway", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("20 concurrent copies of one offline repayment apply once; 10 different ones all apply, exactly", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS });
    await at(node, "2026-01-15");
    const id = await order(node);
    await at(node, "2026-02-15");
    const same = await Promise.all(Array.from({ length: 20 }, () => node.http("POST", `/api/v1/plans/${id}/repayments`, { repaymentNo: "RACE-0001", amount: "500.00" }, "ops")));
    expect(same.every((r) => r.status === 200)).toBe(true);
    expect(same.filter((r) => !r.body.replayed)).toHaveLength(1);
    const many = await Promise.all(Array.from({ length: 10 }, (_, i) => node.http("POST", `/api/v1/plans/${id}/repayments`, { repaymentNo: `RACE-1${i}00`, amount: "100.00" }, "ops")));
    expect(many.map((r) => r.status)).toEqual(Array(10).fill(200));
    const p = await plan(node, id);
    expect(p.installments[0].paidTotal).toBe("1500.00");
    expect(Object.keys(p.appliedTrades)).toHaveLength(11);
    expect((await node.http("GET", `/api/v1/flows?planId=${id}`)).body.total).toBe(11);
  });

  it("a waiver, a settlement and a repayment racing each other: each applies once, in some order, and the books add up", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS });
    await at(node, "2026-01-15");
    const id = await order(node);
    await at(node, "2026-02-22");
    await node.broker.call("schedule.accrue", { planId: id });
    const results = await Promise.all([
      node.http("POST", `/api/v1/plans/${id}/waivers`, { waiverNo: "RACE-WV-1", period: 1, penalty: "27.59", reason: "goodwill" }, "ops"),
      node.http("POST", `/api/v1/plans/${id}/repayments`, { repaymentNo: "RACE-RP-1", amount: "1000.00" }, "ops"),
      node.http("POST", `/api/v1/plans/${id}/reschedule`, { rescheduleNo: "RACE-RS-1", type: "DEFER", days: 10, fromPeriod: 2, reason: "hardship", chargeFee: false }, "ops"),
    ]);
    // The waiver may find the penalty already paid by the repayment (then 422): every other outcome is 200.
    for (const r of results) expect([200, 422]).toContain(r.status);
    const p = await plan(node, id);
    const i1 = p.installments[0];
    const sum = (x: any) => ["principal", "interest", "fee", "penalty"].reduce((s, f) => s + Math.round(Number(x[f]) * 100), 0);
    const paid = (x: any) => ["paidPrincipal", "paidInterest", "paidFee", "paidPenalty"].reduce((s, f) => s + Math.round(Number(x[f]) * 100), 0);
    expect(paid(i1)).toBe(100000); // 1000.00 applied once
    expect(sum(i1) - paid(i1)).toBe(Math.round(Number(i1.outstanding) * 100));
    expect(p.installments[1].dueDate).toBe("2026-03-25");
  });

  it("a crash between the plan update and the ledger flow is repaired by the replay, never applied twice", async () => {
    const crash = crashOn("ledger.recordFlow");
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS }, undefined, { middlewares: [crash] });
    await at(node, "2026-01-15");
    const id = await order(node);
    await at(node, "2026-02-15");
    const first = await node.http("POST", `/api/v1/plans/${id}/repayments`, { repaymentNo: "CRASH-0001", amount: "8884.88" }, "ops");
    expect(first.status).toBe(500);
    expect((await plan(node, id)).installments[0].status).toBe("PAID"); // the plan took it…
    expect((await node.http("GET", `/api/v1/flows?planId=${id}`)).body.total).toBe(0); // …the flow was lost
    node = await node.restart();
    const replay = await node.http("POST", `/api/v1/plans/${id}/repayments`, { repaymentNo: "CRASH-0001", amount: "8884.88" }, "ops");
    expect(replay.body).toMatchObject({ replayed: true, applied: "8884.88" });
    const flows = (await node.http("GET", `/api/v1/flows?planId=${id}`)).body.rows;
    expect(flows.map((f: any) => [f.tradeNo, f.amount])).toEqual([["OFF-CRASH-0001", "8884.88"]]);
    const p = await plan(node, id);
    expect(p.installments[0].paidTotal).toBe("8884.88");
    expect(p.installments[1].paidTotal).toBe("0.00");
  });

  it("a prepayment and a settlement crashed before their flows: replays write the flows, the plan changed once", async () => {
    const crash = crashOn("ledger.recordFlow", { times: 2 });
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES: NO_JOBS }, undefined, { middlewares: [crash] });
    await at(node, "2026-01-15");
    const id = await order(node);
    await at(node, "2026-01-20");
    const quote = (await node.http("GET", `/api/v1/plans/${id}/prepayment-quote?principal=10000.00`)).body;
    const pre = { prepaymentNo: "CRASH-PRE-1", principal: "10000.00", amount: quote.total, mode: "KEEP_TERM" };
    expect((await node.http("POST", `/api/v1/plans/${id}/prepayments`, pre, "ops")).status).toBe(500);
    const afterPre = await plan(node, id);
    expect(afterPre.revision).toBe(2);
    const stl = (await node.http("GET", `/api/v1/plans/${id}/settlement-quote`)).body;
    const settle = { settlementNo: "CRASH-STL-1", method: "OFFLINE", amount: stl.total };
    expect((await node.http("POST", `/api/v1/plans/${id}/settlements`, settle, "ops")).status).toBe(500);
    expect((await plan(node, id)).status).toBe("SETTLED");
    expect((await node.http("GET", `/api/v1/flows?planId=${id}`)).body.total).toBe(0);

    node = await node.restart();
    // Both replays at once, twice each: every answer is the first result; each flow is written once.
    const replays = await Promise.all([
      node.http("POST", `/api/v1/plans/${id}/prepayments`, pre, "ops"),
      node.http("POST", `/api/v1/plans/${id}/settlements`, settle, "ops"),
      node.http("POST", `/api/v1/plans/${id}/prepayments`, pre, "ops"),
      node.http("POST", `/api/v1/plans/${id}/settlements`, settle, "ops"),
    ]);
    expect(replays.map((r) => [r.status, r.body.replayed])).toEqual(Array(4).fill([200, true]));
    const flows = (await node.http("GET", `/api/v1/flows?planId=${id}`)).body.rows;
    expect(flows.map((f: any) => [f.tradeNo, f.amount]).sort()).toEqual([
      ["PRE-CRASH-PRE-1", quote.total],
      ["STL-CRASH-STL-1", stl.total],
    ]);
    const p = await plan(node, id);
    expect(p.revision).toBe(3); // the prepayment's and the settlement's restructures, once each
    expect(p.installments.every((i: any) => i.status === "PAID")).toBe(true);
  });
});
