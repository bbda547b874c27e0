/**
 * Daily attempt caps (每日扣款次数上限) that hold across every executor: per channel
 * (CHANNEL_SETTINGS `channelDailyAttemptCap`, all cards) and per card (`cardDailyAttemptCap`, all
 * channels). `take` is the gate a debit passes just before its trade is opened: it takes one of the
 * day's attempts only if fewer than the cap were taken, atomically, so callers on any number of
 * nodes never take more than the cap together.
 *
 * - With REDIS_URL: one counter per (channel | card, business date) in Redis, taken by a Lua script
 *   (if value < cap then INCR), expiring after two days. A counter that does not exist yet (first take
 *   of the day, or after Redis lost its data) is seeded from the ledger's count of the day's attempts;
 *   the script writes the seed only while the key is absent (as SET NX would), so two nodes seeding
 *   at once do not count twice.
 * - Embedded (one process): the same counters in memory, seeded from the ledger the same way.
 *
 * A taken attempt stays taken even when the trade never reached the bank (UNAVAILABLE, a crash before
 * sending) unless the flow gives it back (`giveBack`): the cap is never exceeded, it may be reached
 * early. After Redis lost its data, the seed counts the trades the ledger holds: attempts taken but
 * not yet opened at that instant are not in it (at most one per caller in flight).
 */
import Redis from "ioredis";

export type CapScope = "CHANNEL" | "CARD";

/** The day's attempts the ledger knows of (trades opened for the channel / card on that business date). */
export type SeedAttempts = (scope: CapScope, id: string, businessDate: string) => Promise<number>;

