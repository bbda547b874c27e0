/**
 * ledger — owns trades (debit and payout orders), flows (资金流水), payout positions (头寸) and the
 * progress records of debit runs (fed by the executors' `jobs.progress` events, from every node).
 *
 * Safety without locks: the rules are domain/ledger-core.ts (unique trade numbers, one open trade per
 * plan or payout, compare-and-set transitions that report what they matched, the steps after an
 * outcome pending in the same write, late successes audited, reservations per trade); this service
 * runs them on its collections and serves the lists.
 */
import type { Context, ServiceSchema } from "moleculer";
import { actorOf } from "../mixins/actor";
import type { Config } from "../config";
import { DomainError } from "../domain/errors";
import { fmt, money, ZERO, type Decimal } from "../domain/money";
import { LedgerCore } from "../domain/ledger-core";
import { keyedTurns } from "../domain/turns";
import type { Page } from "../contracts/common";
import { OUTBOX_INDEX, OutboxMixin } from "../mixins/messaging/outbox.mixin";
import {
  adjustPositionParams,
  listFlowsParams,
  collectedParams,
  recordFlowParams,
  type CollectedParams,
  type RecordFlowParams,
  listTradesParams,
  noteQueryParams,
  openTradeParams,
  positionMoveParams,
  positionHistoryParams,
  type PositionHistoryParams,
  tradeNoParams,
  transitionParams,
  lateSuccessParams,
  completeStepParams,
  type LateSuccessParams,
  type CompleteStepParams,
  type AdjustPositionParams,
  type Flow,
  type ListFlowsParams,
  type ListTradesParams,
  type NoteQueryParams,
  type OpenTradeParams,
  type Position,
  type PositionMoveParams,
  type Trade,
  type TradeNoParams,
  type TransitionParams,
  reconTradesParams,
  type ReconTrade,
  type ReconTradesParams,
} from "../contracts/ledger.contract";
import { findPage, StoreMixin } from "../mixins/store.mixin";
import type { JobRun } from "../mixins/partitioned-jobs.mixin";
import {
  listRunsParams,
  runDoneParams,
  runIdParams,
  type ListRunsParams,
  type RunDoneParams,
  type RunExecution,
  type RunIdParams,
  type RunPartition,
  type RunRecord,
} from "../contracts/deduction-executor.contract";
import { ClockMixin } from "../mixins/clock.mixin";

export type TradeView = Omit<Trade, "_id" | "openKey">;
type CoreTrade = { trade: Trade; changed: boolean };

/** A trade for the executor over the mesh: unmasked (it sends what the trade records), without store internals. */
export function internalView(t: Trade): TradeView {
  const { _id: _i, openKey: _k, outbox: _o, ...rest } = t as Trade & { outbox?: unknown };
  return rest;
}

/** A trade as callers see it: the beneficiary's account number masked to its last four digits. */
export function tradeView(t: Trade): TradeView {
  const { _id: _i, openKey: _k, outbox: _o, ...rest } = t as Trade & { outbox?: unknown };
  if (rest.beneficiary) rest.beneficiary = { ...rest.beneficiary, accountNo: "****" + rest.beneficiary.accountNo.slice(-4) };
  return rest;
}

/**
 * A run's totals over its wanted partitions: how many are DONE, FAILED, SKIPPED, and still to end
 * (`partitionsRunning`: running, pending or not started by any node — `partitionsNotStarted` of
 * them), the attempts, plus `processed` and every counter summed over the partitions. SKIPPED is
 * not done.
 */
export function runTotals(partitions: RunRecord["partitions"], wanted?: number[]): Record<string, number> {
  const keys = wanted ? wanted.map(String) : Object.keys(partitions);
  const totals: Record<string, number> = { partitions: keys.length, partitionsDone: 0, partitionsFailed: 0, partitionsSkipped: 0, partitionsRunning: 0, partitionsNotStarted: 0, attempts: 0, processed: 0 };
  for (const key of keys) {
    const prog = partitions[key];
    if (!prog) {
      totals.partitionsNotStarted++;
      totals.partitionsRunning++;
    } else if (prog.status === "DONE") totals.partitionsDone++;
    else if (prog.status === "FAILED") totals.partitionsFailed++;
    else if (prog.status === "SKIPPED") totals.partitionsSkipped++;
    else totals.partitionsRunning++;
  }
  for (const prog of Object.values(partitions)) {
    totals.attempts += prog.attempts ?? 0;
    totals.processed += prog.processed ?? 0;
    for (const [k, v] of Object.entries(prog.counters ?? {})) totals[k] = (totals[k] ?? 0) + v;
  }
  return totals;
}

