/**
 * Per channel: the rolling success rate routing ranks channels by, and the circuit breaker (熔断)
 * that takes a failing channel out. Settings come from the CHANNEL_SETTINGS rule (`configure`, see
 * domain/sliding-window.ts `healthSettingsOf`): the rate is over the last N attempts within H hours
 * of business time (default 200 in 24 h, so it spans the day's slots); the breaker trips on
 * `minRequests` and `failureRatio` within its window and half-opens after `halfOpenAfterSeconds`.
 * Time is always the business clock's `now`, passed in.
 *
 * - Embedded (one process): both in memory (InProcessChannelHealth).
 * - With REDIS_URL (RedisChannelHealth): both live in Redis, so every executor ranks channels on the
 *   whole cluster's traffic and sees one breaker per channel. An outcome is recorded by one Lua script
 *   (atomic: the attempt list, the breaker's buckets and its state move together), fire-and-forget.
 *   `successRate` and `breaker` are called synchronously on the hot path: they read a local copy that
 *   is refreshed from Redis in the background when older than `refreshMs` (and by `refresh`, which the
 *   executor awaits when it reads the channel settings). While Redis has not answered for
 *   `staleAfterMs`, this node's own in-memory view (fed by its own outcomes) is used instead, so the
 *   breaker still protects the channel.
 */
import Redis from "ioredis";
import {
  breakerConfigOf,
  bucketKey,
  CircuitBreaker,
  healthSettingsOf,
  rateOfRecent,
  RecentAttempts,
  type AttemptRecord,
  type BreakerEvent,
  type BreakerState,
  type HealthSettings,
} from "../domain/sliding-window";

export interface ChannelHealthView {
  /** 0..1, or null with no attempt in the window. */
  successRate: number | null;
  /** Attempts the rate is over. */
  attempts: number;
  breaker: BreakerState;
  /** When the breaker last opened (epoch ms, business clock), null if closed. */
  openedAt: number | null;
  /** Whether this is the cluster's view (Redis) or this process's. */
  scope: "CLUSTER" | "PROCESS";
}

export interface ChannelHealth {
  /** New settings from the CHANNEL_SETTINGS rule; applies from the next outcome / read. */
  configure(settings: HealthSettings): void;
  record(code: string, event: BreakerEvent, now: number): void;
  /** 0..1, or undefined with no traffic in the window. */
  successRate(code: string, now: number): number | undefined;
  breaker(code: string, now: number): BreakerState;
  view(code: string, now: number): ChannelHealthView;
  /**
   * The one probe of a HALF_OPEN breaker: true for the first caller (across the cluster with Redis)
   * until an outcome of the channel is recorded or `ttlMs` passes (a probe whose sender died).
   */
  takeProbe(code: string, ttlMs: number): Promise<boolean>;
  /** Bring the local copy of these channels up to date (no-op in-process). Never rejects. */
  refresh(codes: readonly string[], now: number): Promise<void>;
  close(): Promise<void>;
}

const BUCKET_MS = 10_000;
/** How long Redis keeps a channel's breaker and attempt list after the last outcome (wall time). */
const KEEP_MS = 2 * 86_400_000;

export class InProcessChannelHealth implements ChannelHealth {
  private settings: HealthSettings = healthSettingsOf(undefined);
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly recent = new Map<string, RecentAttempts>();
  /** Wall-clock expiry of the probe in flight per channel. */
  private readonly probes = new Map<string, number>();

  configure(settings: HealthSettings): void {
    this.settings = settings;
    for (const [code, b] of this.breakers) b.reconfigure(breakerConfigOf(settings, code));
    for (const r of this.recent.values()) r.resize(settings.successRate.windowAttempts);
  }

  private breakerOf(code: string): CircuitBreaker {
    let b = this.breakers.get(code);
    if (!b) {
      b = new CircuitBreaker(breakerConfigOf(this.settings, code));
      this.breakers.set(code, b);
    }
    return b;
  }

  private recentOf(code: string): RecentAttempts {
    let r = this.recent.get(code);
    if (!r) {
      r = new RecentAttempts(this.settings.successRate.windowAttempts);
      this.recent.set(code, r);
    }
    return r;
  }

  record(code: string, event: BreakerEvent, now: number): void {
    this.recentOf(code).record(event === "SUCCESS", now);
    this.breakerOf(code).record(event, now);
    this.probes.delete(code);
  }

