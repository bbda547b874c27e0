/**
 * reconciler — owns reconciliation runs (`reconRuns`), discrepancies and statement settlements.
 *
 * Per channel and business date: the statement is pulled through the channel adapter
 * (`channel.statement(date)`) or uploaded (JSON, or the raw file as the request body), then
 *   1. PARSE — streamed line by line and validated whole (channels/statement-stream.ts). A bad file
 *      is refused with STATEMENT_INVALID (422, the line and reason) and NOTHING is applied;
 *   2. MATCH — the ledger's trades of (channel, date) are paged by trade number (`ledger.reconTrades`)
 *      and classified by domain/reconcile.ts; unclaimed lines are looked up by trade number (a trade of
 *      another business date is DATE_DIFFERS, not ONLY_THEIRS);
 *   3. APPLY — UNKNOWN trades the statement shows final are settled (UNKNOWN → SUCCESS/FAILED by
 *      compare-and-set, repayment applied once, payout position committed/released), each recorded in
 *      `settlements` (id = trade number) with a `reconciliation.trade_settled` event; discrepancies are
 *      upserted by id channel:date:tradeNo:category (a rerun never duplicates; one that is not found
 *      again is closed as CLEARED_BY_RERUN); the run gets its summary and `reconciliation.completed`.
 * Events go through the outbox of the document they belong to: one `reconciliation.discrepancy` per
 * NEW discrepancy (in the discrepancy's own document), `trade_settled` in the settlement,
 * `completed` in the run.
 *
 * One run per (channel, date) at a time (`activeKey`, unique while RUNNING); a run abandoned by a
 * dead process (no heartbeat for 10 minutes) is taken over. A daily job on the holder of partition
 * 0 reconciles yesterday for every channel with statements at RECONCILE_TIME (default 06:00 business
 * time) and alerts ops (`ops.alert`) about discrepancies OPEN for more than RECON_ALERT_DAYS days.
 */
import crypto from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import { actorOf } from "../mixins/actor";
import type { Config } from "../config";
import { DomainError, isDomainError } from "../domain/errors";
import { addDays } from "../domain/calendar";
import {
  amountToCents,
  centsToAmount,
  discrepancyId,
  Matcher,
  summaryOf,
  type Finding,
  type OurTrade,
  type Settlement,
  type StatementIndex,
  type TheirLine,
} from "../domain/reconcile";
import { StatementParser, layoutOf } from "../channels/statement-stream";
import { ChannelUnavailableError, type PaymentChannel } from "../channels/channel";
import type { ReconTrade } from "../contracts/ledger.contract";
import type { Page } from "../contracts/common";
import {
  alertCheckParams,
  listDiscrepanciesParams,
  listRunsParams,
  resolveParams,
  runIdParams,
  startRunParams,
  uploadParams,
  uploadRawParams,
  type AlertCheckParams,
  type Discrepancy,
  type ListDiscrepanciesParams,
  type ListRunsParams,
  type ReconRun,
  type ResolveParams,
  type RunIdParams,
  type RunProgress,
  type RunSource,
  type Side,
  type StartRunParams,
  type StatementSettlement,
  type UploadParams,
} from "../contracts/reconciler.contract";
import { findPage, StoreMixin } from "../mixins/store.mixin";
import { ClockMixin } from "../mixins/clock.mixin";
import { ChannelsMixin } from "../mixins/channels.mixin";
import { OUTBOX_INDEX, OutboxMixin } from "../mixins/messaging/outbox.mixin";
import { PartitionedJobs } from "../mixins/partitioned-jobs.mixin";

const PAGE = 2000;
/** The daily job reconciles yesterday and catches up this many days back (skipping those DONE). */
const CATCH_UP_DAYS = 3;
const LOOKUP_BATCH = 500;
const WRITE_CONCURRENCY = 16;
const PROGRESS_EVERY_MS = 500;
const STALE_RUN_MS = 10 * 60_000;
const SLICE = 1 << 20;


function ourSide(t: OurTrade): Side {
  return { state: t.state, kind: t.kind, amount: centsToAmount(t.cents), date: t.businessDate, ...(t.planId ? { planId: t.planId } : {}) };
}

function theirSide(l: TheirLine): Side {
  return { status: l.status, kind: l.kind, amount: centsToAmount(l.cents), date: l.date, channelRef: l.channelRef, line: l.line, ...(l.bankCode ? { bankCode: l.bankCode } : {}) };
}

