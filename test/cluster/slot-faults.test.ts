/**
 * A slot is never missed, with real processes: a data node (ledger, schedule, banks, gateway) and
 * three executor processes over a real nats-server and redis-server; 2,000 plans due at the 12:00
 * slot. In the middle of the slot, one fault per scenario — kill -9 of an executor, a Redis restart
 * (it comes back empty: no persistence), a NATS restart, kill -9 of the data node (started again on
 * its data) — and all of them together. With no manual run, by the end of the slot every due
 * installment is debited exactly once (the banks' journals are the witness), and the slot's one run
 * record shows every partition DONE.
 *
 * The scenarios share one cluster and its 2,000 plans (seeding them is most of the set-up time):
 * scenario k runs the slot of month k (the plans' installments 2, 3, …, each due on the 15th at
 * 12:00), and starts with every server and three executors up (an executor killed in the previous
 * scenario is started again). Any subset runs on its own (jest -t): a month skipped leaves its
 * installments to the next slot, still one debit per plan.
 */
import fs from "node:fs";
import path from "node:path";
import { tempDataDir, testEnv } from "../support/node";
import { api, spawnNode, waitForServicesOver, type NodeProcess } from "../support/process";
import { freePort, startNats, startRedis, type ServerHandle } from "../support/servers";

jest.setTimeout(300_000);

const PLANS = 2000;
/** The run id of the 12:00 slot of a day (yyyy-mm-dd). */
const slotRun = (day: string) => `SLOT-${day.replace(/-/g, "")}T1200-RS-default-debit-time-points`;
/** The simulated banks: definite answers, a little latency (the slot lasts long enough to fault in it), no limits in the way — from the environment, so a restarted banks' node keeps them. */
const BANKS = { successRate: 1, unknownRate: 0, latencyMs: { min: 20, max: 60 } };
const EXECUTORS = ["exec-1", "exec-2", "exec-3"];
const DATA_SERVICES = "api,clock,rules,schedule,order-sync,sign-bind,ledger,sim-banks";
/** How long a restarted server or node stays away (SLOT_FAULTS_DOWN_MS: longer outages, e.g. past the mesh's 15 s heartbeat time-out). */
const DOWN_MS = Number(process.env.SLOT_FAULTS_DOWN_MS ?? 3000);

/** executor: kill -9 of one at work (it stays down); executor-back: the same, started again DOWN_MS later. */
type Fault = "executor" | "executor-back" | "redis" | "nats" | "data";

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The servers and nodes the scenarios share, and the faults they inflict on them. */
class SlotCluster {
  nats!: ServerHandle;
  redis!: ServerHandle;
  data!: NodeProcess;
  readonly executors = new Map<string, NodeProcess>();
  port!: number;
  readonly banksDir = tempDataDir();
  private dataEnv!: NodeJS.ProcessEnv;
  private common!: NodeJS.ProcessEnv;
  readonly planIds: string[] = [];

  async start(): Promise<void> {
    [this.nats, this.redis] = await Promise.all([startNats(), startRedis()]);
    this.port = await freePort();
    this.common = { ...testEnv({ TRANSPORTER: this.nats.url, REDIS_URL: this.redis.url }), TEST_CLOCK: "1", SIM_BANKS_DIR: this.banksDir, LEASE_TTL_MS: "3000", JOB_TICK_MS: "250",
      // Trades left open by a dead node settle on business time: short enough for a test.
      STALE_TRADE_SECONDS: "10", REQUEST_TTL_SECONDS: "5", LOG_LEVEL: process.env.SLOT_FAULTS_LOG_LEVEL ?? "warn" };
    this.dataEnv = { ...this.common, NODE_ID: "data", PORT: String(this.port), DATA_DIR: tempDataDir(), SERVICES: DATA_SERVICES, SIM_BANKS_CONFIG: JSON.stringify({ BANK_A: BANKS, BANK_B: BANKS }) };
    this.data = spawnNode(this.dataEnv);
    for (const id of EXECUTORS) this.startExecutor(id);
    await this.dataUp(["deduction-executor"]);
  }

