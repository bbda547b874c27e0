/**
 * The partitioned-job mixin on real brokers: embedded runs cover every partition exactly once per
 * trigger, retries end in FAILED for the partition that keeps failing, progress is kept and
 * emitted, scheduled runs never overlap on a partition, and two nodes (Fake transporter, shared
 * in-process lock namespace) split the partitions and take over from a node that stops.
 */
import crypto from "node:crypto";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { PartitionedJobs, type JobDefinitions, type JobRun, type PartitionedJobsOptions } from "../../mixins/partitioned-jobs.mixin";
import { startRedis, type ServerHandle } from "../support/servers";

const P = 16;
const ALL = Array.from({ length: P }, (_, i) => i);
const FAST: PartitionedJobsOptions = { ttlMs: 600, tickMs: 50, progressEveryMs: 20 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Recorder {
  /** runId → partitions run, in order. */
  ran: Map<string, number[]>;
  record(runId: string, p: number): void;
}

function recorder(): Recorder {
  const ran = new Map<string, number[]>();
  return {
    ran,
    record(runId, p) {
      ran.set(runId, [...(ran.get(runId) ?? []), p]);
    },
  };
}

function sorted(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

function collectorService(jobs: JobDefinitions, opts: PartitionedJobsOptions = FAST, cfg: { lockNamespace?: string; redisUrl?: string } = {}): ServiceSchema {
  return {
    name: "collector",
    mixins: [PartitionedJobs({ partitions: P, ...cfg }, opts)],
    jobs,
  } as ServiceSchema;
}

describe("PartitionedJobs mixin", () => {
  let brokers: ServiceBroker[] = [];

  async function startBroker(schemas: ServiceSchema[], options: Record<string, unknown> = {}): Promise<ServiceBroker> {
    const broker = new ServiceBroker({ logger: false, ...options });
    for (const s of schemas) broker.createService(s);
    brokers.push(broker);
    await broker.start();
    return broker;
  }

  afterEach(async () => {
    await Promise.all(brokers.map((b) => b.stop()));
    brokers = [];
  });

  it("runs every partition exactly once per manual trigger in embedded mode, with progress counts", async () => {
    const rec = recorder();
    const broker = await startBroker([
      collectorService({
        scan: {
          async run(partition, ctx) {
            rec.record(ctx.runId, partition);
            return { processed: partition + 1, reminded: 1 };
          },
        },
      }),
    ]);
    const svc = broker.getLocalService("collector") as any;
    expect(svc.heldPartitions()).toEqual(ALL);

    const first: string = svc.triggerJob("scan", { meta: { by: "ops" } });
    const second: string = svc.triggerJob("scan");
    expect(first).not.toBe(second);
    const run: JobRun = await svc.waitForJobRun(first);
    await svc.waitForJobRun(second);

    expect(sorted(rec.ran.get(first)!)).toEqual(ALL);
    expect(sorted(rec.ran.get(second)!)).toEqual(ALL);
    expect(run).toMatchObject({
      runId: first,
      service: "collector",
      job: "scan",
      trigger: "MANUAL",
      meta: { by: "ops" },
      status: "DONE",
      finishedAt: expect.any(String),
      notHeld: [],
      totals: { partitions: P, pending: 0, running: 0, done: P, failed: 0, skipped: 0, processed: (P * (P + 1)) / 2, counters: { reminded: P } },
    });
    expect(run.partitions[3]).toMatchObject({ status: "DONE", attempts: 1, processed: 4, counters: { reminded: 1 } });
    expect(svc.jobRun(first)).toEqual(run);
    expect(svc.jobRuns().map((r: JobRun) => r.runId)).toEqual([second, first]);
    expect(svc.jobRuns({ job: "other" })).toEqual([]);
  });

  it("runs only the partitions asked for, and refuses unknown jobs and partitions", async () => {
    const rec = recorder();
    const broker = await startBroker([collectorService({ scan: { run: async (p, ctx) => (rec.record(ctx.runId, p), { processed: 0 }) } })]);
    const svc = broker.getLocalService("collector") as any;
    const runId = svc.triggerJob("scan", { partitions: [3, 1, 3] });
    const run: JobRun = await svc.waitForJobRun(runId);
    expect(sorted(rec.ran.get(runId)!)).toEqual([1, 3]);
    expect(Object.keys(run.partitions)).toEqual(["1", "3"]);
    expect(run.totals).toMatchObject({ partitions: 2, done: 2 });

    expect(() => svc.triggerJob("nope")).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
    expect(() => svc.triggerJob("scan", { partitions: [P] })).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });

  it("retries a failing partition, then marks it FAILED while the others are DONE", async () => {
    const attempts = new Map<number, number>();
    const broker = await startBroker([
      collectorService({
        debit: {
          retries: 2,
          retryDelayMs: 5,
          async run(partition) {
            const n = (attempts.get(partition) ?? 0) + 1;
            attempts.set(partition, n);
            if (partition === 5) throw new Error("channel B unavailable");
            if (partition === 9 && n === 1) throw new Error("a transient failure");
            return { processed: 1 };
          },
        },
      }),
    ]);
    const svc = broker.getLocalService("collector") as any;
    const run: JobRun = await svc.waitForJobRun(svc.triggerJob("debit"));

    expect(run.status).toBe("FAILED");
    expect(run.partitions[5]).toMatchObject({ status: "FAILED", attempts: 3, processed: 0, error: "channel B unavailable" });
    expect(attempts.get(5)).toBe(3);
    expect(run.partitions[9]).toMatchObject({ status: "DONE", attempts: 2 });
    expect(run.partitions[9].error).toBeUndefined();
    for (const p of ALL.filter((p) => p !== 5)) expect(run.partitions[p].status).toBe("DONE");
    expect(run.totals).toMatchObject({ done: P - 1, failed: 1, processed: P - 1 });
  });

  it("emits jobs.progress, throttled, ending with the finished run", async () => {
    const events: JobRun[] = [];
    const broker = await startBroker([
      collectorService(
        {
          scan: {
            concurrency: 2,
            async run() {
              await sleep(10);
              return { processed: 2 };
            },
          },
        },
        { ...FAST, progressEveryMs: 25 },
      ),
      { name: "console-feed", events: { "jobs.progress": { handler: (ctx: any) => void events.push(ctx.params) } } },
    ]);
    const svc = broker.getLocalService("collector") as any;
    const runId = svc.triggerJob("scan");
    await svc.waitForJobRun(runId);
    await until(() => events.some((e) => e.runId === runId && e.finishedAt !== undefined));
    const mine = events.filter((e) => e.runId === runId);
    expect(mine[0]).toMatchObject({ status: "RUNNING", totals: { pending: P } });
    expect(mine.at(-1)).toMatchObject({ status: "DONE", totals: { done: P, processed: 2 * P } });
    expect(mine.length).toBeGreaterThan(2);
    expect(mine.length).toBeLessThan(P + 2); // throttled: not one per partition
  });

  it("runs scheduled jobs when due, never twice at once on a partition", async () => {
    const running = new Set<string>();
    let overlaps = 0;
    const due = { once: true };
    const rec = recorder();
    const broker = await startBroker([
      collectorService({
        sweep: {
          everyMs: 40,
          immediate: true,
          concurrency: 16,
          async run(partition, ctx) {
            const key = `sweep:${partition}`;
            if (running.has(key)) overlaps++;
            running.add(key);
            await sleep(60); // longer than the period
            running.delete(key);
            rec.record(ctx.runId, partition);
            return { processed: 1 };
          },
        },
        slot: {
          schedule: (_svc, info) => {
            expect(info.now).toBeInstanceOf(Date);
            const go = due.once;
            due.once = false;
            return go;
          },
          run: async (p, ctx) => (rec.record(ctx.runId, p), { processed: 1 }),
        },
      }),
    ]);
    const svc = broker.getLocalService("collector") as any;
    // A manual run in the middle waits for each partition to be free.
    await sleep(30);
    svc.triggerJob("sweep");
    await until(() => svc.jobRuns({ job: "sweep" }).filter((r: JobRun) => r.trigger === "SCHEDULE" && r.finishedAt).length >= 2, 5000);
    await until(() => svc.jobRuns({ job: "sweep" }).every((r: JobRun) => r.finishedAt));

    expect(overlaps).toBe(0);
    const sweeps: JobRun[] = svc.jobRuns({ job: "sweep" });
    expect(sweeps.some((r) => r.trigger === "MANUAL")).toBe(true);
    for (const r of sweeps) expect(sorted(rec.ran.get(r.runId)!)).toEqual(ALL);
    const slots: JobRun[] = svc.jobRuns({ job: "slot" });
    expect(slots).toHaveLength(1);
    expect(slots[0]).toMatchObject({ trigger: "SCHEDULE", status: "DONE", totals: { done: P } });
  });

  it("runs a broadcast trigger under one runId (event <service>.jobs.trigger)", async () => {
    const rec = recorder();
    const broker = await startBroker([collectorService({ scan: { run: async (p, ctx) => (rec.record(ctx.runId, p), { processed: 1 }) } })]);
    const svc = broker.getLocalService("collector") as any;
    const runId: string = await svc.broadcastJob("scan", { meta: { reason: "console" } });
    const run: JobRun = await svc.waitForJobRun(runId);
    expect(run).toMatchObject({ runId, trigger: "MANUAL", meta: { reason: "console" }, status: "DONE" });
    expect(sorted(rec.ran.get(runId)!)).toEqual(ALL);

    await broker.broadcast("collector.jobs.trigger", { job: "scan", runId: "from-elsewhere", partitions: [0, 1] });
    expect((await svc.waitForJobRun("from-elsewhere")).totals.done).toBe(2);
  });

  it("splits partitions between two nodes, runs each once per broadcast, and takes over from a node that stops", async () => {
    const rec = recorder();
    const namespace = "pj-" + crypto.randomBytes(4).toString("hex");
    const lockNamespace = namespace; // one in-process lock registry: the two brokers compete like two nodes
    const job: JobDefinitions = { scan: { run: async (p, ctx) => (rec.record(ctx.runId, p), { processed: 1 }) } };
    const opts = { namespace, transporter: "Fake", heartbeatInterval: 1 };
    const a = await startBroker([collectorService(job, FAST, { lockNamespace })], { ...opts, nodeID: "node-a" });
    const b = await startBroker([collectorService(job, FAST, { lockNamespace })], { ...opts, nodeID: "node-b" });
    const svcA = a.getLocalService("collector") as any;
    const svcB = b.getLocalService("collector") as any;

    await until(() => svcA.heldPartitions().length === 8 && svcB.heldPartitions().length === 8);
    expect(sorted([...svcA.heldPartitions(), ...svcB.heldPartitions()])).toEqual(ALL);

    const runId: string = await svcA.broadcastJob("scan");
    const [runA, runB]: JobRun[] = await Promise.all([svcA.waitForJobRun(runId), svcB.waitForJobRun(runId)]);
    expect(sorted(rec.ran.get(runId)!)).toEqual(ALL); // each partition exactly once across the nodes
    expect(runA.totals.done + runB.totals.done).toBe(P);
    expect(runA.nodeId).toBe("node-a");
    expect(runB.nodeId).toBe("node-b");

    await b.stop();
    brokers = brokers.filter((x) => x !== b);
    await until(() => svcA.heldPartitions().length === P);
    const after: JobRun = await svcA.waitForJobRun(svcA.triggerJob("scan"));
    expect(after.totals.done).toBe(P);
  });

  it("releases its leases when the service stops", async () => {
    const lockNamespace = "pj-" + crypto.randomBytes(4).toString("hex");
    const schema = () => collectorService({ scan: { run: async () => ({ processed: 0 }) } }, FAST, { lockNamespace });
    const first = await startBroker([schema()]);
    expect((first.getLocalService("collector") as any).heldPartitions()).toEqual(ALL);
    await first.stop();
    brokers = brokers.filter((x) => x !== first);
    // The next holder gets every partition at once, not after the leases' ttl.
    const second = await startBroker([schema()]);
    expect((second.getLocalService("collector") as any).heldPartitions()).toEqual(ALL);
  });

  describe("with Redlock leases on a real Redis", () => {
    let redis: ServerHandle;

    beforeAll(async () => {
      redis = await startRedis();
    });

    afterAll(async () => {
      await redis?.stop();
    });

    it("two nodes split the partitions through Redis and run each once per broadcast", async () => {
      const rec = recorder();
      const namespace = "pjr-" + crypto.randomBytes(4).toString("hex");
      const cfg = { redisUrl: redis.url, lockNamespace: namespace };
      const job: JobDefinitions = { scan: { run: async (p, ctx) => (rec.record(ctx.runId, p), { processed: 1 }) } };
      const opts = { namespace, transporter: "Fake", heartbeatInterval: 1 };
      const a = await startBroker([collectorService(job, FAST, cfg)], { ...opts, nodeID: "node-a" });
      const b = await startBroker([collectorService(job, FAST, cfg)], { ...opts, nodeID: "node-b" });
      const svcA = a.getLocalService("collector") as any;
      const svcB = b.getLocalService("collector") as any;
      expect(svcA.lockProvider.kind).toBe("redlock");

      await until(() => svcA.heldPartitions().length === 8 && svcB.heldPartitions().length === 8);
      expect(sorted([...svcA.heldPartitions(), ...svcB.heldPartitions()])).toEqual(ALL);
      const runId: string = await svcB.broadcastJob("scan");
      await Promise.all([svcA.waitForJobRun(runId), svcB.waitForJobRun(runId)]);
      expect(sorted(rec.ran.get(runId)!)).toEqual(ALL);
    });
  });
});
