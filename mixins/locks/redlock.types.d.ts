/**
 * Typings for redlock 4.2.0, which ships none (and @types/redlock is not a dependency here).
 * Only what ./redlock-provider.ts uses. If @types/redlock is ever added, delete this file.
 */
declare module "redlock" {
  import { EventEmitter } from "node:events";

  namespace Redlock {
    type Callback = (err: Error | null, result?: unknown) => void;

    /** The client shape redlock calls (ioredis 5 fits it at run time; cast through unknown). */
    interface CompatibleRedisClient {
      eval(args: unknown[], callback?: Callback): unknown;
      evalsha(hash: string, args: unknown[], callback?: Callback): unknown;
      quit(): unknown;
    }

    interface Options {
      driftFactor?: number;
      retryCount?: number;
      retryDelay?: number;
      retryJitter?: number;
    }

    class Lock {
      constructor(redlock: Redlock, resource: string | string[], value: string, expiration: number, attempts: number, attemptsRemaining: number);
      redlock: Redlock;
      resource: string | string[];
      value: string;
      expiration: number;
      attempts: number;
      attemptsRemaining: number;
      unlock(): Promise<void>;
      extend(ttl: number): Promise<Lock>;
    }

    class LockError extends Error {
      attempts: number;
    }
  }

  class Redlock extends EventEmitter {
    constructor(clients: Redlock.CompatibleRedisClient[], options?: Redlock.Options);
    driftFactor: number;
    retryCount: number;
    lock(resource: string | string[], ttl: number): Promise<Redlock.Lock>;
    acquire(resource: string | string[], ttl: number): Promise<Redlock.Lock>;
    unlock(lock: Redlock.Lock): Promise<void>;
    release(lock: Redlock.Lock): Promise<void>;
    extend(lock: Redlock.Lock, ttl: number): Promise<Redlock.Lock>;
    quit(): Promise<void>;
  }

  export = Redlock;
}