function toOurs(t: ReconTrade): OurTrade {
  return { tradeNo: t.tradeNo, kind: t.kind, state: t.state, cents: amountToCents(t.amount), businessDate: t.businessDate, ...(t.planId ? { planId: t.planId } : {}), ...(t.applied !== undefined ? { applied: t.applied } : {}) };
}

function runView(r: ReconRun) {
  const { _id: _i, outbox: _o, activeKey: _a, ...rest } = r as ReconRun & { heartbeatAt?: number; key?: string };
  delete (rest as any).heartbeatAt;
  delete (rest as any).key;
  return rest;
}

function discrepancyView(d: Discrepancy) {
  const { _id: _i, outbox: _o, ...rest } = d as Discrepancy & { key?: string };
  delete (rest as any).key;
  return rest;
}

async function inParallel<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]);
    }),
  );
}

export default function reconcilerService(cfg: Config): ServiceSchema {
  const dailyTime = cfg.reconcileTime;
  const alertDays = cfg.reconAlertDays;
  return {
    name: "reconciler",
    mixins: [
      OutboxMixin({ collections: ["reconRuns", "discrepancies", "settlements"], flushMs: cfg.outboxFlushMs }),
      StoreMixin(
        {
          collection: "reconRuns",
          indexes: [{ field: "activeKey", unique: true, sparse: true }, { field: "key" }, OUTBOX_INDEX, { fields: { startedAt: -1, _id: 1 } }],
          more: [
            // MongoDB only: open discrepancies by age (the stale sweep), GET discrepancies newest first.
            { collection: "discrepancies", indexes: [{ field: "key" }, { field: "runId" }, OUTBOX_INDEX, { fields: { status: 1, createdAt: 1 } }, { fields: { createdAt: -1, _id: 1 } }] },
            { collection: "settlements", indexes: [{ field: "key" }, OUTBOX_INDEX] },
          ],
        },
        cfg,
      ),
      ClockMixin(cfg.timeZone),
      ChannelsMixin(cfg),
      PartitionedJobs({ partitions: cfg.partitions, redisUrl: cfg.redisUrl, lockNamespace: cfg.storePrefix || undefined }, { tickMs: cfg.jobTickMs, ttlMs: cfg.leaseTtlMs }),
    ],
    dependencies: ["ledger", "schedule"],
    settings: { rest: "/" },
    jobs: {
      daily: {
        schedule: (svc: any) => svc.dailyDue(),
        retries: 1,
        async run(this: any, partition: number) {
          if (partition !== 0) return { processed: 0 };
          // Yesterday, and the days before it that are not reconciled yet (a node down over a weekend).
          const totals: Record<string, number> = {};
          const today = this.clock.today();
          for (let back = CATCH_UP_DAYS; back >= 1; back--) {
            const r = await this.runDaily(addDays(today, -back), back === 1);
            for (const [k, v] of Object.entries(r)) totals[k] = (totals[k] ?? 0) + (v as number);
          }
          return totals;
        },
      },
    },
    actions: {
      start: {
        rest: "POST /reconciliations",
        params: startRunParams,
        doc: { summary: "Reconcile a channel's statement for a business date, pulled through the channel adapter", tags: ["reconciliation"], role: "ops" },
        async handler(this: any, ctx: Context<StartRunParams>) {
          const { channel, date } = ctx.params;
          const adapter: PaymentChannel | undefined = this.channels.get(channel);
          if (!adapter) throw new DomainError("NOT_FOUND", `No channel ${channel}`, { channel });
          if (!adapter.capabilities.includes("STATEMENT")) throw new DomainError("VALIDATION_ERROR", `Channel ${channel} gives no statements`, { channel });
          return this.reconcile(ctx.params, "PULL", actorOf(ctx), async (p: StatementParser, progress: () => Promise<void>) => {
            let text: string;
            try {
              text = await adapter.statement(date);
            } catch (err) {
              if (err instanceof ChannelUnavailableError) throw new DomainError("CHANNEL_UNAVAILABLE", `The statement of ${channel} for ${date} could not be had (${err.kind}): ${err.message}; try again later`, { channel, kind: err.kind });
              throw err;
            }
            await this.feedText(p, text, progress);
          });
        },
      },
      upload: {
        rest: "POST /reconciliations/upload",
        params: uploadParams,
        doc: { summary: "Reconcile an uploaded statement file (JSON: content as text, or base64 with encoding base64); larger files: POST the raw file to /reconciliations/upload/:channel/:date", tags: ["reconciliation"], role: "ops" },
        async handler(this: any, ctx: Context<UploadParams>) {
          const { content, encoding } = ctx.params;
          layoutOf(ctx.params.channel);
          return this.reconcile(ctx.params, "UPLOAD", actorOf(ctx), async (p: StatementParser, progress: () => Promise<void>) => {
            if (encoding === "base64") {
              if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(content)) throw new DomainError("VALIDATION_ERROR", "content is not base64", { field: "content" });
              const bytes = Buffer.from(content, "base64");
              for (let i = 0; i < bytes.length; i += SLICE) {
                p.push(bytes.subarray(i, i + SLICE));
                await progress();
              }
            } else {
              await this.feedText(p, content, progress);
            }
          });
        },
      },
      /**
       * A statement of any size as a stream: over REST the raw request body
       * (`POST /reconciliations/upload/:channel/:date`, no body-size limit), over the mesh
       * `broker.call("reconciler.uploadRaw", { channel, date }, { stream })`.
       */
      uploadRaw: {
        rest: { method: "POST", path: "/reconciliations/upload/:channel/:date", type: "stream" },
        doc: { summary: "Upload a statement file of any size as the raw request body (streamed, parsed line by line)", tags: ["reconciliation"], role: "ops" },
        params: uploadRawParams,
        async handler(this: any, ctx: Context<StartRunParams>) {
          layoutOf(ctx.params.channel);
          const stream = (ctx as any).stream as AsyncIterable<Uint8Array> | null;
          if (!stream) throw new DomainError("VALIDATION_ERROR", "the statement file must be the request body", { field: "body" });
          return this.reconcile(ctx.params, "UPLOAD", actorOf(ctx), async (p: StatementParser, progress: () => Promise<void>) => {
            try {
              for await (const chunk of stream) {
                p.push(chunk);
                await progress();
              }
            } catch (err) {
              // Drain what is left so the client gets our answer, not a reset connection.
              (stream as any).resume?.();
              throw err;
            }
          });
        },
      },
      get: {
        rest: "GET /reconciliations/:runId",
        params: runIdParams,
        doc: { summary: "A reconciliation run: progress while it runs, then the summary per category and the settled trades", tags: ["reconciliation"] },
        async handler(this: any, ctx: Context<RunIdParams>) {
          const run: ReconRun | null = await this.store.findById(ctx.params.runId);
          if (!run) throw new DomainError("NOT_FOUND", `Reconciliation run ${ctx.params.runId} not found`, { runId: ctx.params.runId });
          const settlements: StatementSettlement[] = await this.stores.settlements.find({ runId: run.runId }, { sort: { _id: 1 }, limit: 200 });
          return { ...runView(run), settlements: settlements.map(({ _id: _i, outbox: _o, ...s }) => { delete (s as any).key; return s; }) };
        },
      },
      list: {
        rest: "GET /reconciliations",
        params: listRunsParams,
        doc: { summary: "Reconciliation runs, newest first", tags: ["reconciliation"] },
        async handler(this: any, ctx: Context<ListRunsParams>): Promise<Page<unknown>> {
          const q: Record<string, unknown> = {};
          for (const f of ["channel", "date", "status"] as const) if (ctx.params[f] !== undefined) q[f] = ctx.params[f];
          return findPage(this.store, q, ctx.params, { startedAt: -1, _id: 1 }, runView);
        },
      },
      discrepancies: {
        rest: "GET /discrepancies",
        params: listDiscrepanciesParams,
        doc: { summary: "Discrepancies found by reconciliation, filtered and paged", tags: ["reconciliation"] },
        async handler(this: any, ctx: Context<ListDiscrepanciesParams>): Promise<Page<unknown>> {
          const q: Record<string, unknown> = {};
          for (const f of ["channel", "date", "category", "status"] as const) if (ctx.params[f] !== undefined) q[f] = ctx.params[f];
          if (ctx.params.runId) q.$or = [{ runId: ctx.params.runId }, { lastRunId: ctx.params.runId }];
          return findPage(this.stores.discrepancies, q, ctx.params, { createdAt: -1, _id: 1 }, discrepancyView);
        },
      },
      resolve: {
        rest: "POST /discrepancies/:id/resolve",
        params: resolveParams,
        doc: { summary: "Resolve a discrepancy (ACCEPT_BANK, ACCEPT_OURS, WRITE_OFF, MANUAL_ADJUSTMENT) with a note; audited with who and when. Records the decision only: money moves through the usual flows", tags: ["reconciliation"], role: "ops" },
        async handler(this: any, ctx: Context<ResolveParams>) {
          const { id, action, note } = ctx.params;
          const resolution = { action, note, by: actorOf(ctx), at: this.clock.iso() };
          const saved: Discrepancy | null = await this.stores.discrepancies.updateOne({ _id: id, status: "OPEN" }, { $set: { status: "RESOLVED", resolution, updatedAt: resolution.at } });
          if (saved) {
            this.logger.info(`Discrepancy ${id} resolved ${action} by ${resolution.by}: ${note}`);
            return discrepancyView(saved);
          }
          const current: Discrepancy | null = await this.stores.discrepancies.findById(id);
          if (!current) throw new DomainError("NOT_FOUND", `Discrepancy ${id} not found`, { id });
          throw new DomainError("DISCREPANCY_RESOLVED", `Discrepancy ${id} was already resolved (${current.resolution?.action} by ${current.resolution?.by})`, { id, resolution: current.resolution });
        },
      },
      /** Alert ops about discrepancies open longer than N days (the daily job calls it; tests and REPL too). */
      checkAlerts: {
        visibility: "public",
        params: alertCheckParams,
        handler(this: any, ctx: Context<AlertCheckParams>) {
          return this.checkAlerts(ctx.params.olderThanDays ?? alertDays);
        },
      },
      /** The daily job's work for one date, on this node now (tests, REPL). */
      runDailyNow: {
        visibility: "public",
        params: { $$strict: "remove", date: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$", optional: true } },
        handler(this: any, ctx: Context<{ date?: string }>) {
          return this.runDaily(ctx.params.date ?? addDays(this.clock.today(), -1));
        },
      },
    },
    methods: {
      dailyDue(this: any): boolean {
        const today = this.clock.today();
        if (this.lastDaily === today || this.clock.localTime() < dailyTime) return false;
        this.lastDaily = today;
        return true;
      },
      async runDaily(this: any, date: string, alerts = true) {
        const counters: Record<string, number> = { processed: 0, done: 0, failed: 0, skipped: 0, discrepancies: 0, settled: 0 };
        for (const [code, channel] of this.channels as Map<string, PaymentChannel>) {
          if (!channel.capabilities.includes("STATEMENT")) continue;
          counters.processed++;
          if (await this.store.findOne({ channel: code, date, status: "DONE" })) {
            counters.skipped++;
            continue;
          }
          try {
            const run = await this.broker.call("reconciler.start", { channel: code, date }, { meta: { user: { name: "daily-job" } } });
            counters.done++;
            counters.discrepancies += run.discrepancies?.new ?? 0;
            counters.settled += (run.settled?.success ?? 0) + (run.settled?.failed ?? 0);
          } catch (err: any) {
            counters.failed++;
            this.logger.warn(`Daily reconciliation of ${code} for ${date} failed: ${err.message}`);
          }
        }
        if (alerts) await this.checkAlerts(alertDays);
        return counters;
      },
      async checkAlerts(this: any, days: number) {
        const cutoff = new Date(this.clock.nowMs() - days * 86_400_000).toISOString();
        const old: Discrepancy[] = await this.stores.discrepancies.find({ status: "OPEN", createdAt: { $lt: cutoff } }, { sort: { createdAt: 1 }, limit: 10_000 });
        if (!old.length) return { open: 0, alerted: false };
        const byChannel: Record<string, number> = {};
        for (const d of old) byChannel[d.channel] = (byChannel[d.channel] ?? 0) + 1;
        const message = `${old.length} reconciliation discrepanc${old.length === 1 ? "y has" : "ies have"} been open for more than ${days} day(s)`;
        this.logger.warn(`ALERT ${message}`);
        this.broker.emit("ops.alert", { message, kind: "RECONCILIATION_UNRESOLVED", count: old.length, byChannel, oldest: { id: old[0].id, createdAt: old[0].createdAt } });
        const at = this.clock.iso();
        await inParallel(old, WRITE_CONCURRENCY, async (d) => {
          await this.stores.discrepancies.updateOne({ _id: d._id }, { $set: { alertedAt: at } });
        });
        return { open: old.length, alerted: true };
      },
      /** Text in slices, yielding between them so progress can be read while a large file parses. */
      async feedText(this: any, p: StatementParser, text: string, progress: () => Promise<void>) {
        for (let i = 0; i < text.length; i += SLICE) {
          p.push(text.slice(i, i + SLICE));
          await progress();
          await new Promise((r) => setImmediate(r));
        }
      },
      /** Open a run, parse (feed), then match and apply (waited for unless wait=false). */
      async reconcile(this: any, params: StartRunParams, source: RunSource, by: string, feed: (p: StatementParser, progress: () => Promise<void>) => Promise<void>) {
        const { channel, date } = params;
        const run: ReconRun = await this.openRun(channel, date, source, by);
        let index: StatementIndex;
        try {
          const parser = new StatementParser({ channel, date });
          let last = Date.now();
          const progress = async () => {
            if (Date.now() - last < PROGRESS_EVERY_MS) return;
            last = Date.now();
            await this.saveProgress(run, { linesParsed: parser.lineNo });
          };
          await feed(parser, progress);
          index = parser.end();
          await this.saveProgress(run, { linesParsed: parser.lineNo, phase: "MATCH" }, true);
          run.lines = index.size;
        } catch (err) {
          await this.failRun(run, err);
          throw err;
        }
        const work = this.matchAndApply(run, index).catch(async (err: Error) => {
          await this.failRun(run, err);
          throw err;
        });
        if (params.wait === false) {
          this.inflight.add(work);
          work.catch((err: Error) => this.logger.warn(`Reconciliation ${run.runId} failed: ${err.message}`)).finally(() => this.inflight.delete(work));
          return runView((await this.store.findById(run.runId)) ?? run);
        }
        return runView(await work);
      },
      async openRun(this: any, channel: string, date: string, source: RunSource, by: string): Promise<ReconRun> {
        const key = `${channel}:${date}`;
        const active: ReconRun | null = await this.store.findOne({ activeKey: key });
        if (active && Date.now() - ((active as any).heartbeatAt ?? 0) > STALE_RUN_MS) {
          await this.store.updateOne({ _id: active._id, status: "RUNNING" }, { $set: { status: "FAILED", error: { code: "ABANDONED", message: "no progress for 10 minutes; taken over" }, finishedAt: this.clock.iso() }, $unset: { activeKey: true } });
        }
        const attempt = (await this.store.count({ key })) + 1;
        const runId = `RC-${channel}-${date.replace(/-/g, "")}-${attempt}-${crypto.randomBytes(3).toString("hex")}`;
        const run: ReconRun & { key: string; heartbeatAt: number } = {
          _id: runId,
          runId,
          key,
          channel,
          date,
          source,
          attempt,
          status: "RUNNING",
          activeKey: key,
          progress: { phase: "PARSE", linesParsed: 0, tradesRead: 0, matched: 0, discrepancies: 0, settled: 0 },
          settled: { success: 0, failed: 0 },
          startedAt: this.clock.iso(),
          by,
          heartbeatAt: Date.now(),
        };
        try {
          await this.store.insert(run);
        } catch (err: any) {
          if (err?.code !== "DUPLICATE_KEY") throw err;
          const holder: ReconRun | null = await this.store.findOne({ activeKey: key });
          throw new DomainError("RECONCILIATION_RUNNING", `A reconciliation of ${channel} for ${date} is already running`, { channel, date, runId: holder?.runId });
        }
        return run;
      },
      async saveProgress(this: any, run: ReconRun, patch: Partial<RunProgress>, force = false) {
        Object.assign(run.progress, patch);
        if (!force && this.lastProgress?.get(run.runId) > Date.now() - PROGRESS_EVERY_MS) return;
        this.lastProgress.set(run.runId, Date.now());
        await this.store.updateOne({ _id: run.runId }, { $set: { progress: run.progress, heartbeatAt: Date.now() } });
      },
      async failRun(this: any, run: ReconRun, err: any) {
        const error = isDomainError(err) ? { code: err.code, message: err.message, ...(typeof err.data.line === "number" ? { line: err.data.line } : {}), ...(typeof err.data.reason === "string" ? { reason: err.data.reason } : {}) } : { code: "INTERNAL_ERROR", message: String(err?.message ?? err) };
        await this.store.updateOne({ _id: run.runId, status: "RUNNING" }, { $set: { status: "FAILED", error, finishedAt: this.clock.iso() }, $unset: { activeKey: true } }).catch(() => undefined);
        this.lastProgress.delete(run.runId);
      },
      async matchAndApply(this: any, run: ReconRun, index: StatementIndex): Promise<ReconRun> {
        const { channel, date, runId } = run;
        const findings: Finding[] = [];
        const settlements: Settlement[] = [];
        const unapplied: OurTrade[] = [];
        const matcher = new Matcher(index, (f) => findings.push(f), (s) => settlements.push(s));
        let after: string | undefined;
        for (;;) {
          const page: ReconTrade[] = await this.broker.call("ledger.reconTrades", { channel, date, limit: PAGE, ...(after !== undefined ? { after } : {}) });
          for (const t of page) {
            const ours = toOurs(t);
            const c = matcher.addOurs(ours);
            // A SUCCESS debit the statement confirms but whose repayment is not applied yet (a crash between steps).
            if (c.category === "MATCHED" && ours.state === "SUCCESS" && ours.kind === "DEBIT" && ours.applied === false && ours.planId) unapplied.push(ours);
          }
          await this.saveProgress(run, { tradesRead: matcher.totals.tradesRead, matched: matcher.totals.categories.MATCHED.count });
          if (page.length < PAGE) break;
          after = page[page.length - 1].tradeNo;
        }
        // Lines no trade of this date claimed: a trade of ours on another business date?
        const unclaimed = matcher.unclaimed();
        for (let i = 0; i < unclaimed.length; i += LOOKUP_BATCH) {
          const batch = unclaimed.slice(i, i + LOOKUP_BATCH);
          const found: Array<ReconTrade & { channel: string }> = await this.broker.call("ledger.find", { query: { _id: { $in: batch } }, limit: LOOKUP_BATCH });
          for (const t of found) if (t.channel === channel) matcher.addOurs(toOurs(t));
        }
        const totals = matcher.finish();
        await this.saveProgress(run, { phase: "APPLY", tradesRead: totals.tradesRead, matched: totals.categories.MATCHED.count, discrepancies: findings.length }, true);

        // Settle UNKNOWN trades (and finish settlements an earlier run left PENDING).
        const settled = { success: 0, failed: 0 };
        for (const s of settlements) {
          if (await this.settle(run, s)) settled[s.to === "SUCCESS" ? "success" : "failed"]++;
        }
        const pending: StatementSettlement[] = await this.stores.settlements.find({ key: `${channel}:${date}`, status: "PENDING" });
        for (const p of pending) await this.finishSettlement(p);
        for (const t of unapplied) await this.applyDebit(t.planId as string, t.tradeNo, centsToAmount(t.cents));

        // Discrepancies, upserted by id.
        const counts = { new: 0, seen: 0, cleared: 0, open: 0 };
        const now = this.clock.iso();
        await inParallel(findings, WRITE_CONCURRENCY, async (f) => {
          if (await this.upsertDiscrepancy(run, f, now)) counts.new++;
          else counts.seen++;
        });
        const stale: Discrepancy[] = await this.stores.discrepancies.find({ key: `${channel}:${date}`, status: "OPEN", lastRunId: { $ne: runId } });
        await inParallel(stale, WRITE_CONCURRENCY, async (d) => {
          const done = await this.stores.discrepancies.updateOne(
            { _id: d._id, status: "OPEN" },
            { $set: { status: "RESOLVED", resolution: { action: "CLEARED_BY_RERUN", note: `not found again by ${runId}`, by: "system", at: now }, updatedAt: now } },
          );
          if (done) counts.cleared++;
        });
        counts.open = await this.stores.discrepancies.count({ key: `${channel}:${date}`, status: "OPEN" });

        const summary = summaryOf(totals);
        const progress: RunProgress = { phase: "DONE", linesParsed: run.progress.linesParsed, tradesRead: totals.tradesRead, matched: totals.categories.MATCHED.count, discrepancies: findings.length, settled: settled.success + settled.failed };
        const event = this.outboxEntry("reconciliation.completed", runId, { runId, channel, date, source: run.source, summary, settled, discrepancies: counts });
        const saved: ReconRun | null = await this.store.updateOne(
          { _id: runId, status: "RUNNING" },
          { $set: { status: "DONE", summary, settled, discrepancies: counts, skipped: totals.skipped, lines: run.lines, progress, finishedAt: this.clock.iso() }, $unset: { activeKey: true }, $push: { outbox: event } },
        );
        this.lastProgress.delete(runId);
        if (!saved) throw new DomainError("OPERATION_CONFLICT", `Run ${runId} was taken over while it ran`, { runId });
        this.outboxWritten("reconRuns", runId);
        this.logger.info(`Reconciliation ${runId}: ${totals.categories.MATCHED.count} matched, ${findings.length} discrepancies (${counts.new} new), ${settled.success + settled.failed} settled`);
        return saved;
      },
      async upsertDiscrepancy(this: any, run: ReconRun, f: Finding, now: string): Promise<boolean> {
        const id = discrepancyId(run.channel, run.date, f.tradeNo, f.category);
        const ours = f.ours ? ourSide(f.ours) : undefined;
        const theirs = f.theirs ? theirSide(f.theirs) : undefined;
        const doc: Discrepancy & { key: string } = {
          _id: id,
          id,
          key: `${run.channel}:${run.date}`,
          channel: run.channel,
          date: run.date,
          tradeNo: f.tradeNo,
          category: f.category,
          runId: run.runId,
          lastRunId: run.runId,
          ...(ours ? { ours } : {}),
          ...(theirs ? { theirs } : {}),
          status: "OPEN",
          createdAt: now,
          updatedAt: now,
        };
        doc.outbox = [this.outboxEntry("reconciliation.discrepancy", id, { id, runId: run.runId, channel: run.channel, date: run.date, tradeNo: f.tradeNo, category: f.category, ...(ours ? { ours } : {}), ...(theirs ? { theirs } : {}) })];
        try {
          await this.stores.discrepancies.insert(doc);
          this.outboxWritten("discrepancies", id);
          return true;
        } catch (err: any) {
          if (err?.code !== "DUPLICATE_KEY") throw err;
        }
        await this.stores.discrepancies.updateOne({ _id: id }, { $set: { lastRunId: run.runId, ...(ours ? { ours } : {}), ...(theirs ? { theirs } : {}), updatedAt: now } });
        return false;
      },
      /** One UNKNOWN trade settled from the statement; true when this run settled it. */
      async settle(this: any, run: ReconRun, s: Settlement): Promise<boolean> {
        const existing: StatementSettlement | null = await this.stores.settlements.findById(s.tradeNo);
        if (existing?.status === "DONE") return false;
        if (!existing) {
          const doc: StatementSettlement & { key: string } = {
            _id: s.tradeNo,
            tradeNo: s.tradeNo,
            key: `${run.channel}:${run.date}`,
            runId: run.runId,
            channel: run.channel,
            date: run.date,
            kind: s.ours.kind,
            from: s.ours.state === "FAILED" ? "FAILED" : "UNKNOWN",
            to: s.to,
            amount: centsToAmount(s.ours.cents),
            ...(s.ours.planId ? { planId: s.ours.planId } : {}),
            status: "PENDING",
            at: this.clock.iso(),
          };
          (doc as any).channelRef = s.theirs.channelRef;
          if (s.theirs.bankCode) (doc as any).bankCode = s.theirs.bankCode;
          try {
            await this.stores.settlements.insert(doc);
          } catch (err: any) {
            if (err?.code !== "DUPLICATE_KEY") throw err;
          }
        }
        const doc: StatementSettlement = await this.stores.settlements.findById(s.tradeNo);
        return this.finishSettlement(doc);
      },
      /** Transition, apply, record: each step idempotent, so a rerun finishes what a crash left. */
      async finishSettlement(this: any, doc: StatementSettlement & { channelRef?: string; bankCode?: string }): Promise<boolean> {
        if (doc.status !== "PENDING") return false;
        if (doc.from === "FAILED") return this.finishLateSuccess(doc);
        const res: { trade: { state: string }; changed: boolean } = await this.broker.call("ledger.transition", {
          tradeNo: doc.tradeNo,
          from: "UNKNOWN",
          to: doc.to,
          ...(doc.channelRef && doc.channelRef.length <= 64 ? { channelRef: doc.channelRef } : {}),
          ...(doc.to === "FAILED" ? { failure: { reason: "STATEMENT_FAILED", ...(doc.bankCode ? { bankCode: doc.bankCode } : {}), message: `failed in the ${doc.channel} statement of ${doc.date}` } } : {}),
          note: `statement ${doc.runId}`,
        });
        if (res.trade.state !== doc.to) {
          // Settled the other way meanwhile (a compensating query): the next run shows it as STATUS_DIFFERS.
          await this.stores.settlements.updateOne({ _id: doc._id, status: "PENDING" }, { $set: { status: "SUPERSEDED", tradeState: res.trade.state } });
          this.logger.warn(`Trade ${doc.tradeNo} is ${res.trade.state}, the statement says ${doc.to}: not settled by reconciliation`);
          return false;
        }
        let repaymentApplied = false;
        if (doc.kind === "DEBIT" && doc.to === "SUCCESS" && doc.planId) {
          await this.applyDebit(doc.planId, doc.tradeNo, doc.amount);
          repaymentApplied = true;
        }
        if (doc.kind === "PAYOUT") {
          await this.broker.call(doc.to === "SUCCESS" ? "ledger.commit" : "ledger.release", { channel: doc.channel, tradeNo: doc.tradeNo, amount: doc.amount });
        }
        const event = this.outboxEntry("reconciliation.trade_settled", doc.tradeNo, { tradeNo: doc.tradeNo, runId: doc.runId, channel: doc.channel, date: doc.date, to: doc.to, amount: doc.amount, ...(doc.planId ? { planId: doc.planId } : {}) });
        const saved = await this.stores.settlements.updateOne({ _id: doc._id, status: "PENDING" }, { $set: { status: "DONE", repaymentApplied, settledAt: this.clock.iso() }, $push: { outbox: event } });
        if (saved) this.outboxWritten("settlements", doc._id);
        return !!saved && res.changed;
      },
      /**
       * A FAILED trade the statement shows SUCCESS: the ledger records the audited late success (its
       * flow, the plan's credit or the position's late commit pending in the same write, ops alerted);
       * the executors' repair sweep finishes those steps once, and alerts any surplus as an overpayment.
       */
      async finishLateSuccess(this: any, doc: StatementSettlement & { channelRef?: string }): Promise<boolean> {
        const res: { trade: { state: string }; changed: boolean } = await this.broker.call("ledger.lateSuccess", {
          tradeNo: doc.tradeNo,
          source: "STATEMENT",
          ...(doc.channelRef && doc.channelRef.length <= 64 ? { channelRef: doc.channelRef } : {}),
          note: `statement ${doc.runId}`,
        });
        if (res.trade.state !== "SUCCESS") {
          await this.stores.settlements.updateOne({ _id: doc._id, status: "PENDING" }, { $set: { status: "SUPERSEDED", tradeState: res.trade.state } });
          return false;
        }
        const event = this.outboxEntry("reconciliation.trade_settled", doc.tradeNo, { tradeNo: doc.tradeNo, runId: doc.runId, channel: doc.channel, date: doc.date, from: "FAILED", to: "SUCCESS", amount: doc.amount, ...(doc.planId ? { planId: doc.planId } : {}) });
        const saved = await this.stores.settlements.updateOne({ _id: doc._id, status: "PENDING" }, { $set: { status: "DONE", repaymentApplied: false, settledAt: this.clock.iso() }, $push: { outbox: event } });
        if (saved) this.outboxWritten("settlements", doc._id);
        return !!saved && res.changed;
      },
      async applyDebit(this: any, planId: string, tradeNo: string, amount: string) {
        await this.broker.call("schedule.applyRepayment", { planId, tradeNo, amount, source: "DEBIT" });
        await this.broker.call("ledger.markApplied", { tradeNo });
      },
    },
    created(this: any) {
      this.lastDaily = null;
      this.inflight = new Set();
      this.lastProgress = new Map();
    },
    async stopped(this: any) {
      await Promise.allSettled([...this.inflight]);
    },
  } as ServiceSchema;
}