  async takeProbe(code: string, ttlMs: number): Promise<boolean> {
    const until = this.probes.get(code);
    if (until !== undefined && Date.now() < until) return false;
    this.probes.set(code, Date.now() + ttlMs);
    return true;
  }

  successRate(code: string, now: number): number | undefined {
    return this.recentOf(code).stats(now, this.settings.successRate).rate;
  }

  breaker(code: string, now: number): BreakerState {
    return this.breakerOf(code).state(now);
  }

  view(code: string, now: number): ChannelHealthView {
    const stats = this.recentOf(code).stats(now, this.settings.successRate);
    const b = this.breakerOf(code).snapshot(now);
    return { successRate: stats.rate ?? null, attempts: stats.total, breaker: b.state, openedAt: b.openedAt, scope: "PROCESS" };
  }

  async refresh(): Promise<void> {}

  async close(): Promise<void> {}
}

/**
 * One outcome, atomically. KEYS: the breaker hash, the attempt list. ARGV: now, 1|0 (success),
 * bucket start, breaker window ms, minRequests, failureRatio, half-open ms, N (attempts kept),
 * keep ms. Returns { state, openedAt ('' when closed) }. The same transitions as
 * domain/sliding-window.ts CircuitBreaker (test/integration/channel-health.test.ts runs both on one
 * table): OPEN ignores outcomes; HALF_OPEN closes on a success (window cleared) and re-opens on a
 * failure; CLOSED counts and trips on a failure once total ≥ minRequests and failures/total ≥ ratio.
 */
const RECORD = `
local now = tonumber(ARGV[1])
local ok = ARGV[2] == '1'
local windowMs = tonumber(ARGV[4])
redis.call('LPUSH', KEYS[2], ARGV[1] .. ':' .. ARGV[2])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[8]) - 1)
redis.call('PEXPIRE', KEYS[2], ARGV[9])
local state = redis.call('HGET', KEYS[1], 'state') or 'CLOSED'
local openedAt = redis.call('HGET', KEYS[1], 'openedAt') or ''
if state == 'OPEN' and openedAt ~= '' and now - tonumber(openedAt) >= tonumber(ARGV[7]) then state = 'HALF_OPEN' end
if state == 'OPEN' then return {state, openedAt} end
local function add(success)
  redis.call('HINCRBY', KEYS[1], 'b:' .. ARGV[3] .. ':t', 1)
  if success then redis.call('HINCRBY', KEYS[1], 'b:' .. ARGV[3] .. ':s', 1) end
end
if state == 'HALF_OPEN' then
  if ok then
    local fields = redis.call('HKEYS', KEYS[1])
    for _, f in ipairs(fields) do
      if string.sub(f, 1, 2) == 'b:' then redis.call('HDEL', KEYS[1], f) end
    end
    state = 'CLOSED'
    openedAt = ''
    add(true)
  else
    state = 'OPEN'
    openedAt = ARGV[1]
  end
else
  add(ok)
  local h = redis.call('HGETALL', KEYS[1])
  local total, success = 0, 0
  for i = 1, #h, 2 do
    local start, kind = string.match(h[i], '^b:(%d+):(%a)$')
    if start then
      start = tonumber(start)
      if start <= now - windowMs then
        redis.call('HDEL', KEYS[1], h[i])
      elseif start <= now then
        if kind == 't' then total = total + tonumber(h[i + 1]) else success = success + tonumber(h[i + 1]) end
      end
    end
  end
  if not ok and total >= tonumber(ARGV[5]) and total > 0 and (total - success) / total >= tonumber(ARGV[6]) then
    state = 'OPEN'
    openedAt = ARGV[1]
  end
end
redis.call('HSET', KEYS[1], 'state', state, 'openedAt', openedAt)
redis.call('PEXPIRE', KEYS[1], ARGV[9])
return {state, openedAt}
`;

type HealthCommands = Redis & {
  rmHealthRecord(breakerKey: string, listKey: string, ...args: string[]): Promise<[string, string]>;
};

interface Cached {
  /** Wall time and business time of the last load. */
  wallAt: number;
  bizAt: number;
  /** Newest first, at most N. */
  records: AttemptRecord[];
  state: BreakerState;
  openedAt: number | null;
  loading: Promise<void> | null;
}