  startExecutor(id: string): void {
    this.executors.set(id, spawnNode({ ...this.common, NODE_ID: id, SERVICES: "deduction-executor", DATA_DIR: tempDataDir() }));
  }

  /** Start again every executor that is not running (killed by a scenario). */
  reviveExecutors(): void {
    for (const [id, node] of this.executors) if (node.proc.exitCode !== null || node.proc.signalCode !== null) this.startExecutor(id);
  }

  /** The data node's services (and `more` of the mesh) answer through its gateway. */
  async dataUp(more: string[] = []): Promise<void> {
    await waitForServicesOver(this.port, ["ledger", "schedule", "sign-bind", "order-sync", "rules", "clock", "sim-banks", ...more], this.data, 60_000);
    for (const url of ["/api/v1/runs", "/api/v1/orders", "/api/v1/bindings", "/api/v1/plans", "/api/v1/sim-banks"]) {
      await until(() => this.call("GET", url).then((r) => r.status), (s) => s === 200);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.data?.kill(), ...[...this.executors.values()].map((e) => e.kill())]);
    await Promise.all([this.nats?.stop(), this.redis?.stop()]);
  }

  call(method: string, url: string, body?: unknown) {
    return api(this.port, method, url, body);
  }

  /** 2,000 plans with a bound card, 12 monthly installments due on the 15th from 2026-02-15. */
  async seed(): Promise<void> {
    await this.call("POST", "/api/v1/test-clock", { to: "2026-02-14T09:00:00+08:00", frozen: true });
    // A request lost with a server or node is found NOT_FOUND by the sweep's query; that is final only
    // after the request's expiry (REQUEST_TTL_SECONDS) plus a minute's margin, and the next query waits
    // for the back-off too: one minute between queries (default 1, 5, 15… minutes) keeps the retry of
    // such a debit, in the same slot, within the test's time.
    const rules = (await this.call("GET", "/api/v1/rules?kind=CHANNEL_SETTINGS&pageSize=100")).body.rows;
    const base = rules.find((r: any) => !r.scope?.bizType && !r.scope?.funderId && !r.scope?.productCode);
    const put = await this.call("PUT", `/api/v1/rules/${base.id}`, { expectedVersion: base.version, content: { ...base.content, unknownQueryBackoffMinutes: [1, 1, 1, 1, 1] } });
    expect(put.status).toBe(200);
    await inParallel(Array.from({ length: PLANS }, (_, i) => i), 32, async (i) => {
      const cardNo = `62220203${String(i).padStart(11, "0")}`;
      const b = await this.call("POST", "/api/v1/bindings", { customerId: `K${i}`, cardNo, name: "N", idNo: "110101199001011234", mobile: "13800138000", channels: ["BANK_A", "BANK_B"] });
      if (b.status !== 200) throw new Error(JSON.stringify(b.body));
      const c = await this.call("POST", `/api/v1/bindings/${b.body.bindingId}/confirm`, { codes: b.body.testCodes });
      if (c.body.status !== "ACTIVE") throw new Error(JSON.stringify(c.body));
      const o = await this.call("POST", "/api/v1/orders", {
        source: "FAULTS", orderNo: `K-${i}`, bizType: "CONSUMER", funderId: "F1", productCode: "P1",
        customer: { id: `K${i}`, name: "N", idNo: "110101199001011234", mobile: "13800138000" },
        principal: "1200.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2026-01-15", bindingId: b.body.bindingId,
      });
      if (o.status !== 200) throw new Error(JSON.stringify(o.body));
      this.planIds.push(o.body.planId);
    });
    expect(new Set(this.planIds).size).toBe(PLANS);
  }

  /** The run record of a day's 12:00 slot, or null (not there yet, or the gateway away: the data node is down). */
  record(day: string): Promise<any> {
    return this.call("GET", `/api/v1/runs/${slotRun(day)}`).then((r) => (r.status === 200 ? r.body : null), () => null);
  }

  /** kill -9 of an executor. */
  async killExecutor(id: string): Promise<void> {
    await this.executors.get(id)!.kill("SIGKILL");
  }

  /** kill -9 of the data node, away DOWN_MS, then started again on the same data, journals and port. */
  async crashDataNode(): Promise<void> {
    await this.data.kill("SIGKILL");
    await sleep(DOWN_MS);
    this.data = spawnNode(this.dataEnv);
    await this.dataUp();
  }

  /**
   * What to look at when a scenario fails (written to a file, whose path is returned): the record,
   * the slot's open trades, the plans the banks did not debit in it with their trades, the end of
   * every node's output.
   */
  async diagnose(name: string, day: string, record: any): Promise<string> {
    const file = path.join(tempDataDir(), "slot-faults.log");
    const get = (url: string) => this.call("GET", url).then((r) => r.body, (err) => String(err));
    const open: Record<string, unknown> = {};
    for (const state of ["INIT", "SENDING", "UNKNOWN"]) open[state] = await get(`/api/v1/trades?slotId=${day}T12:00&state=${state}&pageSize=100`);
    const slotKey = `${day.replace(/-/g, "")}1200`;
    const debited = new Set(this.bankDebits().filter((d) => d.moved && d.tradeNo.includes(slotKey)).map((d) => d.tradeNo.split("-")[1]));
    const missed: Record<string, unknown> = {};
    for (const planId of this.planIds.filter((id) => !debited.has(id)).slice(0, 20)) {
      missed[planId] = { trades: await get(`/api/v1/trades?planId=${planId}&pageSize=20`), plan: await get(`/api/v1/plans/${planId}`) };
    }
    const outputs = [["data", this.data], ...this.executors].map(([id, n]) => `===== ${id}\n${(n as NodeProcess).output().slice(-200_000)}`);
    const head = `${name}: ${record?.status} ${record?.totals?.partitionsDone}/64; ${this.planIds.length - debited.size} plans not debited; servers' logs in ${this.nats.dir} and ${this.redis.dir}`;
    fs.writeFileSync(file, [head, JSON.stringify(record, null, 1), JSON.stringify(open, null, 1), JSON.stringify(missed, null, 1), ...outputs].join("\n"));
    return file;
  }

  /** The slot's trades with steps still pending, as "tradeNo: steps". */
  async pendingSteps(day: string): Promise<string[]> {
    const left: string[] = [];
    for (let page = 1; ; page++) {
      const body = (await this.call("GET", `/api/v1/trades?slotId=${day}T12:00&kind=DEBIT&pageSize=500&page=${page}`)).body;
      for (const t of body.rows) if (t.pending?.length) left.push(`${t.tradeNo}: ${t.pending.join(",")}`);
      if (page >= body.totalPages) return left;
    }
  }

  /** Debits the banks recorded, from their journals. */
  bankDebits(): Array<{ tradeNo: string; moved: boolean }> {
    const out: Array<{ tradeNo: string; moved: boolean }> = [];
    for (const f of fs.readdirSync(this.banksDir)) {
      for (const line of fs.readFileSync(path.join(this.banksDir, f), "utf8").split("\n")) {
        if (!line.trim()) continue;
        const ev = JSON.parse(line); // a line cut short by a kill -9 is dropped by the bank when it starts again
        if (ev.e === "trade" && ev.r.kind === "DEBIT") out.push({ tradeNo: ev.r.tradeNo, moved: !!ev.r.moved });
      }
    }
    return out;
  }
}

