/**
 * HEALTH_PORT: a node without the gateway answers `GET /ready` with 503 while it starts (here: waiting
 * for a service it depends on), 200 once started with its transporter (and store) connected, 503
 * again while NATS or the MongoDB-wire server is away, and stops listening when it stops.
 */
import { startTestNode, type TestNode } from "../support/node";
import { freePort, startFerret, startNats, type ServerHandle } from "../support/servers";

jest.setTimeout(90_000);

async function ready(port: number): Promise<{ status: number; body: any } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, body: await res.json() };
  } catch {
    return null; // not listening
  }
}

async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("readiness endpoint (HEALTH_PORT)", () => {
  let nats: ServerHandle;
  const nodes: TestNode[] = [];

  beforeAll(async () => {
    nats = await startNats();
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await nats?.stop();
  });

  it("answers 503 while the node starts, 200 once it has, and nothing once stopped", async () => {
    const port = await freePort();
    // order-sync waits for schedule, which no node offers yet: the node is starting.
    const starting = startTestNode({ TRANSPORTER: nats.url, NODE_ID: "orders", SERVICES: "order-sync", HEALTH_PORT: String(port) });
    const early = await until(() => ready(port), (r) => r !== null);
    expect(early).toMatchObject({ status: 503, body: { ready: false, broker: "starting", nodeID: "orders" } });

    const plans = await startTestNode({ TRANSPORTER: nats.url, NODE_ID: "plans", SERVICES: "clock,rules,schedule" });
    nodes.push(plans);
    const orders = await starting;
    nodes.push(orders);
    expect(orders.healthPort).toBe(port);
    const up = await ready(port);
    expect(up).toMatchObject({
      status: 200,
      body: { ready: true, broker: "started", transporter: "connected", store: process.env.MONGO_URI ? "open" : "file", services: ["order-sync"] },
    });
    const other = await fetch(`http://127.0.0.1:${port}/health`);
    expect(other.status).toBe(404);

    await orders.stop();
    expect(await ready(port)).toBeNull();
    await plans.stop();
  });

  it("answers 503 (transporter disconnected) while NATS is down, 200 again once it is back", async () => {
    const node = await startTestNode({ TRANSPORTER: nats.url, NODE_ID: "lonely", SERVICES: "api", HEALTH_PORT: "0" });
    nodes.push(node);
    const port = node.healthPort as number;
    expect((await ready(port))?.status).toBe(200);
    await nats.stop();
    const down = await until(() => ready(port), (r) => r?.status === 503);
    expect(down?.body).toMatchObject({ ready: false, broker: "started", transporter: "disconnected" });
    await nats.restart();
    await until(() => ready(port), (r) => r?.status === 200);
  });

  it("answers 503 (store unreachable) while the MongoDB-wire server is down, 200 again once it is back", async () => {
    const ferret = await startFerret();
    try {
      const node = await startTestNode({ NODE_ID: "stored", SERVICES: "clock", HEALTH_PORT: "0", MONGO_URI: ferret.url, STORE_PREFIX: "ready_" });
      nodes.push(node);
      const port = node.healthPort as number;
      expect(await ready(port)).toMatchObject({ status: 200, body: { store: "open", transporter: "none" } });
      await ferret.stop();
      const down = await until(() => ready(port), (r) => r?.status === 503);
      expect(down?.body).toMatchObject({ ready: false, broker: "started", store: "unreachable" });
      await ferret.restart();
      await until(() => ready(port), (r) => r?.status === 200);
      await node.stop();
    } finally {
      await ferret.stop();
    }
  });
});
