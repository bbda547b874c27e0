/**
 * Rolling success rate per channel (routing ranks channels by it) and a circuit breaker per channel.
 * In-process by default; with REDIS_URL the success counts live in Redis, bucketed the same way
 * (domain/sliding-window.ts), so every executor node ranks channels on the whole cluster's traffic.
 * Breakers stay per node: each node stops sending to a channel it sees failing.
 */
import Redis from "ioredis";
import { bucketKey, CircuitBreaker, rateFrom, SlidingWindow, type Bucket, type BreakerConfig, type BreakerEvent, type BreakerState } from "../domain/sliding-window";

export interface ChannelHealth {
  record(code: string, event: BreakerEvent, now: number): void;
  /** 0..1, or undefined with no traffic in the window. */
  successRate(code: string, now: number): number | undefined;
  breaker(code: string, now: number): BreakerState;
  close(): Promise<void>;
}

const WINDOW_SECONDS = 300;
const BUCKET_SECONDS = 10;
const BREAKER: BreakerConfig = { windowSeconds: 300, minRequests: 20, failureRatio: 0.5, halfOpenAfterSeconds: 60 };

abstract class BreakersPerNode {
  private readonly breakers = new Map<string, CircuitBreaker>();
  protected breakerOf(code: string): CircuitBreaker {
    let b = this.breakers.get(code);
    if (!b) {
      b = new CircuitBreaker(BREAKER);
      this.breakers.set(code, b);
    }
    return b;
  }
  breaker(code: string, now: number): BreakerState {
    return this.breakerOf(code).state(now);
  }
}

export class InProcessChannelHealth extends BreakersPerNode implements ChannelHealth {
  private readonly windows = new Map<string, SlidingWindow>();
  private windowOf(code: string): SlidingWindow {
    let w = this.windows.get(code);
    if (!w) {
      w = new SlidingWindow({ windowSeconds: WINDOW_SECONDS, bucketSeconds: BUCKET_SECONDS });
      this.windows.set(code, w);
    }
    return w;
  }
  record(code: string, event: BreakerEvent, now: number): void {
    this.windowOf(code).record(event === "SUCCESS", now);
    this.breakerOf(code).record(event, now);
  }
  successRate(code: string, now: number): number | undefined {
    return this.windowOf(code).stats(now).rate;
  }
  async close(): Promise<void> {}
}

/** Success counts in Redis hashes, one per channel and 10-second bucket, expiring after the window. */
export class RedisChannelHealth extends BreakersPerNode implements ChannelHealth {
  private readonly redis: Redis;
  private readonly cache = new Map<string, { at: number; rate: number | undefined; loading: boolean }>();
  private readonly windowMs = WINDOW_SECONDS * 1000;
  private readonly bucketMs = BUCKET_SECONDS * 1000;

  constructor(
    redisUrl: string,
    private readonly prefix = "repaymesh",
    /** How long a read rate is reused before Redis is asked again. */
    private readonly refreshMs = 1000,
  ) {
    super();
    this.redis = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    this.redis.on("error", () => {}); // routing falls back to the last known rate; ioredis reconnects
  }

  private key(code: string, start: number): string {
    return `${this.prefix}:health:${code}:${start}`;
  }

  record(code: string, event: BreakerEvent, now: number): void {
    this.breakerOf(code).record(event, now);
    const k = this.key(code, bucketKey(now, this.bucketMs));
    this.redis
      .multi()
      .hincrby(k, "total", 1)
      .hincrby(k, "success", event === "SUCCESS" ? 1 : 0)
      .pexpire(k, this.windowMs + this.bucketMs)
      .exec()
      .catch(() => {});
    const c = this.cache.get(code);
    if (c) c.at = 0; // read again next time
  }

  /** Read the window from Redis now (routing uses the cached value; tests and refreshes call this). */
  async load(code: string, now: number): Promise<number | undefined> {
    const starts: number[] = [];
    for (let s = bucketKey(now, this.bucketMs); s > now - this.windowMs; s -= this.bucketMs) starts.push(s);
    const pipe = this.redis.pipeline();
    for (const s of starts) pipe.hgetall(this.key(code, s));
    const res = (await pipe.exec()) ?? [];
    const buckets: Bucket[] = res.map(([, v], i) => {
      const h = (v ?? {}) as Record<string, string>;
      return { start: starts[i], success: Number(h.success ?? 0), total: Number(h.total ?? 0) };
    });
    const rate = rateFrom(buckets, now, this.windowMs).rate;
    this.cache.set(code, { at: now, rate, loading: false });
    return rate;
  }

  successRate(code: string, now: number): number | undefined {
    const c = this.cache.get(code);
    if (!c || (now - c.at > this.refreshMs && !c.loading)) {
      if (c) c.loading = true;
      else this.cache.set(code, { at: 0, rate: undefined, loading: true });
      this.load(code, now).catch(() => {
        const cur = this.cache.get(code);
        if (cur) cur.loading = false;
      });
    }
    return this.cache.get(code)?.rate;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export function createChannelHealth(cfg: { redisUrl?: string; storePrefix?: string }): ChannelHealth {
  return cfg.redisUrl ? new RedisChannelHealth(cfg.redisUrl, (cfg.storePrefix || "repaymesh").replace(/_$/, "")) : new InProcessChannelHealth();
}
