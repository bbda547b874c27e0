/**
 * The partitioned-job mixin on real brokers: embedded runs cover every partition exactly once per
 * trigger, retries end in FAILED for the partition that keeps failing, progress is kept and
 * emitted, scheduled runs never overlap on a partition, and two nodes (Fake transporter, shared
 * in-process lock namespace) split the partitions and take over from a node that stops.
 *
 * Slots ("never missed"): one run per slot across the nodes, recorded by a run book that merges
 * progress with the ledger's own functions; a node taking partitions over mid-slot, a node
 * restarted within the slot, a lease lost before start and a data service away for a while all
 * end with every partition DONE.
 */
import crypto from "node:crypto";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { PartitionedJobs, type JobContext, type JobDefinitions, type JobRun, type OpenSlot, type PartitionedJobsOptions } from "../../mixins/partitioned-jobs.mixin";
import { mergeRunProgress, runStatus, runTotals } from "../../services/ledger.service";
import type { RunRecord } from "../../contracts/deduction-executor.contract";
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

/**
 * The run records' keeper as the mixin sees it (`ledger.runDone`, the `jobs.progress` event), in
 * memory, merging with the ledger's functions. `away` makes it unreachable (a data node down).
 */
function runBook() {
  const records = new Map<string, RunRecord>();
  const book = { records, away: false, reports: 0 };
  const schema: ServiceSchema = {
    name: "ledger",
    actions: {
      runDone(ctx: any) {
        if (book.away) throw new Error("ledger away");
        const r = records.get(ctx.params.runId);
        return { runId: ctx.params.runId, found: !!r, done: r ? Object.keys(r.partitions).filter((p) => r.partitions[p].status === "DONE").map(Number) : [] };
      },
    },
    events: {
      "jobs.progress"(ctx: any) {
        if (book.away) return; // lost, as an event to a dead node is
        book.reports++;
        const run: JobRun = ctx.params;
        const cur = records.get(run.runId) ?? ({ _id: run.runId, runId: run.runId, job: run.job, trigger: run.trigger, status: "RUNNING", wanted: run.wanted, partitions: {}, totals: {}, startedAt: "", updatedAt: "", version: 0 } as RunRecord);
        cur.partitions = mergeRunProgress(cur.partitions, run, run.instance);
        cur.totals = runTotals(cur.partitions, cur.wanted);
        cur.status = cur.status === "DONE" ? "DONE" : runStatus(cur.totals, run.until, Date.now());
        records.set(run.runId, cur);
      },
    },
  };
  return Object.assign(book, { schema });
}

