/**
 * The debit and payout flows (代扣 / 代付) and their repair sweep, written against ports (ledger,
 * schedule, bindings, channels, health counters) so they hold no framework code and every step can
 * be crashed, replayed and raced in tests.
 *
 * Never twice, without trusting any lock:
 *   - the trade number is unique per (plan, slot, attempt) and is what the channel sees; opening it
 *     again returns the same trade, and only one caller wins INIT → SENDING (compare-and-set), so only
 *     one caller ever sends it;
 *   - the sender sends exactly what the opened trade records (channel, agreement, amount,
 *     beneficiary, expiry); when its own decision differs (split brain) it sends nothing;
 *   - the ledger refuses a second open trade for a plan (open key), so nothing new is sent while an
 *     earlier trade is INIT, SENDING or UNKNOWN; a stale INIT (opened, never sent) is failed first by
 *     compare-and-set, which also stops a paused node from sending it later;
 *   - every request carries an expiry the bank honours; NOT_FOUND is final only once the expiry
 *     (plus a margin) has passed. A query without a definite answer (not sent, time-out, outage,
 *     PROCESSING, an answer that does not match the trade) changes nothing: it backs off, then the
 *     trade is flagged for reconciliation and ops are alerted (Kill Bill's janitor rule);
 *   - a lost compare-and-set continues from the state the ledger recorded, never from the one it
 *     hoped for; a SUCCESS that meets a FAILED trade is recorded as an audited late success;
 *   - the steps after an outcome are pending on the trade from the write that records it, and
 *     `finishSteps` (sender or sweep, idempotent) does them. The sweep never sends money.
 */
import type { PaymentChannel, PaymentOutcome, QueryOutcome } from "../channels/channel";
import { canTransition, isFinal, type TradeState } from "./trade-state";
import type { PendingStep } from "./ledger-core";
import { debitTradeNo, payoutTradeNo } from "./trade-numbers";
import { breakerEventOf, nextStep, route, type ChannelSetting, type ChannelUsage, type RouteDecision } from "./routing";
import type { BreakerEvent, BreakerState } from "./sliding-window";
import { fmt, money, ZERO } from "./money";

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
  pending?: PendingStep[];
  expiresAt?: string;
  lateSuccess?: { at: string; source: string };
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
  /** How routing ranks a channel with no data yet (CHANNEL_SETTINGS `successRate.unknownPrior`). */
  successRate?: { unknownPrior?: number };
}

