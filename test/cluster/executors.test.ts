/**
 * Two executor nodes over a real nats-server share the partitions through Redlock on a real
 * redis-server; one is killed (kill -9) and the other takes its partitions over after the lease
 * expires. Every due plan is debited exactly once at the (shared) simulated bank.
 */
import fs from "node:fs";
import path from "node:path";
import { tempDataDir, testEnv, WAIT_SCALE } from "../support/node";
import { api, spawnNode, waitForServicesOver, type NodeProcess } from "../support/process";
import { freePort, startNats, startRedis, type ServerHandle } from "../support/servers";

jest.setTimeout(180_000 * WAIT_SCALE);

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms * WAIT_SCALE;
  let v = await fn();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    v = await fn();
  }
  if (!ok(v)) throw new Error(`not met: ${JSON.stringify(v).slice(0, 3000)}`);
  return v;
}

describe("executors in a cluster: partitions shared through Redis, taken over when a node dies", () => {
  let nats: ServerHandle;
  let redis: ServerHandle;
  let main: NodeProcess;
  let worker: NodeProcess;
  let port: number;
  const banksDir = tempDataDir();

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    port = await freePort();
    const common = { ...testEnv({ TRANSPORTER: nats.url, REDIS_URL: redis.url }), TEST_CLOCK: "1", SIM_BANKS_DIR: banksDir, LEASE_TTL_MS: "2000", JOB_TICK_MS: "200", PARTITIONS: "16" };
    main = spawnNode({ ...common, NODE_ID: "main", PORT: String(port), DATA_DIR: tempDataDir() });
    worker = spawnNode({ ...common, NODE_ID: "worker", SERVICES: "deduction-executor", DATA_DIR: tempDataDir() });
    await waitForServicesOver(port, ["ledger", "schedule", "sign-bind", "order-sync", "rules", "clock", "deduction-executor"], main);
    for (const url of ["/api/v1/runs", "/api/v1/orders", "/api/v1/bindings", "/api/v1/plans"]) {
      await until(() => api(port, "GET", url).then((r) => r.status), (s) => s === 200);
    }
  });

  afterAll(async () => {
    await Promise.all([main?.kill(), worker?.kill()]);
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  async function duePlans(prefix: string, n: number) {
    const planIds: string[] = [];
    for (let i = 0; i < n; i++) {
      const cardNo = `62220202${prefix === "A" ? "1" : "2"}${String(i).padStart(10, "0")}`;
      const b = await api(port, "POST", "/api/v1/bindings", { customerId: `${prefix}${i}`, cardNo, name: "N", idNo: "110101199001011234", mobile: "13800138000", channels: ["BANK_A", "BANK_B"] });
      expect(b.status).toBe(200);
      const c = await api(port, "POST", `/api/v1/bindings/${b.body.bindingId}/confirm`, { codes: b.body.testCodes });
      expect(c.body.status).toBe("ACTIVE");
      const o = await api(port, "POST", "/api/v1/orders", {
        source: "CLUSTER", orderNo: `${prefix}-${i}`, bizType: "CONSUMER", funderId: "F1", productCode: "P1",
        customer: { id: `${prefix}${i}`, name: "N", idNo: "110101199001011234", mobile: "13800138000" },
        principal: "1200.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2026-01-15", bindingId: b.body.bindingId,
      });
      if (o.status !== 200) throw new Error(JSON.stringify(o.body));
      planIds.push(o.body.planId);
    }
    return planIds;
  }

  function bankDebits(): Array<{ tradeNo: string; moved: boolean }> {
    const out: Array<{ tradeNo: string; moved: boolean }> = [];
    for (const f of fs.readdirSync(banksDir)) {
      for (const line of fs.readFileSync(path.join(banksDir, f), "utf8").split("\n")) {
        if (!line.trim()) continue;
        const ev = JSON.parse(line);
        if (ev.e === "trade" && ev.r.kind === "DEBIT") out.push({ tradeNo: ev.r.tradeNo, moved: !!ev.r.moved });
      }
    }
    return out;
  }

  it("splits a run's partitions between the two nodes, then hands the dead node's partitions to the survivor", async () => {
    await api(port, "POST", "/api/v1/test-clock", { to: "2026-02-15T12:00:05+08:00", frozen: true });
    const first = await duePlans("A", 12);
    // Once both nodes hold leases, a run is worked on by both (a run triggered while leases move can
    // miss partitions nobody held at that instant: it stays RUNNING; the next run covers them).
    await until(
      async () => {
        const run = (await api(port, "POST", "/api/v1/runs", { slotTime: "12:00" })).body;
        await new Promise((r) => setTimeout(r, 1500));
        return (await api(port, "GET", `/api/v1/runs/${run.runId}`)).body;
      },
      (r: any) => r.status === "DONE" && new Set(Object.values(r.partitions).map((p: any) => p.nodeId)).size === 2,
      60_000,
    );
    for (const planId of first) {
      const plan = (await api(port, "GET", `/api/v1/plans/${planId}`)).body;
      expect(plan.installments[0].status).toBe("PAID");
    }

    await worker.kill("SIGKILL");
    const second = await duePlans("B", 12);
    await api(port, "POST", "/api/v1/test-clock", { to: "2026-02-15T18:00:05+08:00" });
    // Once the mesh notices the death (heartbeat timeout) and the leases expire, the survivor holds
    // every partition: a run is then worked on by it alone, on all 16.
    const done = await until(
      async () => {
        const run = (await api(port, "POST", "/api/v1/runs", { slotTime: "18:00" })).body;
        await new Promise((r) => setTimeout(r, 1500));
        return (await api(port, "GET", `/api/v1/runs/${run.runId}`)).body;
      },
      (r: any) => r.status === "DONE" && r.totals.partitions === 16 && Object.values(r.partitions).every((p: any) => p.nodeId === "main"),
      90_000,
    );
    expect(done.totals.partitions).toBe(16);
    for (const planId of second) {
      const plan = (await api(port, "GET", `/api/v1/plans/${planId}`)).body;
      expect(plan.installments[0].status).toBe("PAID");
    }
    // Exactly one debit that moved money per plan, whoever ran it.
    const moved = bankDebits().filter((d) => d.moved);
    for (const planId of [...first, ...second]) expect(moved.filter((d) => d.tradeNo.includes(planId))).toHaveLength(1);
  });
});
