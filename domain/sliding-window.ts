/**
 * Rolling success rate and circuit breaker per payment channel. Pure: time is always passed in
 * (epoch milliseconds); nothing here reads a clock.
 *
 * The window is time-bucketed: counts go into the bucket of `bucketKey(now, bucketMs)` (the
 * bucket's start instant), and the window at `now` is every bucket whose start lies in
 * (now − windowMs, now]. With windowMs a multiple of bucketMs that is windowMs / bucketMs buckets,
 * the newest one still filling. Cluster mode keeps the same buckets in Redis (a hash per
 * channel and bucket start, expiring after the window) and computes the rate with the same
 * `rateFrom`, so both modes share the math.
 *
 * Breaker (熔断):  CLOSED ──(≥ minRequests in the window and failures/total ≥ failureRatio)──► OPEN
 *                  OPEN ──(halfOpenAfterSeconds elapsed)──► HALF_OPEN
 *                  HALF_OPEN ──success──► CLOSED (window cleared)   HALF_OPEN ──failure──► OPEN
 * Only channel-side outcomes count: "CHANNEL_FAILURE" is a channel-side decline, UNAVAILABLE or
 * UNKNOWN; a borrower-side decline (insufficient balance) is not recorded at all — see
 * routing.breakerEventOf.
 */
import { DomainError } from "./errors";

export interface Bucket {
  /** Bucket start, epoch ms (a multiple of bucketMs). */
  start: number;
  success: number;
  total: number;
}

export interface WindowStats {
  success: number;
  failure: number;
  total: number;
  /** success / total, or undefined when the window holds no request. */
  rate: number | undefined;
}

function positiveInteger(n: number, field: string): number {
  if (!Number.isInteger(n) || n <= 0) throw new DomainError("VALIDATION_ERROR", `${field} must be a positive integer`, { field });
  return n;
}

function instant(now: number): number {
  if (!Number.isFinite(now)) throw new DomainError("VALIDATION_ERROR", "now must be epoch milliseconds", { field: "now" });
  return now;
}

/** The start (epoch ms) of the bucket holding `now`; also the Redis key suffix of that bucket. */
export function bucketKey(now: number, bucketMs: number): number {
  positiveInteger(bucketMs, "bucketMs");
  return Math.floor(instant(now) / bucketMs) * bucketMs;
}

/** Totals of the buckets inside the window ending at `now`: start in (now − windowMs, now]. */
export function rateFrom(buckets: Iterable<Bucket>, now: number, windowMs: number): WindowStats {
  positiveInteger(windowMs, "windowMs");
  instant(now);
  let success = 0;
  let total = 0;
  for (const b of buckets) {
    if (b.start > now - windowMs && b.start <= now) {
      success += b.success;
      total += b.total;
    }
  }
  return { success, failure: total - success, total, rate: total === 0 ? undefined : success / total };
}

/** An in-memory sliding window (embedded mode). */
export class SlidingWindow {
  readonly windowMs: number;
  readonly bucketMs: number;
  private readonly buckets = new Map<number, Bucket>();

  constructor(opts: { windowSeconds: number; bucketSeconds?: number }) {
    const bucketSeconds = opts.bucketSeconds ?? 10;
    positiveInteger(opts.windowSeconds, "windowSeconds");
    positiveInteger(bucketSeconds, "bucketSeconds");
    if (opts.windowSeconds % bucketSeconds !== 0) {
      throw new DomainError("VALIDATION_ERROR", "windowSeconds must be a multiple of bucketSeconds", { field: "windowSeconds" });
    }
    this.windowMs = opts.windowSeconds * 1000;
    this.bucketMs = bucketSeconds * 1000;
  }

  record(success: boolean, now: number): void {
    const key = bucketKey(now, this.bucketMs);
    let b = this.buckets.get(key);
    if (!b) {
      b = { start: key, success: 0, total: 0 };
      this.buckets.set(key, b);
    }
    b.total++;
    if (success) b.success++;
    this.prune(now);
  }

  stats(now: number): WindowStats {
    this.prune(now);
    return rateFrom(this.buckets.values(), now, this.windowMs);
  }

  /** The buckets still kept (copies), e.g. to show or to hand to another store. */
  snapshot(): Bucket[] {
    return [...this.buckets.values()].sort((a, b) => a.start - b.start).map((b) => ({ ...b }));
  }

  clear(): void {
    this.buckets.clear();
  }

  /** Drop buckets that have left the window for good (a bucket is never needed once start ≤ now − windowMs). */
  private prune(now: number): void {
    for (const start of this.buckets.keys()) if (start <= now - this.windowMs) this.buckets.delete(start);
  }
}

