/**
 * The ledger's rules for trades, flows and positions, over the store port (domain/store.ts): the
 * ledger service runs them on its collections, the fault simulation on in-memory ones.
 *
 *   - a trade's number is its _id (unique) and what the channel sees; opening it again returns the
 *     first (idempotent); `openKey` (unique, sparse) is held while the trade is open, so a second
 *     open trade for the same plan or payout is refused with TRADE_IN_FLIGHT;
 *   - every transition is a compare-and-set on the current state that reports what it matched;
 *   - the steps after an outcome (the flow, the repayment applied, the position committed or
 *     released) are written as `pending` in the SAME compare-and-set that records the outcome; each
 *     step is finished idempotently and then pulled, so a crash anywhere leaves a step the sweep
 *     finishes (never one that is lost);
 *   - a SUCCESS that arrives after the trade was failed is recorded as an audited late success
 *     (FAILED → SUCCESS, the only move out of a final state) with its own pending steps;
 *   - position reservations are kept per trade number (reserve/commit/release are replayable), and
 *     a reservation whose trade is final is finished by `sweepReservations`;
 *   - a position's moves (payouts, top-ups, withdrawals) are its audit: kept whole in their own
 *     collection, the last POSITION_HISTORY_KEEP in the position (domain/history.ts), so a channel's
 *     document never grows with its payouts.
 *
 * A trade's `history` (its transitions) is not capped: the state machine bounds it. Every entry is a
 * compare-and-set from the state it leaves, and the longest path is INIT → SENDING → UNKNOWN → FAILED
 * → SUCCESS (a late success), so a trade holds at most five entries (MAX_TRADE_HISTORY).
 */
import type { Flow, OpenTradeParams, Position, Trade, TransitionParams } from "../contracts/ledger.contract";
import { DomainError } from "./errors";
import { AuditHistory, type HistoryRecord } from "./history";
import { AMOUNT_PATTERN, fmt, money, ZERO } from "./money";
import type { Store } from "./store";
import { assertTransition, isFinal, type TradeState } from "./trade-state";
import type { TakeTurn } from "./turns";

/** What is left to do after a trade's outcome. LATE_COMMIT: a late payout success (its reservation committed if still held, else the amount taken once). */
export type PendingStep = "FLOW" | "APPLY" | "COMMIT" | "RELEASE" | "LATE_COMMIT";

/** The steps an outcome leaves to finish. */
export function stepsAfter(kind: Trade["kind"], to: TradeState): PendingStep[] {
  if (to === "SUCCESS") return kind === "DEBIT" ? ["FLOW", "APPLY"] : ["FLOW", "COMMIT"];
  if (to === "FAILED" && kind === "PAYOUT") return ["RELEASE"];
  return [];
}

export function kindOfTradeNo(tradeNo: string): Trade["kind"] | undefined {
  if (/^D[-:]/.test(tradeNo)) return "DEBIT";
  if (/^P[-:]/.test(tradeNo)) return "PAYOUT";
  return undefined;
}

/** Moves a position document keeps (the console shows them); the whole history is in `positionMoves`. */
export const POSITION_HISTORY_KEEP = 20;
/** The most entries a trade's history can hold (see the header): one per state on the longest path, INIT included. */
export const MAX_TRADE_HISTORY = 5;

const EVENT_OF: Partial<Record<TradeState, string>> = { SUCCESS: "trade.succeeded", FAILED: "trade.failed", UNKNOWN: "trade.unknown" };

export interface LedgerPorts {
  trades: Store<Trade>;
  flows: Store<Flow>;
  positions: Store<Position>;
  /** Every move of every position (its audit), keyed `<channel>:<seq>`. */
  positionMoves: Store<HistoryRecord>;
  iso(): string;
  today(): string;
  /** The outbox entry for an event on a trade, written in the same compare-and-set as the change. */
  outboxEntry?(type: string, key: string, data: Record<string, unknown>): unknown;
  /** Tell the relay a document holds new outbox entries (it would find them on its sweep anyway). */
  outboxWritten?(collection: string, id: string, doc: unknown): void;
  lowPosition?(pos: Position, available: string): void;
  warn?(message: string): void;
  /**
   * This process's changes of one position, one at a time (domain/turns.ts): each reads what the
   * previous one wrote instead of all racing for one version. Safety is the compare-and-set's; the
   * ledger service gives one, the fault simulation (its actors are the nodes) none.
   */
  turn?: TakeTurn;
}

