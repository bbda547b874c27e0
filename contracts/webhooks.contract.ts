/** webhooks: subscriptions of external endpoints to outbox events, and the signed deliveries to them. */
import type { ValidationSchema } from "fastest-validator";
import { EVENT_TYPES, type EventEnvelope } from "./events.contract";
import { DELIVERY_STATUSES, MAX_URL_LENGTH, MIN_SECRET_LENGTH, PING_TYPE, type DeliveryStatus } from "../domain/webhooks";
import { idRule, optionalIdRule, pageRules, type PageParams } from "./common";

/** What a subscription may ask for: outbox event types, or "*" (every type). */
export const SUBSCRIBABLE_TYPES = [...EVENT_TYPES, "*"] as const;

const urlRule = {
  type: "string",
  max: MAX_URL_LENGTH,
  trim: true,
  pattern: "^[Hh][Tt][Tt][Pp][Ss]?://",
  messages: { stringPattern: "'{field}' must be an http:// or https:// URL" },
} as const;
const eventTypesRule = {
  type: "array",
  min: 1,
  max: SUBSCRIBABLE_TYPES.length,
  unique: true,
  items: { type: "enum", values: [...SUBSCRIBABLE_TYPES] },
} as const;
const descriptionRule = { type: "string", max: 200, trim: true, optional: true } as const;
const secretRule = { type: "string", min: MIN_SECRET_LENGTH, max: 256, optional: true, messages: { stringMin: `'{field}' must be at least ${MIN_SECRET_LENGTH} characters` } } as const;

export interface CreateWebhookParams {
  url: string;
  eventTypes: string[];
  /** At least 16 characters; generated when absent. Shown in the answer once, never again. */
  secret?: string;
  description?: string;
}
export const createWebhookParams = {
  $$strict: true,
  url: urlRule,
  eventTypes: eventTypesRule,
  secret: secretRule,
  description: descriptionRule,
} satisfies ValidationSchema<CreateWebhookParams>;

export interface WebhookIdParams {
  id: string;
}
export const webhookIdParams = { $$strict: true, id: idRule } satisfies ValidationSchema<WebhookIdParams>;

export interface UpdateWebhookParams {
  id: string;
  url?: string;
  eventTypes?: string[];
  enabled?: boolean;
  description?: string;
}
export const updateWebhookParams = {
  $$strict: true,
  id: idRule,
  url: { ...urlRule, optional: true },
  eventTypes: { ...eventTypesRule, optional: true },
  enabled: { type: "boolean", optional: true },
  description: descriptionRule,
} satisfies ValidationSchema<UpdateWebhookParams>;

export interface RotateSecretParams {
  id: string;
  /** The new secret (at least 16 characters); generated when absent. */
  secret?: string;
}
export const rotateSecretParams = { $$strict: true, id: idRule, secret: secretRule } satisfies ValidationSchema<RotateSecretParams>;

export interface ListWebhooksParams extends PageParams {
  enabled?: boolean;
  /** Deleted subscriptions are hidden unless asked for. */
  includeDeleted?: boolean;
}
export const listWebhooksParams = {
  $$strict: true,
  ...pageRules,
  enabled: { type: "boolean", optional: true, convert: true },
  includeDeleted: { type: "boolean", optional: true, convert: true },
} satisfies ValidationSchema<ListWebhooksParams>;

export interface ListDeliveriesParams extends PageParams {
  subscriptionId?: string;
  status?: DeliveryStatus;
  type?: string;
  eventId?: string;
}
export const listDeliveriesParams = {
  $$strict: true,
  ...pageRules,
  subscriptionId: optionalIdRule,
  status: { type: "enum", values: [...DELIVERY_STATUSES], optional: true },
  type: { type: "enum", values: [...EVENT_TYPES, PING_TYPE], optional: true },
  eventId: optionalIdRule,
} satisfies ValidationSchema<ListDeliveriesParams>;

/** A delivery id is `<subscriptionId>:<eventId>`. */
export interface DeliveryIdParams {
  id: string;
}
export const deliveryIdParams = {
  $$strict: true,
  id: { type: "string", pattern: "^[A-Za-z0-9_.-]{1,64}:[A-Za-z0-9_.-]{1,64}$", messages: { stringPattern: "'{field}' must be a delivery id <subscriptionId>:<eventId>" } },
} satisfies ValidationSchema<DeliveryIdParams>;

export interface RedeliverParams {
  id: string;
  /** Why (kept in the delivery's log). */
  reason?: string;
}
export const redeliverParams = { ...deliveryIdParams, reason: { type: "string", max: 200, trim: true, optional: true } } satisfies ValidationSchema<RedeliverParams>;

/** A subscription as stored; the secret only encrypted (data key, AES-256-GCM). */
export interface WebhookSubscription {
  _id: string;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  deleted: boolean;
  description?: string;
  secretEnc: string;
  secretRotatedAt: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
  deletedAt?: string;
  history: WebhookHistoryEntry[];
  version: number;
}

export interface WebhookHistoryEntry {
  at: string;
  by: string;
  action: "CREATED" | "UPDATED" | "DELETED" | "SECRET_ROTATED";
  fields?: string[];
}

/** A subscription as answered: never the secret, except `secret` once at creation and rotation. */
export interface WebhookView {
  id: string;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  deleted: boolean;
  description?: string;
  secretRotatedAt: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
  deletedAt?: string;
  history: WebhookHistoryEntry[];
  version: number;
  secret?: string;
}

/** One line of a delivery's log: an attempt (its answer) or a manual redelivery (who asked). */
export interface DeliveryLogEntry {
  kind: "ATTEMPT" | "REDELIVER" | "CANCELLED";
  at: string;
  attempt?: number;
  httpStatus?: number;
  ms?: number;
  error?: string;
  /** The endpoint's answer, cut to 500 characters. */
  response?: string;
  nodeID?: string;
  by?: string;
  reason?: string;
}

/** One event for one subscription (unique: a replayed event finds it and adds nothing). */
export interface WebhookDelivery {
  _id: string;
  subscriptionId: string;
  eventId: string;
  type: string;
  envelope: EventEnvelope;
  status: DeliveryStatus;
  /** Attempts made in all. */
  attempts: number;
  /** Attempts at the start of the current retry cycle (0; the attempts so far at a redelivery). */
  cycleStart: number;
  nextAttemptAt: string;
  /** While SENDING: the claim runs out then (a node that died mid-send leaves it claimable again). */
  claimedUntil?: string;
  claimedBy?: string;
  /**
   * When the worker must look at it next: nextAttemptAt while PENDING or RETRYING, claimedUntil while
   * SENDING, absent once it has ended. The worker's one query (a range on a sparse index, on both
   * stores), so deliveries that ended are never read again.
   */
  dueAt?: string;
  lastStatus?: number;
  lastError?: string;
  log: DeliveryLogEntry[];
  createdAt: string;
  updatedAt: string;
  succeededAt?: string;
  failedAt?: string;
  version: number;
}

export type DeliveryView = Omit<WebhookDelivery, "_id" | "dueAt"> & { id: string };
