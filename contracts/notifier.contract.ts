/**
 * notifier (短信节点): the message log, reminder scan runs, and the simulated provider's outbox.
 */
import type { ValidationSchema } from "fastest-validator";
import { optionalDateRule, optionalIdRule, pageRules, type PageParams } from "./common";
import { REMINDER_TRIGGERS, type ReminderTrigger } from "../domain/reminders";

export const MESSAGE_STATUSES = ["SCHEDULED", "SENDING", "SENT", "FAILED", "SUPPRESSED"] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** Why a message is not (yet) sent, or why it failed. */
export const MESSAGE_REASONS = ["QUIET_HOURS", "PAID", "CAP", "NO_CONTACT", "PLAN_CLOSED", "PROVIDER_ERROR", "RETRY"] as const;
export type MessageReason = (typeof MESSAGE_REASONS)[number];

/** One message: `_id` is the dedupe key (unique), so a replayed scan or event creates nothing. */
export interface Message {
  _id: string;
  planId: string;
  orderId: string;
  customerId: string;
  partition: number;
  period: number;
  trigger: ReminderTrigger;
  ruleId: string | null;
  ruleVersion: number | null;
  ruleIndex: number;
  /** The business date the message is for (a deferred message keeps its date). */
  date: string;
  /** The trade a DEBIT_SUCCESS / DEBIT_FAILURE message is about. */
  tradeNo?: string;
  eventId?: string;
  text: string;
  channel: string;
  /** Masked mobile (set once contacted); the full number is never stored. */
  toMasked: string | null;
  status: MessageStatus;
  reason: MessageReason | null;
  /** Not before this instant (quiet hours); ISO. */
  scheduledFor: string;
  /** The rule's quiet hours and cap when the message was made. */
  quietHours: { start: string; end: string } | null;
  maxPerDay: number | null;
  sentAt: string | null;
  /** Business date it was sent on (the cap counts by it). */
  sentDate: string | null;
  provider: string | null;
  providerRef: string | null;
  attempts: number;
  error: string | null;
  /** Real-time ms until which a SENDING claim holds (a crashed sender's claim expires). */
  leaseUntil?: number;
  createdAt: string;
  updatedAt: string;
}

export type MessageView = Omit<Message, "_id" | "leaseUntil"> & { messageId: string };

export interface ListMessagesParams extends PageParams {
  planId?: string;
  customerId?: string;
  status?: MessageStatus;
  trigger?: ReminderTrigger;
  date?: string;
}
export const listMessagesParams = {
  $$strict: true,
  ...pageRules,
  planId: optionalIdRule,
  customerId: optionalIdRule,
  status: { type: "enum", values: [...MESSAGE_STATUSES], optional: true },
  trigger: { type: "enum", values: [...REMINDER_TRIGGERS], optional: true },
  date: optionalDateRule,
} satisfies ValidationSchema<ListMessagesParams>;

export interface GetMessageParams {
  id: string;
}
export const getMessageParams = { $$strict: true, id: { type: "string", pattern: "^[A-Za-z0-9_.:-]{1,200}$" } } satisfies ValidationSchema<GetMessageParams>;

export interface MessageStatsParams {
  date?: string;
}
export const messageStatsParams = { $$strict: true, date: optionalDateRule } satisfies ValidationSchema<MessageStatsParams>;

export interface ReminderRunParams {
  partitions?: number[];
}
export const reminderRunParams = {
  $$strict: true,
  partitions: { type: "array", optional: true, min: 1, max: 4096, items: { type: "number", integer: true, min: 0, max: 4095 } },
} satisfies ValidationSchema<ReminderRunParams>;

/** The simulated provider's outbox (mesh only: tests and demos). */
export interface SimSentParams {
  since?: number;
}
export const simSentParams = { $$strict: true, since: { type: "number", integer: true, min: 0, optional: true } } satisfies ValidationSchema<SimSentParams>;

/** trade.succeeded / trade.failed data the notifier reads (the ledger's trade view). */
export interface TradeEventData {
  tradeNo: string;
  kind: string;
  planId?: string;
  amount?: string;
  periods?: number[];
  partition?: number;
  failure?: { code?: string; message?: string } | null;
}

/** installment.paid data. */
export interface InstallmentPaidData {
  planId: string;
  period: number;
}