export interface LateSuccessParams {
  tradeNo: string;
  channelRef?: string;
  /** Who brought the answer: the sender after a lost compare-and-set, a query, or the statement. */
  source: "SENDER" | "QUERY" | "STATEMENT";
  note?: string;
}

export class LedgerCore {
  private readonly moves: AuditHistory<Position>;

  constructor(private readonly p: LedgerPorts) {
    this.moves = new AuditHistory<Position>(p.positionMoves, { parentField: "channel", keep: POSITION_HISTORY_KEEP });
  }

  async open(params: OpenTradeParams & { expiresAt?: string }): Promise<{ trade: Trade; created: boolean }> {
    const now = this.p.iso();
    const trade: Trade = {
      _id: params.tradeNo,
      ...params,
      fee: params.fee ?? "0.00",
      state: "INIT",
      queries: 0,
      pending: [],
      history: [{ from: null, to: "INIT", at: now }],
      businessDate: this.p.today(),
      createdAt: now,
      updatedAt: now,
    };
    if (params.kind === "DEBIT") trade.applied = false;
    try {
      await this.p.trades.insert(trade);
      return { trade, created: true };
    } catch (err: any) {
      if (err?.code !== "DUPLICATE_KEY") throw err;
    }
    const existing = await this.p.trades.findById(params.tradeNo);
    if (existing) return { trade: existing, created: false };
    const holder = await this.p.trades.findOne({ openKey: params.openKey });
    throw new DomainError("TRADE_IN_FLIGHT", `Another trade for ${params.openKey} is still open`, {
      openKey: params.openKey,
      openTradeNo: holder?.tradeNo,
      openState: holder?.state,
    });
  }

  /** Compare-and-set from one state to the next; `changed: false` with the recorded trade when another writer was first. */
  async transition(params: TransitionParams & { kind?: Trade["kind"] }): Promise<{ trade: Trade; changed: boolean }> {
    assertTransition(params.from, params.to);
    const kind = params.kind ?? kindOfTradeNo(params.tradeNo) ?? (await this.mustFind(params.tradeNo)).kind;
    const now = this.p.iso();
    const set: Record<string, unknown> = { state: params.to, updatedAt: now };
    if (params.channelRef) set.channelRef = params.channelRef;
    if (params.failure) set.failure = params.failure;
    if (params.nextQueryAt) set.nextQueryAt = params.nextQueryAt;
    if (params.needsReconciliation !== undefined) set.needsReconciliation = params.needsReconciliation;
    if (params.to === "SENDING") set.sentAt = now;
    const push: Record<string, unknown> = { history: { from: params.from, to: params.to, at: now, ...(params.note ? { note: params.note } : {}) } };
    const event = EVENT_OF[params.to];
    if (event && this.p.outboxEntry) push.outbox = this.p.outboxEntry(event, params.tradeNo, { tradeNo: params.tradeNo, from: params.from, to: params.to, ...(params.note ? { note: params.note } : {}) });
    const update: Record<string, any> = { $set: set, $push: push };
    if (isFinal(params.to)) {
      set.completedAt = now;
      set.pending = stepsAfter(kind, params.to);
      update.$unset = { openKey: true, nextQueryAt: true };
    }
    if (params.countQuery) update.$inc = { queries: 1 };
    const updated = await this.p.trades.updateOne({ _id: params.tradeNo, state: params.from }, update);
    if (!updated) return { trade: await this.mustFind(params.tradeNo), changed: false };
    if (event) this.p.outboxWritten?.("trades", params.tradeNo, updated);
    return { trade: await this.flowFirst(updated), changed: true };
  }

