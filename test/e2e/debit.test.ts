import { orderFixture, startTestNode, type TestNode, WAIT_SCALE } from "../support/node";
import { calmBanks } from "../support/debit";

jest.setTimeout(60_000 * WAIT_SCALE);

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms * WAIT_SCALE;
  let v = await fn();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    v = await fn();
  }
  return v;
}

describe("debit end to end (embedded)", () => {
  let node: TestNode;
  beforeEach(async () => {
    node = await startTestNode({ TEST_CLOCK: "1" });
    // The simulated banks succeed 97 % of the time by default, drawn from the (random) trade number.
    calmBanks(node);
  });
  afterEach(async () => {
    await node.stop();
  });

  it("binds a card, syncs an order, and a manual run debits the due installment exactly once", async () => {
    await node.http("POST", "/api/v1/test-clock", { to: "2026-02-15T11:00:00+08:00", frozen: true });
    const bank = (node.broker.getLocalService("sign-bind") as any).simBanks.get("BANK_A");
    bank.openAccount("6222020200112233445", "50000.00");
    const created = await node.http("POST", "/api/v1/bindings", { customerId: "C1", cardNo: "6222020200112233445", name: "Zhang San", idNo: "110101199001011234", mobile: "13800138000", channels: ["BANK_A"] });
    expect(created.status).toBe(200);
    expect(created.body.cardMasked).toBe("6222 **** **** 3445");
    const confirmed = await node.http("POST", `/api/v1/bindings/${created.body.bindingId}/confirm`, { codes: created.body.testCodes });
    expect(confirmed.body).toMatchObject({ status: "ACTIVE" });

    const order = await node.http("POST", "/api/v1/orders", orderFixture({ bindingId: created.body.bindingId, startDate: "2026-01-15" }));
    expect(order.status).toBe(200);

    const run = await node.http("POST", "/api/v1/runs", { slotTime: "12:00" });
    expect(run.status).toBe(200);
    const done = await until(
      () => node.http("GET", `/api/v1/runs/${run.body.runId}`).then((r) => r.body),
      (r: any) => r.status === "DONE",
    );
    expect(done.totals).toMatchObject({ due: 1, succeeded: 1, sent: 1 });

    const plan = await node.http("GET", `/api/v1/plans/${order.body.planId}`);
    expect(plan.body.installments[0]).toMatchObject({ status: "PAID", paidTotal: "8884.88" });
    expect(bank.balanceOf("6222020200112233445")).toBe("41115.12");

    // The same run again: nothing more is sent.
    const again = await node.http("POST", "/api/v1/runs", { slotTime: "12:00" });
    const done2 = await until(() => node.http("GET", `/api/v1/runs/${again.body.runId}`).then((r) => r.body), (r: any) => r.status === "DONE");
    expect(done2.totals.sent ?? 0).toBe(0);
    expect(bank.balanceOf("6222020200112233445")).toBe("41115.12");
    const trades = await node.http("GET", `/api/v1/trades?planId=${order.body.planId}`);
    expect(trades.body.total).toBe(1);
    expect(trades.body.rows[0]).toMatchObject({ state: "SUCCESS", applied: true, channel: "BANK_A" });
  });
});
