/**
 * The debit and payout flows (代扣 / 代付) and their repair sweep, written against ports (ledger,
 * schedule, bindings, channels, health counters) so they hold no framework code and every step can
 * be crashed, replayed and raced in tests.
 *
 * Never twice, without trusting any lock:
 *   - the trade number is unique per (plan, slot, attempt) and is what the channel sees; opening it
 *     again returns the same trade, and only one caller wins INIT → SENDING (compare-and-set), so only
 *     one caller ever sends it;
 *   - the ledger refuses a second open trade for a plan (open key), so nothing new is sent while an
 *     earlier trade is INIT, SENDING or UNKNOWN; a stale INIT (opened, never sent) is failed first by
 *     compare-and-set, which also stops a paused node from sending it later;
 *   - a crash between steps is repaired by the sweep from the ledger's state: SENDING or UNKNOWN →
 *     ask the channel (query), SUCCESS not applied → apply (idempotent per trade). The sweep never
 *     sends money.
 */
import type { PaymentChannel, PaymentOutcome, QueryOutcome } from "../channels/channel";
import type { TradeState } from "./trade-state";
import { breakerEventOf, nextStep, route, type ChannelSetting, type ChannelUsage, type RouteDecision } from "./routing";
import type { BreakerEvent, BreakerState } from "./sliding-window";
import { fmt, money } from "./money";

export interface TradeLike {
  tradeNo: string;
  kind: "DEBIT" | "PAYOUT";
  state: TradeState;
  amount: string;
  channel: string;
  attempt: number;
  planId?: string;
  partition?: number;
  periods?: number[];
  slotId?: string;
  payoutNo?: string;
  agreementNo?: string;
  cardFingerprint?: string;
  beneficiary?: { accountNo: string; accountName: string; funderId?: string };
  purpose?: string;
  failure?: { reason: string; side?: "BORROWER" | "CHANNEL" };
  applied?: boolean;
  queries: number;
  nextQueryAt?: string;
  needsReconciliation?: boolean;
  createdAt: string;
  updatedAt: string;
  sentAt?: string;
}

export interface ChannelSettingsContent {
  channels: ChannelSetting[];
  cardDailyAttemptCap: number;
  channelDailyAttemptCap?: number;
  unknownQueryBackoffMinutes: number[];
}

export interface FlowPorts {
  nowMs(): number;
  today(): string;
  findTrades(query: Record<string, unknown>, limit?: number): Promise<TradeLike[]>;
  openTrade(p: Record<string, unknown>): Promise<{ trade: TradeLike; created: boolean }>;
  transition(p: {
    tradeNo: string;
    from: TradeState;
    to: TradeState;
    channelRef?: string;
    failure?: { reason: string; side?: "BORROWER" | "CHANNEL"; bankCode?: string; message?: string };
    note?: string;
    nextQueryAt?: string;
  }): Promise<{ trade: TradeLike; changed: boolean }>;
  noteQuery(p: { tradeNo: string; nextQueryAt?: string; needsReconciliation?: boolean }): Promise<void>;
  markApplied(tradeNo: string): Promise<void>;
  applyRepayment(p: { planId: string; tradeNo: string; amount: string }): Promise<unknown>;
  channel(code: string): PaymentChannel | undefined;
  successRate(code: string): number | undefined;
  breaker(code: string): BreakerState;
  record(code: string, event: BreakerEvent): void;
  alert(message: string, data: Record<string, unknown>): void;
  /** Debit attempts through a channel today, all cards (for the per-channel daily cap). */
  channelAttemptsToday?(code: string): Promise<number>;
  /** Take one of a channel's attempts for today if under the cap (synchronous: no two callers take the last one). */
  takeChannelAttempt?(code: string, cap: number): boolean;
  // payouts
  reserve?(p: { channel: string; tradeNo: string; amount: string }): Promise<unknown>;
  commit?(p: { channel: string; tradeNo: string; amount: string }): Promise<unknown>;
  release?(p: { channel: string; tradeNo: string; amount: string }): Promise<unknown>;
  positions?(): Promise<Record<string, string>>;
}

export interface FlowTimings {
  /** An INIT trade older than this was never sent (the process died after opening it). */
  staleInitMs: number;
  /** A SENDING trade older than this is asked about (the process may have died while sending). */
  sendingTimeoutMs: number;
}

