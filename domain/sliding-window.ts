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
 *
 * The success rate that routing ranks channels by is a different window (`rateOfRecent`): the last
 * N attempts (default 200) within the last H hours (default 24) of business time, so it spans the
 * debit slots of a day — a channel that failed the whole 12:00 slot is still known as failing at
 * 18:00. The breaker's window is short on purpose (it reacts to the present); its OPEN state and the
 * time it opened carry over between slots. Both come from the CHANNEL_SETTINGS rule
 * (`healthSettingsOf`).
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

  constructor(opts: { windowSeconds: number; bucketSeconds?: number }, buckets: Iterable<Bucket> = []) {
    const bucketSeconds = opts.bucketSeconds ?? 10;
    positiveInteger(opts.windowSeconds, "windowSeconds");
    positiveInteger(bucketSeconds, "bucketSeconds");
    if (opts.windowSeconds % bucketSeconds !== 0) {
      throw new DomainError("VALIDATION_ERROR", "windowSeconds must be a multiple of bucketSeconds", { field: "windowSeconds" });
    }
    this.windowMs = opts.windowSeconds * 1000;
    this.bucketMs = bucketSeconds * 1000;
    for (const b of buckets) {
      if (b.start % this.bucketMs !== 0) throw new DomainError("VALIDATION_ERROR", "a bucket's start must be a multiple of the bucket width", { field: "buckets" });
      this.buckets.set(b.start, { ...b });
    }
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
  private window: SlidingWindow;
  private cfg: BreakerConfig;

  constructor(config: BreakerConfig) {
    checkConfig(config);
    this.cfg = { ...config };
    this.window = new SlidingWindow({ windowSeconds: config.windowSeconds, bucketSeconds: config.bucketSeconds ?? 10 });
  }

  get config(): BreakerConfig {
    return this.cfg;
  }

  /** New settings (a CHANNEL_SETTINGS change): the state, the time it opened and the counts in the new window are kept. */
  reconfigure(config: BreakerConfig): void {
    checkConfig(config);
    const bucketSeconds = config.bucketSeconds ?? 10;
    if (config.windowSeconds !== this.cfg.windowSeconds || bucketSeconds !== (this.cfg.bucketSeconds ?? 10)) {
      const carried = bucketSeconds === (this.cfg.bucketSeconds ?? 10) ? this.window.snapshot() : [];
      this.window = new SlidingWindow({ windowSeconds: config.windowSeconds, bucketSeconds }, carried);
    }
    this.cfg = { ...config };
  }

  /** The state at `now` (OPEN becomes HALF_OPEN once halfOpenAfterSeconds have passed). */
  state(now: number): BreakerState {
    instant(now);
    if (this.current === "OPEN" && this.openedAt !== null && now - this.openedAt >= this.cfg.halfOpenAfterSeconds * 1000) {
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
    if (kind === "CHANNEL_FAILURE" && shouldTrip(this.window.stats(now), this.cfg)) {
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

// ---------------------------------------------------------------------------------------------
// The success rate routing ranks by: the last N attempts within the last H hours (business time).

export interface SuccessRateConfig {
  /** How many of the most recent attempts count (N). */
  windowAttempts: number;
  /** Of those, only the ones of the last H hours count. */
  windowHours: number;
  /** The rate a channel without data is ranked as (routing.route's `unknownRatePrior`). */
  unknownPrior: number;
}

export const DEFAULT_SUCCESS_RATE: Readonly<SuccessRateConfig> = Object.freeze({ windowAttempts: 200, windowHours: 24, unknownPrior: 0.5 });
export const DEFAULT_BREAKER: Readonly<BreakerConfig> = Object.freeze({ windowSeconds: 300, minRequests: 20, failureRatio: 0.5, halfOpenAfterSeconds: 60 });

/** One recorded outcome: when (epoch ms, business clock) and whether it succeeded. */
export interface AttemptRecord {
  at: number;
  success: boolean;
}

function checkSuccessRateConfig(c: SuccessRateConfig): void {
  positiveInteger(c.windowAttempts, "windowAttempts");
  positiveInteger(c.windowHours, "windowHours");
  if (typeof c.unknownPrior !== "number" || !(c.unknownPrior >= 0 && c.unknownPrior <= 1)) {
    throw new DomainError("VALIDATION_ERROR", "unknownPrior must be in [0, 1]", { field: "unknownPrior" });
  }
}

/**
 * The rate over `records` given newest first (the order they were recorded in): of the
 * `windowAttempts` most recent, those with `at` in (now − windowHours, now]. Shared by the in-process
 * window and the Redis list (LPUSH + LTRIM to N), so both modes compute the same number.
 */
export function rateOfRecent(recordsNewestFirst: Iterable<AttemptRecord>, now: number, config: Pick<SuccessRateConfig, "windowAttempts" | "windowHours">): WindowStats {
  instant(now);
  positiveInteger(config.windowAttempts, "windowAttempts");
  positiveInteger(config.windowHours, "windowHours");
  const from = now - config.windowHours * 3_600_000;
  let seen = 0;
  let success = 0;
  let total = 0;
  for (const r of recordsNewestFirst) {
    if (seen++ >= config.windowAttempts) break;
    if (r.at > from && r.at <= now) {
      total++;
      if (r.success) success++;
    }
  }
  return { success, failure: total - success, total, rate: total === 0 ? undefined : success / total };
}

/** An in-memory list of the most recent attempts (embedded mode), at most `capacity` kept. */
export class RecentAttempts {
  private readonly ring: AttemptRecord[] = [];
  private next = 0;

  constructor(private capacity: number) {
    positiveInteger(capacity, "capacity");
  }

  record(success: boolean, now: number): void {
    instant(now);
    if (this.ring.length < this.capacity) this.ring.push({ at: now, success });
    else this.ring[this.next] = { at: now, success };
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first. */
  *newestFirst(): IterableIterator<AttemptRecord> {
    const n = this.ring.length;
    for (let i = 1; i <= n; i++) yield this.ring[(this.next - i + n) % n];
  }

  stats(now: number, config: Pick<SuccessRateConfig, "windowAttempts" | "windowHours">): WindowStats {
    return rateOfRecent(this.newestFirst(), now, config);
  }

  /** Keep at most `capacity` (the newest) from now on. */
  resize(capacity: number): void {
    positiveInteger(capacity, "capacity");
    if (capacity === this.capacity) return;
    const kept = [...this.newestFirst()].slice(0, capacity).reverse();
    this.ring.length = 0;
    this.ring.push(...kept);
    this.capacity = capacity;
    this.next = kept.length % capacity;
  }
}

/** The breaker and success-rate settings of every channel, as the CHANNEL_SETTINGS rule gives them. */
export interface HealthSettings {
  /** Every channel's breaker unless overridden. */
  breaker: BreakerConfig;
  /** Per channel code: the global breaker with the channel's own `circuitBreaker` fields on top. */
  perChannel: Record<string, BreakerConfig>;
  successRate: SuccessRateConfig;
}

type PartialBreaker = Partial<Pick<BreakerConfig, "windowSeconds" | "minRequests" | "failureRatio" | "halfOpenAfterSeconds">>;

function pickBreaker(src: unknown): PartialBreaker {
  if (!src || typeof src !== "object") return {};
  const o = src as Record<string, unknown>;
  const out: PartialBreaker = {};
  for (const k of ["windowSeconds", "minRequests", "failureRatio", "halfOpenAfterSeconds"] as const) if (typeof o[k] === "number") out[k] = o[k] as number;
  return out;
}

/**
 * Settings from a CHANNEL_SETTINGS content (validated by domain/rules.ts; rules stored before these
 * fields existed get the defaults): `circuitBreaker` for every channel, `channels[].circuitBreaker`
 * per channel on top, `successRate` for the ranking window. Throws VALIDATION_ERROR on values a
 * breaker cannot run with.
 */
export function healthSettingsOf(content: { circuitBreaker?: unknown; successRate?: unknown; channels?: ReadonlyArray<{ code: string; circuitBreaker?: unknown }> } | null | undefined): HealthSettings {
  const breaker: BreakerConfig = { ...DEFAULT_BREAKER, ...pickBreaker(content?.circuitBreaker) };
  checkConfig(breaker);
  if (breaker.windowSeconds % 10 !== 0) throw new DomainError("VALIDATION_ERROR", "circuitBreaker.windowSeconds must be a multiple of 10", { field: "circuitBreaker.windowSeconds" });
  const perChannel: Record<string, BreakerConfig> = {};
  for (const c of content?.channels ?? []) {
    const own = pickBreaker(c.circuitBreaker);
    if (!Object.keys(own).length) continue;
    const merged = { ...breaker, ...own };
    checkConfig(merged);
    if (merged.windowSeconds % 10 !== 0) throw new DomainError("VALIDATION_ERROR", `${c.code}.circuitBreaker.windowSeconds must be a multiple of 10`, { field: "circuitBreaker.windowSeconds", code: c.code });
    perChannel[c.code] = merged;
  }
  const sr = (content?.successRate ?? {}) as Partial<Record<keyof SuccessRateConfig, unknown>>;
  const successRate: SuccessRateConfig = {
    windowAttempts: typeof sr.windowAttempts === "number" ? sr.windowAttempts : DEFAULT_SUCCESS_RATE.windowAttempts,
    windowHours: typeof sr.windowHours === "number" ? sr.windowHours : DEFAULT_SUCCESS_RATE.windowHours,
    unknownPrior: typeof sr.unknownPrior === "number" ? sr.unknownPrior : DEFAULT_SUCCESS_RATE.unknownPrior,
  };
  checkSuccessRateConfig(successRate);
  return { breaker, perChannel, successRate };
}

/** The breaker settings of one channel. */
export function breakerConfigOf(settings: HealthSettings, code: string): BreakerConfig {
  return settings.perChannel[code] ?? settings.breaker;
}
