import { newOrder } from "../../../domain/order";
import { orderFixture, startTestNode, type TestNode } from "../../support/node";

describe("order-sync", () => {
  let node: TestNode;
  beforeEach(async () => {
    node = await startTestNode();
  });
  afterEach(async () => {
    await node.stop();
  });

  const store = (name: string) => (node.broker.getLocalService(name) as any).store;

  it("syncs an order into an order and its plan", async () => {
    const order = orderFixture();
    const res: any = await node.broker.call("order-sync.sync", order);
    expect(res).toMatchObject({ source: order.source, orderNo: order.orderNo, status: "ACTIVE" });
    expect(res.customer).toEqual({ id: "C1", name: "Zhang San", idNoMasked: "**************1234", mobileMasked: "138****8000" });
    const plan: any = await node.broker.call("schedule.get", { planId: res.planId });
    expect(plan.orderId).toBe(res.orderId);
    expect(plan.installments).toHaveLength(12);
    expect(plan.partition).toBeGreaterThanOrEqual(0);
    expect(plan.partition).toBeLessThan(64);
  });

  it("answers a replay with the first result and writes nothing more", async () => {
    const order = orderFixture();
    const first: any = await node.broker.call("order-sync.sync", order);
    // The same content with keys in another order is the same request.
    const reordered = Object.fromEntries(Object.entries(order).reverse());
    const second: any = await node.broker.call("order-sync.sync", reordered);
    expect(second).toEqual(first);
    expect(await store("order-sync").count({})).toBe(1);
    expect(await store("schedule").count({})).toBe(1);
  });

  it("rejects the same key with different content with ORDER_CONFLICT", async () => {
    const order = orderFixture();
    await node.broker.call("order-sync.sync", order);
    await expect(node.broker.call("order-sync.sync", { ...order, principal: "99999.00" })).rejects.toMatchObject({
      code: 409,
      type: "ORDER_CONFLICT",
    });
    await expect(
      node.broker.call("order-sync.sync", { ...order, customer: { ...order.customer, idNo: "110101199001019999" } }),
    ).rejects.toMatchObject({ type: "ORDER_CONFLICT" });
    const stored = await store("order-sync").find({});
    expect(stored).toHaveLength(1);
    expect(stored[0].terms.principal).toBe("100000.00");
  });

  it("creates one order and one plan under 50 concurrent duplicates", async () => {
    const order = orderFixture();
    const results: any[] = await Promise.all(Array.from({ length: 50 }, () => node.broker.call("order-sync.sync", order)));
    expect(new Set(results.map((r) => r.orderId)).size).toBe(1);
    expect(new Set(results.map((r) => r.planId)).size).toBe(1);
    expect(results.every((r) => r.status === "ACTIVE")).toBe(true);
    expect(await store("order-sync").count({})).toBe(1);
    expect(await store("schedule").count({})).toBe(1);
  });

  it("emits order.synced and plan.generated once per order", async () => {
    const seen: string[] = [];
    const ids = new Set<string>(); // delivery is at least once: a consumer dedupes on the event id
    const once = (id: string, what: string) => {
      if (!ids.has(id)) seen.push(what);
      ids.add(id);
    };
    node.broker.localBus.on("test.event", () => {});
    const svc = node.broker.createService({
      name: "listener",
      events: {
        "order.synced"(ctx: any) {
          once(ctx.params.eventId, "order.synced:" + ctx.params.orderId);
        },
        "plan.generated"(ctx: any) {
          once(ctx.params.eventId, "plan.generated:" + ctx.params.planId);
        },
      },
    });
    await node.broker.waitForServices(["listener"]);
    const order = orderFixture();
    const res: any = await node.broker.call("order-sync.sync", order);
    await Promise.all(Array.from({ length: 5 }, () => node.broker.call("order-sync.sync", order)));
    // Published by the outbox relay shortly after the writes, once each.
    await new Promise((r) => setTimeout(r, 400));
    expect(seen.sort()).toEqual([`order.synced:${res.orderId}`, `plan.generated:${res.planId}`]);
    await node.broker.destroyService(svc);
  });

  it("finishes an order left PLANNING by a crash, on replay and by the repair sweep", async () => {
    // A crash after the order insert and before the plan: the order is PLANNING, no plan exists.
    const a = orderFixture();
    const b = orderFixture();
    await store("order-sync").insert(newOrder(a as any, "2026-01-01T00:00:00.000Z"));
    await store("order-sync").insert(newOrder(b as any, "2026-01-01T00:00:00.000Z"));
    expect(await store("schedule").count({})).toBe(0);

    const replayed: any = await node.broker.call("order-sync.sync", a);
    expect(replayed.status).toBe("ACTIVE");

    const sweep: any = await node.broker.call("order-sync.repair", {});
    expect(sweep).toEqual({ found: 1, repaired: 1 });
    const fixed: any = await node.broker.call("order-sync.get", { source: b.source, orderNo: b.orderNo });
    expect(fixed.status).toBe("ACTIVE");
    expect(await store("schedule").count({})).toBe(2);
    // A second sweep finds nothing.
    expect(await node.broker.call("order-sync.repair", {})).toEqual({ found: 0, repaired: 0 });
  });

  it("finishes an order whose plan exists but whose status was not yet set (crash after schedule.create)", async () => {
    const a = orderFixture();
    const order = newOrder(a as any, "2026-01-01T00:00:00.000Z");
    await store("order-sync").insert(order);
    const { source, orderNo, bizType, funderId, productCode, customer, ...terms } = a;
    await node.broker.call("schedule.create", {
      ...terms,
      planId: order.planId,
      orderId: order._id,
      source,
      orderNo,
      bizType,
      funderId,
      productCode,
      customerId: customer.id,
    });
    const res: any = await node.broker.call("order-sync.sync", a);
    expect(res.status).toBe("ACTIVE");
    expect(await store("schedule").count({})).toBe(1);
  });

  it("lists orders with filters and pages", async () => {
    for (let i = 0; i < 5; i++) await node.broker.call("order-sync.sync", orderFixture({ funderId: i % 2 ? "F2" : "F1" }));
    const page: any = await node.broker.call("order-sync.list", { funderId: "F1", pageSize: 2 });
    expect(page.total).toBe(3);
    expect(page.rows).toHaveLength(2);
    expect(page.totalPages).toBe(2);
    expect(page.rows.every((r: any) => r.funderId === "F1")).toBe(true);
    const page2: any = await node.broker.call("order-sync.list", { funderId: "F1", pageSize: 2, page: 2 });
    expect(page2.rows).toHaveLength(1);
    expect(new Set([...page.rows, ...page2.rows].map((r: any) => r.orderId)).size).toBe(3);
  });

  it("keeps orders and plans across a restart", async () => {
    const res: any = await node.broker.call("order-sync.sync", orderFixture());
    node = await node.restart();
    const again: any = await node.broker.call("order-sync.get", { source: res.source, orderNo: res.orderNo });
    expect(again).toEqual(res);
    const plan: any = await node.broker.call("schedule.get", { planId: res.planId });
    expect(plan.installments).toHaveLength(12);
  });

  it("never stores the full ID number or mobile", async () => {
    const order = orderFixture();
    await node.broker.call("order-sync.sync", order);
    const raw = JSON.stringify(await store("order-sync").find({}));
    expect(raw).not.toContain(order.customer.idNo);
    expect(raw).not.toContain(order.customer.mobile);
  });
});