export const DEFAULT_TIMINGS: FlowTimings = { staleInitMs: 60_000, sendingTimeoutMs: 60_000 };

export type DebitResult =
  | "SUCCEEDED"
  | "FAILED"
  | "UNKNOWN"
  | "IN_FLIGHT"
  | "ALREADY_COLLECTED"
  | "NO_BINDING"
  | "NO_CHANNEL"
  | "STOPPED";

export interface DebitItem {
  planId: string;
  /** Owner of the plan's receivables today: recorded on the trade and its flow. */
  funderId?: string;
  partition: number;
  periods: number[];
  amount: string;
  bindingId?: string;
  customerId: string;
}

export interface DebitReport {
  planId: string;
  result: DebitResult;
  trades: string[];
  sent: number;
  rejected?: RouteDecision["rejected"];
}

/** "2026-02-15T12:00" → "202602151200". */
export function compactSlot(slotId: string): string {
  return slotId.replace(/[-T:]/g, "");
}

export function debitTradeNo(planId: string, slotId: string, attempt: number): string {
  return `D-${planId}-${compactSlot(slotId)}-${attempt}`;
}

export function payoutTradeNo(payoutNo: string, attempt: number): string {
  return `P-${payoutNo}-${attempt}`;
}

function ageMs(iso: string | undefined, nowMs: number): number {
  return iso ? nowMs - Date.parse(iso) : Number.POSITIVE_INFINITY;
}

/** Outcome of a channel call → the ledger transition from SENDING (or UNKNOWN). */
export function transitionFor(outcome: PaymentOutcome | QueryOutcome): {
  to: TradeState | null;
  channelRef?: string;
  failure?: { reason: string; side?: "BORROWER" | "CHANNEL"; bankCode?: string; message?: string };
} {
  switch (outcome.status) {
    case "SUCCESS":
      return { to: "SUCCESS", channelRef: outcome.channelRef };
    case "DECLINED":
      return { to: "FAILED", channelRef: outcome.channelRef, failure: { reason: outcome.reason, side: outcome.side, bankCode: outcome.bankCode, message: outcome.message } };
    case "UNAVAILABLE":
      return { to: "FAILED", failure: { reason: "UNAVAILABLE", side: "CHANNEL", bankCode: outcome.bankCode, message: outcome.message } };
    case "UNKNOWN":
      return { to: "UNKNOWN" };
    case "NOT_FOUND":
      // The channel never received this trade number: it moved no money.
      return { to: "FAILED", failure: { reason: "NOT_RECEIVED", side: "CHANNEL", message: "The channel has no record of this trade" } };
    case "PROCESSING":
      return { to: null };
  }
}

/** Next compensating query time after `queries` queries, or null when the back-off is exhausted. */
export function nextQueryAt(nowMs: number, queries: number, backoffMinutes: readonly number[]): string | null {
  if (queries >= backoffMinutes.length) return null;
  return new Date(nowMs + backoffMinutes[queries] * 60_000).toISOString();
}

/** Per-channel usage of a card today, from its trades of the day. */
export function usageOf(trades: readonly TradeLike[]): { perChannel: Record<string, ChannelUsage>; cardAttempts: number } {
  const perChannel: Record<string, ChannelUsage> = {};
  let cardAttempts = 0;
  for (const t of trades) {
    if (t.state === "INIT" || (t.state === "FAILED" && t.failure?.reason === "UNAVAILABLE") || t.failure?.reason === "STALE_INIT") continue; // never reached the bank
    cardAttempts++;
    const u = perChannel[t.channel] ?? { amount: "0.00", cardAttempts: 0, attempts: 0 };
    perChannel[t.channel] = {
      amount: t.state === "SUCCESS" || t.state === "UNKNOWN" || t.state === "SENDING" ? fmt(money(u.amount).plus(money(t.amount))) : u.amount,
      cardAttempts: u.cardAttempts + 1,
      attempts: u.attempts + 1,
    };
  }
  return { perChannel, cardAttempts };
}

/**
 * Claim a trade INIT → SENDING (only one caller wins, so only one sends), send it, feed the channel's
 * health, and record the outcome. Returns null when someone else claimed it.
 */
