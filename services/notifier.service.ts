/**
 * notifier (短信节点) — owns `messages`: rule-driven reminders before due, on the due day and when
 * overdue, and result messages of debits (success, failure), sent through one SMS provider interface
 * (the simulated provider ships; NOTIFIER_PROVIDER=http posts to a gateway).
 *
 * Rules: the REMINDER rule set in force for the plan's scope (bizType / funderId / productCode) on the
 * business date, resolved through the rules cache (a change applies without a release).
 *
 * Scheduled scan (job `reminderScan`, partitioned): due once per (rule time, business day) on each
 * node, and at once after a start past a time (catch-up). Each partition pages
 * `schedule.reminderWork` and owes, per plan, every scheduled entry whose time has passed today
 * (domain/reminders.ts). A message's `_id` is its dedupe key `planId:period:trigger:ruleIndex:date`:
 * a replayed scan (restart, manual run, two nodes) creates nothing.
 *
 * Events (durable channel EVENTS_CHANNEL, group "notifier"): `trade.succeeded` / `trade.failed` of a
 * DEBIT → DEBIT_SUCCESS / DEBIT_FAILURE messages keyed `tradeNo:trigger:ruleIndex`;
 * `installment.paid` → the installment's SCHEDULED messages are SUPPRESSED (PAID). Redelivery is
 * harmless: every write is keyed or compare-and-set.
 *
 * Sending (`deliver`): a compare-and-set claim (SCHEDULED → SENDING with a lease), then in order:
 * quiet hours → back to SCHEDULED for the end of the quiet period (the dispatcher job sends it then);
 * the installment paid since (or the plan settled) → SUPPRESSED PAID; the borrower's daily cap
 * (slots `customerId|date|n` with unique ids, so two senders cannot both take the last one) →
 * SUPPRESSED CAP; no mobile → SUPPRESSED NO_CONTACT; then the provider, retried twice, → SENT or
 * FAILED. The mobile is fetched from order-sync at send time only: never stored, never logged; the
 * message keeps the masked number.
 */
import type { Context, ServiceSchema } from "moleculer";
import { actorOf } from "../mixins/actor";
import type { Config } from "../config";
import { DomainError } from "../domain/errors";
import { daysBetween, isValidDate } from "../domain/calendar";
import {
  dueReminders,
  horizonDays,
  inQuietHours,
  nextAllowedSend,
  renderTemplate,
  scanTimes,
  tradeMessageKey,
  type DueReminder,
  type ReminderRule,
  type ReminderTrigger,
  type TemplateVars,
} from "../domain/reminders";
import { ClockMixin } from "../mixins/clock.mixin";
import { RulesCacheMixin } from "../mixins/rules-cache.mixin";
import { findPage, StoreMixin, type Store } from "../mixins/store.mixin";
import { PartitionedJobs, type JobContext } from "../mixins/partitioned-jobs.mixin";
import { EVENTS_CHANNEL, type EventEnvelope } from "../contracts/events.contract";
import type { ReminderItem } from "../contracts/servicing.contract";
import {
  getMessageParams,
  listMessagesParams,
  messageStatsParams,
  reminderRunParams,
  simSentParams,
  MESSAGE_STATUSES,
  type GetMessageParams,
  type InstallmentPaidData,
  type ListMessagesParams,
  type Message,
  type MessageReason,
  type MessageStatsParams,
  type MessageView,
  type ReminderRunParams,
  type SimSentParams,
  type TradeEventData,
} from "../contracts/notifier.contract";
import { createSmsProvider, SimSmsProvider, type SmsProvider } from "../notifier/providers";

const PAGE = 500;
/** A SENDING claim holds this long (real time): a sender that died is replaced after it. */
const LEASE_MS = 60_000;
/** Provider attempts per send (the first and two retries) and the first back-off (real time, doubled). */
const PROVIDER_ATTEMPTS = 3;
const PROVIDER_RETRY_MS = 200;
const DISPATCH_BATCH = 200;

export interface NotifierOptions {
  tickMs?: number;
  ttlMs?: number;
  /** Replace the configured provider (tests). */
  provider?: SmsProvider;
}

export function messageView(m: Message): MessageView {
  const { _id, leaseUntil: _l, ...rest } = m;
  return { messageId: _id, ...rest };
}

