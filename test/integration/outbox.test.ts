/**
 * The outbox: an event is stored with its change and published at least once; a consumer that
 * dedupes on the event id sees it exactly once — also when the process dies between the change and
 * the publication, or between the publication and the outbox clean-up.
 */
import { startTestNode, orderFixture, type TestNode, WAIT_SCALE } from "../support/node";
import { until } from "../support/debit";
import { EVENTS_CHANNEL, type EventEnvelope } from "../../contracts/events.contract";

jest.setTimeout(60_000 * WAIT_SCALE);

/** A consumer of the durable channel that counts deliveries and distinct event ids. */
function consumerSchema(group: string) {
  const seen = new Map<string, EventEnvelope>();
  const deliveries: string[] = [];
  const schema = {
    name: `consumer-${group}`,
    channels: {
      [EVENTS_CHANNEL]: {
        group,
        handler(envelope: EventEnvelope) {
          if (envelope.type !== "order.synced" && envelope.type !== "plan.generated") return;
          deliveries.push(envelope.id);
          if (!seen.has(envelope.id)) seen.set(envelope.id, envelope);
        },
      },
    },
  } as any;
  // Only what these tests cause: other services (reconciliation, reminders) publish on their own schedules.
  const ours = (e: EventEnvelope) => e.type === "order.synced" || e.type === "plan.generated";
  return { schema, seen, deliveries, types: () => [...seen.values()].filter(ours).map((e) => `${e.type}:${e.key}`).sort() };
}

function consumer(node: TestNode, group: string) {
  const c = consumerSchema(group);
  node.broker.createService(c.schema);
  return c;
}

/** A node whose business date is before the fixture's first due date (no overdue events interfere). */
async function freshNode(env: NodeJS.ProcessEnv = {}): Promise<TestNode> {
  const n = await startTestNode({ TEST_CLOCK: "1", ...env });
  await n.http("POST", "/api/v1/test-clock", { to: "2026-01-20T10:00:00+08:00", frozen: true });
  return n;
}

