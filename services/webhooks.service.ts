/**
 * webhooks — owns webhook subscriptions and their deliveries: external systems hear of RepayMesh's
 * events through signed HTTP POSTs.
 *
 * Consumption: the service reads the durable event channel (EVENTS_CHANNEL, group "webhooks") and
 * stores one delivery per enabled subscription whose types match, keyed
 * `<subscriptionId>:<eventId>` — a unique key, so an event relayed twice (at least once) queues one
 * delivery. The channel handler only writes and kicks the worker: a slow endpoint never holds the
 * channel.
 *
 * Delivery worker (every node that runs the service; a ~100 ms timer plus kicks): a due delivery
 * (PENDING or RETRYING with nextAttemptAt ≤ now, or SENDING whose lease ran out — its node died
 * mid-send; found by `dueAt`, which only deliveries still to finish carry) is claimed by a
 * compare-and-set on its version into SENDING with a lease, then POSTed
 * with the HMAC signature (domain/webhooks.ts). 2xx → SUCCEEDED; anything else, a network error or
 * the time-out → RETRYING after the next back-off (WEBHOOK_BACKOFF_MS, wall clock), and past the
 * last → FAILED with an `ops.alert`. Every attempt is kept in the delivery's log (status, time,
 * duration, error, the answer cut to 500 characters — never the secret). Ops can redeliver any
 * delivery by hand (a new attempt now and a new retry cycle, audited in the log).
 *
 * Secrets are kept encrypted with the data key (AES-256-GCM) and shown once: in the answer to
 * create and rotate-secret. Disabling or deleting a subscription cancels its queued deliveries
 * (redeliver brings one back once the subscription is enabled).
 */
import crypto from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import { actorOf } from "../mixins/actor";
import type { Config } from "../config";
import { DomainError } from "../domain/errors";
import { decrypt, encrypt } from "../domain/card";
import {
  afterFailure,
  checkEndpointUrl,
  generateSecret,
  isSuccessStatus,
  matchesType,
  normalizeEventTypes,
  PING_TYPE,
  signedRequest,
  truncateBody,
  MAX_LOGGED_BODY,
} from "../domain/webhooks";
import { loadDataKey } from "../mixins/data-key";
import { findPage, StoreMixin, type Store } from "../mixins/store.mixin";
import { eventId } from "../mixins/messaging/outbox.mixin";
import { EVENTS_CHANNEL, type EventEnvelope } from "../contracts/events.contract";
import {
  createWebhookParams,
  deliveryIdParams,
  listDeliveriesParams,
  listWebhooksParams,
  redeliverParams,
  rotateSecretParams,
  updateWebhookParams,
  webhookIdParams,
  type CreateWebhookParams,
  type DeliveryIdParams,
  type DeliveryLogEntry,
  type DeliveryView,
  type ListDeliveriesParams,
  type ListWebhooksParams,
  type RedeliverParams,
  type RotateSecretParams,
  type UpdateWebhookParams,
  type WebhookDelivery,
  type WebhookIdParams,
  type WebhookSubscription,
  type WebhookView,
} from "../contracts/webhooks.contract";

/** How often each node looks for due deliveries (kicks make new ones go at once). */
const WORKER_TICK_MS = 100;
/** Requests in flight per node. */
const MAX_IN_FLIGHT = 16;
/** A claim outlives the request time-out by this much before another node may take the delivery. */
const LEASE_MARGIN_MS = 5_000;
/** Log lines kept per delivery (attempts are bounded by the back-off; redeliveries are not). */
const MAX_LOG = 200;
/** Subscription history entries kept. */
const MAX_HISTORY = 100;
/** Bytes of an answer read (the log keeps 500 characters of them). */
const MAX_READ_BYTES = 4 * MAX_LOGGED_BODY;


function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function subscriptionView(s: WebhookSubscription, secret?: string): WebhookView {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { _id, secretEnc, ...rest } = s;
  return { id: _id, ...rest, ...(secret ? { secret } : {}) };
}

function deliveryView(d: WebhookDelivery): DeliveryView {
  const { _id, dueAt: _due, ...rest } = d;
  return { id: _id, ...rest };
}

/** When the worker must look at a delivery next (see WebhookDelivery.dueAt); undefined once it has ended. */
export function dueAtOf(d: Pick<WebhookDelivery, "status" | "nextAttemptAt" | "claimedUntil">): string | undefined {
  if (d.status === "PENDING" || d.status === "RETRYING") return d.nextAttemptAt;
  if (d.status === "SENDING") return d.claimedUntil ?? d.nextAttemptAt;
  return undefined;
}

