/**
 * Two processes joined through a real nats-server on 127.0.0.1: one runs only the gateway, the
 * other the data services. An order synced over REST on the first is handled on the second.
 */
import fs from "node:fs";
import path from "node:path";
import { orderFixture, tempDataDir, testEnv, WAIT_SCALE } from "../support/node";
import { api, spawnNode, waitForServicesOver, type NodeProcess } from "../support/process";
import { freePort, startNats, type ServerHandle } from "../support/servers";

jest.setTimeout(120_000 * WAIT_SCALE);

describe("NATS mesh: gateway node + services node", () => {
  let nats: ServerHandle;
  let gateway: NodeProcess;
  let services: NodeProcess;
  let port: number;
  const gwData = tempDataDir();
  const svcData = tempDataDir();

  beforeAll(async () => {
    nats = await startNats();
    port = await freePort();
    const common = testEnv({ TRANSPORTER: nats.url });
    gateway = spawnNode({ ...common, SERVICES: "api", NODE_ID: "gateway-1", PORT: String(port), DATA_DIR: gwData });
    services = spawnNode({ ...common, SERVICES: "clock,rules,schedule,order-sync", NODE_ID: "services-1", DATA_DIR: svcData });
    await waitForServicesOver(port, ["order-sync", "schedule", "rules", "clock"], gateway);
    // The gateway builds its aliases from the registry once the remote services are known.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await api(port, "GET", "/api/v1/orders")).status === 404) await new Promise((r) => setTimeout(r, 200));
  });

  afterAll(async () => {
    await Promise.all([gateway?.kill(), services?.kill()]);
    await nats?.stop();
  });

  it("serves only the gateway on the first node and the data services on the second", async () => {
    const health = await api(port, "GET", "/api/v1/health");
    expect(health.body).toMatchObject({ nodeID: "gateway-1", mode: "cluster" });
  });

  it("syncs an order over REST on the gateway, handled and stored on the services node", async () => {
    const order = orderFixture();
    const res = await api(port, "POST", "/api/v1/orders", order);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ orderNo: order.orderNo, status: "ACTIVE", planId: expect.stringMatching(/^PL/) });

    const plan = await api(port, "GET", `/api/v1/plans/${res.body.planId}`);
    expect(plan.status).toBe(200);
    expect(plan.body.installments).toHaveLength(12);

    const replay = await api(port, "POST", "/api/v1/orders", order);
    expect(replay.body).toEqual(res.body);

    if (!process.env.MONGO_URI) {
      // The order lives in the services node's store; the gateway node stores no business data.
      expect(fs.readFileSync(path.join(svcData, "orders.db"), "utf8")).toContain(order.orderNo);
      expect(fs.existsSync(path.join(gwData, "orders.db"))).toBe(false);
    }
  });

  it("carries client errors across the mesh with their code", async () => {
    const order = orderFixture();
    await api(port, "POST", "/api/v1/orders", order);
    const conflict = await api(port, "POST", "/api/v1/orders", { ...order, principal: "5.00" });
    expect(conflict).toMatchObject({ status: 409, body: { code: "ORDER_CONFLICT" } });
    const invalid = await api(port, "POST", "/api/v1/orders", { ...order, orderNo: "X-1", term: 0 });
    expect(invalid).toMatchObject({ status: 422, body: { code: "VALIDATION_ERROR" } });
    const viewer = await api(port, "POST", "/api/v1/orders", order, "test-viewer-key-0123456789");
    expect(viewer.status).toBe(403);
  });

  it("refuses a second node running a file-store data service", async () => {
    if (process.env.MONGO_URI) return; // with MongoDB, data services may run anywhere
    const extra = spawnNode({ ...testEnv({ TRANSPORTER: nats.url }), SERVICES: "rules", NODE_ID: "services-2" });
    expect(await extra.exited).toBe(1);
    expect(extra.output()).toMatch(/rules already runs on node services-1/);
  });

  it("documents the remote actions in the gateway's OpenAPI document", async () => {
    const doc = await api(port, "GET", "/api/v1/openapi.json");
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/api/v1/orders", "/api/v1/plans/{planId}", "/api/v1/rules"]));
  });
});