export interface FlowPorts {
  nowMs(): number;
  today(): string;
  findTrades(query: Record<string, unknown>, limit?: number): Promise<TradeLike[]>;
  openTrade(p: Record<string, unknown>): Promise<{ trade: TradeLike; created: boolean }>;
  transition(p: {
    tradeNo: string;
    kind?: "DEBIT" | "PAYOUT";
    from: TradeState;
    to: TradeState;
    channelRef?: string;
    failure?: { reason: string; side?: "BORROWER" | "CHANNEL"; bankCode?: string; message?: string };
    note?: string;
    nextQueryAt?: string;
  }): Promise<{ trade: TradeLike; changed: boolean }>;
  /** FAILED → SUCCESS, audited: the bank acted on the trade after all. */
  lateSuccess(p: { tradeNo: string; channelRef?: string; source: "SENDER" | "QUERY" | "STATEMENT"; note?: string }): Promise<{ trade: TradeLike; changed: boolean }>;
  noteQuery(p: { tradeNo: string; nextQueryAt?: string; needsReconciliation?: boolean }): Promise<void>;
  /** A pending step is done (idempotent). */
  completeStep(tradeNo: string, step: PendingStep): Promise<void>;
  /** Write a successful trade's flow (once) and complete FLOW. */
  finishFlow(tradeNo: string): Promise<void>;
  /** Idempotent per trade; answers what it applied and any surplus. */
  applyRepayment(p: { planId: string; tradeNo: string; amount: string }): Promise<unknown>;
  channel(code: string): PaymentChannel | undefined;
  successRate(code: string): number | undefined;
  breaker(code: string): BreakerState;
  record(code: string, event: BreakerEvent): void;
  alert(message: string, data: Record<string, unknown>): void;
  /** Debit attempts through a channel today, all cards (for the per-channel daily cap). */
  channelAttemptsToday?(code: string): Promise<number>;
  /** Take one of a channel's debit attempts for today if under the cap, exactly across nodes. */
  takeChannelAttempt?(code: string, cap: number): Promise<boolean>;
  /** Take one of a card's debit attempts for today if under the cap, exactly across nodes. */
  takeCardAttempt?(cardFingerprint: string, cap: number): Promise<boolean>;
  /** Give back an attempt this caller took but did not use: it sent nothing, or the bank provably never got it (UNAVAILABLE). */
  giveBackAttempt?(scope: "CHANNEL" | "CARD", id: string): Promise<void>;
  /** The one probe of a HALF_OPEN breaker (across nodes): false when another caller is probing the channel now. */
  takeProbe?(code: string): Promise<boolean>;
  // payouts
  reserve?(p: { channel: string; tradeNo: string; amount: string }): Promise<unknown>;
  commit?(p: { channel: string; tradeNo: string; amount: string }): Promise<unknown>;
  release?(p: { channel: string; tradeNo: string; amount: string }): Promise<unknown>;
  commitLate?(p: { channel: string; tradeNo: string; amount: string }): Promise<unknown>;
  positions?(): Promise<Record<string, string>>;
}

export interface FlowTimings {
  /** An INIT trade older than this was never sent (the process died after opening it). */
  staleInitMs: number;
  /** A SENDING trade older than this is asked about (the process may have died while sending). */
  sendingTimeoutMs: number;
  /** How long the bank may act on a request: sent with it as its expiry. */
  requestTtlMs?: number;
  /** Clock skew allowed past the expiry before a NOT_FOUND counts as final. */
  expiryMarginMs?: number;
}

export const DEFAULT_TIMINGS: FlowTimings = { staleInitMs: 60_000, sendingTimeoutMs: 60_000, requestTtlMs: 120_000, expiryMarginMs: 60_000 };

function ttlOf(timings: FlowTimings): number {
  return timings.requestTtlMs ?? DEFAULT_TIMINGS.requestTtlMs!;
}

/** When a NOT_FOUND for this trade becomes final: its expiry plus the margin (trades without one: opened + TTL). */
export function notFoundFinalAt(trade: Pick<TradeLike, "expiresAt" | "createdAt">, timings: FlowTimings): number {
  const expires = trade.expiresAt ? Date.parse(trade.expiresAt) : Date.parse(trade.createdAt) + ttlOf(timings);
  return expires + (timings.expiryMarginMs ?? DEFAULT_TIMINGS.expiryMarginMs!);
}

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

export { compactSlot, debitTradeNo, payoutTradeNo } from "./trade-numbers";

function ageMs(iso: string | undefined, nowMs: number): number {
  return iso ? nowMs - Date.parse(iso) : Number.POSITIVE_INFINITY;
}

/**
 * The answer to a debit or payout request → the ledger transition from SENDING. UNAVAILABLE here
 * means the request provably never reached the bank (no money moved). Query answers go through
 * `queryVerdict`, where UNAVAILABLE only describes the question.
 */
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

/** Alert kinds the flows raise (ops.alert `kind`). */
export type FlowAlertKind = "OUTCOME_MISMATCH" | "QUERY_MISMATCH" | "LATE_SUCCESS" | "NEEDS_RECONCILIATION" | "OVERPAYMENT" | "SPLIT_BRAIN";

function alert(ports: FlowPorts, kind: FlowAlertKind, message: string, data: Record<string, unknown>): void {
  ports.alert(message, { kind, ...data });
}