/** The deliveries' store, a delivery inserted without `dueAt` given it from its status (every update here sets it itself). */
function withDueAt(store: Store<WebhookDelivery>): Store<WebhookDelivery> {
  return Object.assign(Object.create(store), {
    insert(d: WebhookDelivery) {
      const dueAt = d.dueAt ?? dueAtOf(d);
      return store.insert(dueAt !== undefined ? { ...d, dueAt } : d);
    },
  });
}

/** Claimable now: waiting and due, or SENDING with its lease run out. */
function claimable(d: WebhookDelivery, now: string): boolean {
  if (d.status === "PENDING" || d.status === "RETRYING") return d.nextAttemptAt <= now;
  return d.status === "SENDING" && !!d.claimedUntil && d.claimedUntil <= now;
}

/** Up to `max` bytes of an answer as text; the rest is not read. */
async function readSome(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max).toString("utf8");
}

function describeFetchError(err: any): string {
  const cause = err?.cause;
  const code = cause?.code ?? err?.code;
  const msg = cause?.message ?? err?.message ?? String(err);
  return truncateBody(code && !String(msg).includes(code) ? `${code}: ${msg}` : String(msg), 200);
}

export default function webhooksService(cfg: Config): ServiceSchema {
  const leaseMs = cfg.webhookTimeoutMs + LEASE_MARGIN_MS;
  return {
    name: "webhooks",
    mixins: [
      StoreMixin(
        {
          collection: "webhooks",
          indexes: [{ field: "enabled" }],
          more: [
            {
              collection: "webhookDeliveries",
              indexes: [
                // Both stores; none on low-cardinality fields alone (status, subscriptionId): see the notifier's note.
                { field: "dueAt", sparse: true }, // the worker's query: only deliveries still to finish are in it
                { field: "eventId" },
                { field: "createdAt" },
                // MongoDB only.
                { fields: { createdAt: -1, _id: 1 } }, // GET /webhooks/deliveries, newest first
                { fields: { subscriptionId: 1, status: 1 } }, // a subscription's queued deliveries (cancel)
              ],
            },
          ],
        },
        cfg,
      ),
    ],
    settings: { rest: "/" },
    channels: {
      [EVENTS_CHANNEL]: {
        group: "webhooks",
        maxRetries: 5,
        async handler(this: any, envelope: EventEnvelope) {
          if (!envelope || typeof envelope.id !== "string" || !envelope.id || typeof envelope.type !== "string" || !envelope.type) {
            this.logger.warn("Ignored a message on the events channel that is not an event envelope");
            return;
          }
          await this.queueEvent(envelope);
        },
      },
    },
    actions: {
      create: {
        rest: "POST /webhooks",
        params: createWebhookParams,
        doc: { summary: "Subscribe an endpoint to event types (or *); the signing secret is in this answer only", tags: ["webhooks"], role: "admin" },
        async handler(this: any, ctx: Context<CreateWebhookParams>): Promise<WebhookView> {
          const p = ctx.params;
          const url = checkEndpointUrl(p.url);
          const secret = p.secret ?? generateSecret();
          const now = iso(Date.now());
          const by = actorOf(ctx);
          const sub: WebhookSubscription = {
            _id: "WH" + crypto.randomBytes(8).toString("hex"),
            url,
            eventTypes: normalizeEventTypes(p.eventTypes),
            enabled: true,
            deleted: false,
            ...(p.description ? { description: p.description } : {}),
            secretEnc: encrypt(secret, this.dataKey),
            secretRotatedAt: now,
            createdBy: by,
            createdAt: now,
            updatedAt: now,
            updatedBy: by,
            version: 1,
            history: [{ at: now, by, action: "CREATED" }],
          };
          await this.store.insert(sub);
          this.logger.info(`Webhook ${sub._id} created by ${by} for ${sub.eventTypes.join(",")}`);
          return subscriptionView(sub, secret);
        },
      },
      list: {
        rest: "GET /webhooks",
        params: listWebhooksParams,
        doc: { summary: "Webhook subscriptions (no secrets), newest first", tags: ["webhooks"] },
        async handler(this: any, ctx: Context<ListWebhooksParams>) {
          const q: Record<string, unknown> = {};
          if (!ctx.params.includeDeleted) q.deleted = false;
          if (ctx.params.enabled !== undefined) q.enabled = ctx.params.enabled;
          return findPage(this.store, q, ctx.params, { createdAt: -1, _id: 1 }, (s: WebhookSubscription) => subscriptionView(s));
        },
      },
      get: {
        rest: "GET /webhooks/:id",
        params: webhookIdParams,
        doc: { summary: "A webhook subscription with its history (no secret)", tags: ["webhooks"] },
        async handler(this: any, ctx: Context<WebhookIdParams>) {
          return subscriptionView(await this.subscriptionOr404(ctx.params.id));
        },
      },
      update: {
        rest: "PATCH /webhooks/:id",
        params: updateWebhookParams,
        doc: { summary: "Change a subscription's url, event types, description, or enable/disable it (disabling cancels its queued deliveries)", tags: ["webhooks"], role: "admin" },
        async handler(this: any, ctx: Context<UpdateWebhookParams>): Promise<WebhookView> {
          const p = ctx.params;
          const set: Record<string, unknown> = {};
          if (p.url !== undefined) set.url = checkEndpointUrl(p.url);
          if (p.eventTypes !== undefined) set.eventTypes = normalizeEventTypes(p.eventTypes);
          if (p.enabled !== undefined) set.enabled = p.enabled;
          if (p.description !== undefined) set.description = p.description;
          const by = actorOf(ctx);
          for (let i = 0; i < 5; i++) {
            const s: WebhookSubscription = await this.subscriptionOr404(p.id);
            if (s.deleted) throw new DomainError("WEBHOOK_STATE", `Webhook ${p.id} is deleted`, { id: p.id });
            const changed = Object.keys(set).filter((k) => JSON.stringify((s as any)[k]) !== JSON.stringify(set[k]));
            if (!changed.length) return subscriptionView(s);
            const now = iso(Date.now());
            const saved: WebhookSubscription | null = await this.store.updateOne(
              { _id: s._id, version: s.version },
              {
                $set: { ...set, updatedAt: now, updatedBy: by, version: s.version + 1 },
                $push: { history: { $each: [{ at: now, by, action: "UPDATED", fields: changed }], $slice: -MAX_HISTORY } },
              },
            );
            if (!saved) continue;
            if (s.enabled && saved.enabled === false) await this.cancelQueued(saved._id, `subscription disabled by ${by}`);
            this.logger.info(`Webhook ${saved._id} updated by ${by}: ${changed.join(", ")}`);
            return subscriptionView(saved);
          }
          throw new DomainError("VERSION_CONFLICT", `Webhook ${p.id} is being changed concurrently; try again`, { id: p.id });
        },
      },
      remove: {
        rest: "DELETE /webhooks/:id",
        params: webhookIdParams,
        doc: { summary: "Delete a subscription (kept, disabled and marked deleted; its queued deliveries are cancelled)", tags: ["webhooks"], role: "admin" },
        async handler(this: any, ctx: Context<WebhookIdParams>): Promise<WebhookView> {
          const by = actorOf(ctx);
          for (let i = 0; i < 5; i++) {
            const s: WebhookSubscription = await this.subscriptionOr404(ctx.params.id);
            if (s.deleted) return subscriptionView(s);
            const now = iso(Date.now());
            const saved: WebhookSubscription | null = await this.store.updateOne(
              { _id: s._id, version: s.version },
              {
                $set: { enabled: false, deleted: true, deletedAt: now, updatedAt: now, updatedBy: by, version: s.version + 1 },
                $push: { history: { $each: [{ at: now, by, action: "DELETED" }], $slice: -MAX_HISTORY } },
              },
            );
            if (!saved) continue;
            await this.cancelQueued(saved._id, `subscription deleted by ${by}`);
            this.logger.info(`Webhook ${saved._id} deleted by ${by}`);
            return subscriptionView(saved);
          }
          throw new DomainError("VERSION_CONFLICT", `Webhook ${ctx.params.id} is being changed concurrently; try again`, { id: ctx.params.id });
        },
      },
      rotateSecret: {
        rest: "POST /webhooks/:id/rotate-secret",
        params: rotateSecretParams,
        doc: { summary: "Replace the signing secret (given, or generated); the new secret is in this answer only", tags: ["webhooks"], role: "admin" },
        async handler(this: any, ctx: Context<RotateSecretParams>): Promise<WebhookView> {
          const by = actorOf(ctx);
          const secret = ctx.params.secret ?? generateSecret();
          for (let i = 0; i < 5; i++) {
            const s: WebhookSubscription = await this.subscriptionOr404(ctx.params.id);
            if (s.deleted) throw new DomainError("WEBHOOK_STATE", `Webhook ${s._id} is deleted`, { id: s._id });
            const now = iso(Date.now());
            const saved: WebhookSubscription | null = await this.store.updateOne(
              { _id: s._id, version: s.version },
              {
                $set: { secretEnc: encrypt(secret, this.dataKey), secretRotatedAt: now, updatedAt: now, updatedBy: by, version: s.version + 1 },
                $push: { history: { $each: [{ at: now, by, action: "SECRET_ROTATED" }], $slice: -MAX_HISTORY } },
              },
            );
            if (!saved) continue;
            this.logger.info(`Webhook ${s._id}: secret rotated by ${by}`);
            return subscriptionView(saved, secret);
          }
          throw new DomainError("VERSION_CONFLICT", `Webhook ${ctx.params.id} is being changed concurrently; try again`, { id: ctx.params.id });
        },
      },
      ping: {
        rest: "POST /webhooks/:id/ping",
        params: webhookIdParams,
        doc: { summary: "Queue a webhook.ping delivery to the subscription's endpoint (to test it)", tags: ["webhooks"], role: "ops" },
        async handler(this: any, ctx: Context<WebhookIdParams>): Promise<DeliveryView> {
          const s: WebhookSubscription = await this.subscriptionOr404(ctx.params.id);
          if (s.deleted || !s.enabled) throw new DomainError("WEBHOOK_STATE", `Webhook ${s._id} is ${s.deleted ? "deleted" : "disabled"}`, { id: s._id });
          const nowMs = Date.now();
          const envelope: EventEnvelope = { id: eventId(nowMs), type: PING_TYPE, source: "webhooks", key: s._id, occurredAt: iso(nowMs), data: { subscriptionId: s._id, by: actorOf(ctx) } };
          const d: WebhookDelivery = this.newDelivery(s._id, envelope, nowMs);
          await this.stores.webhookDeliveries.insert(d);
          this.kick();
          return deliveryView(d);
        },
      },
      deliveries: {
        rest: "GET /webhooks/deliveries",
        params: listDeliveriesParams,
        doc: { summary: "Webhook deliveries, newest first, by subscription, status, type or event id", tags: ["webhooks"] },
        async handler(this: any, ctx: Context<ListDeliveriesParams>) {
          const q: Record<string, unknown> = {};
          const p = ctx.params;
          if (p.subscriptionId) q.subscriptionId = p.subscriptionId;
          if (p.status) q.status = p.status;
          if (p.type) q.type = p.type;
          if (p.eventId) q.eventId = p.eventId;
          return findPage(this.stores.webhookDeliveries, q, p, { createdAt: -1, _id: 1 }, (d: WebhookDelivery) => {
            const { log, envelope, ...rest } = deliveryView(d);
            return { ...rest, key: envelope?.key, logSize: log.length };
          });
        },
      },
      delivery: {
        rest: "GET /webhooks/deliveries/:id",
        params: deliveryIdParams,
        doc: { summary: "A webhook delivery: the event sent and the log of attempts", tags: ["webhooks"] },
        async handler(this: any, ctx: Context<DeliveryIdParams>): Promise<DeliveryView> {
          return deliveryView(await this.deliveryOr404(ctx.params.id));
        },
      },
      redeliver: {
        rest: "POST /webhooks/deliveries/:id/redeliver",
        params: redeliverParams,
        doc: { summary: "Send a delivery again now (also after SUCCEEDED or FAILED; a new retry cycle); audited in its log", tags: ["webhooks"], role: "ops" },
        async handler(this: any, ctx: Context<RedeliverParams>): Promise<DeliveryView> {
          const by = actorOf(ctx);
          for (let i = 0; i < 5; i++) {
            const d: WebhookDelivery = await this.deliveryOr404(ctx.params.id);
            const s: WebhookSubscription | null = await this.store.findById(d.subscriptionId);
            if (!s || s.deleted || !s.enabled) {
              throw new DomainError("WEBHOOK_STATE", `Webhook ${d.subscriptionId} is ${!s || s.deleted ? "deleted" : "disabled"}: enable it first`, { id: d.subscriptionId });
            }
            const nowMs = Date.now();
            if (d.status === "SENDING" && d.claimedUntil && d.claimedUntil > iso(nowMs)) {
              throw new DomainError("WEBHOOK_STATE", `Delivery ${d._id} is being sent right now`, { id: d._id, status: d.status });
            }
            const entry: DeliveryLogEntry = { kind: "REDELIVER", at: iso(nowMs), by, ...(ctx.params.reason ? { reason: ctx.params.reason } : {}) };
            const saved: WebhookDelivery | null = await this.stores.webhookDeliveries.updateOne(
              { _id: d._id, version: d.version },
              {
                $set: { status: "PENDING", nextAttemptAt: iso(nowMs), dueAt: iso(nowMs), cycleStart: d.attempts, updatedAt: iso(nowMs), version: d.version + 1 },
                $push: { log: { $each: [entry], $slice: -MAX_LOG } },
              },
            );
            if (!saved) continue;
            this.logger.info(`Webhook delivery ${d._id} redelivered by ${by}`);
            this.kick();
            return deliveryView(saved);
          }
          throw new DomainError("VERSION_CONFLICT", `Delivery ${ctx.params.id} is being changed concurrently; try again`, { id: ctx.params.id });
        },
      },
      /** Look for due deliveries now and wait for what this node sends (tests, ops). */
      drain: {
        visibility: "public",
        async handler(this: any) {
          await this.pump();
          await Promise.allSettled([...this.inFlight]);
          return { inFlight: this.inFlight.size };
        },
      },
    },
    methods: {
      async subscriptionOr404(this: any, id: string): Promise<WebhookSubscription> {
        const s: WebhookSubscription | null = await this.store.findById(id);
        if (!s) throw new DomainError("NOT_FOUND", `Webhook ${id} not found`, { id });
        return s;
      },
      async deliveryOr404(this: any, id: string): Promise<WebhookDelivery> {
        const d: WebhookDelivery | null = await this.stores.webhookDeliveries.findById(id);
        if (!d) throw new DomainError("NOT_FOUND", `Webhook delivery ${id} not found`, { id });
        return d;
      },
      newDelivery(this: any, subscriptionId: string, envelope: EventEnvelope, nowMs: number): WebhookDelivery {
        const now = iso(nowMs);
        return {
          _id: `${subscriptionId}:${envelope.id}`,
          subscriptionId,
          eventId: envelope.id,
          type: envelope.type,
          envelope,
          status: "PENDING",
          attempts: 0,
          cycleStart: 0,
          nextAttemptAt: now,
          log: [],
          createdAt: now,
          updatedAt: now,
          version: 1,
        };
      },
      /** One delivery per enabled subscription that wants the event; a replayed event adds nothing. */
      async queueEvent(this: any, envelope: EventEnvelope): Promise<number> {
        const subs: WebhookSubscription[] = await this.store.find({ enabled: true, deleted: false });
        const nowMs = Date.now();
        let queued = 0;
        for (const s of subs) {
          if (!matchesType(s.eventTypes, envelope.type)) continue;
          try {
            await this.stores.webhookDeliveries.insert(this.newDelivery(s._id, envelope, nowMs));
            queued++;
          } catch (err: any) {
            if (err?.code !== "DUPLICATE_KEY") throw err; // thrown: the channel retries the message
          }
        }
        if (queued) this.kick();
        return queued;
      },
      /** Cancel the queued (not in-flight) deliveries of a subscription. */
      async cancelQueued(this: any, subscriptionId: string, reason: string): Promise<number> {
        const now = iso(Date.now());
        const entry: DeliveryLogEntry = { kind: "CANCELLED", at: now, reason };
        const store: Store = this.stores.webhookDeliveries;
        const queued = await store.find({ subscriptionId, status: { $in: ["PENDING", "RETRYING"] } });
        let n = 0;
        for (const d of queued as WebhookDelivery[]) {
          const saved = await store.updateOne(
            { _id: d._id, version: d.version },
            { $set: { status: "CANCELLED", updatedAt: now, version: d.version + 1 }, $unset: { dueAt: true }, $push: { log: { $each: [entry], $slice: -MAX_LOG } } },
          );
          if (saved) n++;
        }
        return n;
      },
      /**
       * Deliveries from before `dueAt` that are still to finish get it, once (under their version and
       * status, which the key follows: a write in between set it itself).
       */
      async backfillDueAt(this: any): Promise<number> {
        const store: Store = this.stores.webhookDeliveries;
        let n = 0;
        const open = (await store.find({ status: { $in: ["PENDING", "RETRYING", "SENDING"] }, dueAt: { $exists: false } })) as WebhookDelivery[];
        for (const d of open) {
          const dueAt = dueAtOf(d);
          if (await store.updateOne({ _id: d._id, version: d.version, status: d.status, dueAt: { $exists: false } }, { $set: { dueAt } })) n++;
        }
        return n;
      },
      /** Look for due work soon (after the current tick). */
      kick(this: any) {
        if (this.workerStopped) return;
        setImmediate(() => this.pump().catch((err: Error) => this.logger.warn(`Webhook worker failed: ${err.message}`)));
      },
      /** Claim and start due deliveries up to MAX_IN_FLIGHT; one pump at a time per node. */
      async pump(this: any): Promise<void> {
        if (this.workerStopped || !this.stores) return;
        if (this.pumping) {
          this.pumpAgain = true;
          return;
        }
        this.pumping = true;
        try {
          do {
            this.pumpAgain = false;
            while (!this.workerStopped && this.inFlight.size < MAX_IN_FLIGHT) {
              const claimed: WebhookDelivery | null = await this.claimNext();
              if (!claimed) break;
              const job: Promise<void> = this.attempt(claimed)
                .catch((err: Error) => this.logger.warn(`Webhook delivery ${claimed._id} failed to record: ${err.message}`))
                .finally(() => {
                  this.inFlight.delete(job);
                  this.kick();
                });
              this.inFlight.add(job);
            }
          } while (this.pumpAgain && !this.workerStopped);
        } finally {
          this.pumping = false;
        }
      },
      /** Compare-and-set a due delivery into SENDING with a lease; null when none is due. */
      async claimNext(this: any): Promise<WebhookDelivery | null> {
        const store: Store = this.stores.webhookDeliveries;
        const nowMs = Date.now();
        const now = iso(nowMs);
        const due = (await store.find({ dueAt: { $lte: now } }, { sort: { dueAt: 1 }, limit: 20 })) as WebhookDelivery[];
        for (const d of due) {
          if (!claimable(d, now)) {
            // A key left behind (written by a node from before dueAt): cleared under the same version.
            if (d.status !== "PENDING" && d.status !== "RETRYING" && d.status !== "SENDING") await store.updateOne({ _id: d._id, version: d.version }, { $unset: { dueAt: true } });
            continue;
          }
          const claimedUntil = iso(nowMs + leaseMs);
          const claimed = (await store.updateOne(
            { _id: d._id, version: d.version, status: d.status },
            { $set: { status: "SENDING", claimedUntil, dueAt: claimedUntil, claimedBy: this.broker.nodeID, updatedAt: now, version: d.version + 1 } },
          )) as WebhookDelivery | null;
          if (claimed) return claimed;
        }
        return null;
      },
      /** One attempt of a claimed delivery, and its outcome recorded (only while the claim is ours). */
      async attempt(this: any, d: WebhookDelivery): Promise<void> {
        const store: Store = this.stores.webhookDeliveries;
        const s: WebhookSubscription | null = await this.store.findById(d.subscriptionId);
        if (!s || s.deleted || !s.enabled) {
          const now = iso(Date.now());
          const reason = `subscription ${!s || s.deleted ? "deleted" : "disabled"}`;
          await store.updateOne(
            { _id: d._id, version: d.version },
            { $set: { status: "CANCELLED", updatedAt: now, version: d.version + 1 }, $unset: { claimedUntil: true, claimedBy: true, dueAt: true }, $push: { log: { $each: [{ kind: "CANCELLED", at: now, reason }], $slice: -MAX_LOG } } },
          );
          return;
        }
        const startMs = Date.now();
        const attemptNo = d.attempts + 1;
        let httpStatus: number | undefined;
        let response: string | undefined;
        let error: string | undefined;
        let secret: string | undefined;
        try {
          secret = decrypt(s.secretEnc, this.dataKey);
        } catch {
          error = "the subscription's secret cannot be decrypted (was the data key changed?): rotate it";
        }
        if (secret !== undefined) {
          const request = signedRequest(d.envelope, d._id, secret, startMs);
          const abort = new AbortController();
          const timer = setTimeout(() => abort.abort(), cfg.webhookTimeoutMs);
          try {
            // No redirects followed: a 3xx is an answer like any other non-2xx.
            const res = await fetch(s.url, { method: "POST", headers: request.headers, body: request.body, signal: abort.signal, redirect: "manual" });
            httpStatus = res.status;
            try {
              response = truncateBody(await readSome(res, MAX_READ_BYTES));
            } catch {
              response = undefined; // the answer's status counts; a body cut by the time-out does not matter
            }
          } catch (err: any) {
            error = abort.signal.aborted ? `timed out after ${cfg.webhookTimeoutMs} ms` : describeFetchError(err);
          } finally {
            clearTimeout(timer);
          }
        }
        const endMs = Date.now();
        const ok = httpStatus !== undefined && isSuccessStatus(httpStatus);
        if (!ok && !error) error = `HTTP ${httpStatus}`;
        const entry: DeliveryLogEntry = {
          kind: "ATTEMPT",
          attempt: attemptNo,
          at: iso(startMs),
          ...(httpStatus !== undefined ? { httpStatus } : {}),
          ms: endMs - startMs,
          ...(error ? { error } : {}),
          ...(response ? { response } : {}),
          nodeID: this.broker.nodeID,
        };
        const set: Record<string, unknown> = { attempts: attemptNo, updatedAt: iso(endMs), version: d.version + 1 };
        if (httpStatus !== undefined) set.lastStatus = httpStatus;
        const unset: Record<string, true> = { claimedUntil: true, claimedBy: true, dueAt: true };
        let failed = false;
        if (ok) {
          Object.assign(set, { status: "SUCCEEDED", succeededAt: iso(endMs) });
          unset.lastError = true;
        } else {
          set.lastError = error;
          const next = afterFailure(attemptNo - (d.cycleStart ?? 0), cfg.webhookBackoffMs, endMs);
          if (next.status === "RETRYING") {
            Object.assign(set, { status: "RETRYING", nextAttemptAt: iso(next.nextAttemptAt), dueAt: iso(next.nextAttemptAt) });
            delete unset.dueAt;
          } else {
            Object.assign(set, { status: "FAILED", failedAt: iso(endMs) });
            failed = true;
          }
        }
        const saved = await store.updateOne({ _id: d._id, version: d.version }, { $set: set, $unset: unset, $push: { log: { $each: [entry], $slice: -MAX_LOG } } });
        if (!saved) {
          this.logger.warn(`Webhook delivery ${d._id}: attempt ${attemptNo} done after its claim was taken over; its outcome is not recorded`);
          return;
        }
        if (failed) {
          const message = `Webhook delivery ${d._id} (${d.type}) FAILED after ${attemptNo} attempts: ${error}`;
          this.logger.warn(message);
          this.broker.emit("ops.alert", { kind: "WEBHOOK_FAILED", message, deliveryId: d._id, subscriptionId: d.subscriptionId, eventId: d.eventId, type: d.type, attempts: attemptNo, lastStatus: httpStatus ?? null, lastError: error });
        }
      },
    },
    created(this: any) {
      this.dataKey = loadDataKey(cfg, (m) => this.logger.warn(m));
      this.inFlight = new Set<Promise<void>>();
      this.pumping = false;
      this.pumpAgain = false;
      this.workerStopped = false;
    },
    async onStoreReady(this: any) {
      this.stores.webhookDeliveries = withDueAt(this.stores.webhookDeliveries);
      const n = await this.backfillDueAt().catch((err: Error) => {
        this.logger.warn(`Webhook deliveries from before dueAt not backfilled (they wait for the next start): ${err.message}`);
        return 0;
      });
      if (n) this.logger.info(`dueAt set on ${n} webhook deliveries written before it existed`);
    },
    async started(this: any) {
      this.workerTimer = setInterval(() => {
        this.pump().catch((err: Error) => this.logger.warn(`Webhook worker failed: ${err.message}`));
      }, WORKER_TICK_MS);
      this.workerTimer.unref?.();
      this.kick();
    },
    async stopped(this: any) {
      this.workerStopped = true;
      clearInterval(this.workerTimer);
      // Requests in flight end within the time-out; their outcomes are recorded (a cut one is taken over after the lease).
      await Promise.allSettled([...this.inFlight]);
    },
  } as ServiceSchema;
}
