/**
 * A slot is never missed, with real processes: a data node (ledger, schedule, banks, gateway) and
 * three executor processes over a real nats-server and redis-server; 2,000 plans due at the 12:00
 * slot. One executor is killed (kill -9) in the middle of the slot. With no manual run, by the end
 * of the slot every due installment is debited exactly once (the banks' journal is the witness),
 * and the slot's one run record shows every partition DONE.
 */
import fs from "node:fs";
import path from "node:path";
import { tempDataDir, testEnv } from "../support/node";
import { api, spawnNode, waitForServicesOver, type NodeProcess } from "../support/process";
import { freePort, startNats, startRedis, type ServerHandle } from "../support/servers";

jest.setTimeout(240_000);

const PLANS = 2000;
const SLOT_RUN = "SLOT-20260215T1200-RS-default-debit-time-points";
const EXECUTORS = ["exec-1", "exec-2", "exec-3"];

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000, every = 200): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await fn();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, every));
    v = await fn();
  }
  if (!ok(v)) throw new Error(`not met: ${JSON.stringify(v).slice(0, 3000)}`);
  return v;
}

/** Run `fn` over `items`, `n` at a time. */
async function inParallel<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

describe("a debit slot over three executor processes survives the death of one of them", () => {
  let nats: ServerHandle;
  let redis: ServerHandle;
  let data: NodeProcess;
  const executors = new Map<string, NodeProcess>();
  let port: number;
  const banksDir = tempDataDir();

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    port = await freePort();
    const common = { ...testEnv({ TRANSPORTER: nats.url, REDIS_URL: redis.url }), TEST_CLOCK: "1", SIM_BANKS_DIR: banksDir, LEASE_TTL_MS: "3000", JOB_TICK_MS: "250",
      // Trades left open by the dead node settle on business time: short enough for a test.
      STALE_TRADE_SECONDS: "10", REQUEST_TTL_SECONDS: "5" };
    data = spawnNode({ ...common, NODE_ID: "data", PORT: String(port), DATA_DIR: tempDataDir(), SERVICES: "api,clock,rules,schedule,order-sync,sign-bind,ledger,sim-banks" });
    for (const id of EXECUTORS) executors.set(id, spawnNode({ ...common, NODE_ID: id, SERVICES: "deduction-executor", DATA_DIR: tempDataDir() }));
    await waitForServicesOver(port, ["ledger", "schedule", "sign-bind", "order-sync", "rules", "clock", "sim-banks", "deduction-executor"], data);
    for (const url of ["/api/v1/runs", "/api/v1/orders", "/api/v1/bindings", "/api/v1/plans", "/api/v1/sim-banks"]) {
      await until(() => api(port, "GET", url).then((r) => r.status), (s) => s === 200);
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all([data?.kill(), ...[...executors.values()].map((e) => e.kill())]);
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  /** Debits the banks recorded, from their journals. */
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

  it("debits every due installment exactly once by the end of the slot, with no manual run", async () => {
    await api(port, "POST", "/api/v1/test-clock", { to: "2026-02-14T09:00:00+08:00", frozen: true });
    for (const code of ["BANK_A", "BANK_B"]) {
      // Definite answers, a little latency (the slot lasts long enough to lose a node in it), no limits in the way.
      const r = await api(port, "PUT", `/api/v1/sim-banks/${code}`, { successRate: 1, unknownRate: 0, latencyMs: { min: 20, max: 60 } });
      expect(r.status).toBe(200);
    }
    const planIds: string[] = [];
    await inParallel(Array.from({ length: PLANS }, (_, i) => i), 24, async (i) => {
      const cardNo = `62220203${String(i).padStart(11, "0")}`;
      const b = await api(port, "POST", "/api/v1/bindings", { customerId: `K${i}`, cardNo, name: "N", idNo: "110101199001011234", mobile: "13800138000", channels: ["BANK_A", "BANK_B"] });
      if (b.status !== 200) throw new Error(JSON.stringify(b.body));
      const c = await api(port, "POST", `/api/v1/bindings/${b.body.bindingId}/confirm`, { codes: b.body.testCodes });
      if (c.body.status !== "ACTIVE") throw new Error(JSON.stringify(c.body));
      const o = await api(port, "POST", "/api/v1/orders", {
        source: "FAULTS", orderNo: `K-${i}`, bizType: "CONSUMER", funderId: "F1", productCode: "P1",
        customer: { id: `K${i}`, name: "N", idNo: "110101199001011234", mobile: "13800138000" },
        principal: "1200.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2026-01-15", bindingId: b.body.bindingId,
      });
      if (o.status !== 200) throw new Error(JSON.stringify(o.body));
      planIds.push(o.body.planId);
    });
    expect(new Set(planIds).size).toBe(PLANS);

    // The 12:00 slot comes by itself; the clock runs on (30 minutes of grace: the test ends well within).
    await api(port, "POST", "/api/v1/test-clock", { to: "2026-02-15T12:00:05+08:00", frozen: false });
    const record = () => api(port, "GET", `/api/v1/runs/${SLOT_RUN}`).then((r) => (r.status === 200 ? r.body : null));
    // In the middle of the slot: some partitions done, and one executor working on others.
    const mid = await until(record, (r) => !!r && r.totals.partitionsDone >= 5 && Object.values(r.partitions).some((p: any) => p.status === "RUNNING"), 60_000, 50);
    expect(mid.totals.partitionsDone).toBeLessThan(64);
    const victim = (Object.values(mid.partitions).find((p: any) => p.status === "RUNNING") as any).nodeId as string;
    expect(EXECUTORS).toContain(victim);
    await executors.get(victim)!.kill("SIGKILL");
    const started = Date.now();

    const done = await until(record, (r) => r?.status === "DONE", 120_000, 500);
    const tookMs = Date.now() - started;
    expect(done).toMatchObject({ trigger: "SCHEDULE", slotId: "2026-02-15T12:00", totals: { partitions: 64, partitionsDone: 64, partitionsRunning: 0 } });
    expect(done.notDone).toEqual([]);
    // The survivors took the dead node's unfinished partitions over and finished them.
    const finishers = new Set(Object.values(done.partitions).map((p: any) => p.nodeId));
    expect(finishers.size).toBeGreaterThanOrEqual(2);
    const redone = Object.values(done.partitions).filter((p: any) => Object.values(p.executions).some((e: any) => e.nodeId === victim && e.status !== "DONE"));
    for (const p of redone as any[]) expect(p.nodeId).not.toBe(victim);

    // Exactly one debit that moved money per plan, all within the slot: nothing was run by hand.
    const moved = bankDebits().filter((d) => d.moved);
    const perPlan = new Map<string, number>();
    for (const d of moved) {
      const planId = planIds.find((id) => d.tradeNo.includes(id));
      if (planId) perPlan.set(planId, (perPlan.get(planId) ?? 0) + 1);
    }
    expect(perPlan.size).toBe(PLANS);
    expect([...perPlan.values()].every((n) => n === 1)).toBe(true);
    for (const d of moved) expect(d.tradeNo).toContain("202602151200");
    const stats = (await api(port, "GET", "/api/v1/trades-stats?date=2026-02-15")).body;
    expect(stats.buckets["DEBIT:SUCCESS"].count).toBe(PLANS);
    const runs = (await api(port, "GET", "/api/v1/runs?job=debitSlot&pageSize=100")).body.rows;
    expect(runs.filter((r: any) => r.trigger === "MANUAL")).toEqual([]);
    // The record's counters: no success counted twice; what the dead node did is counted up to its
    // last progress report (a period at most is lost with it, and debits it left in flight are
    // settled by the sweep, outside any run's counters).
    expect(done.totals.succeeded).toBeLessThanOrEqual(PLANS);
    expect(done.totals.succeeded).toBeGreaterThanOrEqual(PLANS * 0.9);
    expect(done.totals).toMatchObject({ inFlight: 0, unknown: 0 });
    expect(tookMs).toBeLessThan(120_000);
  });
});