/**
 * Record a definite or indefinite answer for a trade in state `from`. When another writer was first
 * (the compare-and-set lost), go on from the state the ledger recorded: the same answer is fine; a
 * SUCCESS against FAILED is a late success; a contradiction is alerted and the record stands.
 */
export async function recordAnswer(
  trade: TradeLike,
  from: TradeState,
  to: TradeState,
  details: { channelRef?: string; failure?: TradeLike["failure"] & { bankCode?: string; message?: string }; note?: string; nextQueryAt?: string },
  source: "SENDER" | "QUERY",
  ports: FlowPorts,
): Promise<{ trade: TradeLike; changed: boolean }> {
  let cur = from;
  for (let i = 0; i < 3; i++) {
    const res = await ports.transition({ tradeNo: trade.tradeNo, kind: trade.kind, from: cur, to, ...details });
    if (res.changed) return res;
    const recorded = res.trade;
    if (recorded.state === to) return { trade: recorded, changed: false };
    if (to === "SUCCESS" && recorded.state === "FAILED") {
      alert(ports, "LATE_SUCCESS", `Trade ${trade.tradeNo} succeeded after it was recorded FAILED (${source})`, { tradeNo: trade.tradeNo, channel: trade.channel, amount: trade.amount });
      return ports.lateSuccess({ tradeNo: trade.tradeNo, channelRef: details.channelRef, source, note: recorded.failure?.reason });
    }
    if (!isFinal(recorded.state) && canTransition(recorded.state, to)) {
      cur = recorded.state; // e.g. someone moved SENDING → UNKNOWN meanwhile: our definite answer still applies
      continue;
    }
    if (to !== "UNKNOWN") {
      alert(ports, "OUTCOME_MISMATCH", `Trade ${trade.tradeNo}: the channel answered ${to} but the ledger holds ${recorded.state}`, { tradeNo: trade.tradeNo, channel: trade.channel, answered: to, recorded: recorded.state });
    }
    return { trade: recorded, changed: false };
  }
  return { trade: (await ports.findTrades({ tradeNo: trade.tradeNo }))[0] ?? trade, changed: false };
}

/**
 * Claim a trade INIT → SENDING (only one caller wins, so only one sends), let the winner prepare
 * (a payout reserves its position here: only the winner ever reserves, once), send exactly what the
 * trade records, feed the channel's health, and record the outcome. Returns null when someone else
 * claimed it. A preparation that refuses ends the trade FAILED without sending.
 */
async function claimSendRecord(
  trade: TradeLike,
  send: () => Promise<PaymentOutcome>,
  settings: Pick<ChannelSettingsContent, "unknownQueryBackoffMinutes">,
  ports: FlowPorts,
  prepare?: () => Promise<{ reason: string; side: "CHANNEL" } | null>,
): Promise<{ outcome: PaymentOutcome | null; state: TradeState; trade: TradeLike } | null> {
  const claimed = await ports.transition({ tradeNo: trade.tradeNo, kind: trade.kind, from: "INIT", to: "SENDING" });
  if (!claimed.changed) return null;
  const refused = prepare ? await prepare() : null;
  if (refused) {
    const res = await ports.transition({ tradeNo: trade.tradeNo, kind: trade.kind, from: "SENDING", to: "FAILED", failure: refused, note: "not sent" });
    return { outcome: null, state: res.trade.state, trade: res.trade };
  }
  const outcome = await send();
  const event = breakerEventOf(outcome);
  if (event) ports.record(trade.channel, event);
  const t = transitionFor(outcome);
  const to = t.to as TradeState;
  const details = to === "UNKNOWN" ? { nextQueryAt: nextQueryAt(ports.nowMs(), 0, settings.unknownQueryBackoffMinutes) ?? undefined } : { channelRef: t.channelRef, failure: t.failure };
  const recorded = await recordAnswer(claimed.trade, "SENDING", to, details, "SENDER", ports);
  return { outcome, state: recorded.trade.state, trade: recorded.trade };
}

