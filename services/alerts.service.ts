/**
 * alerts — owns the alerts: what the system detects that ops must act on, one record per
 * (kind, subject), raised by any service through the `ops.alert` event (or `alerts.raise`),
 * deduped, then acknowledged and resolved by ops with an audit trail. The first raise of a subject
 * (and a raise that reopens a resolved one) is published through the outbox as
 * `alert.<kind>` (webhook subscriptions choose among them); a resolve as `alert.resolved`.
 *
 * Detectors raise again whenever they see the condition, so a raise lost while this service is
 * down comes back with the next sweep, run or query that sees it.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { Config } from "../config";
import { actorOf } from "../mixins/actor";
import { ClockMixin } from "../mixins/clock.mixin";
import { StoreMixin, findPage, type Store } from "../mixins/store.mixin";
import { OUTBOX_INDEX, OutboxMixin } from "../mixins/messaging/outbox.mixin";
import { DomainError } from "../domain/errors";
import {
  MAX_ALERT_HISTORY,
  alertEventType,
  alertId,
  alertSubject,
  alertTransition,
  isAlertKind,
  newAlert,
  reopenedAlert,
  type Alert,
  type AlertAction,
  type RaiseInput,
} from "../domain/alerts";
import {
  alertActionParams,
  alertIdParams,
  listAlertsParams,
  raiseAlertParams,
  type AlertActionParams,
  type AlertIdParams,
  type AlertSummary,
  type AlertView,
  type ListAlertsParams,
  type RaiseAlertParams,
} from "../contracts/alerts.contract";

/** The detector's data as stored: references and figures only, bounded in size. */
function cleanData(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === "kind" || k === "message" || k.startsWith("$") || k.includes(".")) continue;
    if (v === undefined) continue;
    out[k] = v;
  }
  const json = JSON.stringify(out);
  return json.length > 4000 ? { truncated: true, preview: json.slice(0, 4000) } : out;
}

export function viewAlert(a: Alert): AlertView {
  const { _id, outbox: _o, ...rest } = a as Alert & { outbox?: unknown };
  return { id: _id, ...rest };
}