/** A slot job: open while `slot.open`, until `slot.until`; `body` does the work. */
function slotJob(slot: { open: boolean; until: number; runId: string }, body: (p: number, ctx: JobContext) => Promise<Record<string, number>>, more: Record<string, unknown> = {}): JobDefinitions {
  return {
    slot: {
      slots: (): OpenSlot[] => (slot.open ? [{ runId: slot.runId, until: slot.until, meta: { slotId: "2026-03-05T12:00" } }] : []),
      retryDelayMs: 10,
      maxRetryDelayMs: 40,
      concurrency: 4,
      run: async (p: number, ctx: JobContext) => ({ processed: 1, ...(await body(p, ctx)) }) as any,
      ...more,
    },
  };
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

  describe("slots: one run per slot across the nodes, run to completion whatever fails", () => {
    const mesh = () => ({ namespace: "pjs-" + crypto.randomBytes(4).toString("hex"), lockNamespace: "pjs-" + crypto.randomBytes(4).toString("hex") });
    const nodeOpts = (ns: string, nodeID: string) => ({ namespace: ns, transporter: "Fake", heartbeatInterval: 1, heartbeatTimeout: 3, nodeID });
    const openSlot = () => ({ open: true, until: Date.now() + 60_000, runId: "SLOT-20260305T1200-R1" });

    it("records one run for a slot served by two nodes: every partition DONE once, totals summed", async () => {
      const { namespace, lockNamespace } = mesh();
      const book = runBook();
      await startBroker([book.schema], nodeOpts(namespace, "data"));
      const slot = { ...openSlot(), open: false };
      const rec = recorder();
      const job = slotJob(slot, async (p, ctx) => (rec.record(ctx.runId, p), { debited: 2 }));
      const a = await startBroker([collectorService(job, FAST, { lockNamespace })], nodeOpts(namespace, "node-a"));
      const b = await startBroker([collectorService(job, FAST, { lockNamespace })], nodeOpts(namespace, "node-b"));
      const [svcA, svcB] = [a, b].map((x) => x.getLocalService("collector") as any);
      await until(() => svcA.heldPartitions().length === 8 && svcB.heldPartitions().length === 8);
      slot.open = true;

      await until(() => book.records.get(slot.runId)?.status === "DONE");
      const record = book.records.get(slot.runId)!;
      expect(sorted(rec.ran.get(slot.runId)!)).toEqual(ALL); // each partition once, on one node or the other
      expect(record.totals).toMatchObject({ partitions: P, partitionsDone: P, partitionsRunning: 0, processed: P, debited: 2 * P, attempts: P });
      expect(new Set(Object.values(record.partitions).map((x) => x.nodeId))).toEqual(new Set(["node-a", "node-b"]));
      for (const part of Object.values(record.partitions)) expect(Object.keys(part.executions)).toHaveLength(1);
      // Nothing is run again on later ticks: done here, and DONE in the record.
      await sleep(300);
      expect(rec.ran.get(slot.runId)).toHaveLength(P);
      slot.open = false;
      const [runA, runB]: JobRun[] = await Promise.all([svcA.waitForJobRun(slot.runId), svcB.waitForJobRun(slot.runId)]);
      expect(runA.runId).toBe(runB.runId);
      expect(runA.totals.done + runB.totals.done).toBe(P);
    });

    it("a node that takes partitions over mid-slot (the other died) runs the slot on them", async () => {
      const { namespace, lockNamespace } = mesh();
      const book = runBook();
      await startBroker([book.schema], nodeOpts(namespace, "data"));
      const slot = { ...openSlot(), open: false };
      const rec = recorder();
      const byNode = new Map<string, number[]>();
      const job = (node: string, hang: boolean) =>
        slotJob(slot, async (p, ctx) => {
          if (hang) await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(new Error("killed")))); // dies in the middle
          rec.record(ctx.runId, p);
          byNode.set(node, [...(byNode.get(node) ?? []), p]);
          return {};
        });
      const a = await startBroker([collectorService(job("a", false), FAST, { lockNamespace })], nodeOpts(namespace, "node-a"));
      const b = await startBroker([collectorService(job("b", true), FAST, { lockNamespace })], nodeOpts(namespace, "node-b"));
      const [svcA, svcB] = [a, b].map((x) => x.getLocalService("collector") as any);
      await until(() => svcA.heldPartitions().length === 8 && svcB.heldPartitions().length === 8);
      const bPartitions: number[] = svcB.heldPartitions();
      slot.open = true;
      await until(() => (byNode.get("a") ?? []).length === 8);

      // node-b dies mid-slot: its leases are not released, they expire.
      await svcB.partitionLeases.stop({ release: false });
      await b.stop();
      brokers = brokers.filter((x) => x !== b);
      await until(() => book.records.get(slot.runId)?.status === "DONE", 10_000);
      expect(sorted(byNode.get("a")!)).toEqual(ALL); // its own, then node-b's
      expect(byNode.get("b")).toBeUndefined();
      const record = book.records.get(slot.runId)!;
      for (const p of bPartitions) {
        expect(record.partitions[p]).toMatchObject({ status: "DONE", nodeId: "node-a" });
      }
      expect(record.totals).toMatchObject({ partitionsDone: P, processed: P });
    });

    it("a node restarted within the slot runs it on the partitions it gets later, not on those DONE", async () => {
      const { namespace, lockNamespace } = mesh();
      const book = runBook();
      await startBroker([book.schema], nodeOpts(namespace, "data"));
      const slot = openSlot();
      const first: number[] = [];
      const second: number[] = [];
      const firstJob = slotJob(slot, async (p, ctx) => {
        if (p >= 8) await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(new Error("killed"))));
        first.push(p);
        return {};
      }, { concurrency: 16 });
      const SLOW_LEASES = { ...FAST, ttlMs: 4000 }; // outlives the restart
      const a = await startBroker([collectorService(firstJob, SLOW_LEASES, { lockNamespace })], nodeOpts(namespace, "node-a"));
      const svcA = a.getLocalService("collector") as any;
      await until(() => first.length === 8 && Object.values(book.records.get(slot.runId)?.partitions ?? {}).filter((x) => x.status === "DONE").length === 8);
      // A crash: the leases stay behind until they expire; the node comes back at once.
      await svcA.partitionLeases.stop({ release: false });
      await a.stop();
      brokers = brokers.filter((x) => x !== a);
      const again = await startBroker([collectorService(slotJob(slot, async (p) => (second.push(p), {})), SLOW_LEASES, { lockNamespace })], nodeOpts(namespace, "node-a"));
      expect((again.getLocalService("collector") as any).heldPartitions()).toEqual([]); // none at its first tick

      await until(() => book.records.get(slot.runId)?.status === "DONE", 10_000);
      expect(sorted(first)).toEqual(ALL.slice(0, 8));
      expect(sorted(second)).toEqual(ALL.slice(8)); // only what was not DONE
      const record = book.records.get(slot.runId)!;
      expect(record.partitions[9].status).toBe("DONE");
      expect(Object.values(record.partitions[9].executions).map((e) => e.status).sort()).toEqual(["DONE", "FAILED"]);
      expect(record.totals).toMatchObject({ partitionsDone: P, processed: P });
    });

    it("a partition whose lease was lost before it started is run by its next holder", async () => {
      const { namespace, lockNamespace } = mesh();
      const book = runBook();
      await startBroker([book.schema], nodeOpts(namespace, "data"));
      const slot = openSlot();
      const byNode = new Map<string, number[]>();
      let joined!: () => void;
      const gate = new Promise<void>((r) => (joined = r));
      const job = (node: string) =>
        slotJob(
          slot,
          async (p) => {
            byNode.set(node, [...(byNode.get(node) ?? []), p]);
            if (node === "a") await gate; // node-a works one partition at a time: the others wait their turn
            return {};
          },
          { concurrency: 1 },
        );
      const a = await startBroker([collectorService(job("a"), FAST, { lockNamespace })], nodeOpts(namespace, "node-a"));
      const svcA = a.getLocalService("collector") as any;
      await until(() => (byNode.get("a") ?? []).length >= 1);
      // A second node joins: node-a gives back half of its partitions, most of them not started yet.
      const b = await startBroker([collectorService(job("b"), FAST, { lockNamespace })], nodeOpts(namespace, "node-b"));
      const svcB = b.getLocalService("collector") as any;
      await until(() => svcA.heldPartitions().length === 8 && svcB.heldPartitions().length === 8);
      joined();
      await until(() => book.records.get(slot.runId)?.status === "DONE", 10_000);
      const ranA = byNode.get("a")!;
      const ranB = byNode.get("b") ?? [];
      expect(sorted([...new Set([...ranA, ...ranB])])).toEqual(ALL);
      expect(ranB.length).toBeGreaterThan(0);
      for (const p of ALL.filter((x) => !ranA.includes(x))) expect(ranB).toContain(p); // given back before start → run by node-b
      expect(svcB.heldPartitions().length).toBe(8);
      const record = book.records.get(slot.runId)!;
      expect(Object.values(record.partitions).some((x) => x.status === "SKIPPED")).toBe(false);
      expect(record.totals.partitionsDone).toBe(P);
    });

    it("waits for a data service that is away for a while, keeping the counters of failed tries", async () => {
      const { namespace, lockNamespace } = mesh();
      const book = runBook();
      await startBroker([book.schema], nodeOpts(namespace, "data"));
      const slot = openSlot();
      const away = { on: true };
      const tries = new Map<number, number>();
      const job = slotJob(slot, async (p, ctx) => {
        tries.set(p, (tries.get(p) ?? 0) + 1);
        if (p === 3 && tries.get(p) === 1) {
          ctx.progress({ debited: 1 }); // did one item, then the data service went away
          throw new Error("schedule.dueWork: service not available");
        }
        if (away.on) throw new Error("schedule.dueWork: service not available");
        return { debited: p === 3 ? 0 : 1 };
      });
      await startBroker([collectorService(job, FAST, { lockNamespace })], nodeOpts(namespace, "node-a"));
      await until(() => tries.size === P);
      await sleep(1500); // away for a while: far more than three tries in 750 ms
      away.on = false;
      await until(() => book.records.get(slot.runId)?.status === "DONE", 10_000);
      expect(Math.min(...tries.values())).toBeGreaterThan(3); // not given up after three tries
      const record = book.records.get(slot.runId)!;
      expect(record.totals).toMatchObject({ partitionsDone: P, processed: P, debited: P }); // partition 3's first try counted
      expect(record.partitions[3].attempts).toBe(tries.get(3));
    });

    it("counts once what a failed try's work still going reports after the try has ended", async () => {
      const { namespace, lockNamespace } = mesh();
      const book = runBook();
      await startBroker([book.schema], nodeOpts(namespace, "data"));
      const slot = openSlot();
      const tries = new Map<number, number>();
      const late = { done: false };
      const job = slotJob(slot, async (p, ctx) => {
        const n = (tries.get(p) ?? 0) + 1;
        tries.set(p, n);
        if (p !== 5 || n > 1) return { debited: p === 5 ? 0 : 1 };
        // Partition 5, first try: two workers on one counters object; one fails (Redis away) once the
        // other has debited a plan, and the other goes on to debit two more after the try has ended.
        const counters = { debited: 0 };
        ctx.progress(counters);
        void (async () => {
          counters.debited++;
          ctx.progress({ ...counters });
          await sleep(150);
          counters.debited++;
          ctx.progress({ ...counters });
          counters.debited++;
          ctx.progress({ ...counters });
          late.done = true;
        })();
        await sleep(20);
        throw new Error("Reached the max retries per request limit");
      });
      await startBroker([collectorService(job, FAST, { lockNamespace })], nodeOpts(namespace, "node-a"));
      await until(() => late.done && book.records.get(slot.runId)?.status === "DONE", 10_000);
      await sleep(200); // the last reports are in
      const record = book.records.get(slot.runId)!;
      expect(tries.get(5)).toBeGreaterThanOrEqual(2);
      expect(record.partitions[5]).toMatchObject({ status: "DONE", counters: { debited: 3 } });
      expect(record.totals).toMatchObject({ partitionsDone: P, processed: P, debited: P - 1 + 3 });
    });

    it("keeps a partition whose work is still in flight PENDING and runs it again; state counters are the latest try's", async () => {
      const { namespace, lockNamespace } = mesh();
      const book = runBook();
      await startBroker([book.schema], nodeOpts(namespace, "data"));
      const slot = openSlot();
      const tries = new Map<number, number>();
      const job = slotJob(
        slot,
        async (p) => {
          const n = (tries.get(p) ?? 0) + 1;
          tries.set(p, n);
          // Partition 2: a debit opened by a node that died is still in flight for two tries, then it settles.
          if (p === 2) return n <= 2 ? { due: 1, inFlight: 1, sent: 0 } : { due: 1, inFlight: 0, sent: 1 };
          return { due: 1, inFlight: 0, sent: 1 };
        },
        { settled: (r: Record<string, number>) => !r.inFlight, levels: ["processed", "due", "inFlight"] },
      );
      await startBroker([collectorService(job, FAST, { lockNamespace })], nodeOpts(namespace, "node-a"));
      await until(() => book.records.get(slot.runId)?.partitions[2]?.status === "PENDING");
      expect(book.records.get(slot.runId)!.partitions[2].note).toMatch(/in flight/);
      await until(() => book.records.get(slot.runId)?.status === "DONE");
      expect(tries.get(2)).toBe(3);
      const record = book.records.get(slot.runId)!;
      expect(record.partitions[2]).toMatchObject({ status: "DONE", attempts: 3, processed: 1, counters: { due: 1, inFlight: 0, sent: 1 } });
      expect(record.totals).toMatchObject({ partitionsDone: P, processed: P, due: P, inFlight: 0, sent: P });
    });

    it("sends its progress again when the run book was away: the record ends complete without a re-run", async () => {
      const { namespace, lockNamespace } = mesh();
      const book = runBook();
      await startBroker([book.schema], nodeOpts(namespace, "data"));
      const slot = openSlot();
      const rec = recorder();
      book.away = true; // the data node is down: the record cannot be read, progress is lost
      await startBroker([collectorService(slotJob(slot, async (p, ctx) => (rec.record(ctx.runId, p), {})), FAST, { lockNamespace })], nodeOpts(namespace, "node-a"));
      await until(() => (rec.ran.get(slot.runId) ?? []).length === P);
      await sleep(200);
      expect(book.records.size).toBe(0);
      book.away = false;
      await until(() => book.records.get(slot.runId)?.status === "DONE");
      expect(rec.ran.get(slot.runId)).toHaveLength(P); // done here: not run again
    });

    it("shows the slot FAILED once its window is over with a partition not done, and does not run it after", async () => {
      const { namespace, lockNamespace } = mesh();
      const book = runBook();
      await startBroker([book.schema], nodeOpts(namespace, "data"));
      const slot = { ...openSlot(), open: false };
      let afterWindow = 0;
      const job = slotJob(slot, async (p) => {
        if (Date.now() > slot.until) afterWindow++;
        if (p === 5) throw new Error("always failing");
        return {};
      });
      const a = await startBroker([collectorService(job, FAST, { lockNamespace })], nodeOpts(namespace, "node-a"));
      Object.assign(slot, { open: true, until: Date.now() + 500 });
      const run: JobRun = await (a.getLocalService("collector") as any).waitForJobRun(slot.runId, 5000);
      expect(run).toMatchObject({ status: "FAILED", totals: { done: P - 1, failed: 1 } });
      await until(() => book.records.get(slot.runId)?.partitions[5]?.status === "FAILED");
      const record = book.records.get(slot.runId)!;
      expect(runStatus(record.totals, slot.until, Date.now())).toBe("FAILED");
      expect(record.totals).toMatchObject({ partitionsDone: P - 1, partitionsFailed: 1 });
      expect(afterWindow).toBe(0);
    });
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
