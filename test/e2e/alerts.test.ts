/**
 * Alerts ops can act on, on a real node: a low position, an installment no channel can collect, a
 * remittance held for days (and retried until paid), each raised once per subject however often the
 * detector sees it (also 20 raises at once), acknowledged and resolved with an audit trail, reopened
 * by a later raise, published as `alert.<kind>` / `alert.resolved` events; bad input refused.
 */
import { startTestNode, type TestNode, WAIT_SCALE } from "../support/node";
import { spy } from "../support/events";
import { bindCard, calmBanks, dueOrder, runSlot, until } from "../support/debit";

jest.setTimeout(90_000 * WAIT_SCALE);

async function at(node: TestNode, date: string, time = "09:00") {
  const res = await node.http("POST", "/api/v1/test-clock", { to: `${date}T${time}:00+08:00`, frozen: true });
  expect(res.status).toBe(200);
}


async function alerts(node: TestNode, query = "") {
  const res = await node.http("GET", `/api/v1/alerts${query}`, undefined, "viewer");
  expect(res.status).toBe(200);
  return res.body.rows as any[];
}

describe("alerts", () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ TEST_CLOCK: "1" });
    calmBanks(node);
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("a low position: raised once per channel, counted, acknowledged, resolved, reopened by the next raise", async () => {
    const events = spy(node, ["alert.low_position", "alert.resolved"]);
    await at(node, "2026-01-20", "10:00");
    const top = await node.http("POST", "/api/v1/positions/BANK_A/adjust", { amount: "5000.00", direction: "TOP_UP", reason: "float", lowWatermark: "4500.00" });
    expect(top.status).toBe(200);
    const pay = (no: string, amount: string) => node.http("POST", "/api/v1/payouts", { payoutNo: no, amount, beneficiary: { accountNo: "6217000010001234", accountName: "Funder One" }, purpose: "test" });
    expect((await pay("PO-AL-1", "1000.00")).body.status).toBe("SUCCEEDED");
    const [first] = await until(() => alerts(node, "?kind=LOW_POSITION"), (rows) => rows.length === 1);
    expect(first).toMatchObject({ kind: "LOW_POSITION", subject: "BANK_A", status: "OPEN", data: { channel: "BANK_A", available: "4000.00", lowWatermark: "4500.00" } });
    // The ledger checks at the reservation and at the commit: each sighting counts, on one record.
    expect(first.count).toBeGreaterThanOrEqual(1);
    expect(first.message).toContain("BANK_A");

    expect((await pay("PO-AL-2", "100.00")).body.status).toBe("SUCCEEDED");
    const counted = await until(() => alerts(node, "?kind=LOW_POSITION"), (rows) => rows[0]?.data.available === "3900.00");
    expect(counted).toHaveLength(1);
    expect(counted[0].id).toBe(first.id);
    expect(counted[0].count).toBeGreaterThan(first.count);

    // A viewer reads but cannot act; ops acknowledge (again: a no-op), then resolve.
    expect((await node.http("POST", `/api/v1/alerts/${first.id}/acknowledge`, {}, "viewer")).status).toBe(403);
    const ack = await node.http("POST", `/api/v1/alerts/${first.id}/acknowledge`, { note: "treasury asked for a top-up" }, "ops");
    expect(ack.body).toMatchObject({ status: "ACKNOWLEDGED", changed: true, acknowledgedBy: expect.any(String) });
    expect((await node.http("POST", `/api/v1/alerts/${first.id}/acknowledge`, {}, "ops")).body).toMatchObject({ status: "ACKNOWLEDGED", changed: false });
    expect((await alerts(node, "?active=true&kind=LOW_POSITION")).map((a) => a.id)).toEqual([first.id]);
    const summary = (await node.http("GET", "/api/v1/alerts/summary", undefined, "viewer")).body;
    expect(summary.byKind.LOW_POSITION).toEqual({ open: 0, acknowledged: 1 });
    const resolved = await node.http("POST", `/api/v1/alerts/${first.id}/resolve`, { note: "topped up" }, "ops");
    expect(resolved.body).toMatchObject({ status: "RESOLVED", changed: true });
    expect((await node.http("POST", `/api/v1/alerts/${first.id}/resolve`, {}, "ops")).body).toMatchObject({ changed: false });
    const refused = await node.http("POST", `/api/v1/alerts/${first.id}/acknowledge`, {}, "ops");
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 409, code: "ALERT_STATE" });
    expect(await alerts(node, "?active=true&kind=LOW_POSITION")).toEqual([]);

    // Still low: the next payout reopens the same record.
    expect((await pay("PO-AL-3", "100.00")).body.status).toBe("SUCCEEDED");
    const reopened = await until(() => node.http("GET", `/api/v1/alerts/${first.id}`, undefined, "viewer").then((r) => r.body), (a) => a.status === "OPEN");
    expect(reopened.data.channel).toBe("BANK_A");
    expect(reopened.acknowledgedBy).toBeUndefined();
    expect(reopened.history.map((h: any) => [h.action, h.note ?? null])).toEqual([
      ["RAISED", null],
      ["ACKNOWLEDGED", "treasury asked for a top-up"],
      ["RESOLVED", "topped up"],
      ["REOPENED", null],
    ]);
    expect(reopened.outbox).toBeUndefined();
    // Published: the first raise and the reopening (not the repeat), and the resolve.
    await until(async () => events.length, (n) => n >= 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(events.map((e) => [e.event, e.params.data?.alertId ?? e.params.alertId])).toEqual([
      ["alert.low_position", first.id],
      ["alert.resolved", first.id],
      ["alert.low_position", first.id],
    ]);
  });

  it("20 raises of one subject at once make one record counting 20", async () => {
    const raises = await Promise.all(
      Array.from({ length: 20 }, () => node.broker.call("alerts.raise", { kind: "NEEDS_RECONCILIATION", message: "no definite answer", data: { tradeNo: "D-RACE-1", channel: "BANK_B" } }) as Promise<any>),
    );
    expect(raises.filter((r) => r.raised)).toHaveLength(1);
    const rows = await alerts(node, "?kind=NEEDS_RECONCILIATION&subject=D-RACE-1");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "OPEN", count: 20, data: { tradeNo: "D-RACE-1" } });
  });

  it("an installment above every channel's per-transaction limit is alerted as uncollectable", async () => {
    const bindingId = await bindCard(node, { customerId: "C-BIG", cardNo: "6222020200155550001", channels: ["BANK_A", "BANK_B"], balance: "9000000.00" });
    const { planId } = await dueOrder(node, bindingId, { principal: "3000000.00", customer: { id: "C-BIG", name: "Zhang San", idNo: "110101199001011234", mobile: "13800138000" } });
    await at(node, "2026-02-15", "12:00");
    const run = await runSlot(node, { slotTime: "12:00" });
    expect(run.totals.noChannel).toBeGreaterThanOrEqual(1);
    const [a] = await until(() => alerts(node, `?kind=UNCOLLECTABLE&subject=${planId}:1`), (rows) => rows.length === 1);
    expect(a).toMatchObject({ status: "OPEN", data: { planId, period: 1, reason: expect.stringContaining("OVER_PER_TRANSACTION_LIMIT") } });
    const rejected = Object.fromEntries(a.data.rejected.map((r: any) => [r.code, r.reason]));
    expect(rejected).toMatchObject({ BANK_A: "OVER_PER_TRANSACTION_LIMIT", BANK_B: "OVER_PER_TRANSACTION_LIMIT" });
  });

  it("a remittance held past HELD_REMITTANCE_ALERT_DAYS is alerted, and retried every day until paid", async () => {
    // 02-20's collections for a funder without an account.
    await at(node, "2026-02-20", "10:00");
    const { planId } = await dueOrder(node, "", { funderId: "F-NOACC", bindingId: undefined, customer: { id: "C-H", name: "Li Si", idNo: "110101199001011234", mobile: "13800138000" } });
    expect((await node.http("POST", `/api/v1/plans/${planId}/repayments`, { repaymentNo: "RP-HELD-1", amount: "300.00" }, "ops")).status).toBe(200);
    await at(node, "2026-02-21", "03:00");
    expect((await node.http("POST", "/api/v1/remittances/runs", { date: "2026-02-20" }, "ops")).body).toMatchObject({ held: 1 });
    expect(await alerts(node, "?kind=HELD_REMITTANCE")).toEqual([]); // not yet old enough (3 days)
    await at(node, "2026-02-24", "03:00");
    expect((await node.http("POST", "/api/v1/remittances/runs", {}, "ops")).status).toBe(200);
    const [held] = await until(() => alerts(node, "?kind=HELD_REMITTANCE"), (rows) => rows.length === 1);
    expect(held).toMatchObject({ subject: "RMT-20260220-F-NOACC", data: { funderId: "F-NOACC", amount: "300.00", date: "2026-02-20" } });

    // Ten days on (outside the daily job's 7-day window), with an account registered: paid.
    await node.http("PUT", "/api/v1/funders/F-NOACC", { name: "Fund X", accountNo: "6214000000001111", accountName: "Fund X Ltd" }, "admin");
    await node.http("POST", "/api/v1/positions/BANK_B/adjust", { amount: "10000.00", direction: "TOP_UP", reason: "float" });
    await at(node, "2026-03-02", "03:00");
    expect((await node.http("POST", "/api/v1/remittances/runs", {}, "ops")).status).toBe(200);
    const rem = (await node.http("GET", "/api/v1/remittances?date=2026-02-20")).body.rows;
    expect(rem.map((r: any) => [r.funderId, r.amount, r.status])).toEqual([["F-NOACC", "300.00", "PAID"]]);
  });

  it("refuses bad input with a code", async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ["GET", "/api/v1/alerts?kind=NOPE", undefined, 422, "VALIDATION_ERROR"],
      ["GET", "/api/v1/alerts?status=DONE", undefined, 422, "VALIDATION_ERROR"],
      ["GET", "/api/v1/alerts/not-an-id", undefined, 422, "VALIDATION_ERROR"],
      ["GET", `/api/v1/alerts/AL${"0".repeat(24)}`, undefined, 404, "NOT_FOUND"],
      ["POST", `/api/v1/alerts/AL${"0".repeat(24)}/resolve`, {}, 404, "NOT_FOUND"],
      ["POST", `/api/v1/alerts/AL${"0".repeat(24)}/resolve`, { note: "x", extra: 1 }, 422, "VALIDATION_ERROR"],
    ];
    for (const [method, url, body, status, code] of cases) {
      const res = await node.http(method, url, body, "ops");
      expect({ url, status: res.status, code: res.body?.code }).toEqual({ url, status, code });
    }
  });
});