export interface RedisHealthOptions {
  /** Key prefix (one per deployment). */
  prefix?: string;
  /** How long a loaded copy is used before Redis is asked again (wall ms; also when the business clock moved this much). */
  refreshMs?: number;
  /** With no answer from Redis for this long (wall ms), this node's own view is used. */
  staleAfterMs?: number;
  /** The wall clock for the two above (tests); windows always use the business `now`. */
  wallMs?: () => number;
}

/** Success rates and breakers in Redis, shared by every executor; a local copy for the synchronous reads. */
export class RedisChannelHealth implements ChannelHealth {
  private readonly redis: HealthCommands;
  private settings: HealthSettings = healthSettingsOf(undefined);
  private readonly cache = new Map<string, Cached>();
  /** This node's own outcomes, used while Redis does not answer. */
  private readonly local = new InProcessChannelHealth();
  private readonly prefix: string;
  private readonly refreshMs: number;
  private readonly staleAfterMs: number;
  private readonly wallMs: () => number;
  private okAt: number;

  constructor(redisUrl: string, opts: RedisHealthOptions | string = {}) {
    const o: RedisHealthOptions = typeof opts === "string" ? { prefix: opts } : opts;
    this.prefix = o.prefix ?? "repaymesh";
    this.refreshMs = o.refreshMs ?? 1000;
    this.staleAfterMs = o.staleAfterMs ?? 10_000;
    this.wallMs = o.wallMs ?? Date.now;
    this.okAt = this.wallMs();
    const redis = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    redis.on("error", () => {}); // reads fall back to the local view; ioredis reconnects
    redis.defineCommand("rmHealthRecord", { numberOfKeys: 2, lua: RECORD });
    this.redis = redis as HealthCommands;
  }

  private breakerKey(code: string): string {
    return `${this.prefix}:breaker:${code}`;
  }

  private listKey(code: string): string {
    return `${this.prefix}:attempts:${code}`;
  }

  /** Whether Redis answered recently enough for its view to be used. */
  private live(): boolean {
    return this.wallMs() - this.okAt <= this.staleAfterMs;
  }

  configure(settings: HealthSettings): void {
    this.settings = settings;
    this.local.configure(settings);
  }

  record(code: string, event: BreakerEvent, now: number): void {
    this.recordNow(code, event, now).catch(() => {});
    this.redis.del(this.probeKey(code)).catch(() => {});
  }

  async takeProbe(code: string, ttlMs: number): Promise<boolean> {
    // While Redis is away, each node probes on its own (its own view decides the state then).
    if (!this.live()) return this.local.takeProbe(code, ttlMs);
    try {
      return (await this.redis.set(this.probeKey(code), "1", "PX", ttlMs, "NX")) === "OK";
    } catch {
      return this.local.takeProbe(code, ttlMs);
    }
  }

  private probeKey(code: string): string {
    return `${this.prefix}:probe:${code}`;
  }

  /** `record`, awaiting Redis: the breaker's state after this outcome (tests; the hot path does not wait). */
  async recordNow(code: string, event: BreakerEvent, now: number): Promise<BreakerState> {
    this.local.record(code, event, now);
    const cfg = breakerConfigOf(this.settings, code);
    const success = event === "SUCCESS";
    const c = this.cache.get(code);
    if (c) {
      // Our own outcome counts at once; the next load brings everyone's.
      c.records.unshift({ at: now, success });
      if (c.records.length > this.settings.successRate.windowAttempts) c.records.length = this.settings.successRate.windowAttempts;
    }
    const [state, openedAt] = await this.redis.rmHealthRecord(
      this.breakerKey(code),
      this.listKey(code),
      String(now),
      success ? "1" : "0",
      String(bucketKey(now, BUCKET_MS)),
      String(cfg.windowSeconds * 1000),
      String(cfg.minRequests),
      String(cfg.failureRatio),
      String(cfg.halfOpenAfterSeconds * 1000),
      String(this.settings.successRate.windowAttempts),
      String(KEEP_MS),
    );
    this.okAt = this.wallMs();
    const cur = this.cache.get(code);
    if (cur) {
      cur.state = state as BreakerState;
      cur.openedAt = openedAt === "" ? null : Number(openedAt);
    }
    return state as BreakerState;
  }

