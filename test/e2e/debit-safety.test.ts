/**
 * Money leaves a card exactly once per installment: replays and races of the same run, a process
 * stopped between each pair of steps and restarted, channel switch-over, UNKNOWN outcomes.
 */
import type { Middleware } from "moleculer";
import { startTestNode, type TestNode, WAIT_SCALE } from "../support/node";
import { bankDebits, banks, bindCard, calmBanks, CARD, dueOrder, runSlot, until } from "../support/debit";
import { fmt, money } from "../../domain/money";

const fmtMinus = (a: string, b: string) => fmt(money(a).minus(money(b)));

jest.setTimeout(90_000 * WAIT_SCALE);

const CLOCK = { to: "2026-02-15T12:00:05+08:00", frozen: true };

async function freshNode(extras = {}): Promise<TestNode> {
  const node = await startTestNode({ TEST_CLOCK: "1", STALE_TRADE_SECONDS: "30" }, undefined, extras);
  calmBanks(node);
  await node.http("POST", "/api/v1/test-clock", CLOCK);
  return node;
}

describe("no double debits", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("50 concurrent runs of the same slot debit once", async () => {
    node = await freshNode();
    const bindingId = await bindCard(node);
    const { planId } = await dueOrder(node, bindingId);
    const runs = await Promise.all(Array.from({ length: 50 }, () => node.http("POST", "/api/v1/runs", { slotTime: "12:00" })));
    expect(runs.every((r) => r.status === 200)).toBe(true);
    for (const r of runs) await until(() => node.http("GET", `/api/v1/runs/${r.body.runId}`).then((x) => x.body), (x: any) => x.status !== "RUNNING");
    const moved = bankDebits(node, planId).filter((t) => t.moved);
    expect(moved).toHaveLength(1);
    expect(banks(node).get("BANK_A")!.balanceOf(CARD)).toBe("91115.12");
    const plan = await node.http("GET", `/api/v1/plans/${planId}`);
    expect(plan.body.installments[0]).toMatchObject({ status: "PAID", paidTotal: "8884.88" });
    expect(Object.keys(plan.body.appliedTrades)).toHaveLength(1);
    const trades = await node.http("GET", `/api/v1/trades?planId=${planId}`);
    expect(trades.body.rows.filter((t: any) => t.state === "SUCCESS")).toHaveLength(1);
  });

  // The steps of one debit, and a crash between each pair: the step's call dies (before or after it
  // took effect), the node is stopped, a new one starts on the same data with the same bank, and the
  // sweep and a replay of the slot repair it — never a second debit.
  const crashPoints: Array<[string, string, (p: any) => boolean, boolean]> = [
    ["opened (INIT), not yet claimed for sending", "ledger.transition", (p) => p.from === "INIT" && p.to === "SENDING", false],
    ["claimed (SENDING), channel not yet called", "ledger.transition", (p) => p.from === "INIT" && p.to === "SENDING", true],
    ["channel debited, outcome not yet recorded", "ledger.transition", (p) => p.from === "SENDING", false],
    ["SUCCESS recorded, plan not yet applied", "schedule.applyRepayment", () => true, false],
    ["plan applied, trade not yet marked applied", "ledger.completeStep", (p) => p.step === "APPLY", false],
  ];

  it.each(crashPoints)("a crash when %s is repaired without a second debit", async (_name, action, match, stepTakesEffect) => {
    let crashed = false;
    const crash: Middleware = {
      name: "Crash",
      call(next: any) {
        return async (actionName: any, params: any, opts: any) => {
          if (!crashed && actionName === action && match(params)) {
            crashed = true;
            if (stepTakesEffect) await next(actionName, params, opts);
            throw new Error("simulated process death");
          }
          return next(actionName, params, opts);
        };
      },
    } as unknown as Middleware;
    node = await freshNode({ middlewares: [crash] });
    const bindingId = await bindCard(node);
    const { planId } = await dueOrder(node, bindingId);
    await runSlot(node);
    expect(crashed).toBe(true);

    // A new process on the same data, the bank unchanged; the sweep runs once the trade is stale and
    // its request expired (REQUEST_TTL_SECONDS 120 + the 60 s margin), so a NOT_FOUND is final.
    node = await node.restart();
    calmBanks(node);
    await node.http("POST", "/api/v1/test-clock", { advanceSeconds: 240 });
    await node.broker.call("deduction-executor.repairNow");
    // The slot's run again (a replay after the crash): nothing may be sent twice.
    await runSlot(node);
    await node.broker.call("deduction-executor.repairNow");

    expect(bankDebits(node, planId).filter((t) => t.moved)).toHaveLength(1);
    const plan = await node.http("GET", `/api/v1/plans/${planId}`);
    expect(plan.body.installments[0]).toMatchObject({ status: "PAID", paidTotal: "8884.88" });
    expect(plan.body.installments[1].paidTotal).toBe("0.00");
    expect(Object.keys(plan.body.appliedTrades)).toHaveLength(1);
    const trades = (await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows;
    expect(trades.filter((t: any) => t.state === "SUCCESS")).toEqual([expect.objectContaining({ applied: true })]);
    expect(trades.filter((t: any) => ["INIT", "SENDING", "UNKNOWN"].includes(t.state))).toHaveLength(0);
  });

  // Inside the ledger's own action: the outcome is recorded, the flow insert fails (and keeps failing
  // for the sender and a first sweep). The flow is a pending step of the trade, so the sweep writes it
  // (the funder's remittance counts it) — once.
  it("a flow write that fails after SUCCESS was recorded is finished by the sweep, once", async () => {
    node = await freshNode();
    const flows = (node.broker.getLocalService("ledger") as any).stores.flows;
    const insert = flows.insert.bind(flows);
    let failing = true;
    flows.insert = async (doc: any) => {
      if (failing) throw new Error("simulated store failure");
      return insert(doc);
    };
    const bindingId = await bindCard(node);
    const { planId } = await dueOrder(node, bindingId);
    await runSlot(node);
    let [trade] = (await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows;
    expect(trade).toMatchObject({ state: "SUCCESS", applied: true, pending: ["FLOW"] });
    expect((await node.http("GET", `/api/v1/flows?planId=${planId}`)).body.total).toBe(0);
    await node.broker.call("deduction-executor.repairNow"); // the store still fails: the step stays pending
    expect((await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows[0].pending).toEqual(["FLOW"]);
    failing = false;
    await node.broker.call("deduction-executor.repairNow");
    [trade] = (await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows;
    expect(trade.pending).toEqual([]);
    const written = (await node.http("GET", `/api/v1/flows?planId=${planId}`)).body;
    expect(written.rows).toEqual([expect.objectContaining({ tradeNo: trade.tradeNo, amount: "8884.88", direction: "IN" })]);
    expect(bankDebits(node, planId).filter((t) => t.moved)).toHaveLength(1);
  });

  it("switches to the next channel on a channel-side failure, and stops on a borrower-side one", async () => {
    node = await freshNode();
    const bindingId = await bindCard(node);
    const { planId } = await dueOrder(node, bindingId);
    banks(node).get("BANK_A")!.configure({ successRate: 0, failureMix: { CHANNEL_ERROR: 1 } });
    const run = await runSlot(node);
    expect(run.totals).toMatchObject({ succeeded: 1, sent: 2 });
    const trades = (await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows.sort((a: any, b: any) => a.attempt - b.attempt);
    expect(trades.map((t: any) => [t.channel, t.state])).toEqual([
      ["BANK_A", "FAILED"],
      ["BANK_B", "SUCCESS"],
    ]);

    // A borrower-side decline (insufficient balance) must not move on to another channel.
    const other = await startTestNode({ TEST_CLOCK: "1" });
    try {
      calmBanks(other);
      await other.http("POST", "/api/v1/test-clock", CLOCK);
      const b2 = await bindCard(other, { balance: "10.00" });
      const { planId: p2 } = await dueOrder(other, b2);
      const r2 = await runSlot(other);
      expect(r2.totals).toMatchObject({ failed: 1, sent: 1 });
      const t2 = (await other.http("GET", `/api/v1/trades?planId=${p2}`)).body.rows;
      expect(t2).toEqual([expect.objectContaining({ state: "FAILED", failure: expect.objectContaining({ side: "BORROWER" }) })]);
      // The next slot tries again: topped up, it succeeds.
      banks(other).get("BANK_A")!.setBalance(CARD, "9000.00");
      await other.http("POST", "/api/v1/test-clock", { to: "2026-02-15T18:00:05+08:00" });
      const r3 = await runSlot(other, { slotTime: "18:00" });
      expect(r3.totals).toMatchObject({ succeeded: 1 });
    } finally {
      await other.stop();
    }
  });

  it("queries an UNKNOWN debit on the back-off schedule and settles it; never sends another meanwhile", async () => {
    node = await freshNode();
    const bindingId = await bindCard(node, { channels: ["BANK_A"] });
    const { planId } = await dueOrder(node, bindingId);
    banks(node).get("BANK_A")!.configure({ unknownRate: 1, unknownSettleMs: 500 });
    const run = await runSlot(node);
    expect(run.totals).toMatchObject({ unknown: 1 });
    // Another run in the same or a later slot sends nothing while the trade is UNKNOWN.
    const again = await runSlot(node);
    expect(again.totals.sent ?? 0).toBe(0);
    expect(bankDebits(node, planId)).toHaveLength(1);
    // After the first back-off step the sweep asks the bank and settles the trade.
    await new Promise((r) => setTimeout(r, 600)); // the bank settles on its own (real) clock
    await node.http("POST", "/api/v1/test-clock", { advanceSeconds: 61 });
    await node.broker.call("deduction-executor.repairNow");
    const trades = (await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows;
    const moved = bankDebits(node, planId)[0].moved;
    expect(trades[0].state).toBe(moved ? "SUCCESS" : "FAILED");
    if (moved) expect((await node.http("GET", `/api/v1/plans/${planId}`)).body.installments[0].status).toBe("PAID");
  });

  it("flags an UNKNOWN that never settles for reconciliation after the last query", async () => {
    node = await freshNode();
    const bindingId = await bindCard(node, { channels: ["BANK_A"] });
    const { planId } = await dueOrder(node, bindingId);
    banks(node).get("BANK_A")!.configure({ unknownRate: 1, unknownSettleMs: 10 * 86_400_000 });
    await runSlot(node);
    for (const minutes of [1, 5, 15, 60, 240]) {
      await node.http("POST", "/api/v1/test-clock", { advanceSeconds: minutes * 60 + 1 });
      await node.broker.call("deduction-executor.repairNow");
    }
    const t = (await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows[0];
    expect(t).toMatchObject({ state: "UNKNOWN", needsReconciliation: true, queries: 5 });
    expect((await node.http("GET", "/api/v1/trades?needsReconciliation=true")).body.total).toBe(1);
  });
});

describe("payouts", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  const payout = (over: Record<string, unknown> = {}) => ({ payoutNo: "PO-1", amount: "1000.00", beneficiary: { accountNo: "6217000010001234", accountName: "Funder One" }, purpose: "funder repayment", ...over });

  it("pays once under 50 concurrent requests with the same payout number, reserving and committing the position", async () => {
    node = await freshNode();
    for (const ch of ["BANK_A", "BANK_B", "BANK_D"]) {
      await node.http("POST", `/api/v1/positions/${ch}/adjust`, { amount: "5000.00", direction: "TOP_UP", reason: "opening float" });
    }
    const before = Object.fromEntries([...banks(node)].map(([code, b]) => [code, b.merchantBalance()]));
    const results = await Promise.all(Array.from({ length: 50 }, () => node.http("POST", "/api/v1/payouts", payout())));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const paid = [...banks(node).values()].flatMap((b) => b.trades()).filter((t) => t.kind === "PAYOUT" && t.moved);
    expect(paid).toHaveLength(1);
    const view = await node.http("GET", "/api/v1/payouts/PO-1");
    expect(view.body).toMatchObject({ status: "SUCCEEDED", beneficiary: { accountNo: "****1234" } });
    // The paying channel's position lost exactly the amount; the others are untouched; nothing stays reserved.
    const positions = (await node.http("GET", "/api/v1/positions")).body;
    const payer = view.body.trades.find((t: any) => t.state === "SUCCESS").channel;
    for (const p of positions) {
      expect(p).toMatchObject({ reserved: "0.00", balance: p.channel === payer ? "4000.00" : "5000.00" });
    }
    for (const [code, b] of banks(node)) expect(b.merchantBalance()).toBe(code === payer ? fmtMinus(before[code], "1000.00") : before[code]);
    // The same number with other content is refused.
    const conflict = await node.http("POST", "/api/v1/payouts", payout({ amount: "999.00" }));
    expect(conflict).toMatchObject({ status: 409, body: { code: "PAYOUT_CONFLICT" } });
  });

  it("refuses a payout no position can cover, and writes no trade", async () => {
    node = await freshNode();
    const res = await node.http("POST", "/api/v1/payouts", payout({ payoutNo: "PO-2" }));
    expect(res.body).toMatchObject({ status: "NO_CHANNEL" });
    expect((await node.http("GET", "/api/v1/trades?kind=PAYOUT")).body.total).toBe(0);
  });
});

describe("bad input on the money paths: 4xx, nothing written", () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await freshNode();
  });
  afterAll(async () => {
    await node.stop();
  });
  const count = async () => ({
    bindings: await (node.broker.getLocalService("sign-bind") as any).store.count({}),
    trades: await (node.broker.getLocalService("ledger") as any).store.count({}),
    runs: await (node.broker.getLocalService("ledger") as any).stores.runs.count({}),
  });

  it.each([
    ["POST", "/api/v1/bindings", { customerId: "C1", cardNo: "1234", name: "x", idNo: "110101199001011234", mobile: "13800138000", channels: ["BANK_A"] }],
    ["POST", "/api/v1/bindings", { customerId: "C1", cardNo: "6222020200112233445", name: "x", idNo: "110101199001011234", mobile: "13800138000", channels: [] }],
    ["POST", "/api/v1/bindings", { customerId: "C1", cardNo: "6222020200112233445", name: "x", idNo: "110101199001011234", mobile: "13800138000", channels: ["BANK_Z"] }],
    ["POST", "/api/v1/payouts", { payoutNo: "P1", amount: "-1.00", beneficiary: { accountNo: "6217000010001234", accountName: "F" } }],
    ["POST", "/api/v1/payouts", { payoutNo: "P1", amount: 100, beneficiary: { accountNo: "6217000010001234", accountName: "F" } }],
    ["POST", "/api/v1/payouts", { payoutNo: "P1", amount: "100.00", beneficiary: { accountNo: "abc", accountName: "F" } }],
    ["POST", "/api/v1/runs", { slotTime: "25:00" }],
    ["POST", "/api/v1/runs", { partitions: [99999] }],
    ["POST", "/api/v1/positions/BANK_A/adjust", { amount: "1.00", direction: "SIDEWAYS", reason: "x" }],
    ["POST", "/api/v1/positions/BANK_A/adjust", { amount: "1.00", direction: "WITHDRAW", reason: "more than there is" }],
  ])("%s %s %j", async (method, url, body) => {
    const before = await count();
    const res = await node.http(method, url, body);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.code).toEqual(expect.any(String));
    expect(await count()).toEqual(before);
    expect(JSON.stringify(res.body)).not.toContain("6222020200112233445");
  });
});
