/**
 * deduction-executor — runs debit slots and payouts on the partitions its node holds, with retries
 * and compensating queries; routes each trade to a channel. The money logic is domain/debit-flow.ts;
 * this service wires it to the ledger, schedule, sign-bind, rules and the channels. It owns no data,
 * so it runs on any number of nodes: the runs' progress goes to the ledger (`jobs.progress` events).
 *
 * Jobs (mixins/partitioned-jobs.mixin.ts):
 *   debitSlot — due when a debit time point (DEBIT_TIME_POINTS rules) is reached; each plan is
 *               debited in the slot of the rule that applies to it; manual runs name their slot.
 *   repair    — every REPAIR_EVERY_MS: stale INIT → FAILED, SENDING/UNKNOWN → query, SUCCESS not
 *               applied → apply; payout positions committed or released. Never sends money.
 */
import crypto from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import { actorOf } from "../mixins/actor";
import type { Config } from "../config";
import { uncollectable } from "../domain/alerts";
import { keyedTurns } from "../domain/turns";
import { DomainError } from "../domain/errors";
import { dueSlot, slotIdOf, slotInstant, type DebitTimePoints } from "../domain/slots";
import { healthSettingsOf, type BreakerEvent } from "../domain/sliding-window";
import { createChannelHealth } from "../mixins/channel-health";
import { attemptSeedQuery, createAttemptCaps, type CapScope } from "../mixins/attempt-caps";
import { fnv1a32, partitionOf } from "../domain/partition";
import {
  debitPlan,
  payout,
  repairTrades,
  type ChannelSettingsContent,
  type DebitReport,
  type FlowPorts,
  type FlowTimings,
  type TradeLike,
} from "../domain/debit-flow";
import type { DueItem } from "../contracts/schedule.contract";
import {
  collectNowParams,
  type CollectNowParams,
  createPayoutParams,
  createRunParams,
  payoutNoParams,
  type CreatePayoutParams,
  type CreateRunParams,
  type PayoutNoParams,
} from "../contracts/deduction-executor.contract";
import { ClockMixin } from "../mixins/clock.mixin";
import { RulesCacheMixin } from "../mixins/rules-cache.mixin";
import { ChannelsMixin } from "../mixins/channels.mixin";
import { PartitionedJobs, type JobContext, type OpenSlot } from "../mixins/partitioned-jobs.mixin";

const REPAIR_EVERY_MS = 15_000;
const PAGE = 500;
const PLAN_CONCURRENCY = 8;

/** A slot's run id, the same on every node: `SLOT-<yyyymmddThhmm>-<rule id>` (the rule id hashed when it would not fit). */
export function slotRunId(slotId: string, ruleId: string): string {
  const slot = slotId.replace(/[-:]/g, "");
  const rule = ruleId.replace(/[^A-Za-z0-9_-]/g, "_");
  const id = `SLOT-${slot}-${rule}`;
  return id.length <= 64 && rule === ruleId ? id : `SLOT-${slot}-h${fnv1a32(ruleId).toString(36)}`;
}

const RESULT_COUNTER: Record<DebitReport["result"], string> = {
  SUCCEEDED: "succeeded",
  FAILED: "failed",
  UNKNOWN: "unknown",
  IN_FLIGHT: "inFlight",
  ALREADY_COLLECTED: "alreadyCollected",
  NO_BINDING: "noBinding",
  NO_CHANNEL: "noChannel",
  STOPPED: "stopped",
};

export interface ExecutorOptions {
  timings?: FlowTimings;
  tickMs?: number;
  ttlMs?: number;
}