/**
 * A partition merged over its executions (the rule is on RunPartition in the contract): `levels`
 * (state counters as seen) come from the latest execution that ended, the others are summed.
 */
export function mergedPartition(executions: Record<string, RunExecution>, levels: string[] = []): RunPartition {
  const list = Object.values(executions);
  const at = (e: RunExecution) => e.finishedAt ?? e.startedAt ?? "";
  const done = list.filter((e) => e.status === "DONE").sort((x, y) => at(x).localeCompare(at(y)));
  const latest = [...list].sort((x, y) => at(y).localeCompare(at(x)))[0];
  const lead = done[0] ?? latest;
  const seen = [...list].filter((e) => e.status !== "RUNNING").sort((x, y) => at(y).localeCompare(at(x)))[0] ?? latest;
  const level = new Set(levels);
  const counters: Record<string, number> = {};
  let attempts = 0;
  let processed = 0;
  for (const e of list) {
    attempts += e.attempts ?? 0;
    if (!level.has("processed")) processed += e.processed ?? 0;
    for (const [k, v] of Object.entries(e.counters ?? {})) if (!level.has(k)) counters[k] = (counters[k] ?? 0) + v;
  }
  if (seen) {
    if (level.has("processed")) processed = seen.processed ?? 0;
    for (const k of level) if (k !== "processed") counters[k] = seen.counters?.[k] ?? 0;
  }
  const started = list.map((e) => e.startedAt).filter((x): x is string => !!x).sort()[0];
  return {
    status: done.length ? "DONE" : (latest?.status ?? "PENDING"),
    attempts,
    processed,
    counters,
    ...(!done.length && latest?.error ? { error: latest.error } : {}),
    ...(!done.length && latest?.note ? { note: latest.note } : {}),
    ...(lead ? { nodeId: lead.nodeId } : {}),
    ...(started ? { startedAt: started } : {}),
    ...(lead?.finishedAt && lead.status !== "RUNNING" ? { finishedAt: lead.finishedAt } : {}),
    executions,
  };
}

/** The partitions of a run after one node instance's report (`key`: that instance; its entries replace its earlier ones). */
export function mergeRunProgress(partitions: RunRecord["partitions"], run: JobRun, key: string): RunRecord["partitions"] {
  const out: RunRecord["partitions"] = { ...partitions };
  for (const [p, prog] of Object.entries(run.partitions)) {
    const prev = out[p];
    // A record written before executions were kept: its partition counts as one execution.
    const executions = prev?.executions ?? (prev ? { earlier: { nodeId: prev.nodeId ?? "?", status: prev.status, attempts: prev.attempts ?? 0, processed: prev.processed ?? 0, counters: prev.counters ?? {} } } : {});
    // Reports are events, handled concurrently: one older than what the record holds for this instance changes nothing.
    const held = executions[key];
    if (held?.seq !== undefined && run.seq !== undefined && run.seq < held.seq) continue;
    const mine: RunExecution = {
      nodeId: run.nodeId,
      status: prog.status,
      attempts: prog.attempts,
      processed: prog.processed,
      counters: prog.counters ?? {},
      ...(prog.error ? { error: prog.error } : {}),
      ...(prog.note ? { note: prog.note } : {}),
      ...(prog.startedAt ? { startedAt: prog.startedAt } : {}),
      ...(prog.finishedAt ? { finishedAt: prog.finishedAt } : {}),
      ...(run.seq !== undefined ? { seq: run.seq } : {}),
    };
    out[p] = mergedPartition({ ...executions, [key]: mine }, run.levels);
  }
  return out;
}

/**
 * A run's status: DONE when every wanted partition is DONE; for a slot (`until`), FAILED once its
 * window is over, else RUNNING; for a manual run, FAILED when every wanted partition has ended.
 */
