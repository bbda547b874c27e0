/**
 * The overdue list pages in the store: amounts filter by their cents key (overdueCents beside the
 * decimal overdueAmount), the page comes back with skip and limit, the total amount is summed in
 * decimals from the overdueAmount field alone; plans written before the key get it at start. On
 * the file store or MONGO_URI's server.
 */
import { centsKey, fmt, money, sum } from "../../domain/money";
import { orderFixture, startTestNode, type TestNode } from "../support/node";

jest.setTimeout(180_000);

const SERVICES = "clock,rules,schedule,order-sync,sign-bind,ledger,api";

describe("overdue list", () => {
  let node: TestNode;
  afterAll(async () => {
    await node?.stop();
  });

  it("filters by amount, sorts and pages in the store, and sums exactly", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SERVICES });
    const clock = (to: string) => node.http("POST", "/api/v1/test-clock", { to, frozen: true });
    expect((await clock("2026-01-15T09:00:00+08:00")).status).toBe(200);
    const ids: string[] = [];
    for (let i = 1; i <= 12; i++) {
      const res = await node.http("POST", "/api/v1/orders", orderFixture({ principal: `${i}000.${String((37 * i) % 100).padStart(2, "0")}`, startDate: "2026-01-15" }));
      expect(res.status).toBe(200);
      ids.push(res.body.planId);
    }
    expect((await clock("2026-02-22T09:00:00+08:00")).status).toBe(200);
    for (const planId of ids) await node.broker.call("schedule.accrue", { planId });

    const svc: any = node.broker.getLocalService("schedule");
    const plans = await Promise.all(ids.map((id) => svc.store.findById(id)));
    for (const p of plans) expect(p.overdueCents).toBe(centsKey(p.overdueAmount));
    const amounts = plans.map((p) => p.overdueAmount as string);
    // Bounds between the 3rd and 4th, and the 10th and 11th smallest amounts.
    const sorted = [...amounts].sort((a, b) => money(a).cmp(money(b)));
    const min = sorted[3];
    const max = fmt(money(sorted[9]).plus(money(sorted[10])).div("2").round(2, 0)); // a bound that is not itself an amount
    const wanted = plans.filter((p) => money(p.overdueAmount).gte(min) && money(p.overdueAmount).lte(max)).map((p) => p.planId).sort();
    expect(wanted).toHaveLength(7);

    const calls: Array<{ query: any; opts: any }> = [];
    const find = svc.store.find.bind(svc.store);
    svc.store.find = (query: any, opts: any) => {
      calls.push({ query, opts });
      return find(query, opts);
    };
    const page = (await node.http("GET", `/api/v1/overdue?minAmount=${min}&maxAmount=${max}&pageSize=3&page=2`)).body;
    expect(page).toMatchObject({ total: 7, page: 2, pageSize: 3, totalPages: 3 });
    // All overdue alike (7 days): by plan id, the second page.
    expect(page.rows.map((r: any) => r.planId)).toEqual(wanted.slice(3, 6));
    expect(page.totalAmount).toBe(fmt(sum(plans.filter((p) => wanted.includes(p.planId)).map((p) => p.overdueAmount))));
    const pageCall = calls.find((c) => c.opts?.limit !== undefined);
    expect(pageCall).toEqual({
      query: expect.objectContaining({ overdueDays: { $gt: 0 }, overdueCents: { $gte: centsKey(min), $lte: centsKey(max) } }),
      opts: { sort: { overdueDays: -1, _id: 1 }, skip: 3, limit: 3 },
    });
    // The other read takes the amount field only; nothing reads every plan whole.
    expect(calls.filter((c) => c !== pageCall).map((c) => c.opts)).toEqual([{ fields: ["overdueAmount"] }]);
    svc.store.find = find;

    const last = (await node.http("GET", `/api/v1/overdue?minAmount=${min}&maxAmount=${max}&pageSize=3&page=3`)).body;
    expect(last.rows.map((r: any) => r.planId)).toEqual(wanted.slice(6));
    expect((await node.http("GET", `/api/v1/overdue?maxAmount=0.00`)).body.total).toBe(0);
    expect((await node.http("GET", `/api/v1/overdue`)).body.total).toBe(12);
    const tooLarge = await node.http("GET", "/api/v1/overdue?minAmount=90071992547409.91");
    expect({ status: tooLarge.status, code: tooLarge.body.code }).toEqual({ status: 422, code: "INVALID_AMOUNT" });

    // Plans written before the cents key: the amount filter misses them, until the node's start sets it.
    await svc.store.updateMany({}, { $unset: { overdueCents: true } });
    expect((await node.http("GET", `/api/v1/overdue?minAmount=${min}`)).body.total).toBe(0);
    node = await node.restart();
    const again = (await node.http("GET", `/api/v1/overdue?minAmount=${min}&maxAmount=${max}&pageSize=50`)).body;
    expect(again.rows.map((r: any) => r.planId)).toEqual(wanted);
    const restarted: any = node.broker.getLocalService("schedule");
    for (const id of ids) expect((await restarted.store.findById(id)).overdueCents).toBe(centsKey((await restarted.store.findById(id)).overdueAmount));
  });
});