/**
 * Finish the steps an outcome left pending (flow, repayment applied, position committed or
 * released), each idempotent, each marked done after it. Sender and sweep both call it. A step that
 * fails stays pending on the trade for the next sweep and the others go on (the outcome is recorded;
 * nothing after it may be lost, and nothing is worth failing the run for).
 */
export async function finishSteps(trade: TradeLike, ports: FlowPorts): Promise<PendingStep[] & { error?: Error }> {
  const steps: PendingStep[] = trade.pending ?? (trade.kind === "DEBIT" && trade.state === "SUCCESS" && trade.applied === false ? ["APPLY"] : []);
  const done: PendingStep[] & { error?: Error } = [];
  for (const step of steps) {
    try {
      await doStep(trade, step, ports);
      done.push(step);
    } catch (err) {
      done.error ??= err as Error;
    }
  }
  return done;
}

async function doStep(trade: TradeLike, step: PendingStep, ports: FlowPorts): Promise<void> {
  const move = { channel: trade.channel, tradeNo: trade.tradeNo, amount: trade.amount };
  switch (step) {
    case "FLOW":
      return ports.finishFlow(trade.tradeNo); // marks the step done itself
    case "APPLY": {
      if (!trade.planId) break;
      const res = (await ports.applyRepayment({ planId: trade.planId, tradeNo: trade.tradeNo, amount: trade.amount })) as { surplus?: string; changed?: boolean } | undefined;
      if (res?.changed !== false && res?.surplus && money(res.surplus).gt(ZERO)) {
        alert(ports, "OVERPAYMENT", `Trade ${trade.tradeNo} paid ${res.surplus} more than plan ${trade.planId} owed: credited to the plan's credit balance (never remitted)`, { tradeNo: trade.tradeNo, planId: trade.planId, surplus: res.surplus });
      }
      break;
    }
    case "COMMIT":
      await ports.commit?.(move);
      break;
    case "RELEASE":
      await ports.release?.(move);
      break;
    case "LATE_COMMIT":
      await ports.commitLate?.(move);
      break;
  }
  await ports.completeStep(trade.tradeNo, step);
}

/** Does the trade the ledger holds say what this caller decided? (It sends only what is recorded.) */
function sameDecision(trade: TradeLike, want: { channel: string; amount: string; agreementNo?: string; beneficiary?: TradeLike["beneficiary"] }): boolean {
  if (trade.channel !== want.channel || !money(trade.amount).eq(money(want.amount))) return false;
  if (want.agreementNo !== undefined && trade.agreementNo !== want.agreementNo) return false;
  if (want.beneficiary && (trade.beneficiary?.accountNo !== want.beneficiary.accountNo || trade.beneficiary?.accountName !== want.beneficiary.accountName)) return false;
  return true;
}

/** A channel whose breaker is HALF_OPEN takes one request at a time (its probe); CLOSED ones any number. */
async function mayProbe(ports: FlowPorts, code: string): Promise<boolean> {
  if (ports.breaker(code) !== "HALF_OPEN" || !ports.takeProbe) return true;
  return ports.takeProbe(code);
}

/** Best effort: a give-back that fails leaves the attempt taken (the cap is reached early, never exceeded). */
async function giveBack(ports: FlowPorts, scope: "CHANNEL" | "CARD", id: string): Promise<void> {
  await ports.giveBackAttempt?.(scope, id).catch(() => undefined);
}