async function claimSendRecord(
  tradeNo: string,
  channelCode: string,
  send: () => Promise<PaymentOutcome>,
  settings: Pick<ChannelSettingsContent, "unknownQueryBackoffMinutes">,
  ports: FlowPorts,
): Promise<{ outcome: PaymentOutcome; state: TradeState; trade: TradeLike } | null> {
  const claimed = await ports.transition({ tradeNo, from: "INIT", to: "SENDING" });
  if (!claimed.changed) return null;
  const outcome = await send();
  const event = breakerEventOf(outcome);
  if (event) ports.record(channelCode, event);
  const t = transitionFor(outcome);
  const to = t.to as TradeState;
  const recorded =
    to === "UNKNOWN"
      ? await ports.transition({ tradeNo, from: "SENDING", to, nextQueryAt: nextQueryAt(ports.nowMs(), 0, settings.unknownQueryBackoffMinutes) ?? undefined })
      : await ports.transition({ tradeNo, from: "SENDING", to, channelRef: t.channelRef, failure: t.failure });
  return { outcome, state: to, trade: recorded.trade };
}

/**
 * Debit one plan in one slot: route, open, send, record, apply; on a channel-side failure move on
 * to the next channel in the same slot; on a borrower-side one stop until the next slot.
 */
export async function debitPlan(
  item: DebitItem,
  slotId: string,
  runId: string,
  settings: ChannelSettingsContent,
  ports: FlowPorts,
  agreementsOf: () => Promise<{ bindingId: string; cardFingerprint: string; agreements: Array<{ channel: string; agreementNo: string }> } | null>,
  timings: FlowTimings = DEFAULT_TIMINGS,
): Promise<DebitReport> {
  const report: DebitReport = { planId: item.planId, result: "NO_CHANNEL", trades: [], sent: 0 };
  const nowMs = ports.nowMs();

  // One read of the plan's trades serves both checks below (a plan has a few trades a month).
  let planTrades = await ports.findTrades({ planId: item.planId, kind: "DEBIT" });
  // An open trade for the plan blocks everything: a stale INIT is failed first (never sent).
  for (const t of planTrades.filter((x) => x.state === "INIT" || x.state === "SENDING" || x.state === "UNKNOWN")) {
    if (t.state === "INIT" && ageMs(t.createdAt, nowMs) > timings.staleInitMs) {
      await ports.transition({ tradeNo: t.tradeNo, from: "INIT", to: "FAILED", failure: { reason: "STALE_INIT", side: "CHANNEL" }, note: "opened but never sent" });
      planTrades = await ports.findTrades({ planId: item.planId, kind: "DEBIT" });
    } else {
      report.result = "IN_FLIGHT";
      report.trades.push(t.tradeNo);
      return report;
    }
  }

  const card = await agreementsOf();
  if (!card || card.agreements.length === 0) {
    report.result = "NO_BINDING";
    return report;
  }

  const capped: string[] = [];
  for (let hop = 0; hop < 8; hop++) {
    if (hop > 0) planTrades = await ports.findTrades({ planId: item.planId, kind: "DEBIT" });
    const slotTrades = planTrades.filter((t) => t.slotId === slotId);
    if (slotTrades.some((t) => t.state === "SUCCESS")) {
      report.result = report.sent ? "SUCCEEDED" : "ALREADY_COLLECTED";
      return report;
    }
    const last = slotTrades.sort((a, b) => b.attempt - a.attempt)[0];
    if (last && last.state === "FAILED" && last.failure?.side === "BORROWER") {
      report.result = report.sent ? "FAILED" : "STOPPED";
      return report;
    }
    if (last && (last.state === "SENDING" || last.state === "UNKNOWN" || last.state === "INIT")) {
      report.result = "IN_FLIGHT";
      return report;
    }
    const dayTrades = (await ports.findTrades({ cardFingerprint: card.cardFingerprint, businessDate: ports.today(), kind: "DEBIT" })) as TradeLike[];
    const usage = usageOf(dayTrades);
    if (settings.channelDailyAttemptCap !== undefined && ports.channelAttemptsToday) {
      for (const c of settings.channels) {
        const all = await ports.channelAttemptsToday(c.code);
        const mine = usage.perChannel[c.code] ?? { amount: "0.00", cardAttempts: 0, attempts: 0 };
        usage.perChannel[c.code] = { ...mine, attempts: Math.max(all, mine.attempts) };
      }
    }
    const tried = [...slotTrades.map((t) => t.channel), ...capped];
    const decision = route({
      kind: "DEBIT",
      amount: item.amount,
      settings: settings.channels,
      agreements: card.agreements.map((a) => a.channel).filter((c) => ports.channel(c)),
      successRate: Object.fromEntries(settings.channels.map((c) => [c.code, ports.successRate(c.code)])),
      breaker: Object.fromEntries(settings.channels.map((c) => [c.code, ports.breaker(c.code)])),
      usedToday: usage.perChannel,
      cardAttemptsToday: usage.cardAttempts,
      cardDailyAttemptCap: settings.cardDailyAttemptCap,
      channelDailyAttemptCap: settings.channelDailyAttemptCap,
      exclude: tried,
    });
    const pick = decision.candidates[0];
    if (!pick) {
      report.rejected = [...decision.rejected, ...capped.map((code) => ({ code, reason: "CHANNEL_DAILY_ATTEMPT_CAP" as const }))].filter(
        (r, i, all) => all.findIndex((x) => x.code === r.code) === i,
      );
      if (!report.sent) report.result = "NO_CHANNEL";
      return report;
    }
    if (settings.channelDailyAttemptCap !== undefined && ports.takeChannelAttempt && !ports.takeChannelAttempt(pick.code, settings.channelDailyAttemptCap)) {
      capped.push(pick.code); // another plan took the channel's last attempt meanwhile
      continue;
    }
    const channel = ports.channel(pick.code) as PaymentChannel;
    const agreementNo = card.agreements.find((a) => a.channel === pick.code)?.agreementNo as string;
    const attempt = (last?.attempt ?? 0) + 1;
    const tradeNo = debitTradeNo(item.planId, slotId, attempt);
    let opened: { trade: TradeLike; created: boolean };
    try {
      opened = await ports.openTrade({
        tradeNo,
        kind: "DEBIT",
        amount: item.amount,
        fee: pick.fee,
        channel: pick.code,
        openKey: item.planId,
        attempt,
        planId: item.planId,
        ...(item.funderId ? { funderId: item.funderId } : {}),
        partition: item.partition,
        periods: item.periods,
        slotId,
        runId,
        bindingId: card.bindingId,
        agreementNo,
        cardFingerprint: card.cardFingerprint,
      });
    } catch (err: any) {
      if (err?.type === "TRADE_IN_FLIGHT" || err?.code === "TRADE_IN_FLIGHT") {
        report.result = "IN_FLIGHT";
        return report;
      }
      throw err;
    }
    report.trades.push(tradeNo);
    if (opened.trade.state !== "INIT") {
      // A replay found the trade already past INIT: someone else sent it; its state is the answer.
      report.result = opened.trade.state === "SUCCESS" ? "SUCCEEDED" : opened.trade.state === "FAILED" ? "FAILED" : "IN_FLIGHT";
      if (opened.trade.state !== "FAILED") return report;
      continue;
    }
    const sent = await claimSendRecord(tradeNo, pick.code, () => channel.debit({ tradeNo, agreementNo, amount: item.amount, memo: `plan ${item.planId}` }), settings, ports);
    if (!sent) {
      report.result = "IN_FLIGHT";
      return report;
    }
    report.sent++;
    if (sent.state === "UNKNOWN") {
      report.result = "UNKNOWN";
      return report;
    }
    if (sent.state === "SUCCESS") {
      await ports.applyRepayment({ planId: item.planId, tradeNo, amount: item.amount });
      await ports.markApplied(tradeNo);
      report.result = "SUCCEEDED";
      return report;
    }
    report.result = "FAILED";
    if (nextStep(sent.outcome) !== "TRY_NEXT_CHANNEL") return report;
  }
  return report;
}