export function runStatus(totals: Record<string, number>, untilMs: number | undefined, nowMs: number): RunRecord["status"] {
  if (totals.partitions > 0 && totals.partitionsDone === totals.partitions) return "DONE";
  if (untilMs !== undefined) return nowMs > untilMs ? "FAILED" : "RUNNING";
  return totals.partitions > 0 && totals.partitionsRunning === 0 ? "FAILED" : "RUNNING";
}

/**
 * A run record as the runs collection keeps it: the per-partition detail (64 partitions, each with
 * its executions and counters) as one JSON string, the rest as fields. No query looks inside the
 * partitions, and a server decodes a string far faster than a nested map: FerretDB took 100–300 ms
 * to read one such record by `_id` when the map was a document of its own (45 KB of data and 107 KB
 * of type schema), and rewrites the whole record on every progress report.
 */
export type StoredRun = Omit<RunRecord, "partitions"> & { partitionsJson?: string; partitions?: RunRecord["partitions"] };

export function storedRun(run: RunRecord): StoredRun {
  const { partitions, ...rest } = run;
  return { ...rest, partitionsJson: JSON.stringify(partitions) };
}

/** A record read back (one written before the string form keeps its map). */
export function loadedRun(doc: StoredRun | null): RunRecord | null {
  if (!doc) return null;
  const { partitionsJson, partitions, ...rest } = doc;
  return { ...rest, partitions: partitionsJson !== undefined ? JSON.parse(partitionsJson) : (partitions ?? {}) };
}

