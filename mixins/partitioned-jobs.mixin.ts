/**
 * PartitionedJobs — the project's distributed task framework (sharding, failover, manual trigger,
 * retry, progress). A service mixes it in and declares its jobs; every node running the service
 * keeps leases on a fair share of the P partitions (group = the service's name) and runs each job
 * on the partitions it holds.
 *
 * Declaring jobs (top level of the service schema):
 *
 *   mixins: [PartitionedJobs(cfg)],
 *   jobs: {
 *     compensatingQueries: {
 *       everyMs: 60_000,                        // due every minute on this node (first run one period after start,
 *                                               // or at once with `immediate: true`)
 *       async run(partition, ctx) {             // `this` is the service
 *         const n = await this.queryUnknownTrades(partition, ctx.now);
 *         return { processed: n, settled: 0 };  // `processed` plus any numeric counters
 *       },
 *       retries: 2, retryDelayMs: 250, concurrency: 4,
 *     },
 *     accrual: {
 *       schedule: (svc, info) => svc.accrualDue(info.now), // "is it due now", asked every tick (a run per node)
 *       run(partition, ctx) { ... },
 *     },
 *     debitSlot: {
 *       slots: (svc, info) => svc.openSlots(info.now),     // the slots open now, asked every tick:
 *       run(partition, ctx) { ... },                        // [{ runId: "SLOT-…", until, meta, record }]
 *     },
 *     reminderScan: { run(partition, ctx) { ... } },       // none of them: runs only when triggered
 *   }
 *
 * Methods given to the service:
 *   triggerJob(name, { partitions?, meta?, runId? }) → runId    runs now on the partitions this node holds
 *   broadcastJob(name, { partitions?, meta? }) → Promise<runId> every node running the service runs its own
 *                                                               partitions under one shared runId (event
 *                                                               "<service fullName>.jobs.trigger")
 *   jobRuns({ job? }) / jobRun(runId) / waitForJobRun(runId, timeoutMs?)   progress kept in memory
 *   heldPartitions() → number[]
 * and the event `jobs.progress` (payload: JobRun, throttled to one per progressEveryMs per run, plus
 * the first and the last) so a service can persist or show runs.
 *
 * Rules:
 *   - a scheduled run is skipped (misfire) while the previous scheduled run of the job is still going;
 *   - one job never runs twice at once on the same partition on this node: a manual run waits for
 *     the partition to be free;
 *   - a partition whose lease was lost before it started is SKIPPED in that run (not done: a manual
 *     run shows it and can be triggered again);
 *   - a failing partition is retried `retries` times with a doubling back-off, then FAILED; the
 *     run's other partitions carry on.
 *
 * Slots (`slots:`) — work owed once per slot on every partition, whatever fails ("never missed"):
 *   - a slot is ONE run across the cluster: its run id comes from the slot (every node reports into
 *     the same record, kept by the ledger: `jobs.progress`, read back through `ledger.runDone`);
 *   - on every tick, for every slot still open (listed by `slots` and business time ≤ `until`), the
 *     node runs it on every partition it holds that is neither done here nor DONE in the record: a
 *     partition taken over mid-slot, a node restarted within the slot's grace, a lease lost before
 *     start are all picked up by the next holder; a stale read of the record only causes a re-run,
 *     which the job must make harmless (it must be idempotent anyway, see below);
 *   - a failing partition is tried again by a later tick after a doubling back-off (`retryDelayMs`,
 *     at most `maxRetryDelayMs`; `retries` does not apply) for as long as the slot is open, by
 *     whoever holds it then — a briefly unavailable data service is waited for, not given up on,
 *     and a failing partition gives its turn (`concurrency`) to the others between tries;
 *   - a try that returned but left work unsettled (`settled`, e.g. a debit still in flight) leaves
 *     the partition PENDING, run again after its back-off: DONE means nothing is left to try;
 *   - the counters of a try that failed are kept when the job reported them through
 *     `ctx.progress(counters)` (the try's result replaces them when it returns).
 * Counters across tries and nodes: each node instance's tries of a partition are one contribution to
 * the record. Event counters (sent, succeeded: each happens in one try only, a re-run counts what it
 * finds as already collected or in flight) are SUMMED over tries and contributions, so nothing a
 * failed try or a dead node reported is lost; the job's `levels` (state as seen: due, in flight) are
 * taken from the latest try. A partition is DONE once any contribution is DONE, otherwise it shows
 * the latest contribution's status; SKIPPED is never done.
 *
 * SAFETY NEVER RESTS ON THE LEASES: a paused node may still believe it holds a partition another
 * node has taken, so `run` must be idempotent (unique trade keys, compare-and-set transitions).
 */
import crypto from "node:crypto";
import { Service, type ServiceSchema } from "moleculer";
import { DomainError } from "../domain/errors";
import { createLockProvider, PartitionLeaseManager, type LockProvider } from "./locks";

export type JobTrigger = "SCHEDULE" | "MANUAL";
export type PartitionStatus = "PENDING" | "RUNNING" | "DONE" | "FAILED" | "SKIPPED";
export type JobRunStatus = "RUNNING" | "DONE" | "FAILED";

/** What `run` returns for a partition: how many items it processed plus any numeric counters. */
export interface JobResult {
  processed: number;
  [counter: string]: number;
}