export interface RepairReport {
  examined: number;
  failedStale: number;
  settled: number;
  stillUnknown: number;
  flagged: number;
  applied: number;
  payoutsCommitted: number;
  payoutsReleased: number;
}

/** Finish a payout's position once its trade is final: commit on success, release otherwise. */
export async function settlePosition(trade: TradeLike, ports: FlowPorts): Promise<"COMMITTED" | "RELEASED" | null> {
  if (trade.kind !== "PAYOUT") return null;
  const move = { channel: trade.channel, tradeNo: trade.tradeNo, amount: trade.amount };
  if (trade.state === "SUCCESS") {
    await ports.commit?.(move);
    return "COMMITTED";
  }
  if (trade.state === "FAILED") {
    await ports.release?.(move);
    return "RELEASED";
  }
  return null;
}

/**
 * The repair sweep for the trades of one partition: never sends, only asks and records.
 * `trades` are the partition's open trades (INIT, SENDING, UNKNOWN) and its SUCCESS debits not yet applied.
 */
export async function repairTrades(trades: readonly TradeLike[], settings: Pick<ChannelSettingsContent, "unknownQueryBackoffMinutes">, ports: FlowPorts, timings: FlowTimings = DEFAULT_TIMINGS): Promise<RepairReport> {
  const r: RepairReport = { examined: 0, failedStale: 0, settled: 0, stillUnknown: 0, flagged: 0, applied: 0, payoutsCommitted: 0, payoutsReleased: 0 };
  const nowMs = ports.nowMs();
  for (const trade of trades) {
    r.examined++;
    let t: TradeLike = trade;
    if (t.state === "INIT") {
      if (ageMs(t.createdAt, nowMs) <= timings.staleInitMs) continue;
      const res = await ports.transition({ tradeNo: t.tradeNo, from: "INIT", to: "FAILED", failure: { reason: "STALE_INIT", side: "CHANNEL" }, note: "opened but never sent" });
      if (res.changed) r.failedStale++;
      t = res.trade;
    } else if (t.state === "SENDING" || t.state === "UNKNOWN") {
      const due = t.state === "SENDING" ? ageMs(t.sentAt ?? t.updatedAt, nowMs) > timings.sendingTimeoutMs : !t.needsReconciliation && (!t.nextQueryAt || Date.parse(t.nextQueryAt) <= nowMs);
      if (!due) continue;
      const channel = ports.channel(t.channel);
      if (!channel) continue;
      const answer = await channel.query(t.tradeNo);
      const next = transitionFor(answer);
      if (next.to && next.to !== t.state) {
        const res = await ports.transition({ tradeNo: t.tradeNo, from: t.state, to: next.to, channelRef: next.channelRef, failure: next.failure, note: "compensating query", nextQueryAt: next.to === "UNKNOWN" ? nextQueryAt(nowMs, 0, settings.unknownQueryBackoffMinutes) ?? undefined : undefined });
        t = res.trade;
        if (res.changed && (next.to === "SUCCESS" || next.to === "FAILED")) {
          r.settled++;
          if (answer.status !== "NOT_FOUND" && answer.status !== "PROCESSING") {
            const ev = breakerEventOf(answer);
            if (ev) ports.record(t.channel, ev);
          }
        }
        if (next.to === "UNKNOWN") r.stillUnknown++;
      } else {
        // Still no definite answer: back off, then leave it to the statement and tell ops.
        const queries = t.queries + 1;
        const at = nextQueryAt(nowMs, queries, settings.unknownQueryBackoffMinutes);
        if (at) {
          await ports.noteQuery({ tradeNo: t.tradeNo, nextQueryAt: at });
          r.stillUnknown++;
        } else {
          await ports.noteQuery({ tradeNo: t.tradeNo, needsReconciliation: true });
          ports.alert(`Trade ${t.tradeNo} is still UNKNOWN after ${queries} queries: reconciliation decides`, { tradeNo: t.tradeNo, channel: t.channel, amount: t.amount });
          r.flagged++;
        }
        continue;
      }
    }
    if (t.kind === "DEBIT" && t.state === "SUCCESS" && !t.applied && t.planId) {
      await ports.applyRepayment({ planId: t.planId, tradeNo: t.tradeNo, amount: t.amount });
      await ports.markApplied(t.tradeNo);
      r.applied++;
    }
    const pos = await settlePosition(t, ports);
    if (pos === "COMMITTED") r.payoutsCommitted++;
    if (pos === "RELEASED") r.payoutsReleased++;
  }
  return r;
}

