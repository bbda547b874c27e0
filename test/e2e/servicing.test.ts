/**
 * Servicing (issue 4) over REST on a real node: overdue accrual (idempotent, caught up after
 * downtime), the overdue list, pause/resume, settlement by debit, transfers and remittances, bad
 * input (4xx with a code, nothing written), replays, races and a crash halfway.
 *
 * The default FEE rule applies (config/defaults/rules.json): 3 grace days, 0.05 % a day on the
 * overdue principal, charged from the due date, capped at 24 % a year. The fixture's first
 * installment is 8884.88 (principal 7884.88, interest 1000.00), due 2026-02-15.
 */
import type { Middleware } from "moleculer";
import { startTestNode, orderFixture, type TestNode } from "../support/node";
import { bindCard, calmBanks, runSlot, until, bankDebits, banks } from "../support/debit";

jest.setTimeout(120_000);

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

function spy(node: TestNode, names: string[]) {
  const seen: Array<{ event: string; params: any }> = [];
  const events = Object.fromEntries(names.map((n) => [n, (ctx: any) => void seen.push({ event: n, params: ctx.params })]));
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
    expect(done[0].totals).toMatchObject({ changed: 3, entries: 15, failed: 0, partitions: 64, partitionsDone: 64 });
    for (const id of ids) expect((await plan(node, id)).installments[0]).toMatchObject({ penalty: "19.71", daysOverdue: 5 }); // 02-19: 4 days (15.77), 02-20: 3.94
    // By hand, the same day: nothing changes.
    const versions = await Promise.all(ids.map(async (id) => (await plan(node, id)).version));
    const manual = await node.http("POST", "/api/v1/fees/accrual-runs", {}, "ops");
    expect(manual.status).toBe(200);
    const run = await until(async () => (await node.http("GET", `/api/v1/runs/${manual.body.runId}`)).body, (r: any) => r.status === "DONE", 15_000);
    expect(run.totals).toMatchObject({ changed: 0, entries: 0, failed: 0 });
    expect(await Promise.all(ids.map(async (id) => (await plan(node, id)).version))).toEqual(versions);
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
    expect(events.map((e) => [e.event, e.params.planId])).toEqual([
      ["plan.paused", a],
      ["plan.resumed", a],
      ["plan.paused", b],
      ["plan.resumed", b],
    ]);
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
