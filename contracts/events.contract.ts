/**
 * Upstream messages: what the outbox records with a change and what consumers of the durable
 * channel receive. The event id is the dedupe key (at-least-once delivery).
 */

/** The channel every outbox event is sent to (@moleculer/channels; each consuming service its own group). */
export const EVENTS_CHANNEL = "repaymesh.events";

/** An event recorded in a document together with the change it describes. */
export interface OutboxEntry {
  id: string;
  type: string;
  /** The aggregate it is about (planId, tradeNo, orderId…). */
  key: string;
  /** Business time of the change. */
  occurredAt: string;
  data: Record<string, unknown>;
}

/** What consumers receive. */
export interface EventEnvelope<T = Record<string, unknown>> {
  id: string;
  type: string;
  /** The service that recorded it. */
  source: string;
  key: string;
  occurredAt: string;
  data: T;
}

/** Every event type published through the outbox (webhook subscriptions choose among them). */
export const EVENT_TYPES = [
  "order.synced",
  "plan.generated",
  "binding.signed",
  "binding.unbound",
  "trade.succeeded",
  "trade.failed",
  "trade.unknown",
  "trade.needs_reconciliation",
  "installment.paid",
  "installment.overdue",
  "plan.settled",
  "plan.overpaid",
  "plan.paused",
  "plan.resumed",
  "plan.rescheduled",
  "plan.transferred",
  "reconciliation.completed",
  "reconciliation.discrepancy",
  "reconciliation.trade_settled",
  // One per alert kind (domain/alerts.ts: `alert.` + the kind in lower case), then the resolve.
  "alert.low_position",
  "alert.needs_reconciliation",
  "alert.uncollectable",
  "alert.held_remittance",
  "alert.reconciliation_unresolved",
  "alert.dead_letter",
  "alert.breaker_opened",
  "alert.webhook_failed",
  "alert.late_success",
  "alert.outcome_mismatch",
  "alert.query_mismatch",
  "alert.overpayment",
  "alert.split_brain",
  "alert.resolved",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