export interface JobContext {
  runId: string;
  job: string;
  trigger: JobTrigger;
  partition: number;
  /** P, the number of partitions of the deployment. */
  partitions: number;
  /** 1 for the first attempt. */
  attempt: number;
  meta: Record<string, unknown>;
  /** Business time (the service's `this.clock` when it has one, else the system clock). */
  now: Date;
  /** Aborted when the node stops: long jobs should stop early. */
  signal: AbortSignal;
  /** Whether this node still holds the partition's lease (a hint, never a guarantee). */
  stillHeld(): boolean;
  /**
   * The counters of this try so far (the object may be kept and updated in place): if the try
   * throws, they are what it did (a try that returns reports its result instead). A report made
   * after the try has ended (work of it still going) adds only the events counted since, once.
   */
  progress(counters: Record<string, number>): void;
}

/** A slot open now, as `slots` lists it: one run across the cluster. */
export interface OpenSlot {
  /** The run id, the same on every node: derived from the slot ([A-Za-z0-9_-], 4..64 characters). */
  runId: string;
  /** Business time (epoch ms) after which the slot is not run any more (window end, misfire grace). */
  until: number;
  /** Given to `run` as ctx.meta. */
  meta?: Record<string, unknown>;
  /** Extra fields of the run record (e.g. slotId, scope). */
  record?: Record<string, unknown>;
}

export interface ScheduleInfo {
  job: string;
  now: Date;
  /** The last run of this job on this node (either trigger), if any is kept. */
  lastRun?: JobRun;
}

export interface JobDefinition {
  /** Due every `everyMs` on each node (wall-clock). */
  everyMs?: number;
  /** With everyMs: the first run at the first tick instead of one period after start. */
  immediate?: boolean;
  /** Due when this answers true; asked on every tick (`this` and `service` are the service). */
  schedule?: (service: any, info: ScheduleInfo) => boolean | Promise<boolean>;
  /** Slots open now, asked on every tick: each is run to completion on every partition (see "Slots"). */
  slots?: (service: any, info: ScheduleInfo) => OpenSlot[] | Promise<OpenSlot[]>;
  run: (this: any, partition: number, ctx: JobContext) => Promise<JobResult>;
  /** Retries of a failing partition; default 2 (three attempts). */
  retries?: number;
  /** First back-off, doubled per retry, capped at maxRetryDelayMs; default 250 ms. */
  retryDelayMs?: number;
  /** Cap of the back-off; default 10 s. */
  maxRetryDelayMs?: number;
  /** Partitions run in parallel; default 4. */
  concurrency?: number;
  /**
   * Counters that describe the partition as its latest try saw it (e.g. items still due, in flight)
   * rather than events (sent, succeeded): taken from the latest try, not summed over tries and
   * nodes (a re-run would count them again). May name `processed`. Default: every counter is summed.
   */
  levels?: string[];
  /**
   * Slots: whether a try that returned has finished the partition. When it has not (e.g. a debit
   * still in flight, opened by a node that died), the partition is PENDING, not DONE, and is run
   * again after its back-off while the slot lasts. Default: always finished.
   */
  settled?: (result: JobResult) => boolean;
}

export type JobDefinitions = Record<string, JobDefinition>;

export interface PartitionProgress {
  status: PartitionStatus;
  /** Tries of the partition by this node instance in this run (all its executions). */
  attempts: number;
  processed: number;
  /** The other numeric counters `run` returned. */
  counters: Record<string, number>;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  /** Slots: why a partition that returned is not DONE yet (see `settled`). */
  note?: string;
}

export interface JobRunTotals {
  partitions: number;
  pending: number;
  running: number;
  done: number;
  failed: number;
  skipped: number;
  processed: number;
  counters: Record<string, number>;
}

/** One run of a job on one node (a broadcast run or a slot has one JobRun per node, under the same runId). */
export interface JobRun {
  runId: string;
  service: string;
  nodeId: string;
  /** This node's service instance (one per start): the key of its contribution to the run record. */
  instance: string;
  job: string;
  trigger: JobTrigger;
  meta: Record<string, unknown>;
  status: JobRunStatus;
  startedAt: string;
  finishedAt?: string;
  /** The partitions this node runs, by number. */
  partitions: Record<number, PartitionProgress>;
  /** Partitions asked for that this node does not hold (another node runs them). */
  notHeld: number[];
  /** Every partition the run is for, cluster-wide (all P unless a manual run named some). */
  wanted: number[];
  /** Slots: business time (epoch ms) after which the slot is not run any more. */
  until?: number;
  /** Slots: extra fields of the run record. */
  record?: Record<string, unknown>;
  /** The job's `levels`: counters taken from the latest try, not summed. */
  levels?: string[];
  totals: JobRunTotals;
  /**
   * The report's number in this instance's reports of the run (1, 2, …): reports are events, handled
   * concurrently and possibly out of order, so the ledger keeps an execution's newest and drops older ones.
   */
  seq?: number;
}

export interface TriggerOptions {
  /** Restrict to these partitions (default: all this node holds). */
  partitions?: number[];
  meta?: Record<string, unknown>;
  /** Reuse a runId (a broadcast run shares one across nodes). */
  runId?: string;
}

export interface PartitionedJobsConfig {
  partitions: number;
  /** Set: Redlock leases over this Redis (cluster). Unset: in-process leases (embedded). */
  redisUrl?: string;
  /** Default: the broker's nodeID. */
  nodeId?: string;
  /**
   * Redis: the key namespace (`<lockNamespace>:lock:<service>:partition:<p>`), default "repaymesh" —
   * set it when several deployments share one Redis. In-process: services of different brokers in
   * one process that share this name compete for partitions like nodes (tests); default private to
   * the service instance.
   */
  lockNamespace?: string;
}