/**
 * What must hold at the end of a day's slot, whatever failed in it: the one run record DONE on all
 * 64 partitions, exactly one debit that moved money per plan (the banks' journals), all made by this
 * slot, none by hand. `victim`: the node instance (the key of its executions) of an executor killed in it.
 */
async function checkSlot(cluster: SlotCluster, day: string, done: any, opts: { victim?: string; answersLost: boolean }): Promise<void> {
  expect(done).toMatchObject({ status: "DONE", trigger: "SCHEDULE", slotId: `${day}T12:00`, totals: { partitions: 64, partitionsDone: 64, partitionsRunning: 0 } });
  expect(done.notDone).toEqual([]);

  if (opts.victim) {
    // Other node instances (the survivors, or the node started again) took the dead one's unfinished partitions over and finished them.
    const victim = opts.victim;
    const redone = Object.values(done.partitions).filter((p: any) => p.executions[victim] && p.executions[victim].status !== "DONE");
    for (const p of redone as any[]) expect(Object.entries(p.executions).some(([key, e]: [string, any]) => key !== victim && e.status === "DONE")).toBe(true);
  }

  const slotKey = `${day.replace(/-/g, "")}1200`;
  const moved = cluster.bankDebits().filter((d) => d.moved && d.tradeNo.includes(slotKey));
  const perPlan = new Map<string, number>();
  for (const d of moved) {
    const planId = d.tradeNo.split("-")[1];
    perPlan.set(planId, (perPlan.get(planId) ?? 0) + 1);
  }
  expect([...perPlan.keys()].sort()).toEqual([...cluster.planIds].sort());
  expect([...perPlan.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  const stats = (await cluster.call("GET", `/api/v1/trades-stats?date=${day}`)).body;
  expect(stats.buckets["DEBIT:SUCCESS"].count).toBe(PLANS);
  // Nothing of the slot is left open (a debit whose answer was lost was settled by the sweep's query).
  for (const state of ["INIT", "SENDING", "UNKNOWN"]) {
    expect((await cluster.call("GET", `/api/v1/trades?slotId=${day}T12:00&state=${state}&pageSize=1`)).body.total).toBe(0);
  }
  // Every step an outcome left pending (flow, repayment applied) is finished soon (by its sender or the sweep).
  const pendingSteps = await until(() => cluster.pendingSteps(day), (left) => left.length === 0, 45_000, 1000).catch(async () => cluster.pendingSteps(day));
  expect(pendingSteps).toEqual([]);
  const runs = (await cluster.call("GET", "/api/v1/runs?job=debitSlot&pageSize=100")).body.rows;
  expect(runs.filter((r: any) => r.trigger === "MANUAL")).toEqual([]);
  // The record's counters: no send counted twice (each is a trade's claim, INIT -> SENDING); what a
  // dead node did is counted up to its last progress report (a period at most is lost with it, and
  // debits it left in flight are settled by the sweep, outside any run's counters); nothing in
  // flight at the end. Debits whose answer was lost (a server or the banks' node away) were UNKNOWN
  // for a while. (`succeeded` is not bounded from above: a node that opens a trade another node has
  // just sent and finds it SUCCESS counts a success too, see domain/debit-flow.ts.)
  const slotTrades = (await cluster.call("GET", `/api/v1/trades?slotId=${day}T12:00&kind=DEBIT&pageSize=1`)).body.total;
  expect(done.totals.sent).toBeLessThanOrEqual(slotTrades);
  expect(done.totals.succeeded).toBeGreaterThanOrEqual(PLANS * 0.9);
  expect(done.totals.inFlight).toBe(0);
  if (!opts.answersLost) expect(done.totals.unknown).toBe(0);
}

const SCENARIOS: Array<{ name: string; faults: Fault[] }> = [
  { name: "kill -9 of an executor", faults: ["executor"] },
  { name: "a Redis restart", faults: ["redis"] },
  { name: "a NATS restart", faults: ["nats"] },
  { name: "kill -9 of the data node, started again on its data", faults: ["data"] },
  { name: "all of these together (the executor started again)", faults: ["executor-back", "redis", "nats", "data"] },
];

describe("a debit slot over three executor processes, 2,000 plans due, with no manual run", () => {
  const cluster = new SlotCluster();

  beforeAll(async () => {
    await cluster.start();
    const t0 = Date.now();
    await cluster.seed();
    process.stdout.write(`slot-faults: ${PLANS} plans seeded in ${Date.now() - t0} ms\n`);
  }, 240_000);
  afterAll(() => cluster.stop());
  // Every scenario starts with three executors.
  afterEach(() => cluster.reviveExecutors());

  it.each(SCENARIOS.map((s, i) => ({ ...s, day: `2026-${String(i + 2).padStart(2, "0")}-15` })))(
    "every due installment debited exactly once by the end of the slot despite $name in the middle of it ($day)",
    async ({ name, faults, day }) => {
      // The day before, then the 12:00 slot comes by itself; the clock runs on (30 minutes of grace: the test ends well within).
      await cluster.call("POST", "/api/v1/test-clock", { to: `${day.slice(0, 8)}14T09:00:00+08:00`, frozen: true });
      await cluster.call("POST", "/api/v1/test-clock", { to: `${day}T12:00:05+08:00`, frozen: false });
      // In the middle of the slot: all three executors at work, some partitions done, others running.
      const mid = await until(
        () => cluster.record(day),
        (r) => !!r && r.totals.partitionsDone >= 5 && Object.values(r.partitions).some((p: any) => p.status === "RUNNING") &&
          new Set(Object.values(r.partitions).flatMap((p: any) => Object.values(p.executions).map((e: any) => e.nodeId))).size === EXECUTORS.length,
        60_000,
        50,
      );
      expect(mid.totals.partitionsDone).toBeLessThan(64);
      const running = Object.values(mid.partitions).find((p: any) => p.status === "RUNNING") as any;
      const [victimInstance, victimExecution] = Object.entries(running.executions).find(([, e]: [string, any]) => e.status === "RUNNING") as [string, any];
      const victim = victimExecution.nodeId as string;
      expect(EXECUTORS).toContain(victim);

      const started = Date.now();
      await Promise.all(faults.map((f) => {
        switch (f) {
          case "executor": return cluster.killExecutor(victim);
          case "executor-back": return cluster.killExecutor(victim).then(() => sleep(DOWN_MS)).then(() => cluster.startExecutor(victim));
          case "redis": return cluster.redis.restart({ downMs: DOWN_MS });
          case "nats": return cluster.nats.restart({ downMs: DOWN_MS });
          case "data": return cluster.crashDataNode();
        }
      }));

      let done: any = null;
      try {
        done = await until(() => cluster.record(day), (r) => r?.status === "DONE" || r?.status === "FAILED", 180_000, 500);
        const tookMs = Date.now() - started;
        process.stdout.write(`slot-faults [${name}]: slot ${done.status} ${tookMs} ms after the fault; ${done.totals.partitionsDone}/64 partitions\n`);
        const killed = faults.includes("executor") || faults.includes("executor-back");
        await checkSlot(cluster, day, done, { victim: killed ? victimInstance : undefined, answersLost: faults.includes("nats") || faults.includes("data") });
        // Well within the slot's 30 minutes of grace. The longest path: a debit request lost with a
        // server or node is NOT_FOUND at the bank, final only after its expiry (5 s) plus a minute's
        // margin, seen at a sweep (every 15 s) after the query back-off (a minute); then the slot sends
        // it again — about 1.5 minutes, plus the 30 s time-out of calls lost on the way.
        expect(tookMs).toBeLessThan(150_000);
      } catch (err: any) {
        err.message += `\n(details in ${await cluster.diagnose(name, day, done ?? (await cluster.record(day)))})`;
        throw err;
      }
    },
  );
});
