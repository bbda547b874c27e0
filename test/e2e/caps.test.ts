/** Daily attempt caps per card and per channel, and the simulated banks' ops endpoints. */
import { startTestNode, type TestNode, WAIT_SCALE } from "../support/node";
import { bankDebits, bindCard, calmBanks, dueOrder, runSlot } from "../support/debit";

jest.setTimeout(60_000 * WAIT_SCALE);

const channels = (over: Record<string, unknown>) => ({
  channels: [
    { code: "BANK_A", enabled: true, priority: 10, capabilities: ["DEBIT", "PAYOUT"] },
    { code: "BANK_B", enabled: true, priority: 20, capabilities: ["DEBIT", "PAYOUT"] },
  ],
  ...over,
});

describe("caps and simulated-bank controls", () => {
  let node: TestNode;
  beforeEach(async () => {
    node = await startTestNode({ TEST_CLOCK: "1" });
    calmBanks(node);
    await node.http("POST", "/api/v1/test-clock", { to: "2026-02-15T12:00:05+08:00", frozen: true });
  });
  afterEach(async () => {
    await node.stop();
  });

  it("stops at the card's daily attempt cap: no channel is tried", async () => {
    const rule = await node.http("POST", "/api/v1/rules", { kind: "CHANNEL_SETTINGS", name: "one try a day", scope: { productCode: "CAP1" }, effectiveFrom: "2026-01-01", content: channels({ cardDailyAttemptCap: 1 }) });
    expect(rule.status).toBe(200);
    const bindingId = await bindCard(node, { balance: "1.00" });
    const { planId } = await dueOrder(node, bindingId, { productCode: "CAP1" });
    expect((await runSlot(node)).totals).toMatchObject({ failed: 1, sent: 1 });
    await node.http("POST", "/api/v1/test-clock", { to: "2026-02-15T18:00:05+08:00" });
    expect((await runSlot(node, { slotTime: "18:00" })).totals).toMatchObject({ noChannel: 1, sent: 0 });
    expect(bankDebits(node, planId)).toHaveLength(1);
  });

  it("stops at a channel's daily attempt cap across cards", async () => {
    await node.http("POST", "/api/v1/rules", {
      kind: "CHANNEL_SETTINGS", name: "A only, once a day", scope: { productCode: "CAP2" }, effectiveFrom: "2026-01-01",
      content: channels({ channels: [{ code: "BANK_A", enabled: true, priority: 10 }], channelDailyAttemptCap: 1 }),
    });
    const b1 = await bindCard(node, { customerId: "C1", cardNo: "6222020200000000001", channels: ["BANK_A"] });
    const b2 = await bindCard(node, { customerId: "C2", cardNo: "6222020200000000002", channels: ["BANK_A"] });
    await dueOrder(node, b1, { productCode: "CAP2", customer: { id: "C1", name: "A", idNo: "110101199001011234", mobile: "13800138000" } });
    await dueOrder(node, b2, { productCode: "CAP2", customer: { id: "C2", name: "B", idNo: "110101199001011234", mobile: "13800138000" } });
    const run = await runSlot(node);
    expect(run.totals).toMatchObject({ succeeded: 1, noChannel: 1, sent: 1 });
  });

  it("gives back an attempt the bank provably never received (UNAVAILABLE): the cap counts only requests that reached a bank", async () => {
    await node.http("POST", "/api/v1/rules", { kind: "CHANNEL_SETTINGS", name: "one try a day", scope: { productCode: "CAP3" }, effectiveFrom: "2026-01-01", content: channels({ cardDailyAttemptCap: 1 }) });
    const bindingId = await bindCard(node, { channels: ["BANK_A", "BANK_B"] });
    const { planId } = await dueOrder(node, bindingId, { productCode: "CAP3" });
    // Bank A is in maintenance: its request is refused before it reaches the bank; the one attempt of
    // the day is given back and used on bank B in the same slot.
    await node.http("PUT", "/api/v1/sim-banks/BANK_A", { outage: true });
    const run = await runSlot(node);
    expect(run.totals).toMatchObject({ succeeded: 1, sent: 2 });
    const trades = (await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows;
    expect(trades.map((t: any) => [t.channel, t.state, t.failure?.reason ?? null]).sort()).toEqual([["BANK_A", "FAILED", "UNAVAILABLE"], ["BANK_B", "SUCCESS", null]]);
    // At the 18:00 slot the card has used its one attempt (the one that reached bank B).
    expect(bankDebits(node, planId)).toHaveLength(1);
  });

  it("lets ops take a simulated bank down (switch-over to the next channel) and read its statement", async () => {
    const bindingId = await bindCard(node, { channels: ["BANK_A", "BANK_B"] });
    const { planId } = await dueOrder(node, bindingId);
    const down = await node.http("PUT", "/api/v1/sim-banks/BANK_A", { outage: true });
    expect(down).toMatchObject({ status: 200, body: { code: "BANK_A", outage: true } });
    expect((await node.http("PUT", "/api/v1/sim-banks/BANK_A", { successRate: 2 })).status).toBe(422);
    expect((await node.http("PUT", "/api/v1/sim-banks/BANK_Q", { outage: true })).status).toBe(404);
    expect((await node.http("PUT", "/api/v1/sim-banks/BANK_A", { outage: false }, "ops")).status).toBe(403);
    const run = await runSlot(node);
    expect(run.totals).toMatchObject({ succeeded: 1, sent: 2 });
    const trades = (await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows.sort((a: any, b: any) => a.attempt - b.attempt);
    expect(trades.map((t: any) => [t.channel, t.state, t.failure?.reason])).toEqual([
      ["BANK_A", "FAILED", "UNAVAILABLE"],
      ["BANK_B", "SUCCESS", undefined],
    ]);
    const trade = trades[1];
    const res = await fetch(`http://127.0.0.1:${node.port}/api/v1/sim-banks/BANK_B/statement?date=2026-02-15`, { headers: { "X-Api-Key": "test-viewer-key-0123456789" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/csv/);
    expect(await res.text()).toContain(trade.tradeNo);
  });
});