export interface PartitionedJobsOptions {
  /** Lease time to live; default 15000 ms. */
  ttlMs?: number;
  /** Scheduler tick (due checks) and lease tick (renew/rebalance, at most ttl/3); default 2000 ms. */
  tickMs?: number;
  /** At most one `jobs.progress` event per run per period, besides the first and the last; default 1000 ms. */
  progressEveryMs?: number;
  /** Finished runs kept in memory per service; default 100. */
  keepRuns?: number;
  /** On stop, how long to wait for partitions still running; default 10000 ms. */
  stopTimeoutMs?: number;
}

interface RunState {
  run: JobRun;
  lastEmit: number;
  /** Reports emitted so far (JobRun.seq). */
  seq?: number;
  emitTimer?: NodeJS.Timeout;
  done: Promise<JobRun>;
  /** Partition → the counters so far of its try running now (ctx.progress), shown in progress reports. */
  live?: Map<number, Record<string, number>>;
}

/** A slot this node knows of: its run (this node's share), and what is done where. */
interface SlotState {
  state: RunState;
  job: string;
  def: JobDefinition;
  /** Listed by `slots` at the last tick and not past `until`. */
  open: boolean;
  /** Partitions executing on this node now. */
  active: Set<number>;
  /** Partitions this node instance finished DONE. */
  localDone: Set<number>;
  /** Partitions the run record shows DONE (last read). */
  recordDone: Set<number>;
  /** Whether the record shows every partition done here (else progress is sent again). */
  confirmed: boolean;
  /** Failed tries per partition, and when (wall clock) it may be tried again: the back-off. */
  failures: Map<number, number>;
  retryAt: Map<number, number>;
  finish: (run: JobRun) => void;
}

/** Where run records are kept and read back (the ledger; see services/ledger.service.ts). */
const RUN_BOOK = "ledger";
const RUN_BOOK_TIMEOUT_MS = 5000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Add a try's result to a partition and the run's totals: `levels` replace the earlier try's, the others add up. */
function addCounters(entry: PartitionProgress, totals: JobRunTotals, result: Record<string, unknown> | undefined, levels: Set<string>): void {
  const { processed, counters } = countersOf(result);
  const before = entry.processed;
  entry.processed = levels.has("processed") ? processed : before + processed;
  totals.processed += entry.processed - before;
  for (const k of new Set([...Object.keys(counters), ...Object.keys(entry.counters).filter((x) => levels.has(x))])) {
    const old = entry.counters[k] ?? 0;
    entry.counters[k] = levels.has(k) ? (counters[k] ?? 0) : old + (counters[k] ?? 0);
    totals.counters[k] = (totals.counters[k] ?? 0) + entry.counters[k] - old;
  }
}

/** Numeric, finite counters of a result, `processed` apart. */
function countersOf(result: Record<string, unknown> | undefined): { processed: number; counters: Record<string, number> } {
  const counters: Record<string, number> = {};
  for (const [k, v] of Object.entries(result ?? {})) {
    if (k !== "processed" && typeof v === "number" && Number.isFinite(v)) counters[k] = v;
  }
  return { processed: Number(result?.processed) || 0, counters };
}

/** A copy of the numeric, finite fields of a result or progress report (`processed` included). */
function numbersOf(result: Record<string, unknown> | undefined): Record<string, number> {
  const { processed, counters } = countersOf(result);
  return { processed, ...counters };
}

let embeddedNamespaces = 0;

/**
 * Runs the jobs of one service instance. Kept apart from the Moleculer glue so the rules read in
 * one place.
 */
class JobRunner {
  private readonly runs = new Map<string, RunState>();
  /** `${job}:${partition}` → the tail of the chain of runs of that job on that partition. */
  private readonly partitionChains = new Map<string, Promise<void>>();
  private readonly scheduledActive = new Set<string>();
  private readonly nextDue = new Map<string, number>();
  private readonly lastRunOf = new Map<string, string>();
  private readonly abort = new AbortController();
  private readonly runWaiters = new Map<string, Array<(run: JobRun) => void>>();
  /** runId → the slot's state on this node. */
  private readonly slots = new Map<string, SlotState>();
  /** job → executions of its slots running now (bounded by the job's concurrency). */
  private readonly slotSlots = new Map<string, { busy: number; waiting: Array<() => void> }>();
  /** One per service start: the key of this instance's contributions to run records. */
  readonly instance = "i" + crypto.randomBytes(6).toString("hex");
  private ticking = false;
  private stopping = false;

  constructor(
    private readonly service: any,
    private readonly jobs: JobDefinitions,
    private readonly leases: PartitionLeaseManager,
    private readonly partitions: number,
    private readonly opts: Required<Pick<PartitionedJobsOptions, "progressEveryMs" | "keepRuns" | "stopTimeoutMs">>,
  ) {
    const now = Date.now();
    for (const [name, def] of Object.entries(jobs)) {
      if (def.everyMs !== undefined) this.nextDue.set(name, def.immediate ? now : now + def.everyMs);
    }
  }

  private now(): Date {
    const clock = this.service.clock;
    return clock && typeof clock.now === "function" ? clock.now() : new Date();
  }

  private all(): number[] {
    return Array.from({ length: this.partitions }, (_, i) => i);
  }

  /** Check which jobs are due and start them. */
  async tick(): Promise<void> {
    if (this.ticking || this.stopping) return;
    this.ticking = true;
    try {
      for (const [name, def] of Object.entries(this.jobs)) {
        if (this.stopping) return;
        if (def.slots) {
          await this.tickSlots(name, def);
          continue;
        }
        if (this.scheduledActive.has(name)) continue; // misfire: the previous scheduled run is still going
        let due = false;
        if (def.everyMs !== undefined) {
          const at = this.nextDue.get(name) ?? 0;
          if (Date.now() >= at) {
            due = true;
            this.nextDue.set(name, Date.now() + def.everyMs);
          }
        } else if (def.schedule) {
          if (!this.businessClockReady()) continue;
          try {
            const lastId = this.lastRunOf.get(name);
            const lastRun = lastId ? this.runs.get(lastId)?.run : undefined;
            due = !!(await def.schedule.call(this.service, this.service, { job: name, now: this.now(), lastRun }));
          } catch (err) {
            this.service.logger.warn(`Job ${name}: schedule check failed: ${errorMessage(err)}`);
          }
        }
        if (due && !this.stopping) this.start(name, "SCHEDULE", {});
      }
    } finally {
      this.ticking = false;
    }
  }

