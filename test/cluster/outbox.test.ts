/**
 * Upstream messages in cluster mode: the outbox relays to NATS JetStream through
 * @moleculer/channels. A node killed -9 between a change and its publication publishes it after its
 * restart; a consumer that was down receives what was published meanwhile (durable group); a
 * consumer deduping on the event id sees each event once.
 */
import { ServiceBroker } from "moleculer";
import { orderFixture, tempDataDir, testEnv, WAIT_SCALE } from "../support/node";
import { api, spawnNode, waitForServicesOver, type NodeProcess } from "../support/process";
import { freePort, startNats, type ServerHandle } from "../support/servers";
import { until } from "../support/debit";
import { loadConfig } from "../../config";
import { channelsMiddleware } from "../../mixins/messaging/channels";
import { EVENTS_CHANNEL, type EventEnvelope } from "../../contracts/events.contract";

jest.setTimeout(120_000 * WAIT_SCALE);

describe("outbox over NATS JetStream", () => {
  let nats: ServerHandle;
  let node: NodeProcess | undefined;
  let consumer: ServiceBroker | undefined;
  let writerPort = 0;
  const seen = new Map<string, EventEnvelope>();
  const deliveries: string[] = [];

  function consumerBroker(url: string): ServiceBroker {
    const cfg = loadConfig({ ...testEnv({ TRANSPORTER: url }), NODE_ID: "consumer-1" });
    const broker = new ServiceBroker({ namespace: "repaymesh", nodeID: "consumer-1", transporter: url as any, logger: false, middlewares: [channelsMiddleware(cfg)] });
    broker.createService({
      name: "dedupe-consumer",
      channels: {
        [EVENTS_CHANNEL]: {
          group: "dedupe-consumer",
          handler(envelope: EventEnvelope) {
            deliveries.push(envelope.id);
            if (!seen.has(envelope.id)) seen.set(envelope.id, envelope);
          },
        },
      },
    } as any);
    return broker;
  }
  const types = () => [...seen.values()].map((e) => `${e.type}:${e.key}`).sort();

  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await node?.kill();
    await consumer?.stop();
    await nats?.stop();
  });

  it("a node killed -9 before publishing publishes after its restart; a consumer that was down catches up; each event is seen once", async () => {
    consumer = consumerBroker(nats.url);
    await consumer.start();
    const port = await freePort();
    writerPort = port;
    const dataDir = tempDataDir();
    const env = { ...testEnv({ TRANSPORTER: nats.url }), SERVICES: "api,clock,rules,schedule,order-sync", NODE_ID: "writer-1", PORT: String(port), DATA_DIR: dataDir, TEST_CLOCK: "1" };
    // First life: the relay is held back (no flush, no sweep) so the kill lands before publication.
    node = spawnNode({ ...env, OUTBOX_FLUSH_MS: "600000", OUTBOX_SWEEP_MS: "3600000" });
    await waitForServicesOver(port, ["order-sync", "schedule"], node);
    await api(port, "POST", "/api/v1/test-clock", { to: "2026-01-20T10:00:00+08:00", frozen: true });
    const first = await api(port, "POST", "/api/v1/orders", orderFixture());
    expect(first.status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(types()).toEqual([]);
    await node.kill("SIGKILL");

    // The consumer goes down too; the restarted writer publishes into JetStream meanwhile.
    await consumer.stop();
    node = spawnNode(env);
    await waitForServicesOver(port, ["order-sync", "schedule"], node);
    const second = await api(port, "POST", "/api/v1/orders", orderFixture());
    expect(second.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));

    consumer = consumerBroker(nats.url);
    await consumer.start();
    const expected = [
      `order.synced:${first.body.orderId}`,
      `order.synced:${second.body.orderId}`,
      `plan.generated:${first.body.planId}`,
      `plan.generated:${second.body.planId}`,
    ].sort();
    await until(async () => types(), (t) => t.length >= 4, 30_000);
    expect(types()).toEqual(expected);
    expect(new Set(deliveries).size).toBe(4);
  });

  it("a consumer that keeps failing is retried, then the message is dead-lettered (JetStream redelivery + DEAD_LETTER)", async () => {
    const cfg = loadConfig({ ...testEnv({ TRANSPORTER: nats.url }), NODE_ID: "consumer-2" });
    const attempts = new Map<string, number>();
    const dead: EventEnvelope[] = [];
    const broker = new ServiceBroker({ namespace: "repaymesh", nodeID: "consumer-2", transporter: nats.url as any, logger: false, middlewares: [channelsMiddleware(cfg)] });
    broker.createService({
      name: "always-fails",
      channels: {
        [EVENTS_CHANNEL]: {
          group: "always-fails",
          maxRetries: 2,
          handler(envelope: EventEnvelope) {
            attempts.set(envelope.id, (attempts.get(envelope.id) ?? 0) + 1);
            throw new Error("this consumer is broken");
          },
        },
      },
    } as any);
    broker.createService({
      name: "dead-letter-watch",
      channels: { DEAD_LETTER: { group: "dead-letter-watch", handler: (envelope: EventEnvelope) => void dead.push(envelope) } },
    } as any);
    await broker.start();
    try {
      const res = await api(writerPort, "POST", "/api/v1/orders", orderFixture());
      expect(res.status).toBe(200);
      const found = await until(async () => dead.filter((e) => e.key === res.body.planId || e.key === res.body.orderId), (d) => d.length >= 2, 30_000);
      expect(found.map((e) => e.type).sort()).toEqual(["order.synced", "plan.generated"]);
      for (const e of found) expect(attempts.get(e.id)).toBe(2); // maxRetries counts deliveries: the first and one redelivery
    } finally {
      await broker.stop();
    }
  });
});