  /**
   * A SUCCESS for a trade already FAILED (a late arrival the bank acted on after all): recorded once,
   * audited with the failure it replaces, with its flow, repayment or position steps pending.
   */
  async lateSuccess(params: LateSuccessParams, tries = 0): Promise<{ trade: Trade; changed: boolean }> {
    if (tries > 50) throw new DomainError("VERSION_CONFLICT", `Trade ${params.tradeNo} is too contended; try again`, { tradeNo: params.tradeNo });
    const t = await this.mustFind(params.tradeNo);
    if (t.state === "SUCCESS") return { trade: t, changed: false };
    if (t.state !== "FAILED") throw new DomainError("ILLEGAL_TRANSITION", `Trade ${t.tradeNo} is ${t.state}, not FAILED: record its outcome by a transition`, { from: t.state, to: "SUCCESS" });
    const now = this.p.iso();
    // A payout's failure may be releasing its reservation right now: LATE_COMMIT takes the amount
    // once whichever comes first (commitLate), so the pending RELEASE can simply be replaced.
    const steps: PendingStep[] = t.kind === "DEBIT" ? ["FLOW", "APPLY"] : ["FLOW", "LATE_COMMIT"];
    const note = `late success (${params.source})${params.note ? ": " + params.note : ""}`;
    const set: Record<string, unknown> = {
      state: "SUCCESS",
      updatedAt: now,
      completedAt: now,
      pending: steps,
      lateSuccess: { at: now, source: params.source, previousFailure: t.failure ?? null },
      ...(params.channelRef ? { channelRef: params.channelRef } : {}),
      ...(t.kind === "DEBIT" ? { applied: false } : {}),
    };
    const push: Record<string, unknown> = { history: { from: "FAILED", to: "SUCCESS", at: now, note } };
    if (this.p.outboxEntry) push.outbox = this.p.outboxEntry("trade.succeeded", t.tradeNo, { tradeNo: t.tradeNo, from: "FAILED", to: "SUCCESS", note, late: true });
    const updated = await this.p.trades.updateOne({ _id: t.tradeNo, state: "FAILED" }, { $set: set, $push: push });
    if (!updated) return this.lateSuccess(params, tries + 1);
    this.p.outboxWritten?.("trades", t.tradeNo, updated);
    this.p.warn?.(`Trade ${t.tradeNo} succeeded after it was recorded FAILED (${params.source}): recorded as a late success`);
    return { trade: await this.flowFirst(updated), changed: true };
  }

  /** A compensating query that brought no definite answer: when to ask next, or hand over to reconciliation. */
  async noteQuery(params: { tradeNo: string; nextQueryAt?: string; needsReconciliation?: boolean }): Promise<{ changed: boolean }> {
    const set: Record<string, unknown> = { updatedAt: this.p.iso() };
    if (params.nextQueryAt) set.nextQueryAt = params.nextQueryAt;
    if (params.needsReconciliation !== undefined) set.needsReconciliation = params.needsReconciliation;
    const update: Record<string, unknown> = { $set: set, $inc: { queries: 1 } };
    if (params.needsReconciliation && this.p.outboxEntry) update.$push = { outbox: this.p.outboxEntry("trade.needs_reconciliation", params.tradeNo, { tradeNo: params.tradeNo }) };
    const updated = await this.p.trades.updateOne({ _id: params.tradeNo, state: { $in: ["SENDING", "UNKNOWN"] } }, update);
    if (updated && params.needsReconciliation) this.p.outboxWritten?.("trades", params.tradeNo, updated);
    return { changed: !!updated };
  }

  /** A pending step is done: pull it (APPLY also sets `applied`). Replays change nothing. */
  async completeStep(tradeNo: string, step: PendingStep): Promise<{ changed: boolean }> {
    const update: Record<string, unknown> = { $pull: { pending: step } };
    if (step === "APPLY") update.$set = { applied: true };
    let updated = await this.p.trades.updateOne({ _id: tradeNo, pending: step }, update);
    if (!updated && step === "APPLY") {
      // Trades written before pending steps existed.
      updated = await this.p.trades.updateOne({ _id: tradeNo, state: "SUCCESS", applied: false, pending: { $exists: false } }, { $set: { applied: true } });
    }
    return { changed: !!updated };
  }