  /**
   * Time-of-day jobs ask the business clock: not before it is synced from the clock service (a node
   * starting on the system clock would run a test-clock deployment's slots on the real date).
   */
  private businessClockReady(): boolean {
    return !this.service.clock || this.service.clockSynced === true;
  }

  trigger(name: string, opts: TriggerOptions = {}): string {
    return this.start(name, "MANUAL", opts);
  }

  private newRun(runId: string, name: string, trigger: JobTrigger, meta: Record<string, unknown>, wanted: number[]): JobRun {
    const levels = this.jobs[name]?.levels;
    return {
      ...(levels?.length ? { levels: [...levels] } : {}),
      runId,
      service: this.service.fullName,
      nodeId: this.leases.nodeId,
      instance: this.instance,
      job: name,
      trigger,
      meta,
      status: "RUNNING",
      startedAt: new Date().toISOString(),
      partitions: {},
      notHeld: [],
      wanted,
      totals: { partitions: 0, pending: 0, running: 0, done: 0, failed: 0, skipped: 0, processed: 0, counters: {} },
    };
  }

  /** A new PENDING entry of a run's partition. */
  private addPartition(run: JobRun, partition: number): PartitionProgress {
    const entry: PartitionProgress = { status: "PENDING", attempts: 0, processed: 0, counters: {} };
    run.partitions[partition] = entry;
    run.totals.partitions++;
    run.totals.pending++;
    return entry;
  }

  private start(name: string, trigger: JobTrigger, opts: TriggerOptions): string {
    const def = this.jobs[name];
    if (!def) throw new DomainError("NOT_FOUND", `No job "${name}" in service ${this.service.fullName}`, { job: name });
    if (this.stopping) throw new DomainError("VALIDATION_ERROR", `Service ${this.service.fullName} is stopping`, { job: name });
    if (opts.partitions !== undefined) {
      const bad = opts.partitions.filter((p) => !Number.isInteger(p) || p < 0 || p >= this.partitions);
      if (bad.length > 0) {
        throw new DomainError("VALIDATION_ERROR", `Partitions must be integers from 0 to ${this.partitions - 1}`, { field: "partitions", bad });
      }
    }
    const runId = opts.runId ?? crypto.randomUUID();
    if (this.runs.has(runId)) return runId; // a duplicate delivery of a broadcast trigger
    const held = this.leases.held();
    const wanted = opts.partitions ? [...new Set(opts.partitions)].sort((a, b) => a - b) : this.all();
    const mine = wanted.filter((p) => held.includes(p));
    const run = this.newRun(runId, name, trigger, opts.meta ?? {}, wanted);
    for (const p of mine) this.addPartition(run, p);
    run.notHeld = wanted.filter((p) => !held.includes(p));
    const state: RunState = { run, lastEmit: 0, done: Promise.resolve(run) };
    this.runs.set(runId, state);
    this.lastRunOf.set(name, runId);
    if (trigger === "SCHEDULE") this.scheduledActive.add(name);
    this.prune();
    this.emitProgress(state, true);
    state.done = this.execute(state, def, mine).finally(() => {
      if (trigger === "SCHEDULE") this.scheduledActive.delete(name);
    });
    state.done.catch(() => {});
    this.resolveWaiters(runId, state);
    return runId;
  }

  private resolveWaiters(runId: string, state: RunState): void {
    for (const resolve of this.runWaiters.get(runId) ?? []) void state.done.then(resolve);
    this.runWaiters.delete(runId);
  }

