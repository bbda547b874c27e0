/**
 * Lock providers and partition leases. Locks spread work between nodes; they never make it safe
 * (a paused node may still believe it holds a lease) — see ./types.ts.
 */
import { InProcessLockProvider } from "./in-process";
import { RedlockLockProvider } from "./redlock-provider";
import type { LockProvider } from "./types";

export type { Lease, LockProvider } from "./types";
export { InProcessLockProvider, type InProcessLockOptions } from "./in-process";
export { RedlockLockProvider, type RedlockProviderOptions } from "./redlock-provider";
export { PartitionLeaseManager, type PartitionLeaseOptions, type LeaseChange, type LeaseChangeListener, type LeaseLogger } from "./partition-leases";

export interface LockProviderConfig {
  /** Set: Redlock over this Redis; unset: the in-process lock (embedded mode). */
  redisUrl?: string;
  /** In-process: the registry shared by providers of this name. Redis: the key prefix (`<namespace>:lock:`). */
  namespace?: string;
  logger?: { warn(...args: unknown[]): void };
}

export function createLockProvider(cfg: LockProviderConfig = {}): LockProvider {
  if (cfg.redisUrl) {
    return new RedlockLockProvider(cfg.redisUrl, { keyPrefix: `${cfg.namespace ?? "repaymesh"}:lock:`, logger: cfg.logger });
  }
  return new InProcessLockProvider(cfg.namespace ?? "default");
}
