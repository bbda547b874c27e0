/**
 * Whole-node faults the call-level crash points of debit-safety.test.ts do not reach: crashes INSIDE
 * the ledger's actions (the store wrote and the action died; the write failed), the channel call
 * dying after the bank applied the debit, and truly concurrent callers of one plan's debit that do
 * not go through the partition chain, racing the repair sweep. Each ends with one movement at the
 * bank, the plan credited once and one flow.
 */
import { debitPlan, type DebitItem } from "../../domain/debit-flow";
import { startTestNode, type TestNode, WAIT_SCALE } from "../support/node";
import { bankDebits, bindCard, calmBanks, dueOrder, runSlot } from "../support/debit";

jest.setTimeout(90_000 * WAIT_SCALE);

const CLOCK = { to: "2026-02-15T12:00:05+08:00", frozen: true };

async function freshNode(): Promise<TestNode> {
  const node = await startTestNode({ TEST_CLOCK: "1", STALE_TRADE_SECONDS: "30" });
  calmBanks(node);
  await node.http("POST", "/api/v1/test-clock", CLOCK);
  return node;
}

/** One debit at the bank, the installment paid by it once, its flow once, nothing pending. */
async function debitedOnce(node: TestNode, planId: string): Promise<void> {
  const moved = bankDebits(node, planId).filter((t) => t.moved);
  expect(moved).toHaveLength(1);
  const trades = (await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows;
  const ok = trades.filter((t: any) => t.state === "SUCCESS");
  expect(ok.map((t: any) => t.tradeNo)).toEqual([moved[0].tradeNo]);
  expect(ok[0]).toMatchObject({ applied: true, pending: [] });
  const plan = (await node.http("GET", `/api/v1/plans/${planId}`)).body;
  expect(Object.keys(plan.appliedTrades)).toEqual([moved[0].tradeNo]);
  expect(plan.installments[0]).toMatchObject({ status: "PAID", paidTotal: "8884.88" });
  const flows = (await node.http("GET", `/api/v1/flows?planId=${planId}`)).body.rows;
  expect(flows.map((f: any) => f.tradeNo)).toEqual([moved[0].tradeNo]);
}

/** The sweep, after the trade went stale (STALE_TRADE_SECONDS 30). */
async function sweepLater(node: TestNode): Promise<void> {
  await node.http("POST", "/api/v1/test-clock", { advanceSeconds: 45 });
  await node.broker.call("deduction-executor.repairNow");
  await node.broker.call("deduction-executor.repairNow");
}

describe("whole-node faults inside actions and the channel call", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  /** Make the ledger's trade store fail once on the write that records SUCCESS: before it (nothing written) or after it (written, then the action dies). */
  function crashOnSuccessWrite(when: "before" | "after"): { fired: () => boolean } {
    const trades = (node.broker.getLocalService("ledger") as any).stores.trades;
    const updateOne = trades.updateOne.bind(trades);
    let fired = false;
    trades.updateOne = async (query: any, update: any) => {
      if (!fired && update?.$set?.state === "SUCCESS") {
        fired = true;
        if (when === "before") throw new Error("simulated store failure before the write");
        await updateOne(query, update);
        throw new Error("simulated death of the action after the write");
      }
      return updateOne(query, update);
    };
    return { fired: () => fired };
  }

  it.each(["before", "after"] as const)("a crash inside ledger.transition %s the SUCCESS write is repaired: debited once, applied once, one flow", async (when) => {
    node = await freshNode();
    const crash = crashOnSuccessWrite(when);
    const bindingId = await bindCard(node);
    const { planId } = await dueOrder(node, bindingId);
    await runSlot(node);
    expect(crash.fired()).toBe(true);
    const [trade] = (await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows;
    // Before: the outcome was never recorded (SENDING, the sweep asks the bank); after: recorded, its steps pending.
    expect(trade.state).toBe(when === "before" ? "SENDING" : "SUCCESS");
    await sweepLater(node);
    await debitedOnce(node, planId);
    // The next slot finds nothing to do.
    await node.http("POST", "/api/v1/test-clock", { to: "2026-02-15T18:00:05+08:00" });
    await runSlot(node, { slotTime: "18:00" });
    expect(bankDebits(node, planId)).toHaveLength(1);
  });

  it("a crash inside ledger.transition after a payout's SUCCESS write: the sweep commits the position once, nothing stays reserved", async () => {
    node = await freshNode();
    await node.http("POST", "/api/v1/positions/BANK_A/adjust", { amount: "5000.00", direction: "TOP_UP", reason: "opening float" });
    const crash = crashOnSuccessWrite("after");
    // A payoutNo with a "." (the readable form does not apply; the trade number is hashed).
    const res = await node.http("POST", "/api/v1/payouts", { payoutNo: "PO.2026.1", amount: "1000.00", beneficiary: { accountNo: "6217000010001234", accountName: "Funder One" }, purpose: "funder repayment" });
    expect(crash.fired()).toBe(true);
    expect(res.status).toBeGreaterThanOrEqual(500); // the action died: the caller learns nothing definite
    const held = (await node.http("GET", "/api/v1/positions")).body.find((p: any) => p.channel === "BANK_A");
    expect(held).toMatchObject({ balance: "5000.00", reserved: "1000.00" });
    await sweepLater(node);
    const view = (await node.http("GET", "/api/v1/payouts/PO.2026.1")).body;
    expect(view).toMatchObject({ status: "SUCCEEDED" });
    expect(view.trades.filter((t: any) => t.state === "SUCCESS")).toHaveLength(1);
    const pos = (await node.http("GET", "/api/v1/positions")).body.find((p: any) => p.channel === "BANK_A");
    expect(pos).toMatchObject({ balance: "4000.00", reserved: "0.00" });
    // Asked again, the same payout is answered from the ledger: nothing is paid twice.
    const again = await node.http("POST", "/api/v1/payouts", { payoutNo: "PO.2026.1", amount: "1000.00", beneficiary: { accountNo: "6217000010001234", accountName: "Funder One" }, purpose: "funder repayment" });
    expect(again).toMatchObject({ status: 200, body: { status: "SUCCEEDED" } });
    const paid = [...(node.broker.getLocalService("sign-bind") as any).simBanks.values()].flatMap((b: any) => b.trades()).filter((t: any) => t.kind === "PAYOUT" && t.moved);
    expect(paid).toHaveLength(1);
  });

  it("the channel call dies after the bank applied the debit: the sweep learns it from the bank, never debits again", async () => {
    node = await freshNode();
    const exec = node.broker.getLocalService("deduction-executor") as any;
    const a = exec.channels.get("BANK_A");
    const debit = a.debit.bind(a);
    let died = 0;
    a.debit = async (req: any) => {
      await debit(req);
      died++;
      throw new Error("simulated death in the channel call (the bank has applied it)");
    };
    const bindingId = await bindCard(node);
    const { planId } = await dueOrder(node, bindingId);
    await runSlot(node);
    expect(died).toBe(1);
    await runSlot(node); // a replay of the slot while the trade is in doubt: nothing is sent
    expect(died).toBe(1);
    a.debit = debit;
    await sweepLater(node);
    await debitedOnce(node, planId);
  });

  it("30 concurrent callers of one plan's debit, outside the partition chain and racing the sweep, debit once", async () => {
    node = await freshNode();
    const bindingId = await bindCard(node);
    const { planId } = await dueOrder(node, bindingId);
    const exec = node.broker.getLocalService("deduction-executor") as any;
    const plan = (await node.http("GET", `/api/v1/plans/${planId}`)).body;
    const work: any = await node.broker.call("schedule.dueWork", { partition: plan.partition, asOf: "2026-02-15" });
    const item: DebitItem = (work as any[]).find((x: any) => x.planId === planId);
    expect(item).toBeDefined();
    const settings = await exec.channelSettings({});
    const reports = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => debitPlan(item, "2026-02-15T12:00", `race-${i}`, settings, exec.flowPorts, () => exec.agreementsOf(item))),
      node.broker.call("deduction-executor.repairNow"),
    ]);
    const results = reports.slice(0, 30).map((r: any) => r.result);
    expect(results.filter((r) => r === "SUCCEEDED").length).toBeGreaterThanOrEqual(1);
    // The others found the trade in flight or done, or the card's attempts of the day taken by the
    // callers racing them (NO_CHANNEL); every attempt not used was given back: one remains, the debit's.
    expect(results.every((r) => ["SUCCEEDED", "IN_FLIGHT", "ALREADY_COLLECTED", "NO_CHANNEL"].includes(r))).toBe(true);
    await debitedOnce(node, planId);
    const [trade] = (await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows;
    const stored = await (node.broker.getLocalService("ledger") as any).stores.trades.findById(trade.tradeNo);
    expect(await exec.caps.attemptsToday("CARD", stored.cardFingerprint, "2026-02-15")).toBe(1);
  });
});
