/**
 * The cluster mode's lock: Redlock (redlock 4.2.0) over one Redis through ioredis 5.
 *
 * - acquire is a single attempt (retryCount 0): a resource held elsewhere answers null at once;
 * - renew is `lock.extend` on the token we hold (Redis decides: an expired key is gone, so is the lease);
 * - release is `lock.unlock`, which deletes the key only while it still holds our token; "already
 *   expired / taken" is not an error.
 *
 * SAFETY NEVER RESTS ON THIS LOCK. A node paused longer than the TTL (GC, VM stall, partition) wakes up
 * believing it holds leases that other nodes have since taken: for a while two nodes may run the same
 * partition. Work done under a lease must be idempotent by itself (unique trade keys, compare-and-set
 * transitions) — see ./types.ts and DESIGN.md "Partitions and safety".
 *
 * Infrastructure trouble (Redis unreachable) makes acquire answer null and renew throw: a caller keeps
 * a lease it cannot renew until the lease's own expiry, then lets it go.
 */
import Redis from "ioredis";
import Redlock from "redlock";
import { checkTtl } from "./in-process";
import type { Lease, LockProvider } from "./types";

export interface RedlockProviderOptions {
  /** Prefix of every Redis key; default "repaymesh:lock:". */
  keyPrefix?: string;
  /** Redlock's clock-drift allowance (fraction of the TTL); default 0.01. */
  driftFactor?: number;
  logger?: { warn(...args: unknown[]): void };
}

export class RedlockLockProvider implements LockProvider {
  readonly kind = "redlock" as const;
  readonly client: Redis;
  private readonly ownsClient: boolean;
  private readonly redlock: Redlock;
  private readonly keyPrefix: string;
  /** Counts client errors redlock reports, to tell "held elsewhere" from "Redis is not answering". */
  private clientErrors = 0;
  private lastClientError?: Error;

  /** `redis`: a URL (the provider owns and closes the connection) or a client the caller owns. */
  constructor(redis: string | Redis, opts: RedlockProviderOptions = {}) {
    if (typeof redis === "string") {
      // Fail commands fast while Redis is away instead of queueing them for ever.
      this.client = new Redis(redis, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
      this.client.on("error", (err: Error) => opts.logger?.warn(`Redis lock connection: ${err.message}`));
      this.ownsClient = true;
    } else {
      this.client = redis;
      this.ownsClient = false;
    }
    this.keyPrefix = opts.keyPrefix ?? "repaymesh:lock:";
    this.redlock = new Redlock([this.client as unknown as Redlock.CompatibleRedisClient], {
      driftFactor: opts.driftFactor ?? 0.01,
      retryCount: 0, // one attempt: the lease manager tries again on its next tick
      retryDelay: 0,
      retryJitter: 0,
    });
    this.redlock.on("clientError", (err: Error) => {
      this.clientErrors++;
      this.lastClientError = err;
    });
  }

  private key(resource: string): string {
    return this.keyPrefix + resource;
  }

  private lockOf(lease: Lease): Redlock.Lock {
    // Redlock refuses locally to extend a lock past its own expiration estimate; Redis is the
    // authority here (an expired key is gone and the extend script answers 0), so skip that check.
    return new Redlock.Lock(this.redlock, [this.key(lease.resource)], lease.token, Number.MAX_SAFE_INTEGER, 0, 0);
  }

  /** Run a redlock call; a LockError with no client error during it means "not ours / held elsewhere". */
  private async attempt<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; infra?: Error }> {
    const before = this.clientErrors;
    try {
      return { ok: true, value: await fn() };
    } catch (err) {
      if (this.clientErrors !== before) return { ok: false, infra: this.lastClientError ?? (err as Error) };
      if (err instanceof Redlock.LockError) return { ok: false };
      return { ok: false, infra: err as Error };
    }
  }

  async acquire(resource: string, ttlMs: number): Promise<Lease | null> {
    checkTtl(ttlMs);
    const res = await this.attempt(() => this.redlock.lock(this.key(resource), ttlMs));
    if (!res.ok) return null;
    return { resource, token: res.value.value, expiresAt: res.value.expiration };
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease | null> {
    checkTtl(ttlMs);
    const res = await this.attempt(() => this.redlock.extend(this.lockOf(lease), ttlMs));
    if (res.ok) return { resource: lease.resource, token: res.value.value, expiresAt: res.value.expiration };
    if (res.infra) throw new Error(`Could not renew the lease on ${lease.resource}: ${res.infra.message}`);
    return null;
  }

  async release(lease: Lease): Promise<void> {
    // A LockError here means the key no longer holds our token (expired, or taken): nothing to do.
    await this.attempt(() => this.redlock.unlock(this.lockOf(lease)));
  }

  async close(): Promise<void> {
    if (!this.ownsClient || this.client.status === "end") return;
    const ended = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      t.unref();
      this.client.once("end", () => {
        clearTimeout(t);
        resolve();
      });
    });
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
    await ended;
  }
}