export default function ledgerService(cfg: Config): ServiceSchema {
  return {
    name: "ledger",
    mixins: [
      OutboxMixin({ collections: ["trades"], flushMs: cfg.outboxFlushMs, sweepMs: cfg.outboxSweepMs }),
      StoreMixin(
        {
          collection: "trades",
          indexes: [
            // Both stores. None on low-cardinality fields alone (state, date): NeDB keeps each key's
            // documents in an array, so every update of a trade would scan thousands of them.
            { field: "openKey", unique: true, sparse: true },
            { field: "planId" },
            { field: "payoutNo" },
            { field: "cardFingerprint" },
            { field: "partition" },
            OUTBOX_INDEX,
            // MongoDB only: the hot queries, each answered from its key.
            { fields: { partition: 1, state: 1, applied: 1 } }, // repair sweep: a partition's open trades; its debits from before pending steps
            { fields: { partition: 1, "pending.0": 1 }, partial: { "pending.0": { $exists: true } }, name: "partition_1_pending" }, // repair sweep: final trades with steps left
            { fields: { planId: 1, state: 1 } }, // a plan's trades (the debit flow, lists by plan and state)
            { fields: { cardFingerprint: 1, businessDate: 1 } }, // a card's attempts today (caps)
            { fields: { channel: 1, businessDate: 1, _id: 1 } }, // reconciliation pages; a channel's attempts today
            { fields: { businessDate: 1, kind: 1 } }, // a day's figures
            { fields: { createdAt: -1, _id: 1 } }, // GET /trades, newest first
          ],
          more: [
            { collection: "flows", indexes: [{ field: "businessDate" }, { field: "planId" }, { field: "channel" }, { fields: { createdAt: -1, _id: 1 } }] },
            { collection: "positions" },
            // Every move of every position (the positions keep their last POSITION_HISTORY_KEEP).
            { collection: "positionMoves", indexes: [{ field: "channel" }, { fields: { channel: 1, seq: -1 } }] },
            { collection: "runs", indexes: [{ field: "job" }, { field: "startedAt" }] },
          ],
        },
        cfg,
      ),
      ClockMixin(cfg.timeZone),
    ],
    settings: { rest: "/" },
    events: {
      "jobs.progress": {
        async handler(this: any, ctx: Context<JobRun>) {
          // Debit runs, overdue-accrual runs and remittances are shown as runs; other jobs (sweeps) are not.
          const shown = ctx.params.service === "deduction-executor" || (ctx.params.service === "fee-calculator" && ctx.params.job === "accrual") || (ctx.params.service === "asset-transfer" && ctx.params.job === "daily") || (ctx.params.service === "reconciler" && ctx.params.job === "daily") || (ctx.params.service === "notifier" && ctx.params.job === "reminderScan");
          if (!shown) return;
          await this.saveProgress(ctx.params).catch((err: Error) => this.logger.warn(`Could not save run progress: ${err.message}`));
        },
      },
    },
    actions: {
      /** Open a trade in INIT. Idempotent on tradeNo; refused while another trade holds the same openKey. */
      open: {
        visibility: "public",
        params: openTradeParams,
        async handler(this: any, ctx: Context<OpenTradeParams>): Promise<{ trade: TradeView; created: boolean }> {
          const { trade, created } = await this.core.open(ctx.params);
          return { trade: internalView(trade), created };
        },
      },
      /** Compare-and-set a trade from one state to the next; a replay of a done transition is a no-op. */
      transition: {
        visibility: "public",
        params: transitionParams,
        async handler(this: any, ctx: Context<TransitionParams>): Promise<{ trade: TradeView; changed: boolean }> {
          return this.coreView(await this.core.transition(ctx.params));
        },
      },
      /** A SUCCESS that came after the trade was recorded FAILED: audited, its steps pending, ops alerted. */
      lateSuccess: {
        visibility: "public",
        params: lateSuccessParams,
        async handler(this: any, ctx: Context<LateSuccessParams>): Promise<{ trade: TradeView; changed: boolean }> {
          const res = await this.core.lateSuccess(ctx.params);
          if (res.changed) this.broker.emit("ops.alert", { kind: "LATE_SUCCESS", message: `Trade ${ctx.params.tradeNo} succeeded after it was recorded FAILED`, tradeNo: ctx.params.tradeNo, source: ctx.params.source });
          return this.coreView(res);
        },
      },
      /** A compensating query that brought no definite answer: when to ask next, or hand over to reconciliation. */
      noteQuery: {
        visibility: "public",
        params: noteQueryParams,
        handler(this: any, ctx: Context<NoteQueryParams>) {
          return this.core.noteQuery(ctx.params);
        },
      },
      /** Record that a successful debit was applied to its plan (the apply itself is idempotent per trade). */
      markApplied: {
        visibility: "public",
        params: tradeNoParams,
        handler(this: any, ctx: Context<TradeNoParams>) {
          return this.core.completeStep(ctx.params.tradeNo, "APPLY");
        },
      },
      /** A step after an outcome is done (idempotent). */
      completeStep: {
        visibility: "public",
        params: completeStepParams,
        handler(this: any, ctx: Context<CompleteStepParams>) {
          return this.core.completeStep(ctx.params.tradeNo, ctx.params.step);
        },
      },
      /** Write a successful trade's flow if it is not written yet, and mark the step done. */
      finishFlow: {
        visibility: "public",
        params: tradeNoParams,
        handler(this: any, ctx: Context<TradeNoParams>) {
          return this.core.finishFlow(ctx.params.tradeNo);
        },
      },
      /** Finish every reservation whose trade is final (a crash or a late reserve left it held). */
      sweepReservations: {
        visibility: "public",
        handler(this: any) {
          return this.core.sweepReservations();
        },
      },
      /** Query-side helpers for the executor and its sweeps. */
      find: {
        visibility: "public",
        params: {
          $$strict: true,
          query: { type: "object" },
          limit: { type: "number", integer: true, min: 1, max: 10000, optional: true },
        },
        async handler(this: any, ctx: Context<{ query: Record<string, unknown>; limit?: number }>): Promise<TradeView[]> {
          const rows: Trade[] = await this.store.find(ctx.params.query, { sort: { createdAt: 1 }, limit: ctx.params.limit ?? 1000 });
          // Internal (mesh only): unmasked, so the executor can compare a replayed payout with the first.
          return rows.map(internalView);
        },
      },
      /** Reconciliation: a channel's trades of a business date sorted by trade number, a page after `after`. */
      reconTrades: {
        visibility: "public",
        params: reconTradesParams,
        async handler(this: any, ctx: Context<ReconTradesParams>): Promise<ReconTrade[]> {
          const { channel, date, after, limit } = ctx.params;
          const q: Record<string, unknown> = { channel, businessDate: date };
          if (after !== undefined) q._id = { $gt: after };
          const rows: Trade[] = await this.store.find(q, { sort: { _id: 1 }, limit: limit ?? 1000 });
          return rows.map((t) => ({ tradeNo: t.tradeNo, kind: t.kind, state: t.state, amount: t.amount, businessDate: t.businessDate, planId: t.planId, applied: t.applied, channelRef: t.channelRef }));
        },
      },
      count: {
        visibility: "public",
        params: { $$strict: true, query: { type: "object" } },
        handler(this: any, ctx: Context<{ query: Record<string, unknown> }>): Promise<number> {
          return this.store.count(ctx.params.query);
        },
      },
      get: {
        rest: "GET /trades/:tradeNo",
        params: tradeNoParams,
        doc: { summary: "A trade (debit or payout order) with its state history", tags: ["trades"] },
        async handler(this: any, ctx: Context<TradeNoParams>): Promise<TradeView> {
          const t: Trade | null = await this.store.findById(ctx.params.tradeNo);
          if (!t) throw new DomainError("NOT_FOUND", `Trade ${ctx.params.tradeNo} not found`, { tradeNo: ctx.params.tradeNo });
          return tradeView(t);
        },
      },
      list: {
        rest: "GET /trades",
        params: listTradesParams,
        doc: { summary: "Trades, filtered and paged", tags: ["trades"] },
        async handler(this: any, ctx: Context<ListTradesParams>): Promise<Page<TradeView>> {
          const q: Record<string, unknown> = {};
          for (const f of ["kind", "state", "planId", "channel", "slotId", "runId", "payoutNo", "needsReconciliation"] as const) {
            if (ctx.params[f] !== undefined) q[f] = ctx.params[f];
          }
          if (ctx.params.date) q.businessDate = ctx.params.date;
          return findPage(this.store, q, ctx.params, { createdAt: -1, _id: 1 }, tradeView);
        },
      },
      flows: {
        rest: "GET /flows",
        params: listFlowsParams,
        doc: { summary: "Money flows (资金流水), one per successful trade", tags: ["trades"] },
        async handler(this: any, ctx: Context<ListFlowsParams>): Promise<Page<Omit<Flow, "_id">>> {
          const q: Record<string, unknown> = {};
          for (const f of ["kind", "channel", "planId", "funderId", "businessDate"] as const) if (ctx.params[f] !== undefined) q[f] = ctx.params[f];
          return findPage(this.stores.flows, q, ctx.params, { createdAt: -1, _id: 1 }, ({ _id: _i, ...f }: Flow) => f);
        },
      },
      /** Money received outside a channel, or a credit-balance move: one flow per number (a replay is a no-op). */
      recordFlow: {
        visibility: "public",
        params: recordFlowParams,
        async handler(this: any, ctx: Context<RecordFlowParams>) {
          const p = ctx.params;
          const flow: Flow = {
            _id: "FL-" + p.flowNo,
            flowNo: "FL-" + p.flowNo,
            tradeNo: p.flowNo,
            kind: p.credit ? "CREDIT" : "OFFLINE",
            direction: p.credit === "HOLD" ? "OUT" : "IN",
            amount: p.amount,
            fee: "0.00",
            channel: p.credit ? "CREDIT" : "OFFLINE",
            planId: p.planId,
            funderId: p.funderId,
            ...(p.partition !== undefined ? { partition: p.partition } : {}),
            businessDate: p.businessDate,
            createdAt: this.clock.iso(),
          };
          try {
            await this.stores.flows.insert(flow);
            return { created: true, flowNo: flow.flowNo };
          } catch (err: any) {
            if (err?.code !== "DUPLICATE_KEY") throw err;
            return { created: false, flowNo: flow.flowNo };
          }
        },
      },
      /**
       * Money in (debits, offline, credit applied) per owner on a business date, less surpluses moved
       * to plans' credit balances (CREDIT OUT): what the remittance pays each funder — never the
       * borrower's overpayment. `flows` counts the money-in flows.
       */
      collected: {
        visibility: "public",
        params: collectedParams,
        async handler(this: any, ctx: Context<CollectedParams>) {
          const q: Record<string, unknown> = { businessDate: ctx.params.businessDate, $or: [{ direction: "IN" }, { kind: "CREDIT" }] };
          if (ctx.params.funderId) q.funderId = ctx.params.funderId;
          const flows: Flow[] = await this.stores.flows.find(q);
          const by = new Map<string, { funderId: string; amount: Decimal; flows: number }>();
          for (const f of flows) {
            const key = f.funderId ?? "UNATTRIBUTED";
            const row = by.get(key) ?? { funderId: key, amount: ZERO, flows: 0 };
            if (f.direction === "IN") {
              row.amount = row.amount.plus(money(f.amount));
              row.flows++;
            } else row.amount = row.amount.minus(money(f.amount));
            by.set(key, row);
          }
          return [...by.values()]
            .filter((r) => r.amount.gt(ZERO))
            .sort((a, b) => a.funderId.localeCompare(b.funderId))
            .map((r) => ({ ...r, amount: fmt(r.amount) }));
        },
      },
      positions: {
        rest: "GET /positions",
        doc: { summary: "Payout positions (头寸) per channel: balance, reserved, available", tags: ["payouts"] },
        async handler(this: any) {
          const rows: Position[] = await this.stores.positions.find({}, { sort: { _id: 1 } });
          return rows.map((p) => this.positionView(p));
        },
      },
      positionHistory: {
        rest: "GET /positions/:channel/history",
        params: positionHistoryParams,
        doc: { summary: "Every move of a payout position (头寸), newest first: payouts, top-ups and withdrawals with the balance after each", tags: ["payouts"] },
        async handler(this: any, ctx: Context<PositionHistoryParams>) {
          const page = ctx.params.page ?? 1;
          const pageSize = ctx.params.pageSize ?? 20;
          const { rows, total } = await this.core.positionHistory(ctx.params.channel, { skip: (page - 1) * pageSize, limit: pageSize });
          return { rows: rows.map(({ _id: _i, ...move }: { _id: string }) => move), total, page, pageSize, totalPages: Math.ceil(total / pageSize) };
        },
      },
      adjustPosition: {
        rest: "POST /positions/:channel/adjust",
        params: adjustPositionParams,
        doc: { summary: "Top up or withdraw a payout position (audited)", tags: ["payouts"], role: "admin" },
        async handler(this: any, ctx: Context<AdjustPositionParams>) {
          const p = ctx.params;
          const by = actorOf(ctx);
          const { position } = await this.core.adjust(p.channel, { amount: p.amount, direction: p.direction, reason: p.reason, lowWatermark: p.lowWatermark, by });
          this.logger.info(`Position ${p.channel} ${p.direction} ${p.amount} by ${by}: ${p.reason}`);
          return this.positionView(position);
        },
      },
      reserve: {
        visibility: "public",
        params: positionMoveParams,
        async handler(this: any, ctx: Context<PositionMoveParams>) {
          const { position, changed } = await this.core.reserve(ctx.params);
          return { position: this.positionView(position), changed };
        },
      },
      /** The payout went out: the reservation leaves the balance. Idempotent per trade. */
      commit: {
        visibility: "public",
        params: positionMoveParams,
        async handler(this: any, ctx: Context<PositionMoveParams>) {
          const { position, changed } = await this.core.commit(ctx.params);
          return { position: this.positionView(position), changed };
        },
      },
      /** The payout did not go out: the reservation is given back. Idempotent per trade. */
      release: {
        visibility: "public",
        params: positionMoveParams,
        async handler(this: any, ctx: Context<PositionMoveParams>) {
          const { position, changed } = await this.core.release(ctx.params);
          return { position: this.positionView(position), changed };
        },
      },
      /** A late payout success whose reservation was already given back: taken off the balance once. */
      commitLate: {
        visibility: "public",
        params: positionMoveParams,
        async handler(this: any, ctx: Context<PositionMoveParams>) {
          const { position, changed } = await this.core.commitLate(ctx.params);
          return { position: this.positionView(position), changed };
        },
      },
      getRun: {
        rest: "GET /runs/:runId",
        params: runIdParams,
        doc: { summary: "A run's progress: due, sent, succeeded, failed, unknown… per partition and in total", tags: ["runs"] },
        async handler(this: any, ctx: Context<RunIdParams>) {
          const run = loadedRun(await this.stores.runs.findById(ctx.params.runId));
          if (!run) throw new DomainError("NOT_FOUND", `Run ${ctx.params.runId} not found`, { runId: ctx.params.runId });
          return this.runView(run);
        },
      },
      listRuns: {
        rest: "GET /runs",
        params: listRunsParams,
        doc: { summary: "Runs, newest first", tags: ["runs"] },
        async handler(this: any, ctx: Context<ListRunsParams>) {
          const q = ctx.params.job ? { job: ctx.params.job } : {};
          return findPage(this.stores.runs, q, ctx.params, { startedAt: -1 }, (r: StoredRun) => this.runView(loadedRun(r), false));
        },
      },
      /** A manual run's record, made before its trigger goes out. */
      openRun: {
        visibility: "public",
        params: {
          $$strict: true,
          runId: { type: "string", pattern: "^[A-Za-z0-9_-]{4,64}$" },
          job: { type: "string", max: 32 },
          trigger: { type: "enum", values: ["SCHEDULE", "MANUAL"] },
          slotId: { type: "string", max: 32, optional: true },
          scope: { type: "object", optional: true },
          startedAt: { type: "string", max: 40 },
          wanted: { type: "array", optional: true, max: 4096, items: { type: "number", integer: true, min: 0 } },
        },
        async handler(this: any, ctx: Context<Omit<RunRecord, "_id" | "status" | "partitions" | "totals" | "updatedAt" | "version">>) {
          const totals = ctx.params.wanted ? runTotals({}, ctx.params.wanted) : {};
          const record: RunRecord = { _id: ctx.params.runId, ...ctx.params, status: "RUNNING", partitions: {}, totals, version: 0, updatedAt: ctx.params.startedAt };
          await this.stores.runs.insert(storedRun(record));
          return this.runView(record);
        },
      },
      /** The partitions a run's record shows DONE (the partitioned-jobs mixin asks before running a slot's partition). */
      runDone: {
        visibility: "public",
        params: runDoneParams,
        async handler(this: any, ctx: Context<RunDoneParams>): Promise<{ runId: string; found: boolean; done: number[] }> {
          const run = loadedRun(await this.stores.runs.findById(ctx.params.runId));
          const done = run ? Object.entries(run.partitions).filter(([, prog]) => prog.status === "DONE").map(([p]) => Number(p)) : [];
          return { runId: ctx.params.runId, found: !!run, done: done.sort((a, b) => a - b) };
        },
      },
      stats: {
        rest: "GET /trades-stats",
        params: { $$strict: true, date: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$", optional: true } },
        doc: { summary: "Counts and amounts by kind, state and channel for a business date (default today)", tags: ["trades"] },
        async handler(this: any, ctx: Context<{ date?: string }>) {
          const date = ctx.params.date ?? this.clock.today();
          const rows: Trade[] = await this.store.find({ businessDate: date });
          const acc: Record<string, { count: number; amount: string }> = {};
          for (const t of rows) {
            for (const key of [`${t.kind}:${t.state}`, `${t.kind}:${t.state}:${t.channel}`]) {
              const cur = acc[key] ?? { count: 0, amount: "0.00" };
              acc[key] = { count: cur.count + 1, amount: fmt(money(cur.amount).plus(money(t.amount))) };
            }
          }
          return { date, total: rows.length, buckets: acc };
        },
      },
    },
    methods: {
      /** Trade events carry the trade's identity (kind, amount, plan, periods, owner, channel) and the transition. */
      enrichOutbox(_collection: string, doc: Trade, entry: { data: Record<string, unknown> }) {
        const { history: _h, outbox: _o, ...view } = tradeView(doc) as TradeView & { outbox?: unknown };
        return { ...view, ...entry.data, state: entry.data.to ?? view.state };
      },
      /**
       * Merge one node instance's progress of a run into the run's one record (nodes report
       * concurrently, and again after a loss: each report replaces that instance's earlier one, so a
       * replay changes nothing), by compare-and-set on the record's version.
       */
      async saveProgress(this: any, run: JobRun) {
        const key = run.instance ?? "n-" + run.nodeId.replace(/[^A-Za-z0-9_-]/g, "_");
        const legacyWanted = Array.isArray((run.meta as any)?.partitions) ? (run.meta as any).partitions : Array.from({ length: cfg.partitions }, (_, i) => i);
        const record = (run.record ?? {}) as { slotId?: string; scope?: RunRecord["scope"] };
        for (let i = 0; i < 50; i++) {
          const now = this.clock.iso();
          let cur = loadedRun(await this.stores.runs.findById(run.runId));
          if (!cur) {
            cur = {
              _id: run.runId,
              runId: run.runId,
              job: run.job,
              trigger: run.trigger,
              ...(record.slotId ? { slotId: record.slotId } : {}),
              ...(record.scope ? { scope: record.scope } : {}),
              status: "RUNNING",
              wanted: run.wanted ?? legacyWanted,
              ...(run.until !== undefined ? { until: new Date(run.until).toISOString() } : {}),
              partitions: {},
              totals: {},
              startedAt: now,
              updatedAt: now,
              version: 0,
            };
            try {
              await this.stores.runs.insert(storedRun(cur));
            } catch (err: any) {
              if (err?.code !== "DUPLICATE_KEY") throw err;
              continue;
            }
          }
          const wanted = cur.wanted ?? run.wanted ?? legacyWanted;
          const until = run.until !== undefined ? new Date(run.until).toISOString() : cur.until;
          const partitions = mergeRunProgress(cur.partitions, run, key);
          const totals = runTotals(partitions, wanted);
          const status = cur.status === "DONE" ? "DONE" : runStatus(totals, until ? Date.parse(until) : undefined, this.clock.nowMs());
          const saved = await this.stores.runs.updateOne(
            { _id: run.runId, version: cur.version },
            {
              $set: {
                partitionsJson: JSON.stringify(partitions),
                totals,
                status,
                wanted,
                ...(until ? { until } : {}),
                updatedAt: now,
                version: cur.version + 1,
                ...(status !== "RUNNING" && !cur.finishedAt ? { finishedAt: now } : {}),
              },
            },
          );
          if (saved) return;
        }
        this.logger.warn(`Run ${run.runId}: progress of ${run.nodeId} not saved (too contended); its next report carries it`);
      },
      /** A run as shown: a slot whose window is over without every partition DONE shows FAILED even if nobody reported since. */
      runView(this: any, run: RunRecord, withPartitions = true) {
        const { _id: _ignored, partitions, ...rest } = run;
        if (rest.status === "RUNNING" && rest.until && this.clock.nowMs() > Date.parse(rest.until)) {
          rest.status = "FAILED";
          rest.finishedAt = rest.finishedAt ?? rest.until;
        }
        if (!withPartitions) return rest;
        const notDone = (rest.wanted ?? Object.keys(partitions).map(Number)).filter((p) => partitions[p]?.status !== "DONE");
        return { ...rest, partitions, notDone };
      },
      positionView(pos: Position) {

        const { _id, reservations, history, historyCopied: _c, ...rest } = pos;
        return { ...rest, available: fmt(money(pos.balance).minus(money(pos.reserved))), openReservations: Object.keys(reservations).length, history: history.slice(-20) };
      },
      coreView(res: CoreTrade) {
        return { trade: internalView(res.trade), changed: res.changed };
      },
    },
    /** The stores exist once connected (mixins/store.mixin.ts). */
    async onStoreReady(this: any) {
      this.core = new LedgerCore({
        trades: this.store,
        flows: this.stores.flows,
        positions: this.stores.positions,
        positionMoves: this.stores.positionMoves,
        iso: () => this.clock.iso(),
        today: () => this.clock.today(),
        outboxEntry: (type, key, data) => this.outboxEntry(type, key, data),
        outboxWritten: (collection, id, doc) => this.outboxWritten(collection, id, doc),
        lowPosition: (pos, available) => {
          this.logger.warn(`Position ${pos.channel} is low: ${available} available, watermark ${pos.lowWatermark}`);
          this.broker.emit("position.low", { channel: pos.channel, available, lowWatermark: pos.lowWatermark });
        },
        warn: (message) => this.logger.warn(message),
        turn: keyedTurns(), // this node's changes of one position take turns (domain/turns.ts)
      });
      // Moves positions hold from before their history collection (or a copy a crash left undone).
      await this.core.backfillPositionHistory().catch((err: Error) => this.logger.warn(`Position history not copied at start (the next move or read copies it): ${err.message}`));
    },
  } as ServiceSchema;
}