  /** Write the trade's flow (once: its id derives from the trade number) and pull FLOW. */
  async finishFlow(tradeNo: string): Promise<{ changed: boolean }> {
    const t = await this.mustFind(tradeNo);
    if (t.state !== "SUCCESS") return { changed: false };
    await this.writeFlow(t);
    return this.completeStep(tradeNo, "FLOW");
  }

  async writeFlow(trade: Trade): Promise<void> {
    const flow: Flow = {
      _id: "FL-" + trade.tradeNo,
      flowNo: "FL-" + trade.tradeNo,
      tradeNo: trade.tradeNo,
      kind: trade.kind,
      direction: trade.kind === "DEBIT" ? "IN" : "OUT",
      amount: trade.amount,
      fee: trade.fee,
      channel: trade.channel,
      ...(trade.planId ? { planId: trade.planId } : {}),
      ...(trade.funderId ? { funderId: trade.funderId } : {}),
      ...(trade.partition !== undefined ? { partition: trade.partition } : {}),
      ...(trade.payoutNo ? { payoutNo: trade.payoutNo } : {}),
      ...(trade.lateSuccess ? { late: true } : {}),
      businessDate: this.p.today(),
      createdAt: this.p.iso(),
    };
    try {
      await this.p.flows.insert(flow);
    } catch (err: any) {
      if (err?.code !== "DUPLICATE_KEY") throw err; // written before: one flow per trade
    }
  }

  // ------------------------------------------------------------------------------------------
  // Positions (头寸)

  async reserve(m: { channel: string; tradeNo: string; amount: string }): Promise<{ position: Position; changed: boolean }> {
    const res = await this.casPosition(m.channel, (pos) => {
      if (pos.reservations[m.tradeNo] !== undefined) return null;
      const reserved = money(pos.reserved).plus(money(m.amount));
      if (money(pos.balance).lt(reserved)) {
        throw new DomainError("POSITION_INSUFFICIENT", `Position ${m.channel} cannot cover ${m.amount}`, { channel: m.channel, available: fmt(money(pos.balance).minus(money(pos.reserved))) });
      }
      return { $set: { reserved: fmt(reserved), [`reservations.${m.tradeNo}`]: m.amount } };
    });
    // A sender paused after its claim may reserve after the sweep failed the trade: give it back at once (sweepReservations would).
    const t = await this.p.trades.findById(m.tradeNo);
    if (res.changed && t && isFinal(t.state)) await this.settleReservation(t);
    return res;
  }

  /** The payout went out: the reservation leaves the balance. Idempotent per trade. */
  commit(m: { channel: string; tradeNo: string }): Promise<{ position: Position; changed: boolean }> {
    return this.casPosition(m.channel, (pos) => {
      const held = pos.reservations[m.tradeNo];
      if (held === undefined) return null;
      const balance = money(pos.balance).minus(money(held));
      return {
        $set: { balance: fmt(balance), reserved: fmt(money(pos.reserved).minus(money(held))) },
        $unset: { [`reservations.${m.tradeNo}`]: true },
        $push: { history: { at: this.p.iso(), by: "payout", action: "PAYOUT", amount: held, balance: fmt(balance), tradeNo: m.tradeNo } },
      };
    });
  }

  /** The payout did not go out: the reservation is given back. Idempotent per trade. */
  release(m: { channel: string; tradeNo: string }): Promise<{ position: Position; changed: boolean }> {
    return this.casPosition(m.channel, (pos) => {
      const held = pos.reservations[m.tradeNo];
      if (held === undefined) return null;
      return { $set: { reserved: fmt(money(pos.reserved).minus(money(held))) }, $unset: { [`reservations.${m.tradeNo}`]: true } };
    });
  }

