/**
 * An example business service (a lender's loan system) that calls RepayMesh over the mesh:
 *  - `lender.syncOrder`: hands an order to `order-sync.sync` and retries what may be retried with
 *    the same idempotency key (source + orderNo), so a retry can never create a second plan;
 *  - `lender.plan`: reads the repayment plan (`schedule.get`);
 *  - consumes RepayMesh's business events durably (the `repaymesh.events` channel, its own
 *    consumer group) and dedupes them by event id (delivery is at least once).
 * Types come from RepayMesh's `contracts/` (a service in another repository copies that folder).
 */
import { Errors, type Context, type ServiceSchema } from "moleculer";
import { EVENTS_CHANNEL, type EventEnvelope } from "../../contracts/events.contract";
import type { Order, SyncOrderParams } from "../../contracts/order-sync.contract";

/** What `order-sync.sync` answers: the order (its id as `orderId`) with its `planId` and status. */
export type OrderView = Omit<Order, "_id" | "key" | "contentHash"> & { orderId: string };

/** Errors worth a retry with the same key: RepayMesh or its store is away for a moment, or a write raced. */
const RETRYABLE = new Set(["STORE_UNAVAILABLE", "SERVICE_UNAVAILABLE", "VERSION_CONFLICT", "REQUEST_TIMEOUT", "SERVICE_NOT_FOUND", "SERVICE_NOT_AVAILABLE"]);

export type SyncOutcome =
  | { ok: true; order: OrderView; attempts: number }
  /** The caller's to fix: VALIDATION_ERROR, INVALID_*, or ORDER_CONFLICT (the same key was synced with other content). */
  | { ok: false; code: string; status: number; message: string; details?: unknown; attempts: number };

export function isRetryable(err: unknown): boolean {
  const e = err as { type?: string; code?: number; retryable?: boolean };
  return (typeof e?.type === "string" && RETRYABLE.has(e.type)) || e instanceof Errors.RequestTimeoutError || e instanceof Errors.ServiceNotFoundError;
}

export interface LenderOptions {
  /** Consumer group of the events channel: one per consuming system (each group gets every event). */
  group?: string;
  retries?: number;
  retryDelayMs?: number;
  /** Called once per event id. */
  onEvent?: (e: EventEnvelope) => void | Promise<void>;
  /** Called for an event id seen before (a redelivery), which is otherwise skipped. */
  onDuplicate?: (e: EventEnvelope) => void;
}

export function lenderService(opts: LenderOptions = {}): ServiceSchema {
  const retries = opts.retries ?? 5;
  const delay = opts.retryDelayMs ?? 500;
  return {
    name: "lender",
    actions: {
      syncOrder: {
        visibility: "public",
        async handler(this: any, ctx: Context<SyncOrderParams>): Promise<SyncOutcome> {
          for (let attempt = 1; ; attempt++) {
            try {
              const order = (await ctx.call("order-sync.sync", ctx.params)) as OrderView;
              return { ok: true, order, attempts: attempt };
            } catch (err: any) {
              if (isRetryable(err) && attempt <= retries) {
                await new Promise((r) => setTimeout(r, delay * attempt));
                continue; // the same source + orderNo: a retry cannot create a second order or plan
              }
              if (err instanceof Errors.MoleculerClientError || err?.code === 422 || err?.code === 409) {
                return { ok: false, code: err.type, status: err.code, message: err.message, details: err.data, attempts: attempt };
              }
              throw err;
            }
          }
        },
      },
      plan: {
        visibility: "public",
        handler(ctx: Context<{ planId: string }>) {
          return ctx.call("schedule.get", { planId: ctx.params.planId });
        },
      },
    },
    channels: {
      [EVENTS_CHANNEL]: {
        group: opts.group ?? "lender-service",
        async handler(this: any, envelope: EventEnvelope) {
          // At least once: the same event id may arrive again (a relay's sweep, a redelivery).
          if (this.seen.has(envelope.id)) {
            opts.onDuplicate?.(envelope);
            return;
          }
          await opts.onEvent?.(envelope); // throwing here redelivers (then dead-letters after 5 tries)
          this.seen.add(envelope.id);
          if (this.seen.size > 100_000) this.seen.delete(this.seen.values().next().value);
        },
      },
    },
    created(this: any) {
      // In production keep processed ids in your own store, in the same write as the event's effect.
      this.seen = new Set<string>();
    },
  } as ServiceSchema;
}