export default function alertsService(cfg: Config): ServiceSchema {
  return {
    name: "alerts",
    mixins: [
      StoreMixin(
        {
          collection: "alerts",
          indexes: [{ field: "status" }, { field: "kind" }, { field: "lastAt" }, OUTBOX_INDEX, { fields: { status: 1, lastAt: -1 } }],
        },
        cfg,
      ),
      ClockMixin(cfg.timeZone),
      OutboxMixin({ collections: ["alerts"], flushMs: cfg.outboxFlushMs, sweepMs: cfg.outboxSweepMs }),
    ],
    settings: { rest: "/" },
    actions: {
      raise: {
        visibility: "public",
        params: raiseAlertParams,
        async handler(this: any, ctx: Context<RaiseAlertParams>): Promise<{ alert: AlertView; raised: boolean }> {
          const p = ctx.params;
          const { alert, raised } = await this.raiseAlert({ kind: p.kind, message: p.message, subject: p.subject, data: cleanData(p.data ?? {}) });
          return { alert: viewAlert(alert), raised };
        },
      },
      list: {
        rest: "GET /alerts",
        params: listAlertsParams,
        doc: { summary: "Alerts, newest first: filter by kind, status, subject, or active (OPEN and ACKNOWLEDGED)", tags: ["alerts"] },
        handler(this: any, ctx: Context<ListAlertsParams>) {
          const p = ctx.params;
          const q: Record<string, unknown> = {};
          if (p.kind) q.kind = p.kind;
          if (p.status) q.status = p.status;
          else if (p.active) q.status = { $in: ["OPEN", "ACKNOWLEDGED"] };
          if (p.subject) q.subject = p.subject;
          return findPage(this.store, q, p, { lastAt: -1, _id: 1 }, viewAlert);
        },
      },
      summary: {
        rest: "GET /alerts/summary",
        doc: { summary: "Counts of open and acknowledged alerts per kind", tags: ["alerts"] },
        async handler(this: any): Promise<AlertSummary> {
          const rows: Alert[] = await this.store.find({ status: { $in: ["OPEN", "ACKNOWLEDGED"] } }, { fields: ["kind", "status"] });
          const out: AlertSummary = { open: 0, acknowledged: 0, byKind: {} };
          for (const r of rows) {
            const k = (out.byKind[r.kind] ??= { open: 0, acknowledged: 0 });
            if (r.status === "OPEN") {
              out.open++;
              k.open++;
            } else {
              out.acknowledged++;
              k.acknowledged++;
            }
          }
          return out;
        },
      },
      get: {
        rest: "GET /alerts/:id",
        params: alertIdParams,
        doc: { summary: "One alert with its history", tags: ["alerts"] },
        async handler(this: any, ctx: Context<AlertIdParams>): Promise<AlertView> {
          return viewAlert(await this.load(ctx.params.id));
        },
      },
      acknowledge: {
        rest: "POST /alerts/:id/acknowledge",
        params: alertActionParams,
        doc: { summary: "Acknowledge an open alert (someone is on it); again is a no-op", tags: ["alerts"], role: "ops" },
        handler(this: any, ctx: Context<AlertActionParams>): Promise<AlertView & { changed: boolean }> {
          return this.act(ctx.params.id, "ACKNOWLEDGE", actorOf(ctx), ctx.params.note);
        },
      },
      resolve: {
        rest: "POST /alerts/:id/resolve",
        params: alertActionParams,
        doc: { summary: "Resolve an alert; again is a no-op; a later raise of the same subject reopens it", tags: ["alerts"], role: "ops" },
        handler(this: any, ctx: Context<AlertActionParams>): Promise<AlertView & { changed: boolean }> {
          return this.act(ctx.params.id, "RESOLVE", actorOf(ctx), ctx.params.note);
        },
      },
    },
    events: {
      /** Every service's detectors: `{ kind, message, ...data }`. */
      "ops.alert": {
        async handler(this: any, ctx: Context<Record<string, unknown>>) {
          const p = ctx.params ?? {};
          if (!isAlertKind(p.kind)) {
            this.logger.warn(`ops.alert of unknown kind ${String(p.kind)}: ${String(p.message ?? "")}`);
            return;
          }
          await this.raiseSafely({ kind: p.kind, message: String(p.message ?? p.kind).slice(0, 1000), data: cleanData(p) });
        },
      },
      /** A consumer gave up on a message (the in-process adapter; on NATS JetStream they stay in its DEAD_LETTER stream). */
      "channels.dead_letter": {
        async handler(this: any, ctx: Context<{ channel: string; group: string; payload: any; error: string; attempts: number }>) {
          const p = ctx.params;
          const messageId = typeof p.payload?.id === "string" ? p.payload.id : `${p.channel}:${p.group}:${JSON.stringify(p.payload ?? null).length}`;
          await this.raiseSafely({
            kind: "DEAD_LETTER",
            message: `Consumer ${p.group} gave up on a message of ${p.channel} after ${p.attempts} attempts: ${String(p.error).slice(0, 300)}`,
            data: { messageId, channel: p.channel, group: p.group, attempts: p.attempts, error: String(p.error).slice(0, 500), type: p.payload?.type ?? null },
          });
        },
      },
      "position.low": {
        async handler(this: any, ctx: Context<{ channel: string; available: string; lowWatermark: string }>) {
          const p = ctx.params;
          await this.raiseSafely({ kind: "LOW_POSITION", message: `Position ${p.channel} is low: ${p.available} available, watermark ${p.lowWatermark}`, data: cleanData(p) });
        },
      },
    },
    methods: {
      async load(this: any, id: string): Promise<Alert> {
        const a: Alert | null = await this.store.findById(id);
        if (!a) throw new DomainError("NOT_FOUND", `Alert ${id} not found`, { id });
        return a;
      },
      async raiseSafely(this: any, input: RaiseInput) {
        try {
          await this.raiseAlert(input);
        } catch (err: any) {
          // The detector raises again when it sees the condition again.
          this.logger.warn(`Alert ${input.kind} not recorded: ${err?.message}`);
        }
      },
      /**
       * Record a raise: a new record (unique id per kind and subject), a count on an active one, or
       * the resolved one reopened (compare-and-set on its version). Two raises at once meet on the
       * unique id or the version, and the loser reads again.
       */
      async raiseAlert(this: any, input: RaiseInput): Promise<{ alert: Alert; raised: boolean }> {
        const store: Store<Alert> = this.store;
        const at = this.clock.iso();
        const id = alertId(input.kind, alertSubject(input));
        for (let attempt = 0; attempt < 20; attempt++) {
          const current = await store.findById(id);
          if (!current) {
            const fresh = newAlert(input, at);
            const entry = this.outboxEntry(alertEventType(input.kind), id, this.eventData(fresh));
            try {
              const saved = await store.insert({ ...fresh, outbox: [entry] } as Alert);
              this.outboxWritten("alerts", id, saved);
              return { alert: saved, raised: true };
            } catch (err: any) {
              if (err?.code === "DUPLICATE_KEY") continue;
              throw err;
            }
          }
          if (current.status !== "RESOLVED") {
            const saved = await store.updateOne(
              { _id: id, version: current.version },
              { $set: { lastAt: at, message: input.message, data: input.data, version: current.version + 1 }, $inc: { count: 1 } },
            );
            if (saved) return { alert: saved, raised: false };
            continue;
          }
          const reopened = { ...current, ...reopenedAlert(current, input, at) };
          const saved = await store.updateOne(
            { _id: id, version: current.version },
            {
              $set: { ...reopenedAlert(current, input, at), version: current.version + 1 },
              $unset: { acknowledgedBy: true, acknowledgedAt: true, resolvedBy: true, resolvedAt: true },
              $push: {
                history: { $each: [{ at, action: "REOPENED", by: "system" }], $slice: -MAX_ALERT_HISTORY },
                outbox: { $each: [this.outboxEntry(alertEventType(input.kind), id, this.eventData(reopened))] },
              },
            },
          );
          if (saved) {
            this.outboxWritten("alerts", id, saved);
            return { alert: saved, raised: true };
          }
        }
        throw new DomainError("VERSION_CONFLICT", `Alert ${id} is raised too often at once; the detector raises it again`, { id });
      },
      async act(this: any, id: string, action: AlertAction, by: string, note?: string): Promise<AlertView & { changed: boolean }> {
        const a = await this.load(id);
        const t = alertTransition(a, action, by, this.clock.iso(), note);
        if (!t.changed) {
          if (t.error) throw new DomainError("ALERT_STATE", t.error, { id, status: a.status });
          return { ...viewAlert(a), changed: false };
        }
        const push: Record<string, unknown> = { history: { $each: [t.entry], $slice: -MAX_ALERT_HISTORY } };
        if (action === "RESOLVE") push.outbox = { $each: [this.outboxEntry("alert.resolved", id, { ...this.eventData({ ...a, ...t.set }), by, note: note ?? null })] };
        const saved: Alert | null = await this.store.updateOne({ _id: id, version: a.version }, { $set: { ...t.set, version: a.version + 1 }, $push: push });
        if (!saved) throw new DomainError("VERSION_CONFLICT", `Alert ${id} changed concurrently; read it and try again`, { id });
        if (action === "RESOLVE") this.outboxWritten("alerts", id, saved);
        return { ...viewAlert(saved), changed: true };
      },
      eventData(this: any, a: Alert): Record<string, unknown> {
        return { alertId: a._id, kind: a.kind, subject: a.subject, status: a.status, message: a.message, data: a.data };
      },
    },
  } as ServiceSchema;
}