  private async execute(state: RunState, def: JobDefinition, partitions: number[]): Promise<JobRun> {
    const queue = [...partitions];
    const workers = Math.max(1, Math.min(def.concurrency ?? 4, queue.length));
    await Promise.all(
      Array.from({ length: workers }, async () => {
        for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
          await this.exclusive(state.run.job, p, () => this.runPartition(state, def, p));
        }
      }),
    );
    this.finishRun(state, state.run.totals.failed > 0 || state.run.totals.skipped > 0 ? "FAILED" : "DONE");
    return state.run;
  }

  private finishRun(state: RunState, status: JobRunStatus): void {
    state.run.status = status;
    state.run.finishedAt = new Date().toISOString();
    this.emitProgress(state, true);
  }

  /** One job at a time per partition on this node: wait for the previous run's turn to end. */
  private async exclusive(job: string, partition: number, body: () => Promise<void>): Promise<void> {
    const key = `${job}:${partition}`;
    const previous = this.partitionChains.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.partitionChains.set(key, tail);
    try {
      await previous;
      await body();
    } finally {
      release();
      if (this.partitionChains.get(key) === tail) this.partitionChains.delete(key);
    }
  }

  private runPartition(state: RunState, def: JobDefinition, partition: number): Promise<void> {
    const entry = state.run.partitions[partition];
    if (this.stopping || !this.leases.holds(partition)) {
      this.settle(state, entry, "SKIPPED", this.stopping ? "node stopping" : "partition lease lost before start");
      return Promise.resolve();
    }
    return this.tries(state, def, partition, 1 + Math.max(0, def.retries ?? 2));
  }

  /**
   * Run a partition: up to `maxTries` tries with a doubling back-off while the lease is held and the
   * node is not stopping. Ends DONE or FAILED. Returns once settled.
   */
  private async tries(state: RunState, def: JobDefinition, partition: number, maxTries: number, settled?: (result: JobResult) => boolean): Promise<void> {
    const run = state.run;
    const entry = run.partitions[partition];
    const baseDelay = def.retryDelayMs ?? 250;
    const maxDelay = def.maxRetryDelayMs ?? 10_000;
    this.move(state, entry, "RUNNING");
    entry.startedAt = new Date().toISOString();
    delete entry.finishedAt;
    for (let attempt = 1; attempt <= maxTries; attempt++) {
      entry.attempts++;
      let partial: Record<string, number> | undefined;
      /** Set once the try has ended: what of its counters the entry holds (a copy). */
      let counted: Record<string, number> | undefined;
      const ctx: JobContext = {
        runId: run.runId,
        job: run.job,
        trigger: run.trigger,
        partition,
        partitions: this.partitions,
        attempt,
        meta: run.meta,
        now: this.now(),
        signal: this.abort.signal,
        stillHeld: () => this.leases.holds(partition),
        progress: (counters) => {
          if (counted) {
            // Reported after the try ended (work of it still going, e.g. a job whose other workers
            // carry on after one of them failed): only what it did since is added, never twice.
            this.countLate(state, entry, counted, counters);
            counted = numbersOf(counters);
          } else {
            partial = counters;
            (state.live ??= new Map()).set(partition, counters);
          }
          this.emitProgress(state, false);
        },
      };
      try {
        const result = await def.run.call(this.service, partition, ctx).finally(() => state.live?.delete(partition));
        counted = numbersOf(result);
        this.count(state, entry, result);
        delete entry.error;
        if (settled && !settled(result)) {
          entry.note = "not settled yet (work still in flight): run again after a back-off";
          this.settle(state, entry, "PENDING");
          return;
        }
        delete entry.note;
        this.settle(state, entry, "DONE");
        return;
      } catch (err) {
        counted = numbersOf(partial); // a copy: the job may go on updating its object in place
        if (partial) this.count(state, entry, counted);
        entry.error = errorMessage(err);
        const last = attempt === maxTries || this.stopping || !this.leases.holds(partition);
        this.service.logger.warn(
          `Job ${run.job} run ${run.runId} partition ${partition} attempt ${attempt}/${maxTries} failed: ${entry.error}` + (last ? "" : "; retrying"),
        );
        if (last) break;
        this.emitProgress(state, false);
        await sleep(Math.min(baseDelay * 2 ** Math.min(attempt - 1, 30), maxDelay), this.abort.signal);
        if (this.stopping || !this.leases.holds(partition)) break;
      }
    }
    this.settle(state, entry, "FAILED", entry.error);
  }

  /** Add what a try reported to its partition and to the run's totals (its `levels` replace the earlier try's). */
  private count(state: RunState, entry: PartitionProgress, result: Record<string, unknown> | undefined): void {
    addCounters(entry, state.run.totals, result, new Set(state.run.levels ?? []));
  }

  /**
   * A try that has ended reported again: add the events it counted since `before` (what the entry
   * holds of it). Its levels are left alone: they describe the partition as a later try sees it.
   */
  private countLate(state: RunState, entry: PartitionProgress, before: Record<string, number>, now: Record<string, unknown>): void {
    const levels = new Set(state.run.levels ?? []);
    const { processed, counters } = countersOf(now);
    const was = countersOf(before);
    const delta: Record<string, number> = { processed: levels.has("processed") ? 0 : processed - was.processed };
    for (const [k, v] of Object.entries(counters)) if (!levels.has(k)) delta[k] = v - (was.counters[k] ?? 0);
    addCounters(entry, state.run.totals, delta, new Set());
  }

  private move(state: RunState, entry: PartitionProgress, to: PartitionStatus): void {
    const totals = state.run.totals;
    const field = (s: PartitionStatus) => s.toLowerCase() as "pending" | "running" | "done" | "failed" | "skipped";
    totals[field(entry.status)]--;
    totals[field(to)]++;
    entry.status = to;
  }

  private settle(state: RunState, entry: PartitionProgress, to: "DONE" | "FAILED" | "SKIPPED" | "PENDING", error?: string): void {
    this.move(state, entry, to);
    entry.finishedAt = new Date().toISOString();
    if (error !== undefined) entry.error = error;
    this.emitProgress(state, false);
  }

  // ---- slots ------------------------------------------------------------------------------

  /** Ask which slots of a job are open, open new ones, close the others, and work on each. */
  private async tickSlots(name: string, def: JobDefinition): Promise<void> {
    if (!this.businessClockReady()) return;
    let listed: OpenSlot[];
    const now = this.now();
    try {
      const lastId = this.lastRunOf.get(name);
      listed = (await def.slots!.call(this.service, this.service, { job: name, now, lastRun: lastId ? this.runs.get(lastId)?.run : undefined })) ?? [];
    } catch (err) {
      this.service.logger.warn(`Job ${name}: slot check failed: ${errorMessage(err)}`);
      return; // nothing closes on a failed check: the slots known stay as they were until the next tick
    }
    const nowMs = now.getTime();
    const open = new Set<string>();
    for (const slot of listed) {
      if (!(slot.until >= nowMs) || this.stopping) continue;
      open.add(slot.runId);
      if (!this.slots.has(slot.runId)) this.openSlot(name, def, slot);
      else this.slots.get(slot.runId)!.state.run.until = slot.until;
    }
    for (const slot of [...this.slots.values()].filter((s) => s.job === name)) {
      slot.open = open.has(slot.state.run.runId) && !this.stopping;
      if (!slot.open) this.closeSlot(slot);
    }
    await Promise.all([...this.slots.values()].filter((s) => s.job === name && s.open).map((s) => this.advanceSlot(s)));
  }

  private openSlot(name: string, def: JobDefinition, slot: OpenSlot): void {
    const run = this.newRun(slot.runId, name, "SCHEDULE", slot.meta ?? {}, this.all());
    run.until = slot.until;
    if (slot.record) run.record = slot.record;
    run.notHeld = this.all();
    let finish!: (run: JobRun) => void;
    const state: RunState = { run, lastEmit: 0, done: new Promise<JobRun>((r) => (finish = r)) };
    this.runs.set(run.runId, state);
    this.lastRunOf.set(name, run.runId);
    this.slots.set(run.runId, { state, job: name, def, open: true, active: new Set(), localDone: new Set(), recordDone: new Set(), confirmed: true, failures: new Map(), retryAt: new Map(), finish });
    this.prune();
    this.resolveWaiters(run.runId, state);
  }

  /** A slot that is no longer open: nothing new starts; its run ends once what runs has settled. */
  private closeSlot(slot: SlotState): void {
    this.slots.delete(slot.state.run.runId);
    const end = () => {
      if (slot.active.size > 0) return void setTimeout(end, 50).unref();
      const run = slot.state.run;
      this.finishRun(slot.state, run.totals.failed + run.totals.running + run.totals.pending > 0 ? "FAILED" : "DONE");
      slot.finish(run);
    };
    end();
  }

  /** Whether a slot is still open by business time (its listing is checked on ticks). */
  private slotOpen(slot: SlotState): boolean {
    return slot.open && !this.stopping && this.now().getTime() <= (slot.state.run.until ?? Infinity);
  }

  /**
   * Run the slot on every partition held here that is not done here nor DONE in the record; read
   * the record only when there is something to decide (a candidate, or progress not yet confirmed).
   */
  private async advanceSlot(slot: SlotState): Promise<void> {
    const run = slot.state.run;
    const now = Date.now();
    const pick = () =>
      this.leases
        .held()
        .filter((p) => this.leases.holds(p) && !slot.active.has(p) && !slot.localDone.has(p) && !slot.recordDone.has(p) && (slot.retryAt.get(p) ?? 0) <= now);
    let candidates = pick();
    if (candidates.length > 0 || !slot.confirmed) {
      const done = await this.recordDone(run.runId);
      if (done) {
        for (const p of done) slot.recordDone.add(p);
        const missing = [...slot.localDone].filter((p) => !slot.recordDone.has(p));
        slot.confirmed = missing.length === 0;
        // Progress lost on the way (the ledger was away): send this node's share again, at most
        // once per two progress periods (what was sent last may simply not be saved yet).
        const quiet = Date.now() - slot.state.lastEmit > 2 * this.opts.progressEveryMs;
        if (!slot.confirmed && slot.active.size === 0 && !slot.state.emitTimer && quiet) this.emitProgress(slot.state, true);
      }
      candidates = pick();
    }
    run.notHeld = run.wanted.filter((p) => !(p in run.partitions) && !slot.recordDone.has(p));
    if (!slot.open || this.stopping) return;
    for (const p of candidates) void this.runSlotPartition(slot, p);
  }

  /** The partitions a run's record shows DONE, or null when the record cannot be read now. */
  private async recordDone(runId: string): Promise<number[] | null> {
    try {
      const res: { done: number[] } | null = await this.service.broker.call(`${RUN_BOOK}.runDone`, { runId }, { timeout: RUN_BOOK_TIMEOUT_MS });
      return res?.done ?? [];
    } catch (err) {
      this.service.logger.debug?.(`Run ${runId}: record not readable now (${errorMessage(err)}); running what is not done here`);
      return null;
    }
  }

  private async runSlotPartition(slot: SlotState, partition: number): Promise<void> {
    const { state, def } = slot;
    slot.active.add(partition);
    try {
      await this.withSlotTurn(slot.job, def, () =>
        this.exclusive(state.run.job, partition, async () => {
          // Checked again at the turn: the lease may have moved, or the slot closed, while waiting.
          if (!this.slotOpen(slot) || !this.leases.holds(partition) || slot.recordDone.has(partition)) return;
          if (!state.run.partitions[partition]) this.addPartition(state.run, partition);
          // One try per turn: a failed partition gives its turn back and waits its back-off, so a
          // service away for a while holds up no other partition, and is waited for while the slot lasts.
          await this.tries(state, def, partition, 1, def.settled);
          if (state.run.partitions[partition].status === "DONE") {
            slot.localDone.add(partition);
            slot.confirmed = false;
            slot.retryAt.delete(partition);
          } else {
            const n = (slot.failures.get(partition) ?? 0) + 1;
            slot.failures.set(partition, n);
            slot.retryAt.set(partition, Date.now() + Math.min((def.retryDelayMs ?? 250) * 2 ** Math.min(n - 1, 30), def.maxRetryDelayMs ?? 10_000));
          }
        }),
      );
    } catch (err) {
      this.service.logger.warn(`Job ${state.run.job} run ${state.run.runId} partition ${partition}: ${errorMessage(err)}`);
    } finally {
      slot.active.delete(partition);
    }
  }

  /** At most `concurrency` slot executions of a job at once on this node. */
  private async withSlotTurn(job: string, def: JobDefinition, body: () => Promise<void>): Promise<void> {
    let gate = this.slotSlots.get(job);
    if (!gate) this.slotSlots.set(job, (gate = { busy: 0, waiting: [] }));
    const limit = Math.max(1, def.concurrency ?? 4);
    if (gate.busy >= limit) await new Promise<void>((r) => gate!.waiting.push(r));
    else gate.busy++;
    try {
      await body();
    } finally {
      const next = gate.waiting.shift();
      if (next) next();
      else gate.busy--;
    }
  }

  // ---- progress ---------------------------------------------------------------------------

  /** Emit `jobs.progress`: at once when forced (first, last) or when the period has passed, else once at its end. */
  private emitProgress(state: RunState, force: boolean): void {
    const now = Date.now();
    const send = () => {
      if (state.emitTimer) clearTimeout(state.emitTimer);
      state.emitTimer = undefined;
      state.lastEmit = Date.now();
      Promise.resolve(this.service.broker.emit("jobs.progress", this.progressView(state))).catch((err: unknown) => {
        this.service.logger.warn(`Could not emit jobs.progress: ${errorMessage(err)}`);
      });
    };
    if (force || now - state.lastEmit >= this.opts.progressEveryMs) return send();
    if (!state.emitTimer) {
      state.emitTimer = setTimeout(send, this.opts.progressEveryMs - (now - state.lastEmit));
      state.emitTimer.unref();
    }
  }

  /** The run as reported: with the counters so far of the tries running now (a node that dies loses at most one period's). */
  private progressView(state: RunState): JobRun {
    const view = structuredClone(state.run);
    view.seq = state.seq = (state.seq ?? 0) + 1;
    const levels = new Set(view.levels ?? []);
    for (const [p, counters] of state.live ?? []) {
      const entry = view.partitions[p];
      if (entry) addCounters(entry, view.totals, counters, levels);
    }
    return view;
  }

  private prune(): void {
    const finished = [...this.runs.values()].filter((s) => s.run.finishedAt);
    for (let i = 0; i < finished.length - this.opts.keepRuns; i++) this.runs.delete(finished[i].run.runId);
  }

  list(filter: { job?: string } = {}): JobRun[] {
    return [...this.runs.values()]
      .map((s) => s.run)
      .filter((r) => !filter.job || r.job === filter.job)
      .reverse()
      .map((r) => structuredClone(r));
  }

  get(runId: string): JobRun | undefined {
    const state = this.runs.get(runId);
    return state ? structuredClone(state.run) : undefined;
  }

  /** The run once it has finished (waits for a broadcast run to arrive on this node). */
  async wait(runId: string, timeoutMs = 30_000): Promise<JobRun> {
    const state = this.runs.get(runId);
    const done: Promise<JobRun> = state
      ? state.done
      : new Promise((resolve) => {
          const list = this.runWaiters.get(runId) ?? [];
          list.push(resolve);
          this.runWaiters.set(runId, list);
        });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Job run ${runId} did not finish within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    try {
      return structuredClone(await Promise.race([done, timeout]));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Start nothing new, skip what has not started, wait (bounded) for what runs. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    for (const slot of [...this.slots.values()]) {
      slot.open = false;
      this.closeSlot(slot);
    }
    const running = [...this.runs.values()].filter((s) => !s.run.finishedAt).map((s) => s.done.catch(() => undefined));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(running),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.opts.stopTimeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    for (const s of this.runs.values()) if (s.emitTimer) clearTimeout(s.emitTimer);
  }
}