export interface AttemptCaps {
  /** Attempts taken on `businessDate` (seeded from the ledger when first asked). */
  attemptsToday(scope: CapScope, id: string, businessDate: string): Promise<number>;
  /** Take one attempt if fewer than `cap` were taken: true = taken, false = at the cap. Rejects when the counter cannot be reached (nothing taken). */
  take(scope: CapScope, id: string, cap: number, businessDate: string): Promise<boolean>;
  /** Give one taken attempt back (the request provably never reached the bank). Never below zero. */
  giveBack(scope: CapScope, id: string, businessDate: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The ledger query counting a day's attempts, the same ones `usageOf` in domain/debit-flow.ts counts
 * plus the trades still INIT (taken, about to be sent): every DEBIT trade of the channel / card that
 * date, except those that provably never reached the bank (UNAVAILABLE, STALE_INIT).
 */
export function attemptSeedQuery(scope: CapScope, id: string, businessDate: string): Record<string, unknown> {
  return {
    kind: "DEBIT",
    businessDate,
    ...(scope === "CHANNEL" ? { channel: id } : { cardFingerprint: id }),
    "failure.reason": { $nin: ["UNAVAILABLE", "STALE_INIT"] },
  };
}

function checkCap(cap: number): void {
  if (!Number.isInteger(cap) || cap < 0) throw new RangeError(`an attempt cap must be a non-negative integer, got ${String(cap)}`);
}

function keyOf(scope: CapScope, id: string, businessDate: string): string {
  return `${scope === "CHANNEL" ? "channel" : "card"}:${id}:${businessDate}`;
}

/** Embedded mode: counters in this process, seeded from the ledger once per key. */
export class InProcessAttemptCaps implements AttemptCaps {
  private readonly counters = new Map<string, { count: number; ready: Promise<void> }>();
  private latestDate = "";

  constructor(private readonly seed: SeedAttempts) {}

  private entry(scope: CapScope, id: string, businessDate: string): { count: number; ready: Promise<void> } {
    if (businessDate > this.latestDate) {
      // A new business day: yesterday's counters are kept (a slot may still finish on them), older ones dropped.
      for (const k of this.counters.keys()) if (k.slice(k.lastIndexOf(":") + 1) < this.latestDate) this.counters.delete(k);
      this.latestDate = businessDate;
    }
    const key = keyOf(scope, id, businessDate);
    let e = this.counters.get(key);
    if (!e) {
      const created = { count: 0, ready: Promise.resolve() };
      created.ready = this.seed(scope, id, businessDate).then(
        (n) => {
          created.count += n;
        },
        (err: unknown) => {
          this.counters.delete(key); // seed again next time
          throw err;
        },
      );
      this.counters.set(key, created);
      e = created;
    }
    return e;
  }

  async attemptsToday(scope: CapScope, id: string, businessDate: string): Promise<number> {
    const e = this.entry(scope, id, businessDate);
    await e.ready;
    return e.count;
  }

  async take(scope: CapScope, id: string, cap: number, businessDate: string): Promise<boolean> {
    checkCap(cap);
    const e = this.entry(scope, id, businessDate);
    await e.ready;
    // No await between the check and the increment: exact within the process.
    if (e.count >= cap) return false;
    e.count++;
    return true;
  }

  async giveBack(scope: CapScope, id: string, businessDate: string): Promise<void> {
    const e = this.entry(scope, id, businessDate);
    await e.ready;
    if (e.count > 0) e.count--;
  }

  async close(): Promise<void> {}
}

/** -1: the key is absent and no seed was given; 1: taken; 0: at the cap. */
const TAKE = `
local v = redis.call('GET', KEYS[1])
if not v then
  if ARGV[2] == '' then return -1 end
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  v = ARGV[2]
end
if tonumber(v) < tonumber(ARGV[1]) then
  redis.call('INCR', KEYS[1])
  return 1
end
return 0
`;

/** Like SET NX PX, then the value: the seed only counts if the key was absent. */
const SEED = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX')
return redis.call('GET', KEYS[1])
`;

/** DECR but not below zero; nothing when the key is absent. */
const GIVE_BACK = `
local v = redis.call('GET', KEYS[1])
if v and tonumber(v) > 0 then return redis.call('DECR', KEYS[1]) end
return v and tonumber(v) or -1
`;

type CapCommands = Redis & {
  rmCapTake(key: string, cap: string, seed: string, ttlMs: string): Promise<number>;
  rmCapSeed(key: string, seed: string, ttlMs: string): Promise<string | null>;
  rmCapGiveBack(key: string): Promise<number>;
};

/** Cluster mode: one counter per (channel | card, business date) in Redis, shared by every executor. */
export class RedisAttemptCaps implements AttemptCaps {
  private readonly redis: CapCommands;
  private readonly seeding = new Map<string, Promise<number>>();

  constructor(
    redisUrl: string,
    private readonly seed: SeedAttempts,
    private readonly prefix = "repaymesh",
    /** How long a day's counter is kept (two days: a slot that runs past midnight still finds it). */
    private readonly ttlMs = 2 * 86_400_000,
  ) {
    const redis = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    redis.on("error", () => {}); // a take rejects and the job retries; ioredis reconnects
    redis.defineCommand("rmCapTake", { numberOfKeys: 1, lua: TAKE });
    redis.defineCommand("rmCapSeed", { numberOfKeys: 1, lua: SEED });
    redis.defineCommand("rmCapGiveBack", { numberOfKeys: 1, lua: GIVE_BACK });
    this.redis = redis as CapCommands;
  }

  private key(scope: CapScope, id: string, businessDate: string): string {
    return `${this.prefix}:cap:${keyOf(scope, id, businessDate)}`;
  }

  /** The ledger's count, asked once at a time per key on this node. */
  private seedOf(scope: CapScope, id: string, businessDate: string): Promise<number> {
    const k = this.key(scope, id, businessDate);
    let p = this.seeding.get(k);
    if (!p) {
      p = this.seed(scope, id, businessDate).finally(() => this.seeding.delete(k));
      this.seeding.set(k, p);
    }
    return p;
  }

  async attemptsToday(scope: CapScope, id: string, businessDate: string): Promise<number> {
    const k = this.key(scope, id, businessDate);
    const v = await this.redis.get(k);
    if (v !== null) return Number(v);
    const seeded = await this.redis.rmCapSeed(k, String(await this.seedOf(scope, id, businessDate)), String(this.ttlMs));
    return Number(seeded ?? 0);
  }

  async take(scope: CapScope, id: string, cap: number, businessDate: string): Promise<boolean> {
    checkCap(cap);
    const k = this.key(scope, id, businessDate);
    let r = await this.redis.rmCapTake(k, String(cap), "", String(this.ttlMs));
    if (r === -1) r = await this.redis.rmCapTake(k, String(cap), String(await this.seedOf(scope, id, businessDate)), String(this.ttlMs));
    return r === 1;
  }

  async giveBack(scope: CapScope, id: string, businessDate: string): Promise<void> {
    await this.redis.rmCapGiveBack(this.key(scope, id, businessDate));
  }

  async close(): Promise<void> {
    // Not connected: stop reconnecting at once (QUIT would wait in the offline queue).
    if (this.redis.status !== "ready") this.redis.disconnect();
    else await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export function createAttemptCaps(cfg: { redisUrl?: string; storePrefix?: string }, seed: SeedAttempts): AttemptCaps {
  return cfg.redisUrl ? new RedisAttemptCaps(cfg.redisUrl, seed, (cfg.storePrefix || "repaymesh").replace(/_$/, "")) : new InProcessAttemptCaps(seed);
}