  /**
   * A late payout success: the amount leaves the balance once — its reservation if still held (a
   * release racing with the late success may have given it back, or not yet), else the amount.
   * Idempotent per trade (`lateCommits`).
   */
  commitLate(m: { channel: string; tradeNo: string; amount: string }): Promise<{ position: Position; changed: boolean }> {
    return this.casPosition(m.channel, (pos) => {
      if (pos.lateCommits?.[m.tradeNo] !== undefined) return null;
      const held = pos.reservations[m.tradeNo];
      const amount = held ?? m.amount;
      const balance = money(pos.balance).minus(money(amount));
      const update: Record<string, any> = {
        $set: { balance: fmt(balance), [`lateCommits.${m.tradeNo}`]: amount },
        $push: { history: { at: this.p.iso(), by: "payout", action: "LATE_PAYOUT", amount, balance: fmt(balance), tradeNo: m.tradeNo } },
      };
      if (held !== undefined) {
        update.$set.reserved = fmt(money(pos.reserved).minus(money(held)));
        update.$unset = { [`reservations.${m.tradeNo}`]: true };
      }
      return update;
    });
  }

  adjust(channel: string, p: { amount: string; direction: "TOP_UP" | "WITHDRAW"; reason: string; lowWatermark?: string; by: string }): Promise<{ position: Position; changed: boolean }> {
    return this.casPosition(channel, (pos) => {
      const amount = money(p.amount);
      const balance = p.direction === "TOP_UP" ? money(pos.balance).plus(amount) : money(pos.balance).minus(amount);
      if (balance.minus(money(pos.reserved)).lt(ZERO)) {
        throw new DomainError("POSITION_INSUFFICIENT", `Withdrawing ${p.amount} would leave ${channel} below its reservations`, { channel });
      }
      // A balance every later amount rule accepts (15 integer digits): past it every payout would fail on the position.
      if (!AMOUNT_PATTERN.test(fmt(balance))) {
        throw new DomainError("INVALID_AMOUNT", `Topping up ${p.amount} would take ${channel} past the largest balance a position holds (15 integer digits)`, { channel, field: "amount" });
      }
      return {
        $set: { balance: fmt(balance), ...(p.lowWatermark ? { lowWatermark: p.lowWatermark } : {}) },
        $push: { history: { at: this.p.iso(), by: p.by, action: p.direction, amount: p.amount, balance: fmt(balance), reason: p.reason } },
      };
    });
  }

  /** Every reservation whose trade is final is committed or released (a crash or a late reserve left it). */
  async sweepReservations(): Promise<{ committed: number; released: number }> {
    const out = { committed: 0, released: 0 };
    for (const pos of await this.p.positions.find({})) {
      for (const tradeNo of Object.keys(pos.reservations ?? {})) {
        const t = await this.p.trades.findById(tradeNo);
        if (!t || !isFinal(t.state)) continue;
        const done = await this.settleReservation(t);
        if (done === "COMMITTED") out.committed++;
        if (done === "RELEASED") out.released++;
      }
    }
    return out;
  }

  /**
   * Only the caller that claimed a payout reserves, once, before sending (domain/debit-flow.ts), so a
   * trade has at most one reservation ever: committing it on SUCCESS and releasing it on FAILED is
   * right whenever it is found.
   */
  private async settleReservation(t: Trade): Promise<"COMMITTED" | "RELEASED" | null> {
    const move = { channel: t.channel, tradeNo: t.tradeNo };
    if (t.state === "SUCCESS" && t.lateSuccess) {
      const { changed } = await this.commitLate({ ...move, amount: t.amount });
      await this.completeStep(t.tradeNo, "LATE_COMMIT");
      return changed ? "COMMITTED" : null;
    }
    if (t.state === "SUCCESS") {
      const { changed } = await this.commit(move);
      await this.completeStep(t.tradeNo, "COMMIT");
      return changed ? "COMMITTED" : null;
    }
    const { changed } = await this.release(move);
    await this.completeStep(t.tradeNo, "RELEASE");
    return changed ? "RELEASED" : null;
  }