/** The event a broadcast trigger travels on: "<service fullName>.jobs.trigger". */
export function jobTriggerEvent(serviceFullName: string): string {
  return `${serviceFullName}.jobs.trigger`;
}

export function PartitionedJobs(cfg: PartitionedJobsConfig, opts: PartitionedJobsOptions = {}): Partial<ServiceSchema> {
  const ttlMs = opts.ttlMs ?? 15_000;
  const tickMs = opts.tickMs ?? 2000;
  const renewEveryMs = Math.max(1, Math.min(tickMs, Math.floor(ttlMs / 3)));

  return {
    merged(this: any, schema: any) {
      // The trigger event is named after the service, known only once the schema is merged.
      const fullName = Service.getVersionedFullName(schema.name, schema.settings?.$noVersionPrefix !== true ? schema.version : undefined);
      schema.events = {
        ...(schema.events ?? {}),
        [jobTriggerEvent(fullName)]: {
          params: {
            job: { type: "string", empty: false },
            runId: { type: "string", optional: true },
            partitions: { type: "array", items: { type: "number", integer: true, min: 0 }, optional: true },
            meta: { type: "object", optional: true },
          },
          handler(this: any, ctx: { params: { job: string; runId?: string; partitions?: number[]; meta?: Record<string, unknown> } }) {
            const { job, runId, partitions, meta } = ctx.params;
            if (!this.schema.jobs?.[job]) {
              this.logger.warn(`Ignoring a trigger of unknown job "${job}"`);
              return;
            }
            try {
              this.triggerJob(job, { runId, partitions, meta });
            } catch (err) {
              this.logger.warn(`Could not run job ${job} on trigger: ${errorMessage(err)}`);
            }
          },
        },
      };
    },

    methods: {
      triggerJob(this: any, name: string, options: TriggerOptions = {}): string {
        return this.jobRunner.trigger(name, options);
      },
      async broadcastJob(this: any, name: string, options: TriggerOptions = {}): Promise<string> {
        if (!this.schema.jobs?.[name]) throw new DomainError("NOT_FOUND", `No job "${name}" in service ${this.fullName}`, { job: name });
        if (options.partitions?.some((x) => x >= cfg.partitions)) {
          throw new DomainError("VALIDATION_ERROR", `partitions must be below ${cfg.partitions}`, { field: "partitions" });
        }
        const runId = options.runId ?? crypto.randomUUID();
        await this.broker.broadcast(jobTriggerEvent(this.fullName), { job: name, runId, partitions: options.partitions, meta: options.meta });
        return runId;
      },
      /**
       * A run started by hand (REST): recorded by the ledger first (so its progress can be followed
       * at GET /runs/{id} at once), then run by every node on the partitions it holds.
       */
      async runByHand(this: any, name: string, opts: { prefix: string; partitions?: number[]; meta?: Record<string, unknown>; record?: Record<string, unknown> }) {
        if (opts.partitions?.some((x) => x >= cfg.partitions)) {
          throw new DomainError("VALIDATION_ERROR", `partitions must be below ${cfg.partitions}`, { field: "partitions" });
        }
        const runId = `${opts.prefix}-${crypto.randomBytes(8).toString("hex")}`;
        const startedAt = this.clock?.iso ? this.clock.iso() : new Date().toISOString();
        const wanted = opts.partitions ? [...new Set(opts.partitions)].sort((a, b) => a - b) : Array.from({ length: cfg.partitions }, (_, i) => i);
        const record = await this.broker.call(`${RUN_BOOK}.openRun`, { runId, job: name, trigger: "MANUAL", startedAt, wanted, ...(opts.record ?? {}) });
        await this.broadcastJob(name, { runId, partitions: opts.partitions, meta: opts.meta });
        return record;
      },
      /** Run a job's body now on every partition this node holds and wait: counters summed (tests, REPL). */
      async runHeldNow(this: any, body: (partition: number) => Promise<Record<string, number>>): Promise<Record<string, number>> {
        const totals: Record<string, number> = {};
        for (const p of this.heldPartitions()) {
          const r = await body(p);
          for (const [k, v] of Object.entries(r)) totals[k] = (totals[k] ?? 0) + v;
        }
        return totals;
      },
      jobRuns(this: any, filter?: { job?: string }): JobRun[] {
        return this.jobRunner.list(filter);
      },
      jobRun(this: any, runId: string): JobRun | undefined {
        return this.jobRunner.get(runId);
      },
      waitForJobRun(this: any, runId: string, timeoutMs?: number): Promise<JobRun> {
        return this.jobRunner.wait(runId, timeoutMs);
      },
      heldPartitions(this: any): number[] {
        return this.partitionLeases.held();
      },
      /** Nodes running this service now (this one included): the divisor of the fair share. */
      liveJobNodes(this: any): number {
        const list = this.broker.registry.getServiceList({ onlyAvailable: true }) as Array<{ fullName: string; nodeID: string }>;
        const nodes = new Set(list.filter((s) => s.fullName === this.fullName).map((s) => s.nodeID));
        nodes.add(this.broker.nodeID);
        return nodes.size;
      },
    },

    created(this: any) {
      const jobs: JobDefinitions = this.schema.jobs ?? {};
      for (const [name, def] of Object.entries(jobs)) {
        if (typeof def?.run !== "function") throw new Error(`Job ${name} of service ${this.name} has no run function`);
        if ([def.everyMs !== undefined, !!def.schedule, !!def.slots].filter(Boolean).length > 1) {
          throw new Error(`Job ${name} of service ${this.name}: give at most one of everyMs, schedule and slots`);
        }
        if (def.everyMs !== undefined && !(def.everyMs > 0)) throw new Error(`Job ${name} of service ${this.name}: everyMs must be positive`);
      }
      const nodeId = cfg.nodeId ?? this.broker.nodeID;
      const provider: LockProvider = createLockProvider({
        redisUrl: cfg.redisUrl,
        namespace: cfg.lockNamespace ?? (cfg.redisUrl ? undefined : `embedded-${nodeId}-${++embeddedNamespaces}`),
        logger: this.logger,
      });
      this.lockProvider = provider;
      this.partitionLeases = new PartitionLeaseManager({
        provider,
        partitions: cfg.partitions,
        nodeId,
        group: this.fullName,
        ttlMs,
        renewEveryMs,
        liveNodes: () => this.liveJobNodes(),
        logger: this.logger,
      });
      this.jobRunner = new JobRunner(this, jobs, this.partitionLeases, cfg.partitions, {
        progressEveryMs: opts.progressEveryMs ?? 1000,
        keepRuns: opts.keepRuns ?? 100,
        stopTimeoutMs: opts.stopTimeoutMs ?? 10_000,
      });
    },

    async started(this: any) {
      if (this.broker.transit && this.lockProvider.kind === "in-process" && cfg.lockNamespace === undefined) {
        this.logger.warn(`${this.fullName}: a transporter is set but REDIS_URL is not — every node will run every partition (safe, but wasteful)`);
      }
      await this.partitionLeases.start();
      // Partitions taken over (a node died, a lease came back) are worked on at once, not a tick later.
      this.partitionLeases.on("change", (_held: number[], change: { acquired: number[] }) => {
        if (change.acquired.length > 0) this.jobRunner.tick().catch(() => {});
      });
      this.jobTimer = setInterval(() => {
        this.jobRunner.tick().catch((err: unknown) => this.logger.warn(`Job scheduler tick failed: ${errorMessage(err)}`));
      }, tickMs);
      this.jobTimer.unref();
      void this.jobRunner.tick();
    },

    async stopped(this: any) {
      if (this.jobTimer) clearInterval(this.jobTimer);
      this.jobTimer = undefined;
      await this.jobRunner?.stop();
      await this.partitionLeases?.stop();
      await this.lockProvider?.close();
    },
  } as Partial<ServiceSchema>;
}