  /** Read a channel's attempt list and breaker from Redis now. */
  async load(code: string, now: number): Promise<void> {
    const n = this.settings.successRate.windowAttempts;
    const res = await this.redis.pipeline().lrange(this.listKey(code), 0, n - 1).hmget(this.breakerKey(code), "state", "openedAt").exec();
    if (!res || res.some(([err]) => err)) throw res?.find(([err]) => err)?.[0] ?? new Error("no answer from Redis");
    const list = res[0][1] as string[];
    const [state, openedAt] = res[1][1] as Array<string | null>;
    const records: AttemptRecord[] = [];
    for (const entry of list) {
      const i = entry.lastIndexOf(":");
      const at = Number(entry.slice(0, i));
      if (Number.isFinite(at)) records.push({ at, success: entry.slice(i + 1) === "1" });
    }
    this.okAt = this.wallMs();
    const prev = this.cache.get(code);
    this.cache.set(code, {
      wallAt: this.wallMs(),
      bizAt: now,
      records,
      state: state === "OPEN" || state === "HALF_OPEN" ? state : "CLOSED",
      openedAt: openedAt ? Number(openedAt) : null,
      loading: prev?.loading ?? null,
    });
  }

  private stale(c: Cached | undefined, now: number): boolean {
    return !c || this.wallMs() - c.wallAt >= this.refreshMs || Math.abs(now - c.bizAt) >= this.refreshMs;
  }

  /** Start a load unless one is running; the promise never rejects. */
  private startLoad(code: string, now: number): Promise<void> {
    let c = this.cache.get(code);
    if (c?.loading) return c.loading;
    if (!c) {
      c = { wallAt: Number.NEGATIVE_INFINITY, bizAt: now, records: [], state: "CLOSED", openedAt: null, loading: null };
      this.cache.set(code, c);
    }
    const p = this.load(code, now)
      .catch(() => {})
      .finally(() => {
        const cur = this.cache.get(code);
        if (cur) cur.loading = null;
      });
    c.loading = p;
    return p;
  }

  private current(code: string, now: number): Cached | undefined {
    const c = this.cache.get(code);
    if (this.stale(c, now)) void this.startLoad(code, now);
    return this.cache.get(code);
  }

  async refresh(codes: readonly string[], now: number): Promise<void> {
    const waits = codes
      .filter((code) => this.stale(this.cache.get(code), now))
      .map(async (code) => {
        // A load already under way may have been sent before the latest outcomes: read again after it.
        const running = this.cache.get(code)?.loading;
        if (running) await running;
        await this.startLoad(code, now);
      });
    // While Redis is down, do not hold every debit up waiting for it: the loads go on in the background.
    if (this.live()) await Promise.all(waits);
  }

  successRate(code: string, now: number): number | undefined {
    const c = this.current(code, now);
    if (!this.live() || !c || c.wallAt === Number.NEGATIVE_INFINITY) return this.local.successRate(code, now);
    return rateOfRecent(c.records, now, this.settings.successRate).rate;
  }

  private stateOf(c: Cached, code: string, now: number): BreakerState {
    if (c.state === "OPEN" && c.openedAt !== null && now - c.openedAt >= breakerConfigOf(this.settings, code).halfOpenAfterSeconds * 1000) return "HALF_OPEN";
    return c.state;
  }

  breaker(code: string, now: number): BreakerState {
    const c = this.current(code, now);
    if (!this.live() || !c || c.wallAt === Number.NEGATIVE_INFINITY) return this.local.breaker(code, now);
    return this.stateOf(c, code, now);
  }

  view(code: string, now: number): ChannelHealthView {
    const c = this.current(code, now);
    if (!this.live() || !c || c.wallAt === Number.NEGATIVE_INFINITY) return this.local.view(code, now);
    const stats = rateOfRecent(c.records, now, this.settings.successRate);
    const state = this.stateOf(c, code, now);
    return { successRate: stats.rate ?? null, attempts: stats.total, breaker: state, openedAt: state === "CLOSED" ? null : c.openedAt, scope: "CLUSTER" };
  }

  async close(): Promise<void> {
    await Promise.all([...this.cache.values()].map((c) => c.loading));
    // Not connected: stop reconnecting at once (QUIT would wait in the offline queue).
    if (this.redis.status !== "ready") this.redis.disconnect();
    else await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export function createChannelHealth(cfg: { redisUrl?: string; storePrefix?: string }): ChannelHealth {
  return cfg.redisUrl ? new RedisChannelHealth(cfg.redisUrl, { prefix: (cfg.storePrefix || "repaymesh").replace(/_$/, "") }) : new InProcessChannelHealth();
}