export type BreakerState = "CLOSED" | "OPEN" | "HALF_OPEN";
export type BreakerEvent = "SUCCESS" | "CHANNEL_FAILURE";

export interface BreakerConfig {
  windowSeconds: number;
  minRequests: number;
  /** 0 < ratio ≤ 1: the breaker opens when failures / total ≥ this. */
  failureRatio: number;
  halfOpenAfterSeconds: number;
  /** Bucket width of the window, default 10 s (must divide windowSeconds). */
  bucketSeconds?: number;
}

export const BREAKER_TRANSITIONS: Readonly<Record<BreakerState, readonly BreakerState[]>> = Object.freeze({
  CLOSED: Object.freeze(["OPEN"] as BreakerState[]),
  OPEN: Object.freeze(["HALF_OPEN"] as BreakerState[]),
  HALF_OPEN: Object.freeze(["CLOSED", "OPEN"] as BreakerState[]),
});

export function assertBreakerTransition(from: BreakerState, to: BreakerState): void {
  if (!BREAKER_TRANSITIONS[from]?.includes(to)) {
    throw new DomainError("ILLEGAL_TRANSITION", `A circuit breaker cannot go from ${String(from)} to ${String(to)}`, { from, to });
  }
}

/** The trip rule, shared with the Redis-backed breaker: enough requests and too many failures. */
export function shouldTrip(stats: Pick<WindowStats, "total" | "failure">, config: Pick<BreakerConfig, "minRequests" | "failureRatio">): boolean {
  return stats.total >= config.minRequests && stats.total > 0 && stats.failure / stats.total >= config.failureRatio;
}

function checkConfig(c: BreakerConfig): void {
  positiveInteger(c.windowSeconds, "windowSeconds");
  positiveInteger(c.minRequests, "minRequests");
  positiveInteger(c.halfOpenAfterSeconds, "halfOpenAfterSeconds");
  if (typeof c.failureRatio !== "number" || !(c.failureRatio > 0 && c.failureRatio <= 1)) {
    throw new DomainError("VALIDATION_ERROR", "failureRatio must be in (0, 1]", { field: "failureRatio" });
  }
}

export interface BreakerSnapshot {
  state: BreakerState;
  /** When the breaker last opened (epoch ms), null if never or since closed. */
  openedAt: number | null;
  window: WindowStats;
}

/**
 * A circuit breaker for one channel. HALF_OPEN lets requests through (routing allows it); the first
 * outcome recorded in HALF_OPEN decides: success closes, failure re-opens. Outcomes recorded while
 * OPEN (late answers to requests sent before it opened) are ignored.
 */
export class CircuitBreaker {
  private current: BreakerState = "CLOSED";
  private openedAt: number | null = null;
  private readonly window: SlidingWindow;

  constructor(readonly config: BreakerConfig) {
    checkConfig(config);
    this.window = new SlidingWindow({ windowSeconds: config.windowSeconds, bucketSeconds: config.bucketSeconds ?? 10 });
  }

  /** The state at `now` (OPEN becomes HALF_OPEN once halfOpenAfterSeconds have passed). */
  state(now: number): BreakerState {
    instant(now);
    if (this.current === "OPEN" && this.openedAt !== null && now - this.openedAt >= this.config.halfOpenAfterSeconds * 1000) {
      this.move("HALF_OPEN");
    }
    return this.current;
  }

  /** Whether routing may use the channel now (CLOSED or HALF_OPEN). */
  allows(now: number): boolean {
    return this.state(now) !== "OPEN";
  }

  /** Record one outcome; returns the state after it. */
  record(kind: BreakerEvent, now: number): BreakerState {
    if (kind !== "SUCCESS" && kind !== "CHANNEL_FAILURE") {
      throw new DomainError("VALIDATION_ERROR", `Unknown breaker event ${String(kind)}`, { field: "kind" });
    }
    const state = this.state(now);
    if (state === "OPEN") return state;
    if (state === "HALF_OPEN") {
      if (kind === "SUCCESS") {
        this.move("CLOSED");
        this.openedAt = null;
        this.window.clear();
        this.window.record(true, now);
      } else {
        this.move("OPEN");
        this.openedAt = now;
      }
      return this.current;
    }
    this.window.record(kind === "SUCCESS", now);
    if (kind === "CHANNEL_FAILURE" && shouldTrip(this.window.stats(now), this.config)) {
      this.move("OPEN");
      this.openedAt = now;
    }
    return this.current;
  }

  snapshot(now: number): BreakerSnapshot {
    return { state: this.state(now), openedAt: this.openedAt, window: this.window.stats(now) };
  }

  private move(to: BreakerState): void {
    assertBreakerTransition(this.current, to);
    this.current = to;
  }
}