function expiryFor(ports: FlowPorts, timings: FlowTimings): string {
  return new Date(ports.nowMs() + ttlOf(timings)).toISOString();
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
  // A success whose repayment is not applied yet: the due amount we were given is stale. Apply it; the next run debits the rest.
  const unapplied = planTrades.filter((t) => t.state === "SUCCESS" && (t.pending?.includes("APPLY") || (t.pending === undefined && t.applied === false)));
  if (unapplied.length) {
    for (const t of unapplied) await finishSteps(t, ports);
    report.result = "ALREADY_COLLECTED";
    report.trades.push(...unapplied.map((t) => t.tradeNo));
    return report;
  }
  // An open trade for the plan blocks everything: a stale INIT is failed first (never sent).
  for (const t of planTrades.filter((x) => x.state === "INIT" || x.state === "SENDING" || x.state === "UNKNOWN")) {
    if (t.state === "INIT" && ageMs(t.createdAt, nowMs) > timings.staleInitMs) {
      await ports.transition({ tradeNo: t.tradeNo, kind: "DEBIT", from: "INIT", to: "FAILED", failure: { reason: "STALE_INIT", side: "CHANNEL" }, note: "opened but never sent" });
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
  const probing: string[] = [];
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
    const tried = [...slotTrades.map((t) => t.channel), ...capped, ...probing];
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
      unknownRatePrior: settings.successRate?.unknownPrior,
    });
    const pick = decision.candidates[0];
    if (!pick) {
      report.rejected = [
        ...decision.rejected,
        ...capped.map((code) => ({ code, reason: "CHANNEL_DAILY_ATTEMPT_CAP" as const })),
        ...probing.map((code) => ({ code, reason: "BREAKER_OPEN" as const })),
      ].filter(
        (r, i, all) => all.findIndex((x) => x.code === r.code) === i,
      );
      if (!report.sent) report.result = "NO_CHANNEL";
      return report;
    }
    if (!(await mayProbe(ports, pick.code))) {
      probing.push(pick.code);
      continue;
    }
    // The caps are taken before the trade exists, exactly across nodes: a taken attempt that is not used is only conservative.
    if (settings.channelDailyAttemptCap !== undefined && ports.takeChannelAttempt && !(await ports.takeChannelAttempt(pick.code, settings.channelDailyAttemptCap))) {
      capped.push(pick.code); // another plan took the channel's last attempt meanwhile
      continue;
    }
    const tookChannel = settings.channelDailyAttemptCap !== undefined && !!ports.takeChannelAttempt;
    if (ports.takeCardAttempt && !(await ports.takeCardAttempt(card.cardFingerprint, settings.cardDailyAttemptCap))) {
      if (tookChannel) await giveBack(ports, "CHANNEL", pick.code);
      report.rejected = [{ code: pick.code, reason: "CARD_DAILY_ATTEMPT_CAP" as const }];
      if (!report.sent) report.result = "NO_CHANNEL";
      return report;
    }
    /** The attempts taken for this trade, given back when this caller sends nothing or the bank provably never got it. */
    const unused = async () => {
      if (tookChannel) await giveBack(ports, "CHANNEL", pick.code);
      if (ports.takeCardAttempt) await giveBack(ports, "CARD", card.cardFingerprint);
    };
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
        expiresAt: expiryFor(ports, timings),
      });
    } catch (err: any) {
      if (err?.type === "TRADE_IN_FLIGHT" || err?.code === "TRADE_IN_FLIGHT") {
        await unused();
        report.result = "IN_FLIGHT";
        return report;
      }
      throw err;
    }
    report.trades.push(tradeNo);
    const trade = opened.trade;
    if (trade.state !== "INIT") {
      // A replay found the trade already past INIT: someone else sent it; its state is the answer.
      await unused();
      report.result = trade.state === "SUCCESS" ? "SUCCEEDED" : trade.state === "FAILED" ? "FAILED" : "IN_FLIGHT";
      if (trade.state !== "FAILED") return report;
      continue;
    }
    if (!opened.created && !sameDecision(trade, { channel: pick.code, amount: item.amount, agreementNo })) {
      // Another node opened this trade with its own decision: send nothing, the recorded trade is theirs (or the sweep's).
      alert(ports, "SPLIT_BRAIN", `Trade ${tradeNo} was opened elsewhere as ${trade.channel} ${trade.amount}; this node decided ${pick.code} ${item.amount} and sends nothing`, { tradeNo, recorded: { channel: trade.channel, amount: trade.amount }, decided: { channel: pick.code, amount: item.amount } });
      await unused();
      report.result = "IN_FLIGHT";
      return report;
    }
    const channel = ports.channel(trade.channel);
    if (!channel || !trade.agreementNo) {
      await unused();
      report.result = "IN_FLIGHT"; // the recorded channel is not served here: the stale INIT is failed by the sweep
      return report;
    }
    const sent = await claimSendRecord(
      trade,
      () => channel.debit({ tradeNo: trade.tradeNo, agreementNo: trade.agreementNo as string, amount: trade.amount, expiresAt: trade.expiresAt ?? expiryFor(ports, timings), memo: `plan ${item.planId}` }),
      settings,
      ports,
    );
    if (!sent) {
      await unused(); // another caller won the claim and sends it
      report.result = "IN_FLIGHT";
      return report;
    }
    report.sent++;
    if (sent.outcome?.status === "UNAVAILABLE") await unused(); // provably never reached the bank
    if (sent.state === "SUCCESS") {
      await finishSteps(sent.trade, ports);
      report.result = "SUCCEEDED";
      return report;
    }
    if (sent.state !== "FAILED") {
      report.result = "UNKNOWN";
      return report;
    }
    report.result = "FAILED";
    if (sent.trade.failure?.side === "BORROWER" || !sent.outcome || nextStep(sent.outcome) !== "TRY_NEXT_CHANNEL") return report;
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
  lateSuccesses: number;
  stepsFinished: number;
  /** Steps that failed this time (they stay pending for the next sweep). */
  stepErrors: number;
  /** Trades whose repair failed this time (a store or channel error): the others went on; they are tried next sweep. */
  errors: number;
  /** The first few of them (trade number: message), for the log. */
  errorMessages: string[];
  payoutsCommitted: number;
  payoutsReleased: number;
}