interface Contact {
  customerId: string;
  name: string;
  mobile: string | null;
  mobileMasked: string | null;
}

type Outcome = "sent" | "deferred" | "suppressed" | "failed" | "skipped";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export default function notifierService(cfg: Config, opts: NotifierOptions = {}): ServiceSchema {
  return {
    name: "notifier",
    mixins: [
      StoreMixin(
        {
          collection: "messages",
          // None on low-cardinality fields (status, partition): NeDB keeps each key's documents in one
          // array, so every status change would scan thousands of messages (see the ledger's note).
          indexes: [
            { field: "planId" },
            { field: "customerId" },
            { field: "date" },
            { field: "scheduledFor" },
            // MongoDB only: the dispatcher's due query (a partition's SCHEDULED messages by time; SENDING ones whose lease ran out), the log's order.
            { fields: { partition: 1, status: 1, scheduledFor: 1 } },
            { fields: { status: 1, leaseUntil: 1 } },
            { fields: { date: -1, scheduledFor: -1, _id: 1 } },
          ],
          more: [{ collection: "messageCaps", indexes: [{ field: "messageId" }] }],
        },
        cfg,
      ),
      ClockMixin(cfg.timeZone),
      RulesCacheMixin(),
      PartitionedJobs({ partitions: cfg.partitions, redisUrl: cfg.redisUrl, lockNamespace: cfg.storePrefix || undefined }, { tickMs: opts.tickMs ?? cfg.jobTickMs, ttlMs: opts.ttlMs ?? cfg.leaseTtlMs }),
    ],
    dependencies: ["schedule", "rules", "order-sync", "ledger"],
    settings: { rest: "/" },
    jobs: {
      /** The daily reminder scan: due at every rule time of the day, once per (time, day). */
      reminderScan: {
        schedule: (svc: any) => svc.scanDue(),
        retries: 2,
        concurrency: 4,
        async run(this: any, partition: number, ctx: JobContext) {
          return this.scanPartition(partition, ctx);
        },
      },
      /** Sends what is due: deferred by quiet hours, or left SCHEDULED/SENDING by a failure or a crash. */
      dispatch: {
        schedule: (svc: any) => svc.dispatchDue(),
        retries: 1,
        concurrency: 4,
        async run(this: any, partition: number, ctx: JobContext) {
          return this.dispatchPartition(partition, ctx);
        },
      },
    },
    channels: {
      [EVENTS_CHANNEL]: {
        group: "notifier",
        maxRetries: 5,
        async handler(this: any, envelope: EventEnvelope) {
          if (!envelope || typeof envelope.id !== "string" || typeof envelope.type !== "string" || !envelope.data) return;
          await this.onEnvelope(envelope);
        },
      },
    },
    events: {
      "rules.changed": {
        handler(this: any, ctx: Context<{ kind: string }>) {
          if (ctx.params.kind === "REMINDER") this.scanRuleInfo = null;
        },
      },
    },
    actions: {
      list: {
        rest: "GET /messages",
        params: listMessagesParams,
        doc: { summary: "The message log, newest first: filter by plan, customer, status, trigger, date", tags: ["messages"] },
        async handler(this: any, ctx: Context<ListMessagesParams>) {
          const p = ctx.params;
          if (p.date !== undefined && !isValidDate(p.date)) throw new DomainError("INVALID_DATE", `date ${p.date} is not a calendar date`, { field: "date" });
          const query: Record<string, unknown> = {};
          for (const f of ["planId", "customerId", "status", "trigger", "date"] as const) if (p[f] !== undefined) query[f] = p[f];
          return findPage(this.store, query, p, { date: -1, scheduledFor: -1, _id: 1 }, messageView);
        },
      },
      get: {
        rest: "GET /messages/:id",
        params: getMessageParams,
        doc: { summary: "One message by its id (the dedupe key)", tags: ["messages"] },
        async handler(this: any, ctx: Context<GetMessageParams>): Promise<MessageView> {
          const m: Message | null = await this.store.findById(ctx.params.id);
          if (!m) throw new DomainError("NOT_FOUND", `Message ${ctx.params.id} not found`, { id: ctx.params.id });
          return messageView(m);
        },
      },
      stats: {
        rest: "GET /messages-stats",
        params: messageStatsParams,
        doc: { summary: "Message counts by status and by trigger (all dates, or one business date)", tags: ["messages"] },
        async handler(this: any, ctx: Context<MessageStatsParams>) {
          if (ctx.params.date !== undefined && !isValidDate(ctx.params.date)) throw new DomainError("INVALID_DATE", `date ${ctx.params.date} is not a calendar date`, { field: "date" });
          const base: Record<string, unknown> = ctx.params.date ? { date: ctx.params.date } : {};
          const byStatus: Record<string, number> = {};
          for (const s of MESSAGE_STATUSES) byStatus[s] = await this.store.count({ ...base, status: s });
          const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
          return { date: ctx.params.date ?? null, total, byStatus };
        },
      },
      createRun: {
        rest: "POST /reminders/runs",
        params: reminderRunParams,
        doc: { summary: "Run the reminder scan now (every node its partitions); a replay the same day creates nothing. Returns the run", tags: ["messages"], role: "ops" },
        async handler(this: any, ctx: Context<ReminderRunParams>) {
          const p = ctx.params;
          return this.runByHand("reminderScan", { prefix: "RMD", partitions: p.partitions, meta: { by: actorOf(ctx), ...(p.partitions ? { partitions: p.partitions } : {}) } });
        },
      },
      /** Scan the partitions this node holds now and wait (tests, REPL). */
      scanNow: {
        visibility: "public",
        handler(this: any) {
          return this.runHeldNow((part: number) => this.scanPartition(part, { signal: new AbortController().signal }));
        },
      },
      /** The simulated provider's outbox (mesh only; empty with another provider). */
      simSent: {
        visibility: "public",
        params: simSentParams,
        handler(this: any, ctx: Context<SimSentParams>) {
          if (!(this.provider instanceof SimSmsProvider)) return [];
          return this.provider.outbox().filter((r: { seq: number }) => r.seq > (ctx.params.since ?? 0));
        },
      },
    },
    methods: {
      // ------------------------------------------------------------ scheduling

      /** Times and horizon of every enabled REMINDER rule (reloaded after a rules.changed). */
      async scanRules(this: any): Promise<{ times: string[]; horizon: number }> {
        if (!this.scanRuleInfo) {
          const page: any = await this.broker.call("rules.list", { kind: "REMINDER", pageSize: 500 });
          const contents: ReminderRule[] = page.rows.filter((r: any) => r.enabled && !r.deleted).map((r: any) => r.content);
          this.scanRuleInfo = {
            times: [...new Set(contents.flatMap((c) => scanTimes(c)))].sort(),
            horizon: Math.max(0, ...contents.map((c) => horizonDays(c))),
          };
        }
        return this.scanRuleInfo;
      },
      /** Due when the business clock has passed a rule time not yet scanned today on this node. */
      async scanDue(this: any): Promise<boolean> {
        const { times } = await this.scanRules();
        const today = this.clock.today();
        const now = this.clock.localTime();
        const due = times.filter((t: string) => t <= now && !this.scansDone.has(`${today}|${t}`));
        if (!due.length) return false;
        for (const key of [...this.scansDone]) if (!key.startsWith(today + "|")) this.scansDone.delete(key);
        for (const t of due) this.scansDone.add(`${today}|${t}`);
        return true;
      },
      async dispatchDue(this: any): Promise<boolean> {
        const one = await this.store.findOne(this.dueQuery());
        return one !== null;
      },
      dueQuery(this: any, partition?: number): Record<string, unknown> {
        return {
          ...(partition !== undefined ? { partition } : {}),
          $or: [
            { status: "SCHEDULED", scheduledFor: { $lte: this.clock.iso() } },
            { status: "SENDING", leaseUntil: { $lt: Date.now() } },
          ],
        };
      },

      // ------------------------------------------------------------ scan

      async scanPartition(this: any, partition: number, ctx: Pick<JobContext, "signal">) {
        const today: string = this.clock.today();
        const time: string = this.clock.localTime();
        const { horizon } = await this.scanRules();
        const counters: Record<string, number> = { processed: 0, created: 0, duplicate: 0, sent: 0, deferred: 0, suppressed: 0, failed: 0, skipped: 0 };
        const names = new Map<string, Promise<Contact | null>>();
        let after: string | undefined;
        for (;;) {
          if (ctx.signal.aborted) break;
          const items: ReminderItem[] = await this.broker.call("schedule.reminderWork", { partition, asOf: today, horizonDays: horizon, limit: PAGE, ...(after ? { afterPlanId: after } : {}) });
          for (const item of items) {
            counters.processed++;
            const rule = await this.resolveRule("REMINDER", { bizType: item.bizType, funderId: item.funderId, productCode: item.productCode }, today);
            if (!rule) continue;
            const due = dueReminders(item, rule.content as ReminderRule, today, time);
            if (!due.length) continue;
            if (!names.has(item.orderId)) names.set(item.orderId, this.contactOf(item.orderId));
            const contact = await names.get(item.orderId);
            const created: string[] = [];
            for (const d of due) {
              const msg = this.newMessage({
                key: d.key,
                item,
                period: d.period,
                trigger: d.trigger,
                rule,
                ruleIndex: d.ruleIndex,
                date: today,
                text: renderTemplate(d.template, this.vars(d, item, contact)),
                channel: d.channel,
              });
              if (await this.insertMessage(msg)) {
                counters.created++;
                created.push(msg._id);
              } else counters.duplicate++;
            }
            for (const id of created) counters[await this.deliver(id)]++;
          }
          if (items.length < PAGE) break;
          after = items[items.length - 1].planId;
        }
        return counters;
      },
      vars(this: any, d: DueReminder, item: ReminderItem, contact: Contact | null): TemplateVars {
        return { name: contact?.name, period: d.period, amount: d.amount, dueDate: d.dueDate, daysOverdue: d.daysOverdue, planId: item.planId, productCode: item.productCode };
      },

      // ------------------------------------------------------------ messages

      newMessage(
        this: any,
        m: { key: string; item: Pick<ReminderItem, "planId" | "orderId" | "customerId" | "partition">; period: number; trigger: ReminderTrigger; rule: { id: string; version: number; content: ReminderRule }; ruleIndex: number; date: string; text: string; channel: string; tradeNo?: string; eventId?: string },
      ): Message {
        const nowMs: number = this.clock.nowMs();
        const quiet = m.rule.content.quietHours ?? null;
        const at = nextAllowedSend(nowMs, quiet ?? undefined, cfg.timeZone);
        const iso = new Date(nowMs).toISOString();
        return {
          _id: m.key,
          planId: m.item.planId,
          orderId: m.item.orderId,
          customerId: m.item.customerId,
          partition: m.item.partition,
          period: m.period,
          trigger: m.trigger,
          ruleId: m.rule.id ?? null,
          ruleVersion: m.rule.version ?? null,
          ruleIndex: m.ruleIndex,
          date: m.date,
          ...(m.tradeNo ? { tradeNo: m.tradeNo } : {}),
          ...(m.eventId ? { eventId: m.eventId } : {}),
          text: m.text,
          channel: m.channel,
          toMasked: null,
          status: "SCHEDULED",
          reason: at > nowMs ? "QUIET_HOURS" : null,
          scheduledFor: new Date(at).toISOString(),
          quietHours: quiet,
          maxPerDay: m.rule.content.maxPerDay ?? null,
          sentAt: null,
          sentDate: null,
          provider: null,
          providerRef: null,
          attempts: 0,
          error: null,
          createdAt: iso,
          updatedAt: iso,
        };
      },
      /** Insert; false when the dedupe key exists already. */
      async insertMessage(this: any, msg: Message): Promise<boolean> {
        try {
          await this.store.insert(msg);
          return true;
        } catch (err: any) {
          if (err?.code === "DUPLICATE_KEY") return false;
          throw err;
        }
      },
      async contactOf(this: any, orderId: string): Promise<Contact | null> {
        try {
          return await this.broker.call("order-sync.contact", { orderId });
        } catch (err: any) {
          if (err?.code === "NOT_FOUND" || err?.type === "NOT_FOUND") return null;
          throw err;
        }
      },

      // ------------------------------------------------------------ sending

      /** Claim a due message and send it (or defer, suppress, fail it). Safe to call twice. */
      async deliver(this: any, id: string): Promise<Outcome> {
        const store: Store<Message> = this.store;
        const claimed = await store.updateOne({ _id: id, ...this.dueQuery() }, { $set: { status: "SENDING", leaseUntil: Date.now() + LEASE_MS } });
        if (!claimed) return "skipped";
        try {
          return await this.sendClaimed(claimed);
        } catch (err: any) {
          // Transient (a service down, a time-out): back to SCHEDULED, the dispatcher tries again.
          await store.updateOne({ _id: id, status: "SENDING" }, { $set: { status: "SCHEDULED", error: String(err?.message ?? err).slice(0, 200), updatedAt: this.clock.iso() }, $unset: { leaseUntil: 1 } });
          this.logger.warn(`Message ${id} could not be sent now: ${err?.message}`);
          return "failed";
        }
      },
      async finish(this: any, id: string, set: Partial<Message>): Promise<void> {
        await this.store.updateOne({ _id: id, status: "SENDING" }, { $set: { ...set, updatedAt: this.clock.iso() }, $unset: { leaseUntil: 1 } });
      },
      async suppress(this: any, m: Message, reason: MessageReason): Promise<Outcome> {
        await this.releaseCap(m._id);
        await this.finish(m._id, { status: "SUPPRESSED", reason });
        return "suppressed";
      },
      async sendClaimed(this: any, m: Message): Promise<Outcome> {
        const nowMs: number = this.clock.nowMs();
        if (m.quietHours && inQuietHours(this.clock.localTime(), m.quietHours)) {
          await this.finish(m._id, { status: "SCHEDULED", reason: "QUIET_HOURS", scheduledFor: new Date(nextAllowedSend(nowMs, m.quietHours, cfg.timeZone)).toISOString() });
          return "deferred";
        }
        if (m.trigger !== "DEBIT_SUCCESS") {
          const state = await this.installmentState(m.planId, m.period);
          if (state === "PAID") return this.suppress(m, "PAID");
          if (state === "CLOSED") return this.suppress(m, "PLAN_CLOSED");
        }
        const today: string = this.clock.today();
        if (m.maxPerDay && !(await this.takeCap(m, today))) return this.suppress(m, "CAP");
        const contact: Contact | null = await this.contactOf(m.orderId);
        if (!contact?.mobile) return this.suppress(m, "NO_CONTACT");
        let result: { status: string; providerRef?: string; error?: string } = { status: "FAILED", error: "not sent" };
        let attempts = m.attempts;
        for (let i = 0; i < PROVIDER_ATTEMPTS; i++) {
          if (i > 0) await sleep(PROVIDER_RETRY_MS * 2 ** (i - 1));
          attempts++;
          try {
            result = await this.provider.send({ messageId: m._id, to: contact.mobile, text: m.text });
          } catch (err: any) {
            result = { status: "FAILED", error: String(err?.message ?? err) };
          }
          if (result.status === "SENT") break;
        }
        const toMasked = contact.mobileMasked ?? null;
        if (result.status === "SENT") {
          await this.finish(m._id, { status: "SENT", reason: null, toMasked, sentAt: this.clock.iso(), sentDate: today, provider: this.provider.name, providerRef: result.providerRef ?? null, attempts, error: null });
          return "sent";
        }
        await this.releaseCap(m._id);
        await this.finish(m._id, { status: "FAILED", reason: "PROVIDER_ERROR", toMasked, provider: this.provider.name, attempts, error: (result.error ?? "failed").slice(0, 200) });
        this.logger.warn(`Message ${m._id} failed at the provider after ${PROVIDER_ATTEMPTS} attempts: ${result.error}`);
        return "failed";
      },
      /** "OPEN", "PAID" (the installment, or the plan settled) or "CLOSED" (cancelled, or gone). */
      async installmentState(this: any, planId: string, period: number): Promise<"OPEN" | "PAID" | "CLOSED"> {
        let plan: any;
        try {
          plan = await this.broker.call("schedule.get", { planId });
        } catch (err: any) {
          if (err?.code === "NOT_FOUND" || err?.type === "NOT_FOUND") return "CLOSED";
          throw err;
        }
        if (plan.status === "SETTLED") return "PAID";
        if (plan.status === "CANCELLED") return "CLOSED";
        const inst = (plan.installments ?? []).find((i: { period: number }) => i.period === period);
        if (!inst) return "CLOSED";
        return inst.status === "PAID" ? "PAID" : "OPEN";
      },
      /** One of the borrower's `maxPerDay` slots of the day, by unique id; false when all are taken. */
      async takeCap(this: any, m: Message, date: string): Promise<boolean> {
        const caps: Store = this.stores.messageCaps;
        if (await caps.findOne({ messageId: m._id })) return true;
        for (let n = 1; n <= (m.maxPerDay as number); n++) {
          try {
            await caps.insert({ _id: `${m.customerId}|${date}|${n}`, messageId: m._id, customerId: m.customerId, date });
            return true;
          } catch (err: any) {
            if (err?.code !== "DUPLICATE_KEY") throw err;
          }
        }
        return false;
      },
      async releaseCap(this: any, messageId: string): Promise<void> {
        await this.stores.messageCaps.remove({ messageId });
      },
      async dispatchPartition(this: any, partition: number, ctx: Pick<JobContext, "signal">) {
        const counters: Record<string, number> = { processed: 0, sent: 0, deferred: 0, suppressed: 0, failed: 0, skipped: 0 };
        const due: Message[] = await this.store.find(this.dueQuery(partition), { sort: { scheduledFor: 1, _id: 1 }, limit: DISPATCH_BATCH });
        for (const m of due) {
          if (ctx.signal.aborted) break;
          counters.processed++;
          counters[await this.deliver(m._id)]++;
        }
        return counters;
      },

      // ------------------------------------------------------------ events

      async onEnvelope(this: any, env: EventEnvelope) {
        if (env.type === "installment.paid") {
          const d = env.data as unknown as InstallmentPaidData;
          if (typeof d.planId !== "string" || typeof d.period !== "number") return;
          // SCHEDULED messages hold no cap slot (a slot is taken while SENDING): nothing to release.
          await this.store.updateMany(
            { planId: d.planId, period: d.period, status: "SCHEDULED", trigger: { $ne: "DEBIT_SUCCESS" } },
            { $set: { status: "SUPPRESSED", reason: "PAID", updatedAt: this.clock.iso() } },
          );
          return;
        }
        if (env.type !== "trade.succeeded" && env.type !== "trade.failed") return;
        const d = env.data as unknown as TradeEventData;
        if (d.kind !== "DEBIT" || typeof d.planId !== "string" || typeof d.tradeNo !== "string") return;
        await this.tradeMessage(env, d, env.type === "trade.succeeded" ? "DEBIT_SUCCESS" : "DEBIT_FAILURE");
      },
      async tradeMessage(this: any, env: EventEnvelope, d: TradeEventData, trigger: ReminderTrigger) {
        let plan: any;
        try {
          plan = await this.broker.call("schedule.get", { planId: d.planId });
        } catch (err: any) {
          if (err?.code === "NOT_FOUND" || err?.type === "NOT_FOUND") return;
          throw err;
        }
        const today: string = this.clock.today();
        const rule = await this.resolveRule("REMINDER", { bizType: plan.bizType, funderId: plan.funderId, productCode: plan.productCode }, today);
        if (!rule) return;
        const content = rule.content as ReminderRule;
        const periods = Array.isArray(d.periods) && d.periods.length ? [...d.periods].sort((a, b) => a - b) : [];
        const period = periods[0] ?? plan.installments.find((i: any) => i.status !== "PAID")?.period ?? 1;
        const inst = plan.installments.find((i: any) => i.period === period);
        const contact = await this.contactOf(plan.orderId);
        const item = { planId: plan.planId, orderId: plan.orderId, customerId: plan.customerId, partition: plan.partition };
        for (const [ruleIndex, e] of content.rules.entries()) {
          if (e.trigger !== trigger) continue;
          const vars: TemplateVars = {
            name: contact?.name,
            period: periods.length ? periods.join(",") : period,
            amount: d.amount,
            dueDate: inst?.dueDate,
            daysOverdue: inst ? Math.max(0, daysBetween(inst.dueDate, today)) : 0,
            planId: plan.planId,
            productCode: plan.productCode,
          };
          const msg = this.newMessage({ key: tradeMessageKey(d.tradeNo, trigger, ruleIndex), item, period, trigger, rule, ruleIndex, date: today, text: renderTemplate(e.template, vars), channel: e.channel ?? "SMS", tradeNo: d.tradeNo, eventId: env.id });
          await this.insertMessage(msg);
          // New or redelivered: send it if it is due and not yet sent (the claim makes a second call a no-op).
          await this.deliver(msg._id);
        }
      },
    },
    created(this: any) {
      this.scanRuleInfo = null;
      this.scansDone = new Set<string>();
      this.provider = opts.provider ?? createSmsProvider(cfg);
    },
  } as ServiceSchema;
}
