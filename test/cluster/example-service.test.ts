/**
 * The example business service (examples/lender-service) against a RepayMesh node over a real
 * nats-server: it joins the `repaymesh` namespace, syncs an order and reads its plan through the
 * mesh, receives `order.synced` and `plan.generated` durably once each (a redelivery is skipped),
 * gets ORDER_CONFLICT and VALIDATION_ERROR as outcomes it can show, a replay answers the first
 * result, and a sync sent while RepayMesh is down is retried with the same key until it lands once.
 */
import type { ServiceBroker } from "moleculer";
import { EVENTS_CHANNEL, type EventEnvelope } from "../../contracts/events.contract";
import { lenderBroker } from "../../examples/lender-service/broker";
import { lenderService, type SyncOutcome } from "../../examples/lender-service/lender.service";
import { orderFixture, tempDataDir, testEnv, WAIT_SCALE } from "../support/node";
import { spawnNode, type NodeProcess } from "../support/process";
import { startNats, type ServerHandle } from "../support/servers";

jest.setTimeout(120_000 * WAIT_SCALE);

async function until<T>(fn: () => T, ok: (v: T) => boolean, ms = 20_000 * WAIT_SCALE): Promise<T> {
  const deadline = Date.now() + ms;
  while (!ok(fn()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (!ok(fn())) throw new Error(`not met in ${ms} ms: ${JSON.stringify(fn()).slice(0, 500)}`);
  return fn();
}

describe("an example business service on the RepayMesh mesh", () => {
  let nats: ServerHandle;
  let node: NodeProcess;
  let lender: ServiceBroker;
  const events: EventEnvelope[] = [];
  const duplicates: EventEnvelope[] = [];
  const dataDir = tempDataDir();
  let env: NodeJS.ProcessEnv;
  const startRepayMesh = () => spawnNode({ ...env, SERVICES: "clock,rules,schedule,order-sync", NODE_ID: "repaymesh-1", DATA_DIR: dataDir });

  beforeAll(async () => {
    nats = await startNats();
    env = testEnv({ TRANSPORTER: nats.url });
    node = startRepayMesh();
    lender = lenderBroker({ natsUrl: nats.url, nodeID: "lender-1", logLevel: "error" });
    lender.createService(lenderService({ retryDelayMs: 300, retries: 30, onEvent: (e) => void events.push(e), onDuplicate: (e) => void duplicates.push(e) }));
    await lender.start();
    await lender.waitForServices(["order-sync", "schedule"], 60_000 * WAIT_SCALE);
  });

  afterAll(async () => {
    await lender?.stop();
    await node?.kill();
    await nats?.stop();
  });

  const sync = (order: Record<string, unknown>) => lender.call("lender.syncOrder", order) as Promise<SyncOutcome>;

  it("syncs an order, reads its plan, and receives its events once each", async () => {
    const order = orderFixture({ source: "LENDER", orderNo: "L-1" });
    const out = await sync(order);
    if (!out.ok) throw new Error(JSON.stringify(out));
    expect(out.order).toMatchObject({ source: "LENDER", orderNo: "L-1", status: "ACTIVE", planId: expect.stringMatching(/^PL/) });
    const plan: any = await lender.call("lender.plan", { planId: out.order.planId });
    expect(plan.installments).toHaveLength(12);
    expect(plan.installments[0]).toMatchObject({ period: 1, status: "PENDING" });

    const of = (type: string, key: string) => events.filter((e) => e.type === type && e.key === key);
    await until(() => [of("order.synced", out.order.orderId).length, of("plan.generated", out.order.planId).length], ([o, p]) => o >= 1 && p >= 1);
    // The same envelope delivered again (as after a relay's crash): seen, skipped.
    const again = of("plan.generated", out.order.planId)[0];
    await (lender as any).sendToChannel(EVENTS_CHANNEL, again);
    await until(() => duplicates.filter((d) => d.id === again.id).length, (n) => n >= 1);
    expect(of("order.synced", out.order.orderId)).toHaveLength(1);
    expect(of("plan.generated", out.order.planId)).toHaveLength(1);
    expect(again.data).toMatchObject({ planId: out.order.planId });

    // A replay answers the first result; other content under the same key is the caller's conflict.
    expect(await sync(order)).toEqual({ ok: true, order: out.order, attempts: 1 });
    expect(await sync({ ...order, principal: "99000.00" })).toMatchObject({ ok: false, code: "ORDER_CONFLICT", status: 409, attempts: 1 });
    expect(await sync({ ...order, orderNo: "L-2", term: 0 })).toMatchObject({ ok: false, code: "VALIDATION_ERROR", status: 422, attempts: 1 });
  });

  it("retries a sync sent while RepayMesh is down, with the same key, until it lands once", async () => {
    await node.kill();
    await until(() => lender.registry.getServiceList({ onlyAvailable: true }).some((s: any) => s.name === "order-sync"), (up) => !up);
    const order = orderFixture({ source: "LENDER", orderNo: "L-3" });
    const pending = sync(order);
    await new Promise((r) => setTimeout(r, 1000));
    node = startRepayMesh();
    const out = await pending;
    if (!out.ok) throw new Error(JSON.stringify(out));
    expect(out.attempts).toBeGreaterThan(1);
    expect(out.order).toMatchObject({ orderNo: "L-3", status: "ACTIVE" });
    expect(await sync(order)).toEqual({ ok: true, order: out.order, attempts: 1 });
  });
});
