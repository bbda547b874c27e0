/**
 * Lock providers: leases on named resources with a time to live.
 *
 * LOCKS SPREAD WORK; THEY NEVER MAKE IT SAFE. A lease is a belief, not a guarantee: a node paused by
 * GC, a VM stall or a network partition may still believe it holds a lease that has expired and been
 * taken by another node, and both may run the same partition for a while. Everything run under a
 * lease must therefore be idempotent on its own: unique trade keys per (installment, slot, attempt),
 * compare-and-set state transitions, repayments applied once per trade (see DESIGN.md, "Partitions
 * and safety"). The lock only keeps nodes from doing the same work most of the time.
 */

/** A lease held on `resource` until `expiresAt` (epoch ms, as seen by the holder's clock). */
export interface Lease {
  resource: string;
  /** Unique per acquisition: only the holder of this token can renew or release the lease. */
  token: string;
  expiresAt: number;
}

export interface LockProvider {
  readonly kind: "in-process" | "redlock";
  /** One attempt, no waiting: the lease, or null when someone else holds the resource. */
  acquire(resource: string, ttlMs: number): Promise<Lease | null>;
  /** Extend a lease still ours to `ttlMs` from now; null when it was lost (expired, taken or gone). */
  renew(lease: Lease, ttlMs: number): Promise<Lease | null>;
  /** Give the lease back if it is still ours; never throws (a lease left behind simply expires). */
  release(lease: Lease): Promise<void>;
  /** Free connections; leases still held are left to expire. */
  close(): Promise<void>;
}