describe("outbox", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("publishes every recorded event with an id, its source and key, and leaves no outbox behind", async () => {
    node = await freshNode();
    const c = consumer(node, "dedupe-a");
    await node.broker.waitForServices(["consumer-dedupe-a"]);
    const order = await node.http("POST", "/api/v1/orders", orderFixture());
    await until(async () => c.seen.size, (n) => n >= 2, 5000);
    expect(c.types()).toEqual([`order.synced:${order.body.orderId}`, `plan.generated:${order.body.planId}`]);
    const generated = [...c.seen.values()].find((e) => e.type === "plan.generated")!;
    expect(generated).toMatchObject({ source: "schedule", id: expect.stringMatching(/^EV[0-9a-f]{28}$/), data: { planId: order.body.planId, installments: 12 } });
    const stored: any = await (node.broker.getLocalService("schedule") as any).stores.plans.findById(order.body.planId);
    expect(stored.outbox ?? []).toEqual([]);
  });

  it("a crash between the change and its publication loses nothing: the restarted node publishes it, the consumer sees it once", async () => {
    // The relay never gets to run before the "crash" (flush delay of a minute); the node then stops
    // without publishing, like a process killed after the write.
    node = await freshNode({ OUTBOX_FLUSH_MS: "60000" });
    const res = await node.http("POST", "/api/v1/orders", orderFixture());
    expect(res.status).toBe(200);
    const before: any = await (node.broker.getLocalService("schedule") as any).stores.plans.findById(res.body.planId);
    expect(before.outbox.map((e: any) => e.type)).toEqual(["plan.generated"]);
    // The restarted node runs a consumer from its start: the sweep's publication is what it receives.
    const c = consumerSchema("dedupe-b");
    node = await node.restart({ services: [c.schema] });
    const created = () => c.types();
    await until(async () => created(), (t) => t.length >= 2, 15_000);
    expect(created()).toEqual([`order.synced:${res.body.orderId}`, `plan.generated:${res.body.planId}`]);
    expect(c.deliveries.filter((id) => id === before.outbox[0].id)).toHaveLength(1);
  });

  it("a crash after publishing but before the clean-up publishes again with the same id: the deduping consumer sees it once", async () => {
    node = await freshNode();
    const c = consumer(node, "dedupe-c");
    await node.broker.waitForServices(["consumer-dedupe-c"]);
    const schedule: any = node.broker.getLocalService("schedule");
    const store = schedule.stores.plans;
    const realUpdate = store.updateOne.bind(store);
    let failPull = 1;
    store.updateOne = async (q: any, u: any) => {
      if ((u.$pop || u.$pull) && failPull-- > 0) throw new Error("simulated process death before the outbox clean-up");
      return realUpdate(q, u);
    };
    const res = await node.http("POST", "/api/v1/orders", orderFixture());
    await until(async () => c.deliveries.length, (n) => n >= 2, 5000);
    // The entry is still in the plan; the "restarted" process (its memory of what it published is
    // gone) sweeps and publishes it again.
    schedule.outboxRecent.clear();
    await schedule.sweepOutbox();
    await until(async () => c.deliveries.length, (n) => n >= 3, 5000);
    const generated = [...c.seen.values()].filter((e) => e.type === "plan.generated");
    expect(generated).toHaveLength(1);
    expect(c.deliveries.filter((id) => id === generated[0].id)).toHaveLength(2); // delivered twice…
    expect(c.types()).toEqual([`order.synced:${res.body.orderId}`, `plan.generated:${res.body.planId}`]); // …seen once
    expect((await store.findById(res.body.planId)).outbox).toEqual([]);
  });

  it("retries a consumer that fails, and keeps other consumers' deliveries independent", async () => {
    node = await freshNode({ CHANNEL_RETRY_MS: "20" });
    let failures = 2;
    const got: string[] = [];
    node.broker.createService({
      name: "flaky-consumer",
      channels: {
        [EVENTS_CHANNEL]: {
          group: "flaky",
          handler(envelope: EventEnvelope) {
            if (envelope.type !== "plan.generated") return;
            if (failures-- > 0) throw new Error("consumer down");
            got.push(envelope.id);
          },
        },
      },
    } as any);
    const steady = consumer(node, "steady");
    await node.broker.waitForServices(["flaky-consumer", "consumer-steady"]);
    await node.http("POST", "/api/v1/orders", orderFixture());
    await until(async () => got.length, (n) => n >= 1, 5000);
    expect(got).toHaveLength(1);
    expect(steady.deliveries).toHaveLength(2);
  });
});

describe("embedded channel adapter", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("dead-letters a message whose consumer keeps failing, after maxRetries deliveries", async () => {
    const attempts: string[] = [];
    const dead: any[] = [];
    const failing = {
      name: "always-fails",
      channels: {
        [EVENTS_CHANNEL]: {
          group: "always-fails",
          maxRetries: 3,
          handler(envelope: EventEnvelope) {
            if (envelope.type !== "plan.generated") return;
            attempts.push(envelope.id);
            throw new Error("this consumer is broken");
          },
        },
      },
      events: { "channels.dead_letter": (ctx: any) => void dead.push(ctx.params) },
    } as any;
    node = await startTestNode({ TEST_CLOCK: "1", CHANNEL_RETRY_MS: "10" }, undefined, { services: [failing] });
    await node.http("POST", "/api/v1/test-clock", { to: "2026-01-20T10:00:00+08:00", frozen: true });
    const res = await node.http("POST", "/api/v1/orders", orderFixture());
    await until(async () => dead.length, (n) => n >= 1, 5000);
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts).size).toBe(1);
    expect(dead[0]).toMatchObject({ group: "always-fails", attempts: 3, error: "this consumer is broken", payload: { type: "plan.generated", key: res.body.planId } });
  });
});