/** What a compensating query's answer means for the trade: settle it, or change nothing and ask later. */
export type QueryVerdict =
  | { settle: "SUCCESS" | "FAILED"; channelRef?: string; failure?: { reason: string; side?: "BORROWER" | "CHANNEL"; bankCode?: string; message?: string } }
  | { settle: null; why: string; mismatch?: boolean; notBefore?: number };

/**
 * The janitor's rule: only a definite answer that matches the trade settles it. NOT_FOUND is
 * definite only once the bank can no longer act on the request (its expiry plus the margin).
 * Not sent, time-out, outage, PROCESSING, a wrong trade number or amount: nothing changes.
 */
export function queryVerdict(answer: QueryOutcome, trade: Pick<TradeLike, "tradeNo" | "amount" | "expiresAt" | "createdAt">, nowMs: number, timings: FlowTimings): QueryVerdict {
  switch (answer.status) {
    case "SUCCESS":
      if (!money(answer.amount).eq(money(trade.amount))) return { settle: null, why: `the channel reports ${answer.amount} for a trade of ${trade.amount}`, mismatch: true };
      return { settle: "SUCCESS", channelRef: answer.channelRef };
    case "DECLINED":
      return { settle: "FAILED", channelRef: answer.channelRef, failure: { reason: answer.reason, side: answer.side, bankCode: answer.bankCode, message: answer.message } };
    case "NOT_FOUND": {
      const finalAt = notFoundFinalAt(trade, timings);
      if (nowMs < finalAt) return { settle: null, why: "not found yet, and the request may still reach the bank", notBefore: finalAt };
      return { settle: "FAILED", failure: { reason: "NOT_RECEIVED", side: "CHANNEL", message: "The channel has no record of this trade and its request has expired" } };
    }
    case "PROCESSING":
      return { settle: null, why: "the channel is still processing it" };
    case "UNKNOWN":
    case "UNAVAILABLE":
      return { settle: null, why: `no answer: ${answer.message}` };
  }
}

/**
 * The repair sweep for the trades of one partition: never sends, only asks and records, then
 * finishes every step an outcome left pending. `trades` are the partition's open trades (INIT,
 * SENDING, UNKNOWN) and its final trades with pending steps.
 */
