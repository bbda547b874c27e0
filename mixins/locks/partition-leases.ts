/**
 * Partition leases: each node keeps leases on a fair share of the P partitions of a group
 * (e.g. "debit"), renews them while alive, gives back what exceeds its share and releases all on
 * shutdown. A node that dies stops renewing; its leases expire and the others take the partitions
 * over on their next ticks.
 *
 * Each tick:
 *   1. renew every held lease; a lost one (expired and taken, or gone) is dropped. A renewal that
 *      fails because the lock store does not answer keeps the lease until its own expiry;
 *   2. fair share = ceil(P / liveNodes);
 *   3. below the share: try to acquire free partitions (resource `${group}:partition:${p}`), walking
 *      from a node-specific offset so that nodes starting together collide less;
 *   4. above the share: release the highest-numbered surplus;
 *   5. emit "change" when the held set changed.
 *
 * A lease spreads work; it is no guarantee (a paused node may still believe it holds one): jobs run
 * under these leases must be idempotent — see ./types.ts.
 *
 * `tick()` is public so tests drive the manager without timers.
 */
import { fnv1a32 } from "../../domain/partition";
import type { Lease, LockProvider } from "./types";

export interface LeaseLogger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
}

export interface PartitionLeaseOptions {
  provider: LockProvider;
  partitions: number;
  nodeId: string;
  /** Names the partition set, e.g. "debit" or a service name. */
  group: string;
  /** Lease time to live; default 15000 ms. */
  ttlMs?: number;
  /** Tick period once started; default ttlMs / 3. */
  renewEveryMs?: number;
  /** How many nodes share the partitions (this one included); values below 1 count as 1. */
  liveNodes: () => number | Promise<number>;
  logger?: LeaseLogger;
}

export interface LeaseChange {
  held: number[];
  acquired: number[];
  /** Leases found lost on renewal (expired and taken, or gone). */
  lost: number[];
  /** Leases given back (surplus above the fair share, or shutdown). */
  released: number[];
}

export type LeaseChangeListener = (held: number[], change: LeaseChange) => void;

export class PartitionLeaseManager {
  readonly partitions: number;
  readonly nodeId: string;
  readonly group: string;
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  private readonly provider: LockProvider;
  private readonly liveNodes: () => number | Promise<number>;
  private readonly logger?: LeaseLogger;
  private readonly offset: number;
  private readonly leases = new Map<number, Lease>();
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private stopped = false;
  private lastLive = 1;
  private readonly listeners = new Set<LeaseChangeListener>();

  constructor(opts: PartitionLeaseOptions) {
    if (!Number.isInteger(opts.partitions) || opts.partitions < 1) throw new RangeError("partitions must be a positive integer");
    this.provider = opts.provider;
    this.partitions = opts.partitions;
    this.nodeId = opts.nodeId;
    this.group = opts.group;
    this.ttlMs = opts.ttlMs ?? 15_000;
    this.renewEveryMs = opts.renewEveryMs ?? Math.max(1, Math.floor(this.ttlMs / 3));
    if (this.renewEveryMs >= this.ttlMs) throw new RangeError("renewEveryMs must be shorter than ttlMs, or leases lapse between ticks");
    this.liveNodes = opts.liveNodes;
    this.logger = opts.logger;
    this.offset = fnv1a32(`${opts.group}/${opts.nodeId}`) % this.partitions;
  }

  /** Listen to changes of the held set. */
  on(_event: "change", listener: LeaseChangeListener): this {
    this.listeners.add(listener);
    return this;
  }

  off(_event: "change", listener: LeaseChangeListener): this {
    this.listeners.delete(listener);
    return this;
  }

