/**
 * order-sync — owns orders. Accepts business orders over REST and the mesh, idempotent on
 * (source, orderNo): a replay returns the first result, the same key with other content is a 409.
 *
 * Steps, each safe to repeat: insert the order as PLANNING (unique key) → schedule.create (idempotent
 * per planId) → compare-and-set PLANNING → ACTIVE and emit order.synced. A crash between steps is
 * finished by the next replay or by the repair sweep, which runs the same steps.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { Config } from "../config";
import { DomainError } from "../domain/errors";
import { validatePlanInput } from "../domain/amortization";
import { contentHash, newOrder, orderKey } from "../domain/order";
import { toPlanInput } from "../domain/plan";
import type { Page } from "../contracts/common";
import {
  getOrderParams,
  listOrdersParams,
  syncOrderParams,
  type GetOrderParams,
  type ListOrdersParams,
  type Order,
  type OrderSyncedEvent,
  type SyncOrderParams,
} from "../contracts/order-sync.contract";
import type { CreatePlanParams } from "../contracts/schedule.contract";
import { findPage, StoreMixin } from "../mixins/store.mixin";
import { ClockMixin } from "../mixins/clock.mixin";
import { OUTBOX_INDEX, OutboxMixin } from "../mixins/messaging/outbox.mixin";
import { decrypt, encrypt } from "../domain/card";
import { loadDataKey } from "../mixins/data-key";

export type OrderView = Omit<Order, "_id" | "key" | "contentHash"> & { orderId: string };

export function orderView(o: Order): OrderView {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { _id, key, contentHash: _h, outbox: _o, mobileEnc: _m, ...rest } = o as Order & { outbox?: unknown; mobileEnc?: string };
  return { orderId: _id, ...rest };
}

/** How long a PLANNING order is left to its own request before the sweep finishes it. */
const REPAIR_AFTER_MS = 30_000;
const REPAIR_EVERY_MS = 60_000;