export async function repairTrades(trades: readonly TradeLike[], settings: Pick<ChannelSettingsContent, "unknownQueryBackoffMinutes">, ports: FlowPorts, timings: FlowTimings = DEFAULT_TIMINGS): Promise<RepairReport> {
  const r: RepairReport = { examined: 0, failedStale: 0, settled: 0, stillUnknown: 0, flagged: 0, applied: 0, lateSuccesses: 0, stepsFinished: 0, stepErrors: 0, errors: 0, errorMessages: [], payoutsCommitted: 0, payoutsReleased: 0 };
  const nowMs = ports.nowMs();
  for (const trade of trades) {
    r.examined++;
    try {
      await repairOne(trade, settings, ports, timings, nowMs, r);
    } catch (err) {
      // One trade's failure (its channel's adapter threw, a write failed) never starves the others.
      r.errors++;
      if (r.errorMessages.length < 10) r.errorMessages.push(`${trade.tradeNo}: ${(err as Error)?.message ?? String(err)}`);
    }
  }
  return r;
}

async function repairOne(trade: TradeLike, settings: Pick<ChannelSettingsContent, "unknownQueryBackoffMinutes">, ports: FlowPorts, timings: FlowTimings, nowMs: number, r: RepairReport): Promise<void> {
  let t: TradeLike = trade;
  if (t.state === "INIT") {
    if (ageMs(t.createdAt, nowMs) <= timings.staleInitMs) return;
    const res = await ports.transition({ tradeNo: t.tradeNo, kind: t.kind, from: "INIT", to: "FAILED", failure: { reason: "STALE_INIT", side: "CHANNEL" }, note: "opened but never sent" });
    if (res.changed) r.failedStale++;
    t = res.trade;
  } else if (t.state === "SENDING" || t.state === "UNKNOWN") {
    if (t.needsReconciliation) return; // the statement decides
    const due = t.nextQueryAt ? Date.parse(t.nextQueryAt) <= nowMs : t.state === "UNKNOWN" || ageMs(t.sentAt ?? t.updatedAt, nowMs) > timings.sendingTimeoutMs;
    if (!due) return;
    const channel = ports.channel(t.channel);
    if (!channel) return;
    const answer = await channel.query(t.tradeNo);
    const verdict = queryVerdict(answer, t, nowMs, timings);
    if (verdict.settle) {
      const res = await recordAnswer(t, t.state, verdict.settle, { channelRef: verdict.channelRef, failure: verdict.failure, note: "compensating query" }, "QUERY", ports);
      if (res.changed) {
        r.settled++;
        if (res.trade.lateSuccess) r.lateSuccesses++;
        const ev = answer.status === "NOT_FOUND" ? null : breakerEventOf(answer as PaymentOutcome);
        if (ev) ports.record(t.channel, ev);
      }
      t = res.trade;
    } else {
      if (verdict.mismatch) alert(ports, "QUERY_MISMATCH", `Trade ${t.tradeNo}: ${verdict.why}; nothing changed`, { tradeNo: t.tradeNo, channel: t.channel, amount: t.amount });
      // No definite answer: back off (not before the expiry for a NOT_FOUND), then leave it to the statement and tell ops.
      const queries = t.queries + 1;
      const backoff = nextQueryAt(nowMs, queries, settings.unknownQueryBackoffMinutes);
      const at = verdict.notBefore !== undefined ? new Date(Math.max(verdict.notBefore + 1000, backoff ? Date.parse(backoff) : 0)).toISOString() : backoff;
      if (at) {
        await ports.noteQuery({ tradeNo: t.tradeNo, nextQueryAt: at });
        r.stillUnknown++;
      } else {
        await ports.noteQuery({ tradeNo: t.tradeNo, needsReconciliation: true });
        alert(ports, "NEEDS_RECONCILIATION", `Trade ${t.tradeNo} has no definite answer after ${queries} queries (${verdict.why}): reconciliation decides`, { tradeNo: t.tradeNo, channel: t.channel, amount: t.amount });
        r.flagged++;
      }
      return;
    }
  }
  const done = await finishSteps(t, ports);
  r.stepsFinished += done.length;
  if (done.error) r.stepErrors++;
  if (done.includes("APPLY")) r.applied++;
  if (done.includes("COMMIT") || done.includes("LATE_COMMIT")) r.payoutsCommitted++;
  if (done.includes("RELEASE")) r.payoutsReleased++;
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
 * trade), send what the trade records, then commit or release (pending steps). A channel-side
 * failure moves to the next channel.
 */
