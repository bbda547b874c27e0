/**
 * The trade state machine (交易状态机) of debit (代扣) and payout (代付) orders, as Kill Bill keeps
 * its payment transactions: a transition table, and every move checked against it.
 *
 *   INIT ──► SENDING ──► SUCCESS
 *     │         │  └───► FAILED   (declined; or UNAVAILABLE: the channel provably never took it)
 *     │         └──────► UNKNOWN ──► SUCCESS | FAILED   (only on a definite answer: query or statement)
 *     └──► FAILED   (rejected before sending, e.g. no eligible channel)
 *
 * SUCCESS and FAILED are final. There are no self-transitions: a query that answers "still
 * unknown" changes nothing and must not be written as UNKNOWN → UNKNOWN. The ledger applies each
 * transition as a compare-and-set on the current state, so a second writer loses instead of
 * overwriting (DESIGN.md "Partitions and safety").
 */
import { DomainError } from "./errors";

export const TRADE_STATES = ["INIT", "SENDING", "SUCCESS", "FAILED", "UNKNOWN"] as const;
export type TradeState = (typeof TRADE_STATES)[number];

/** Allowed moves: from → the states it may go to. */
export const TRADE_TRANSITIONS: Readonly<Record<TradeState, readonly TradeState[]>> = Object.freeze({
  INIT: Object.freeze(["SENDING", "FAILED"] as TradeState[]),
  SENDING: Object.freeze(["SUCCESS", "FAILED", "UNKNOWN"] as TradeState[]),
  UNKNOWN: Object.freeze(["SUCCESS", "FAILED"] as TradeState[]),
  SUCCESS: Object.freeze([] as TradeState[]),
  FAILED: Object.freeze([] as TradeState[]),
});

export function isTradeState(x: unknown): x is TradeState {
  return typeof x === "string" && (TRADE_STATES as readonly string[]).includes(x);
}

/** True when the table allows from → to. Unknown state names are never allowed. */
export function canTransition(from: TradeState, to: TradeState): boolean {
  return isTradeState(from) && isTradeState(to) && TRADE_TRANSITIONS[from].includes(to);
}

/** Throws DomainError ILLEGAL_TRANSITION with data { from, to } unless the table allows it. */
export function assertTransition(from: TradeState, to: TradeState): void {
  if (!canTransition(from, to)) {
    throw new DomainError("ILLEGAL_TRANSITION", `A trade cannot go from ${String(from)} to ${String(to)}`, { from, to });
  }
}

/** SUCCESS or FAILED: nothing more will happen to this trade. */
export function isFinal(state: TradeState): boolean {
  return state === "SUCCESS" || state === "FAILED";
}

/**
 * SENDING or UNKNOWN: an earlier trade for this installment is still in flight and money may have
 * moved; never send another one until it is settled by a query or the statement.
 *
 * Note on INIT: an INIT trade has not been handed to a channel yet, so it is not "in flight". But a
 * paused node may still move it INIT → SENDING later; before sending a new trade for the same
 * installment, a sweep must first fail the stale INIT trade (compare-and-set INIT → FAILED), which
 * makes the paused node's own INIT → SENDING lose. `blocksNewTrade` is that stricter check.
 */
export function isOpen(state: TradeState): boolean {
  return state === "SENDING" || state === "UNKNOWN";
}

/** Any non-final trade (INIT, SENDING, UNKNOWN) stands in the way of a new trade for the same installment. */
export function blocksNewTrade(state: TradeState): boolean {
  return !isFinal(state);
}