export default function deductionExecutorService(cfg: Config, opts: ExecutorOptions = {}): ServiceSchema {
  const timings: FlowTimings = { requestTtlMs: cfg.requestTtlSeconds * 1000, ...(opts.timings ?? { staleInitMs: cfg.staleTradeSeconds * 1000, sendingTimeoutMs: cfg.staleTradeSeconds * 1000 }) };
  return {
    name: "deduction-executor",
    mixins: [
      ClockMixin(cfg.timeZone),
      RulesCacheMixin(),
      ChannelsMixin(cfg),
      PartitionedJobs({ partitions: cfg.partitions, redisUrl: cfg.redisUrl, lockNamespace: cfg.storePrefix || undefined }, { tickMs: opts.tickMs ?? cfg.jobTickMs, ttlMs: opts.ttlMs ?? cfg.leaseTtlMs }),
    ],
    dependencies: ["ledger", "schedule", "sign-bind", "rules"],
    settings: { rest: "/" },
    jobs: {
      // One run per (rule, slot) across all nodes (run id SLOT-<slot>-<rule>): every tick while the
      // slot is open, each node runs it on the partitions it holds that are not DONE yet; a failing
      // partition (schedule or ledger unavailable) is retried with back-off until the slot closes,
      // and so is one whose debits are still in flight or UNKNOWN (e.g. opened by a node that died:
      // once the sweep settles them, a channel-side failure gets its next attempt in the slot).
      // sent/succeeded/failed/unknown are events (summed); the others say what the last look saw.
      debitSlot: {
        slots: (svc: any, info: { now: Date }) => svc.openSlots(info.now.getTime()),
        settled: (r: Record<string, number>) => !r.inFlight && !r.unknown,
        levels: ["processed", "due", "inFlight", "alreadyCollected", "noBinding", "noChannel", "stopped", "notInSlot"],
        retries: 2,
        retryDelayMs: 500,
        maxRetryDelayMs: 5000,
        concurrency: 8,
        async run(this: any, partition: number, ctx: JobContext) {
          return this.runDebitPartition(partition, ctx);
        },
      },
      repair: {
        everyMs: REPAIR_EVERY_MS,
        retries: 1,
        concurrency: 4,
        async run(this: any, partition: number) {
          return this.repairPartition(partition);
        },
      },
    },
    events: {
      "rules.changed": {
        handler(this: any, ctx: Context<{ kind: string }>) {
          if (ctx.params.kind === "DEBIT_TIME_POINTS") this.timePointRules = null;
        },
      },
    },
    actions: {
      createRun: {
        rest: "POST /runs",
        params: createRunParams,
        doc: { summary: "Trigger a debit run by hand for a scope (all nodes run their partitions); returns the run id", tags: ["runs"] },
        async handler(this: any, ctx: Context<CreateRunParams>) {
          const p = ctx.params;
          const slotId = slotIdOf(this.clock.today(), p.slotTime ?? this.clock.localTime());
          const scope = { ...(p.bizType ? { bizType: p.bizType } : {}), ...(p.funderId ? { funderId: p.funderId } : {}), ...(p.productCode ? { productCode: p.productCode } : {}) };
          // Every node running the executor runs its own partitions under this run id.
          return this.runByHand("debitSlot", { prefix: "RUN", partitions: p.partitions, meta: { slotId, scope, by: actorOf(ctx) }, record: { slotId, scope } });
        },
      },
      createPayout: {
        rest: "POST /payouts",
        params: createPayoutParams,
        doc: { summary: "Pay out (代付) — idempotent on payoutNo: route by position and fee, reserve, send, commit or release", tags: ["payouts"] },
        async handler(this: any, ctx: Context<CreatePayoutParams>) {
          const p = ctx.params;
          const existing: TradeLike[] = await this.broker.call("ledger.find", { query: { payoutNo: p.payoutNo } });
          const first = existing[0];
          if (first && (first.amount !== p.amount || first.beneficiary?.accountNo !== p.beneficiary.accountNo || first.beneficiary?.accountName !== p.beneficiary.accountName)) {
            throw new DomainError("PAYOUT_CONFLICT", `Payout ${p.payoutNo} was requested with different content`, { payoutNo: p.payoutNo });
          }
          const settings = await this.channelSettings({});
          const res = await payout({ ...p, partition: partitionOf(p.payoutNo, cfg.partitions) }, settings, this.flowPorts, timings);
          return this.payoutView(p.payoutNo, res.result, res.rejected);
        },
      },
      collectNow: {
        rest: "POST /plans/:planId/collect",
        params: collectNowParams,
        doc: {
          summary: "Collect one plan now (主动还款): debit what is due today, or an amount up to what is owed; idempotent on requestNo",
          tags: ["runs"],
          role: "ops",
        },
        handler(this: any, ctx: Context<CollectNowParams>) {
          // Copies of one request on this node take turns (the later ones then read the first's trades
          // and answer its result); on two nodes at once the trade numbers still make one debit.
          return this.collectTurn(`${ctx.params.planId}\u0000${ctx.params.requestNo}`, () => this.collect(ctx.params));
        },
      },
      getPayout: {
        rest: "GET /payouts/:payoutNo",
        params: payoutNoParams,
        doc: { summary: "A payout and its trades", tags: ["payouts"] },
        async handler(this: any, ctx: Context<PayoutNoParams>) {
          return this.payoutView(ctx.params.payoutNo);
        },
      },
      channels: {
        rest: "GET /channels",
        doc: {
          summary: "Channels: capabilities, limits, fees, rolling success rate and circuit breaker (the cluster's view with REDIS_URL, else this node's), today's debit attempts",
          tags: ["channels"],
        },
        async handler(this: any) {
          await this.channelSettings({}).catch(() => null); // the breaker and success-rate settings in force
          const now = this.clock.nowMs();
          const today = this.clock.today();
          await this.health.refresh([...this.channels.keys()], now);
          return Promise.all(
            [...this.channels.values()].map(async (ch: any) => {
              const h = this.health.view(ch.code, now);
              return {
                code: ch.code,
                capabilities: ch.capabilities,
                limits: ch.limits,
                fees: ch.fees,
                successRate: h.successRate,
                successRateAttempts: h.attempts,
                breaker: h.breaker,
                breakerOpenedAt: h.openedAt === null ? null : new Date(h.openedAt).toISOString(),
                healthScope: h.scope,
                attemptsToday: await this.caps.attemptsToday("CHANNEL", ch.code, today).catch(() => null),
              };
            }),
          );
        },
      },
      /** Run the repair sweep now on every partition this node holds (tests, ops). */
      repairNow: {
        visibility: "public",
        handler(this: any) {
          return this.runHeldNow((p: number) => this.repairPartition(p));
        },
      },
    },
    methods: {
      /**
       * The debit slots open now: for each enabled DEBIT_TIME_POINTS rule, its due slot (within the
       * misfire grace and the window), open until the grace or the window ends. The run id derives
       * from the slot and the rule, so every node works on the same run.
       */
      async openSlots(this: any, nowMs: number): Promise<OpenSlot[]> {
        if (!this.timePointRules || nowMs - this.timePointRulesAt > 30_000 || nowMs < this.timePointRulesAt) {
          const page: any = await this.broker.call("rules.list", { kind: "DEBIT_TIME_POINTS", pageSize: 500 });
          this.timePointRules = page.rows.filter((r: any) => r.enabled);
          this.timePointRulesAt = nowMs;
        }
        const open: OpenSlot[] = [];
        for (const rule of this.timePointRules) {
          const content = rule.content as DebitTimePoints;
          const slot = dueSlot(content, nowMs, cfg.timeZone);
          if (!slot) continue;
          let until = slot.scheduledAt + content.misfireGraceMinutes * 60_000;
          if (content.window) {
            const windowEnd = slotInstant(slot.date, content.window.end, cfg.timeZone) + 59_999; // the end minute is inside
            if (windowEnd >= slot.scheduledAt) until = Math.min(until, windowEnd);
          }
          open.push({ runId: slotRunId(slot.slotId, rule.id), until, meta: { slotId: slot.slotId, ruleId: rule.id }, record: { slotId: slot.slotId } });
        }
        return open;
      },
      async channelSettings(this: any, scope: { bizType?: string; funderId?: string; productCode?: string }): Promise<ChannelSettingsContent> {
        const today = this.clock.today();
        const rule = await this.resolveRule("CHANNEL_SETTINGS", scope, today);
        if (!rule) throw new DomainError("NO_CHANNEL", "No CHANNEL_SETTINGS rule applies", { scope });
        // Breakers and success rates are per channel for the whole deployment: their settings come
        // from the unscoped rule when there is one, else from the rule that applies here.
        const scoped = Boolean(scope.bizType || scope.funderId || scope.productCode);
        const base = scoped ? ((await this.resolveRule("CHANNEL_SETTINGS", {}, today).catch(() => null)) ?? rule) : rule;
        if (`${base.id}@${base.version}` !== this.healthRule) {
          try {
            this.health.configure(healthSettingsOf(base.content));
          } catch (err: any) {
            this.logger.error(`CHANNEL_SETTINGS ${base.id}: breaker / success-rate settings not applied: ${err.message}`);
          }
          this.healthRule = `${base.id}@${base.version}`;
        }
        await this.health.refresh((rule.content as ChannelSettingsContent).channels.map((c) => c.code), this.clock.nowMs());
        return rule.content as ChannelSettingsContent;
      },
      /**
       * Debit the due plans of one partition. A slot's run (meta.ruleId) takes only the plans its rule
       * applies to. The counters so far are given to ctx.progress, so a try that fails (a service
       * away, the lease lost) still counts what it did; it stops early when the lease has moved.
       */
      async runDebitPartition(this: any, partition: number, ctx: JobContext) {
        const today = this.clock.today();
        const meta = ctx.meta as { slotId?: string; ruleId?: string; scope?: Record<string, string> };
        const counters: Record<string, number> = { due: 0, sent: 0, succeeded: 0, failed: 0, unknown: 0, inFlight: 0, alreadyCollected: 0, noBinding: 0, noChannel: 0, stopped: 0, notInSlot: 0 };
        const report = () => ({ processed: counters.due, ...counters });
        ctx.progress?.(counters);
        let after: string | undefined;
        for (;;) {
          if (!ctx.stillHeld()) throw new Error("partition lease lost: the next holder goes on");
          const items: DueItem[] = await this.broker.call("schedule.dueWork", { partition, asOf: today, limit: PAGE, ...(after ? { afterPlanId: after } : {}) });
          // Plans are independent: a few at a time per partition keeps the store busy while a call waits.
          let next = 0;
          const worker = async () => {
            while (next < items.length && !ctx.signal.aborted && ctx.stillHeld()) {
              const item = items[next++];
              if (meta.ruleId) {
                const rule = await this.resolveRule("DEBIT_TIME_POINTS", { bizType: item.bizType, funderId: item.funderId, productCode: item.productCode }, today);
                if (rule?.id !== meta.ruleId) {
                  counters.notInSlot++; // another rule's plan: its own slot debits it
                  continue;
                }
              }
              await this.debitItem(item, ctx, meta, today, counters);
              ctx.progress?.(report());
            }
          };
          await Promise.all(Array.from({ length: PLAN_CONCURRENCY }, worker));
          if (ctx.signal.aborted) throw new Error("node stopping");
          if (next < items.length) throw new Error("partition lease lost: the next holder goes on");
          if (items.length < PAGE) break;
          after = items[items.length - 1].planId;
        }
        return report();
      },
      async debitItem(this: any, item: DueItem, ctx: JobContext, meta: { slotId?: string; scope?: Record<string, string> }, today: string, counters: Record<string, number>) {
        if (meta.scope && Object.entries(meta.scope).some(([k, v]) => (item as any)[k] !== v)) return;
        const scope = { bizType: item.bizType, funderId: item.funderId, productCode: item.productCode };
        let slotId = meta.slotId;
        if (!slotId) {
          const rule = await this.resolveRule("DEBIT_TIME_POINTS", scope, today);
          const slot = rule ? dueSlot(rule.content as DebitTimePoints, this.clock.nowMs(), cfg.timeZone) : null;
          if (!slot) {
            counters.notInSlot++;
            return;
          }
          slotId = slot.slotId;
        }
        counters.due++;
        const settings = await this.channelSettings(scope);
        const report: DebitReport = await debitPlan(
          item,
          slotId as string,
          ctx.runId,
          settings,
          this.flowPorts,
          () => this.agreementsOf(item),
          timings,
        );
        counters.sent += report.sent;
        counters[RESULT_COUNTER[report.result]]++;
        const why = uncollectable(report);
        if (why) {
          this.broker.emit("ops.alert", {
            kind: "UNCOLLECTABLE",
            message: `Plan ${item.planId}: ${item.amount} due (period ${item.periods.join(", ")}) cannot be collected by any channel (${why})`,
            planId: item.planId,
            period: item.periods[0],
            amount: item.amount,
            reason: why,
            rejected: report.rejected ?? [],
          });
        }
      },
      /** The card's active agreements, cached a few seconds (a run asks once per plan; an unbind shows within seconds and the bank refuses an ended agreement anyway). */
      agreementsOf(this: any, item: DueItem) {
        const key = `${item.bindingId ?? ""}|${item.customerId}`;
        const now = Date.now();
        const hit = this.agreementCache.get(key);
        if (hit && now - hit.at < 5000) return hit.value;
        const value = this.broker.call("sign-bind.agreements", { bindingId: item.bindingId, customerId: item.customerId });
        if (this.agreementCache.size > 50_000) this.agreementCache.clear();
        this.agreementCache.set(key, { at: now, value });
        value.catch(() => this.agreementCache.delete(key));
        return value;
      },
      async repairPartition(this: any, partition: number) {
        const open: TradeLike[] = await this.broker.call("ledger.find", { query: { partition, state: { $in: ["INIT", "SENDING", "UNKNOWN"] } }, limit: 5000 });
        // Final trades with steps left (flow, repayment, position), and debits from before pending steps
        // existed: two queries (disjoint), so each is answered from its own key on MongoDB (the ledger's
        // partition_1_pending and partition_1_state_1_applied_1) instead of reading every final trade.
        const [withSteps, legacy]: TradeLike[][] = await Promise.all([
          this.broker.call("ledger.find", { query: { partition, state: { $in: ["SUCCESS", "FAILED"] }, "pending.0": { $exists: true } }, limit: 5000 }),
          this.broker.call("ledger.find", { query: { partition, state: "SUCCESS", applied: false, kind: "DEBIT", pending: { $exists: false } }, limit: 5000 }),
        ]);
        const pending = [...withSteps, ...legacy];
        // Reservations are per channel, not per partition: partition 0's holder sweeps them.
        const reservations = partition === 0 ? await this.broker.call("ledger.sweepReservations", {}) : { committed: 0, released: 0 };
        if (!open.length && !pending.length) return { processed: 0, reservationsCommitted: reservations.committed, reservationsReleased: reservations.released };
        const settings = await this.channelSettings({});
        const { errorMessages, ...report } = await repairTrades([...open, ...pending], settings, this.flowPorts, timings);
        if (errorMessages.length) this.logger.warn(`Repair of partition ${partition}: ${report.errors} trade(s) failed this time, tried again next sweep: ${errorMessages.join("; ")}`);
        return { processed: report.examined, ...report, reservationsCommitted: reservations.committed, reservationsReleased: reservations.released };
      },
      /** The flows' ports onto the ledger, schedule, channels and counters (built once, in created). */
      ports(this: any): FlowPorts {
        // An internal action that refuses our own parameters is our fault, never the caller's: a 500, not their 422.
        const call = (action: string, params: unknown) =>
          this.broker.call(action, params).catch((err: any) => {
            if (err?.type === "VALIDATION_ERROR") {
              this.logger.error(`Internal call ${action} refused its parameters: ${err.message}`, err.data);
              throw new DomainError("INTERNAL_ERROR", `An internal step (${action}) failed; nothing was sent for it`, { action });
            }
            throw err;
          });
        return {
          nowMs: () => this.clock.nowMs(),
          today: () => this.clock.today(),
          findTrades: (query, limit) => call("ledger.find", { query, ...(limit ? { limit } : {}) }) as Promise<TradeLike[]>,
          openTrade: (p) => call("ledger.open", p) as Promise<{ trade: TradeLike; created: boolean }>,
          transition: (p) => call("ledger.transition", p) as Promise<{ trade: TradeLike; changed: boolean }>,
          noteQuery: async (p) => {
            await call("ledger.noteQuery", p);
          },
          lateSuccess: (p) => call("ledger.lateSuccess", p) as Promise<{ trade: TradeLike; changed: boolean }>,
          completeStep: async (tradeNo, step) => {
            await call("ledger.completeStep", { tradeNo, step });
          },
          finishFlow: async (tradeNo) => {
            await call("ledger.finishFlow", { tradeNo });
          },
          applyRepayment: (p) => call("schedule.applyRepayment", { ...p, source: "DEBIT" }),
          channel: (code) => this.channels.get(code),
          successRate: (code) => this.health.successRate(code, this.clock.nowMs()),
          breaker: (code) => this.health.breaker(code, this.clock.nowMs()),
          record: (code, event: BreakerEvent) => {
            const now = this.clock.nowMs();
            const before = this.health.breaker(code, now);
            this.health.record(code, event, now);
            // This node's view; with Redis the cluster's state follows within a refresh, and the alert dedupes per channel.
            if (before !== "OPEN" && this.health.breaker(code, now) === "OPEN") {
              this.broker.emit("ops.alert", { kind: "BREAKER_OPENED", message: `Channel ${code}'s breaker opened: routing skips it until its half-open probe succeeds`, channel: code });
            }
          },
          alert: (message, data) => {
            this.logger.warn(`ALERT ${message}`);
            this.broker.emit("ops.alert", { message, ...data });
          },
          // Exact across executors (Redis with REDIS_URL, else this process): mixins/attempt-caps.ts.
          channelAttemptsToday: (code) => this.caps.attemptsToday("CHANNEL", code, this.clock.today()),
          takeChannelAttempt: (code, cap) => this.caps.take("CHANNEL", code, cap, this.clock.today()),
          takeCardAttempt: (cardFingerprint, cap) => this.caps.take("CARD", cardFingerprint, cap, this.clock.today()),
          giveBackAttempt: (scope, id) => this.caps.giveBack(scope, id, this.clock.today()),
          // A probe whose sender died is taken again after the stale time (its trade is then the sweep's).
          takeProbe: (code) => this.health.takeProbe(code, Math.max(timings.sendingTimeoutMs, 5_000)),
          reserve: (m) => call("ledger.reserve", m),
          commit: (m) => call("ledger.commit", m),
          release: (m) => call("ledger.release", m),
          commitLate: (m) => call("ledger.commitLate", m),
          positions: async () => {
            const rows: Array<{ channel: string; available: string }> = await call("ledger.positions", {});
            return Object.fromEntries(rows.map((r) => [r.channel, r.available]));
          },
        };
      },
      /** Collect one plan now (collectNow): the request's own slot, the debit flow's never-twice rules. */
      async collect(this: any, p: CollectNowParams) {
        // The request's own slot: its trade numbers derive from the request number, so a replay
        // (or a second node given the same request) meets the same trades, never a second debit.
        const slotId = `COL-${crypto.createHash("sha256").update(p.requestNo).digest("hex").slice(0, 12).toUpperCase()}`;
        const mine = async (): Promise<TradeLike[]> => ((await this.broker.call("ledger.find", { query: { planId: p.planId, kind: "DEBIT" } })) as TradeLike[]).filter((t) => t.slotId === slotId);
        const earlier = await mine();
        if (earlier.length) {
          if (p.amount !== undefined && earlier[0].amount !== p.amount) throw new DomainError("OPERATION_CONFLICT", `Collection ${p.requestNo} was asked for ${earlier[0].amount}`, { requestNo: p.requestNo, amount: earlier[0].amount });
          return this.collectView(p, slotId, earlier, undefined, true);
        }
        const item: DueItem | null = await this.broker.call("schedule.collectScope", { planId: p.planId, asOf: this.clock.today(), ...(p.amount ? { amount: p.amount } : {}) });
        if (!item) {
          // A copy of this request may have collected it meanwhile: then this is its replay.
          const now = await mine();
          return now.length ? this.collectView(p, slotId, now, undefined, true) : { planId: p.planId, requestNo: p.requestNo, result: "NOTHING_DUE", trades: [] };
        }
        const settings = await this.channelSettings({ bizType: item.bizType, funderId: item.funderId, productCode: item.productCode });
        const report: DebitReport = await debitPlan(item, slotId, `COLLECT-${p.requestNo}`, settings, this.flowPorts, () => this.agreementsOf(item), timings);
        return this.collectView(p, slotId, await mine(), report);
      },
      collectView(this: any, p: CollectNowParams, slotId: string, trades: TradeLike[], report?: DebitReport, replayed = false) {
        const last = [...trades].sort((a, b) => b.attempt - a.attempt)[0];
        const fromTrade = (t: TradeLike) => (t.state === "INIT" || t.state === "SENDING" ? "IN_FLIGHT" : t.state);
        const result = trades.some((t) => t.state === "SUCCESS") ? "SUCCEEDED" : (report?.result ?? (last ? fromTrade(last) : "NO_CHANNEL"));
        return {
          planId: p.planId,
          requestNo: p.requestNo,
          slotId,
          result,
          amount: last?.amount ?? null,
          trades: trades.map((t) => ({ tradeNo: t.tradeNo, state: t.state, channel: t.channel, amount: t.amount, attempt: t.attempt })),
          ...(report?.rejected ? { rejected: report.rejected } : {}),
          ...(replayed ? { replayed: true } : {}),
        };
      },
      async payoutView(this: any, payoutNo: string, result?: string, rejected?: unknown) {
        const trades: TradeLike[] = await this.broker.call("ledger.find", { query: { payoutNo } });
        if (!trades.length && !result) throw new DomainError("NOT_FOUND", `Payout ${payoutNo} not found`, { payoutNo });
        const last = [...trades].sort((a, b) => b.attempt - a.attempt)[0];
        const status = trades.some((t) => t.state === "SUCCESS") ? "SUCCEEDED" : (result ?? (last ? last.state : "NO_CHANNEL"));
        const mask = (b?: TradeLike["beneficiary"]) => (b ? { ...b, accountNo: "****" + b.accountNo.slice(-4) } : undefined);
        return {
          payoutNo,
          status,
          amount: last?.amount,
          beneficiary: mask(last?.beneficiary),
          trades: trades.map((t) => ({ ...t, beneficiary: mask(t.beneficiary) })),
          ...(rejected ? { rejected } : {}),
        };
      },
    },
    created(this: any) {
      this.collectTurn = keyedTurns();
      this.health = createChannelHealth(cfg);
      this.healthRule = "";
      this.caps = createAttemptCaps(cfg, (scope: CapScope, id: string, businessDate: string) =>
        this.broker.call("ledger.count", { query: attemptSeedQuery(scope, id, businessDate) }) as Promise<number>,
      );
      this.agreementCache = new Map();
      this.flowPorts = this.ports();
      this.timePointRules = null;
      this.timePointRulesAt = 0;
    },
    async stopped(this: any) {
      await Promise.all([this.health.close(), this.caps.close()]);
    },
  } as ServiceSchema;
}