export interface PayoutRequestInput {
  payoutNo: string;
  amount: string;
  partition: number;
  beneficiary: { accountNo: string; accountName: string; funderId?: string };
  purpose?: string;
}

export type PayoutResult = "SUCCEEDED" | "FAILED" | "UNKNOWN" | "IN_FLIGHT" | "NO_CHANNEL";

/**
 * A payout: route among payout channels by position and fee, reserve the position (idempotent per
 * trade), send, then commit or release. A channel-side failure moves to the next channel.
 */
export async function payout(req: PayoutRequestInput, settings: ChannelSettingsContent, ports: FlowPorts): Promise<{ result: PayoutResult; trades: string[]; rejected?: RouteDecision["rejected"] }> {
  const trades: string[] = [];
  for (let hop = 0; hop < 8; hop++) {
    const existing = (await ports.findTrades({ payoutNo: req.payoutNo })).sort((a, b) => b.attempt - a.attempt);
    if (existing.some((t) => t.state === "SUCCESS")) return { result: "SUCCEEDED", trades: existing.map((t) => t.tradeNo) };
    const last = existing[0];
    if (last && !["SUCCESS", "FAILED"].includes(last.state)) return { result: last.state === "UNKNOWN" ? "UNKNOWN" : "IN_FLIGHT", trades: existing.map((t) => t.tradeNo) };
    if (last && last.failure?.side === "BORROWER") return { result: "FAILED", trades: existing.map((t) => t.tradeNo) };
    const position = (await ports.positions?.()) ?? {};
    const decision = route({
      kind: "PAYOUT",
      amount: req.amount,
      settings: settings.channels,
      successRate: Object.fromEntries(settings.channels.map((c) => [c.code, ports.successRate(c.code)])),
      breaker: Object.fromEntries(settings.channels.map((c) => [c.code, ports.breaker(c.code)])),
      usedToday: {},
      cardAttemptsToday: 0,
      cardDailyAttemptCap: Number.MAX_SAFE_INTEGER,
      exclude: existing.map((t) => t.channel),
      position,
    });
    const pick = decision.candidates.find((c) => ports.channel(c.code)?.capabilities.includes("PAYOUT"));
    if (!pick) return { result: existing.length ? "FAILED" : "NO_CHANNEL", trades: existing.map((t) => t.tradeNo), rejected: decision.rejected };
    const attempt = (last?.attempt ?? 0) + 1;
    const tradeNo = payoutTradeNo(req.payoutNo, attempt);
    let opened: { trade: TradeLike; created: boolean };
    try {
      opened = await ports.openTrade({
        tradeNo,
        kind: "PAYOUT",
        amount: req.amount,
        fee: pick.fee,
        channel: pick.code,
        openKey: `payout:${req.payoutNo}`,
        attempt,
        partition: req.partition,
        payoutNo: req.payoutNo,
        beneficiary: req.beneficiary,
        ...(req.purpose ? { purpose: req.purpose } : {}),
      });
    } catch (err: any) {
      if (err?.type === "TRADE_IN_FLIGHT" || err?.code === "TRADE_IN_FLIGHT") return { result: "IN_FLIGHT", trades };
      throw err;
    }
    trades.push(tradeNo);
    if (opened.trade.state !== "INIT") continue;
    const move = { channel: pick.code, tradeNo, amount: req.amount };
    try {
      await ports.reserve?.(move);
    } catch (err: any) {
      if (err?.type === "POSITION_INSUFFICIENT" || err?.code === "POSITION_INSUFFICIENT") {
        await ports.transition({ tradeNo, from: "INIT", to: "FAILED", failure: { reason: "POSITION_INSUFFICIENT", side: "CHANNEL" } });
        continue;
      }
      throw err;
    }
    const channel = ports.channel(pick.code) as PaymentChannel;
    const sent = await claimSendRecord(
      tradeNo,
      pick.code,
      () => channel.payout({ tradeNo, accountNo: req.beneficiary.accountNo, accountName: req.beneficiary.accountName, amount: req.amount, memo: req.purpose }),
      settings,
      ports,
    );
    if (!sent) return { result: "IN_FLIGHT", trades };
    if (sent.state === "UNKNOWN") return { result: "UNKNOWN", trades };
    await settlePosition(sent.trade, ports);
    if (sent.state === "SUCCESS") return { result: "SUCCEEDED", trades };
    if (nextStep(sent.outcome) !== "TRY_NEXT_CHANNEL") return { result: "FAILED", trades };
  }
  return { result: "FAILED", trades };
}

