/**
 * The embedded mode's lock: a Map with expiry, with the same semantics as the Redlock provider.
 * Providers created with the same `namespace` share one registry in the process, so two of them
 * compete like two nodes (the tests rely on that); different namespaces never see each other.
 *
 * As with every provider here: a lease spreads work, it does not make it safe (see ./types.ts).
 */
import crypto from "node:crypto";
import type { Lease, LockProvider } from "./types";

interface Entry {
  token: string;
  expiresAt: number;
}

const registries = new Map<string, Map<string, Entry>>();

export interface InProcessLockOptions {
  /** The clock the expiry reads (tests may pass a fake one); default Date.now. */
  now?: () => number;
}

export class InProcessLockProvider implements LockProvider {
  readonly kind = "in-process" as const;
  private readonly entries: Map<string, Entry>;
  private readonly now: () => number;

  constructor(
    readonly namespace = "default",
    opts: InProcessLockOptions = {},
  ) {
    let reg = registries.get(namespace);
    if (!reg) {
      reg = new Map();
      registries.set(namespace, reg);
    }
    this.entries = reg;
    this.now = opts.now ?? Date.now;
  }

  /** Forget every lease of a namespace (tests). */
  static reset(namespace: string): void {
    registries.delete(namespace);
  }

  async acquire(resource: string, ttlMs: number): Promise<Lease | null> {
    checkTtl(ttlMs);
    const now = this.now();
    const current = this.entries.get(resource);
    if (current && current.expiresAt > now) return null;
    const entry: Entry = { token: crypto.randomBytes(16).toString("hex"), expiresAt: now + ttlMs };
    this.entries.set(resource, entry);
    return { resource, ...entry };
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease | null> {
    checkTtl(ttlMs);
    const now = this.now();
    const current = this.entries.get(lease.resource);
    // An expired entry is gone, as a Redis key with a PX expiry would be.
    if (!current || current.token !== lease.token || current.expiresAt <= now) return null;
    current.expiresAt = now + ttlMs;
    return { resource: lease.resource, token: current.token, expiresAt: current.expiresAt };
  }

  async release(lease: Lease): Promise<void> {
    const current = this.entries.get(lease.resource);
    if (current && current.token === lease.token) this.entries.delete(lease.resource);
  }

  async close(): Promise<void> {
    /* nothing to free: leases still held expire by themselves */
  }
}

export function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError("ttlMs must be a positive number of milliseconds");
}