export async function payout(req: PayoutRequestInput, settings: ChannelSettingsContent, ports: FlowPorts, timings: FlowTimings = DEFAULT_TIMINGS): Promise<{ result: PayoutResult; trades: string[]; rejected?: RouteDecision["rejected"] }> {
  const trades: string[] = [];
  const probing: string[] = [];
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
      exclude: [...existing.map((t) => t.channel), ...probing],
      position,
      unknownRatePrior: settings.successRate?.unknownPrior,
    });
    const pick = decision.candidates.find((c) => ports.channel(c.code)?.capabilities.includes("PAYOUT"));
    if (!pick) return { result: existing.length ? "FAILED" : "NO_CHANNEL", trades: existing.map((t) => t.tradeNo), rejected: decision.rejected };
    if (!(await mayProbe(ports, pick.code))) {
      probing.push(pick.code);
      continue;
    }
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
        expiresAt: expiryFor(ports, timings),
      });
    } catch (err: any) {
      if (err?.type === "TRADE_IN_FLIGHT" || err?.code === "TRADE_IN_FLIGHT") return { result: "IN_FLIGHT", trades };
      throw err;
    }
    trades.push(tradeNo);
    const trade = opened.trade;
    if (trade.state !== "INIT") continue;
    if (!opened.created && !sameDecision(trade, { channel: pick.code, amount: req.amount, beneficiary: req.beneficiary })) {
      alert(ports, "SPLIT_BRAIN", `Payout trade ${tradeNo} was opened elsewhere as ${trade.channel} ${trade.amount}; this node sends nothing`, { tradeNo, recorded: { channel: trade.channel, amount: trade.amount }, decided: { channel: pick.code, amount: req.amount } });
      return { result: "IN_FLIGHT", trades };
    }
    const channel = ports.channel(trade.channel);
    if (!channel || !trade.beneficiary) return { result: "IN_FLIGHT", trades };
    const move = { channel: trade.channel, tradeNo, amount: trade.amount };
    // Only the caller that claimed the trade reserves, after the claim and before sending: a slow
    // caller can never reserve for a trade that already moved on (and so never commit twice).
    const reserve = async () => {
      try {
        await ports.reserve?.(move);
        return null;
      } catch (err: any) {
        if (err?.type === "POSITION_INSUFFICIENT" || err?.code === "POSITION_INSUFFICIENT") return { reason: "POSITION_INSUFFICIENT", side: "CHANNEL" as const };
        throw err;
      }
    };
    const beneficiary = trade.beneficiary;
    const sent = await claimSendRecord(
      trade,
      () => channel.payout({ tradeNo, accountNo: beneficiary.accountNo, accountName: beneficiary.accountName, amount: trade.amount, expiresAt: trade.expiresAt ?? expiryFor(ports, timings), memo: trade.purpose }),
      settings,
      ports,
      reserve,
    );
    if (!sent) return { result: "IN_FLIGHT", trades };
    if (sent.state !== "SUCCESS" && sent.state !== "FAILED") return { result: "UNKNOWN", trades };
    await finishSteps(sent.trade, ports);
    if (sent.state === "SUCCESS") return { result: "SUCCEEDED", trades };
    if (sent.outcome && nextStep(sent.outcome) !== "TRY_NEXT_CHANNEL") return { result: "FAILED", trades };
  }
  return { result: "FAILED", trades };
}
