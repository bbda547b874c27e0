/** Data survives kill -9; a second node on the same data folder is refused. */
import { orderFixture, testEnv, WAIT_SCALE } from "../support/node";
import { api, spawnNode, waitForServicesOver } from "../support/process";
import { freePort } from "../support/servers";

jest.setTimeout(120_000 * WAIT_SCALE);

describe("durability of the embedded node", () => {
  it("keeps every acknowledged order and plan across kill -9, and refuses a second node on the same data", async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...testEnv(), PORT: String(port) };
    const first = spawnNode(env);
    await waitForServicesOver(port, ["order-sync", "schedule"], first);

    const synced = [];
    for (let i = 0; i < 20; i++) {
      const res = await api(port, "POST", "/api/v1/orders", orderFixture({ orderNo: `K9-${i}` }));
      expect(res.status).toBe(200);
      synced.push(res.body);
    }

    if (!env.MONGO_URI) {
      const second = spawnNode({ ...env, PORT: String(await freePort()) });
      expect(await second.exited).toBe(1);
      expect(second.output()).toMatch(/in use by process/);
    }

    await first.kill("SIGKILL");
    const again = spawnNode(env);
    try {
      await waitForServicesOver(port, ["order-sync", "schedule"], again);
      for (const o of synced) {
        const got = await api(port, "GET", `/api/v1/orders/${o.source}/${o.orderNo}`);
        expect(got.body).toEqual(o);
        const plan = await api(port, "GET", `/api/v1/plans/${o.planId}`);
        expect(plan.body.installments).toHaveLength(12);
      }
      const list = await api(port, "GET", "/api/v1/orders?source=LEASE_SYS&pageSize=100");
      expect(list.body.total).toBe(20);
    } finally {
      await again.kill();
    }
  });
});