export default function orderSyncService(cfg: Config): ServiceSchema {
  return {
    name: "order-sync",
    mixins: [
      StoreMixin(
        {
          collection: "orders",
          indexes: [
            { field: "key", unique: true },
            { field: "customer.id" },
            OUTBOX_INDEX,
            // MongoDB only: orders stuck in PLANNING (the retry sweep), GET /orders newest first.
            { fields: { status: 1, updatedAt: 1 } },
            { fields: { createdAt: -1, _id: 1 } },
          ],
        },
        cfg,
      ),
      ClockMixin(cfg.timeZone),
      OutboxMixin({ collections: ["orders"], flushMs: cfg.outboxFlushMs, sweepMs: cfg.outboxSweepMs }),
    ],
    dependencies: ["schedule"],
    settings: { rest: "/" },
    actions: {
      sync: {
        rest: "POST /orders",
        params: syncOrderParams,
        doc: { summary: "Sync a business order and generate its repayment plan (idempotent on source + orderNo)", tags: ["orders"] },
        async handler(this: any, ctx: Context<SyncOrderParams>): Promise<OrderView> {
          // Domain checks before anything is written: bad terms never leave an order behind.
          validatePlanInput(toPlanInput(this.termsOf(ctx.params)));
          const key = orderKey(ctx.params.source, ctx.params.orderNo);
          let order: Order | null = await this.store.findOne({ key });
          if (!order) {
            try {
              // The mobile is kept encrypted for reminders (notifier), masked everywhere else.
              order = (await this.store.insert({ ...newOrder(ctx.params, this.clock.iso()), mobileEnc: encrypt(ctx.params.customer.mobile, this.dataKey) })) as Order;
            } catch (err: any) {
              if (err?.code !== "DUPLICATE_KEY") throw err;
              order = await this.store.findOne({ key }); // a concurrent duplicate inserted first
            }
          }
          if (!order) throw new Error(`order ${key} vanished after insert`);
          if (order.contentHash !== contentHash(ctx.params)) {
            throw new DomainError("ORDER_CONFLICT", `Order ${key} was already synced with different content`, {
              source: order.source,
              orderNo: order.orderNo,
              orderId: order._id,
            });
          }
          return orderView(await this.completeOrder(ctx, order));
        },
      },
      /** The borrower's contact for reminders (notifier): the mobile decrypted — never logged, never over REST. */
      contact: {
        visibility: "public",
        params: { $$strict: true, orderId: { type: "string", pattern: "^[A-Za-z0-9_.:-]{1,64}$" } },
        async handler(this: any, ctx: Context<{ orderId: string }>) {
          const order = await this.store.findById(ctx.params.orderId);
          if (!order) throw new DomainError("NOT_FOUND", `Order ${ctx.params.orderId} not found`, { orderId: ctx.params.orderId });
          return {
            orderId: order._id,
            customerId: order.customer.id,
            name: order.customer.name,
            mobile: order.mobileEnc ? decrypt(order.mobileEnc, this.dataKey) : null,
            mobileMasked: order.customer.mobileMasked,
          };
        },
      },
      get: {
        rest: "GET /orders/:source/:orderNo",
        params: getOrderParams,
        doc: { summary: "An order by its upstream key", tags: ["orders"] },
        async handler(this: any, ctx: Context<GetOrderParams>): Promise<OrderView> {
          const order: Order | null = await this.store.findOne({ key: orderKey(ctx.params.source, ctx.params.orderNo) });
          if (!order) throw new DomainError("NOT_FOUND", `Order ${ctx.params.source}/${ctx.params.orderNo} not found`, { ...ctx.params });
          return orderView(order);
        },
      },
      list: {
        rest: "GET /orders",
        params: listOrdersParams,
        doc: { summary: "Orders, filtered and paged", tags: ["orders"] },
        async handler(this: any, ctx: Context<ListOrdersParams>): Promise<Page<OrderView>> {
          const query: Record<string, unknown> = {};
          for (const f of ["source", "funderId", "productCode", "bizType", "status"] as const) {
            if (ctx.params[f] !== undefined) query[f] = ctx.params[f];
          }
          if (ctx.params.customerId) query["customer.id"] = ctx.params.customerId;
          return findPage(this.store, query, ctx.params, { createdAt: -1, _id: 1 }, orderView);
        },
      },
      /** Finish orders left PLANNING by a crash. Runs on a timer; callable by hand. */
      repair: {
        visibility: "public",
        params: { $$strict: true, olderThanMs: { type: "number", integer: true, min: 0, optional: true } },
        async handler(this: any, ctx: Context<{ olderThanMs?: number }>) {
          const cutoff = new Date(this.clock.nowMs() - (ctx.params.olderThanMs ?? REPAIR_AFTER_MS)).toISOString();
          const stuck: Order[] = await this.store.find({ status: "PLANNING", updatedAt: { $lte: cutoff } }, { limit: 500 });
          let repaired = 0;
          for (const order of stuck) {
            try {
              await this.completeOrder(ctx, order);
              repaired++;
            } catch (err: any) {
              this.logger.warn(`Repair of order ${order._id} failed: ${err?.message}`);
            }
          }
          return { found: stuck.length, repaired };
        },
      },
    },
    methods: {
      termsOf(params: SyncOrderParams) {
        // eslint-disable-next-line @typescript-eslint/no-unused-vars
        const { source, orderNo, bizType, funderId, productCode, customer, bindingId, ...terms } = params;
        return terms;
      },
      async completeOrder(this: any, ctx: Context, order: Order): Promise<Order> {
        if (order.status !== "PLANNING") return order;
        const params: CreatePlanParams = {
          ...order.terms,
          planId: order.planId,
          orderId: order._id,
          source: order.source,
          orderNo: order.orderNo,
          bizType: order.bizType,
          funderId: order.funderId,
          productCode: order.productCode,
          customerId: order.customer.id,
          ...(order.bindingId ? { bindingId: order.bindingId } : {}),
        };
        await ctx.call("schedule.create", params);
        const event: OrderSyncedEvent = { orderId: order._id, source: order.source, orderNo: order.orderNo, planId: order.planId };
        const updated: Order | null = await this.store.updateOne(
          { _id: order._id, status: "PLANNING" },
          { $set: { status: "ACTIVE", updatedAt: this.clock.iso() }, $push: { outbox: this.outboxEntry("order.synced", order._id, event) } },
        );
        if (!updated) return (await this.store.findById(order._id)) as Order; // someone else finished it
        this.outboxWritten("orders", order._id, updated);
        return updated;
      },
    },
    created(this: any) {
      this.dataKey = loadDataKey(cfg, (m) => this.logger.warn(m));
    },
    async started(this: any) {
      this.repairTimer = setInterval(() => {
        this.broker.call("order-sync.repair", {}).catch((err: Error) => this.logger.warn(`Order repair sweep failed: ${err.message}`));
      }, REPAIR_EVERY_MS);
      this.repairTimer.unref?.();
    },
    stopped(this: any) {
      clearInterval(this.repairTimer);
    },
  } as ServiceSchema;
}