  async loadPosition(channel: string): Promise<Position> {
    let pos = await this.p.positions.findById(channel);
    if (!pos) {
      const fresh: Position = { _id: channel, channel, balance: "0.00", reserved: "0.00", reservations: {}, lowWatermark: "0.00", version: 0, history: [], historyCopied: 0, updatedAt: this.p.iso() };
      try {
        pos = await this.p.positions.insert(fresh);
      } catch (err: any) {
        if (err?.code !== "DUPLICATE_KEY") throw err;
        pos = await this.p.positions.findById(channel);
      }
    }
    return pos as Position;
  }

  /**
   * Change a position by compare-and-set on its version, retrying on a concurrent change.
   * `change` returns the update, or null when there is nothing to do (an idempotent replay); a move
   * it records as `$push: { history: entry }` is numbered and kept as domain/history.ts says.
   */
  async casPosition(channel: string, change: (pos: Position) => Record<string, any> | null): Promise<{ position: Position; changed: boolean }> {
    return this.p.turn ? this.p.turn(channel, () => this.casPositionNow(channel, change)) : this.casPositionNow(channel, change);
  }

  private async casPositionNow(channel: string, change: (pos: Position) => Record<string, any> | null): Promise<{ position: Position; changed: boolean }> {
    for (let i = 0; i < 50; i++) {
      const pos = await this.loadPosition(channel);
      const update = change(pos);
      if (!update) return { position: pos, changed: false };
      const seq = pos.version + 1;
      const entry = update.$push?.history;
      if (entry) {
        const audit = await this.moves.prepare(pos, entry, seq);
        update.$push = { ...update.$push, ...audit.push };
        update.$set = { ...(update.$set ?? {}), ...audit.set };
      }
      update.$set = { ...(update.$set ?? {}), version: seq, updatedAt: this.p.iso() };
      const saved = await this.p.positions.updateOne({ _id: channel, version: pos.version }, update);
      if (saved) {
        if (entry) {
          // The move is in the position already; its copy is finished by the next write or read if this fails.
          await this.moves.written(saved, seq).catch((err: Error) => this.p.warn?.(`Move ${seq} of position ${channel} not copied yet: ${err.message}`));
        }
        const available = money(saved.balance).minus(money(saved.reserved));
        if (money(saved.lowWatermark).gt(ZERO) && available.lt(money(saved.lowWatermark))) this.p.lowPosition?.(saved, fmt(available));
        return { position: saved, changed: true };
      }
    }
    throw new DomainError("VERSION_CONFLICT", `Position ${channel} is too contended; try again`, { channel });
  }

  /** A position's moves, newest first (complete: what the position holds is copied first). */
  async positionHistory(channel: string, page: { skip?: number; limit?: number } = {}): Promise<{ rows: HistoryRecord[]; total: number }> {
    const pos = await this.p.positions.findById(channel);
    if (!pos) throw new DomainError("NOT_FOUND", `No position for channel ${channel}`, { channel });
    return this.moves.list(pos, page);
  }

  /** Copy the moves positions hold that are not in their history yet (positions from before it; a copy a crash left undone). */
  async backfillPositionHistory(): Promise<number> {
    return this.moves.backfill(await this.p.positions.find({}));
  }

  private async mustFind(tradeNo: string): Promise<Trade> {
    const t = await this.p.trades.findById(tradeNo);
    if (!t) throw new DomainError("NOT_FOUND", `Trade ${tradeNo} not found`, { tradeNo });
    return t;
  }

  /** Write the flow right after the outcome (best effort: it stays pending for the sweep if this fails). */
  private async flowFirst(trade: Trade): Promise<Trade> {
    if (!(trade.pending ?? []).includes("FLOW")) return trade;
    try {
      await this.writeFlow(trade);
      await this.completeStep(trade.tradeNo, "FLOW");
      return { ...trade, pending: (trade.pending ?? []).filter((s) => s !== "FLOW") };
    } catch (err) {
      this.p.warn?.(`Flow of ${trade.tradeNo} not written yet (the sweep finishes it): ${(err as Error).message}`);
      return trade;
    }
  }
}