  private emit(change: LeaseChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change.held, change);
      } catch (err) {
        this.logger?.warn(`${this.group}: a lease change listener failed: ${(err as Error).message}`);
      }
    }
  }

  resource(partition: number): string {
    return `${this.group}:partition:${partition}`;
  }

  /** The partitions held, ascending. */
  held(): number[] {
    return [...this.leases.keys()].sort((a, b) => a - b);
  }

  /** Whether this node holds `partition` and its lease has not run out by the local clock. */
  holds(partition: number): boolean {
    const lease = this.leases.get(partition);
    return !!lease && lease.expiresAt > Date.now();
  }

  /** Tick now, then every renewEveryMs (unref'd timer). Resolves after the first tick. */
  async start(): Promise<void> {
    this.stopped = false;
    if (!this.timer) {
      this.timer = setInterval(() => {
        this.tick().catch((err) => this.logger?.warn(`Partition lease tick of ${this.group} failed: ${(err as Error).message}`));
      }, this.renewEveryMs);
      this.timer.unref();
    }
    await this.tick();
  }

  /** Stop ticking and release every lease. `{ release: false }` leaves them to expire (a crash). */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight?.catch(() => {});
    const held = this.held();
    if (opts.release !== false) {
      await Promise.all([...this.leases.values()].map((l) => this.provider.release(l).catch(() => {})));
    }
    this.leases.clear();
    if (held.length > 0) this.emit({ held: [], acquired: [], lost: [], released: held });
  }

  /** One round of renew / rebalance. Concurrent calls share the round in flight. */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.inFlight) {
      this.inFlight = this.round().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  private async round(): Promise<void> {
    const lost = await this.renewAll();
    const share = Math.ceil(this.partitions / (await this.countLiveNodes()));
    const acquired = this.stopped ? [] : await this.acquireUpTo(share);
    const released = await this.releaseAbove(share);
    if (lost.length + acquired.length + released.length > 0) {
      const held = this.held();
      if (lost.length > 0) this.logger?.warn(`${this.group}: lost partition leases ${lost.join(",")}`);
      this.logger?.info(
        `${this.group}: node ${this.nodeId} holds ${held.length}/${this.partitions} partitions (share ${share})` +
          (acquired.length ? `, took ${acquired.join(",")}` : "") +
          (released.length ? `, gave back ${released.join(",")}` : ""),
      );
      this.emit({ held, acquired, lost, released });
    }
  }

  private async renewAll(): Promise<number[]> {
    const lost: number[] = [];
    await Promise.all(
      [...this.leases].map(async ([p, lease]) => {
        try {
          const renewed = await this.provider.renew(lease, this.ttlMs);
          if (renewed) this.leases.set(p, renewed);
          else {
            this.leases.delete(p);
            lost.push(p);
          }
        } catch (err) {
          // The lock store did not answer: the lease may still be ours until it runs out.
          if (lease.expiresAt <= Date.now()) {
            this.leases.delete(p);
            lost.push(p);
          }
          this.logger?.warn(`${this.group}: could not renew partition ${p}: ${(err as Error).message}`);
        }
      }),
    );
    return lost.sort((a, b) => a - b);
  }

  private async countLiveNodes(): Promise<number> {
    try {
      const n = Math.floor(Number(await this.liveNodes()));
      this.lastLive = Number.isFinite(n) && n >= 1 ? n : 1;
    } catch (err) {
      this.logger?.warn(`${this.group}: could not count live nodes, keeping ${this.lastLive}: ${(err as Error).message}`);
    }
    return this.lastLive;
  }

  private async acquireUpTo(share: number): Promise<number[]> {
    const acquired: number[] = [];
    if (this.leases.size >= share) return acquired;
    const candidates: number[] = [];
    for (let i = 0; i < this.partitions; i++) {
      const p = (this.offset + i) % this.partitions;
      if (!this.leases.has(p)) candidates.push(p);
    }
    // Try as many as are missing at once; never more, so the share is not overshot.
    let next = 0;
    while (this.leases.size < share && next < candidates.length && !this.stopped) {
      const batch = candidates.slice(next, next + (share - this.leases.size));
      next += batch.length;
      const leases = await Promise.all(
        batch.map((p) =>
          this.provider.acquire(this.resource(p), this.ttlMs).catch((err) => {
            this.logger?.warn(`${this.group}: could not acquire partition ${p}: ${(err as Error).message}`);
            return null;
          }),
        ),
      );
      leases.forEach((lease, i) => {
        if (!lease) return;
        if (this.stopped) {
          void this.provider.release(lease).catch(() => {});
          return;
        }
        this.leases.set(batch[i], lease);
        acquired.push(batch[i]);
      });
    }
    return acquired.sort((a, b) => a - b);
  }

  private async releaseAbove(share: number): Promise<number[]> {
    const surplus = this.leases.size - share;
    if (surplus <= 0) return [];
    const give = this.held().slice(-surplus);
    await Promise.all(
      give.map(async (p) => {
        const lease = this.leases.get(p) as Lease;
        this.leases.delete(p);
        await this.provider.release(lease).catch(() => {});
      }),
    );
    return give;
  }
}
