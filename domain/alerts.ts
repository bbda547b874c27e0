/**
 * Alerts ops can act on: what the system detects (a low position, a trade only reconciliation can
 * decide, an installment no channel can collect, a remittance held, a stale discrepancy, a dead
 * letter, a breaker opened…) kept as one record per subject, with its state and who handled it.
 *
 * Raising is level-triggered and idempotent: the detectors raise again whenever they see the
 * condition (a sweep, a run, a repeated query), and a raise of a subject that is already OPEN or
 * ACKNOWLEDGED only counts the occurrence. A raise after RESOLVED reopens the same record (its
 * history keeps both). Pure logic; the alerts service stores the records.
 */
import crypto from "node:crypto";

export const ALERT_KINDS = [
  "LOW_POSITION",
  "NEEDS_RECONCILIATION",
  "UNCOLLECTABLE",
  "HELD_REMITTANCE",
  "RECONCILIATION_UNRESOLVED",
  "DEAD_LETTER",
  "BREAKER_OPENED",
  "WEBHOOK_FAILED",
  "LATE_SUCCESS",
  "OUTCOME_MISMATCH",
  "QUERY_MISMATCH",
  "OVERPAYMENT",
  "SPLIT_BRAIN",
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const ALERT_STATUSES = ["OPEN", "ACKNOWLEDGED", "RESOLVED"] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** What each kind is about: the data field(s) naming its subject (one record per subject). */
const SUBJECT_FIELDS: Record<AlertKind, string[]> = {
  LOW_POSITION: ["channel"],
  NEEDS_RECONCILIATION: ["tradeNo"],
  UNCOLLECTABLE: ["planId", "period"],
  HELD_REMITTANCE: ["remittanceId"],
  RECONCILIATION_UNRESOLVED: ["channel"],
  DEAD_LETTER: ["messageId"],
  BREAKER_OPENED: ["channel"],
  WEBHOOK_FAILED: ["deliveryId"],
  LATE_SUCCESS: ["tradeNo"],
  OUTCOME_MISMATCH: ["tradeNo"],
  QUERY_MISMATCH: ["tradeNo"],
  OVERPAYMENT: ["tradeNo"],
  SPLIT_BRAIN: ["tradeNo"],
};

/** The most history entries an alert keeps (raises after the first are counted, not listed). */
export const MAX_ALERT_HISTORY = 50;

export interface AlertHistoryEntry {
  at: string;
  action: "RAISED" | "REOPENED" | "ACKNOWLEDGED" | "RESOLVED";
  by: string;
  note?: string;
}

export interface Alert {
  _id: string;
  kind: AlertKind;
  /** What it is about, e.g. `BANK_A`, a trade number, `PL…:3`. */
  subject: string;
  status: AlertStatus;
  message: string;
  /** The detector's latest data (no card or ID numbers: detectors send references only). */
  data: Record<string, unknown>;
  /** Raises seen since it was first raised (repeats of an OPEN or ACKNOWLEDGED alert). */
  count: number;
  firstAt: string;
  lastAt: string;
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  resolvedBy?: string;
  resolvedAt?: string;
  history: AlertHistoryEntry[];
  version: number;
}

export interface RaiseInput {
  kind: AlertKind;
  message: string;
  data: Record<string, unknown>;
  /** Overrides the subject the kind's fields give. */
  subject?: string;
}

export function isAlertKind(kind: unknown): kind is AlertKind {
  return typeof kind === "string" && (ALERT_KINDS as readonly string[]).includes(kind);
}

/** The subject of a raise: its own, or the kind's fields joined with `:` (`-` when none is given). */
export function alertSubject(input: RaiseInput): string {
  if (input.subject) return input.subject;
  const parts = SUBJECT_FIELDS[input.kind].map((f) => input.data[f]).filter((v) => v !== undefined && v !== null && v !== "");
  return parts.length ? parts.map(String).join(":") : "-";
}

/** One record per (kind, subject): its id is derived from them, so two nodes raising at once meet on a unique key. */
export function alertId(kind: AlertKind, subject: string): string {
  return "AL" + crypto.createHash("sha256").update(`${kind}\u0000${subject}`).digest("hex").slice(0, 24);
}

/** The event type an alert of this kind is published as (webhook subscriptions choose among them). */
export function alertEventType(kind: AlertKind): string {
  return `alert.${kind.toLowerCase()}`;
}

export function newAlert(input: RaiseInput, at: string): Alert {
  const subject = alertSubject(input);
  return {
    _id: alertId(input.kind, subject),
    kind: input.kind,
    subject,
    status: "OPEN",
    message: input.message,
    data: input.data,
    count: 1,
    firstAt: at,
    lastAt: at,
    history: [{ at, action: "RAISED", by: "system" }],
    version: 1,
  };
}

export type AlertAction = "ACKNOWLEDGE" | "RESOLVE";

/**
 * The change an ops action makes, or why it cannot: ACKNOWLEDGE an OPEN alert, RESOLVE an OPEN or
 * ACKNOWLEDGED one. The same action again is a no-op (`changed: false`), a RESOLVED alert cannot
 * be acknowledged.
 */
export function alertTransition(
  alert: Alert,
  action: AlertAction,
  by: string,
  at: string,
  note?: string,
): { changed: false; error?: string } | { changed: true; set: Partial<Alert>; entry: AlertHistoryEntry } {
  const entryOf = (a: AlertHistoryEntry["action"]): AlertHistoryEntry => ({ at, action: a, by, ...(note ? { note } : {}) });
  if (action === "ACKNOWLEDGE") {
    if (alert.status === "ACKNOWLEDGED") return { changed: false };
    if (alert.status === "RESOLVED") return { changed: false, error: "The alert is resolved; a new raise reopens it" };
    return { changed: true, set: { status: "ACKNOWLEDGED", acknowledgedBy: by, acknowledgedAt: at }, entry: entryOf("ACKNOWLEDGED") };
  }
  if (alert.status === "RESOLVED") return { changed: false };
  return { changed: true, set: { status: "RESOLVED", resolvedBy: by, resolvedAt: at }, entry: entryOf("RESOLVED") };
}

/** A raise of a RESOLVED alert: the same record, OPEN again, counted from 1. */
export function reopenedAlert(alert: Alert, input: RaiseInput, at: string): Partial<Alert> {
  return { status: "OPEN", message: input.message, data: input.data, count: 1, firstAt: at, lastAt: at };
}

/** Rejections no retry in a later slot can change: the rule, the card's agreements or the amount must change first. */
const LASTING_REJECTIONS = new Set(["DISABLED", "NO_CAPABILITY", "NO_AGREEMENT", "OVER_PER_TRANSACTION_LIMIT", "NOT_CONFIGURED"]);

/**
 * Whether a debit attempt that sent nothing shows an installment no channel can collect: no
 * binding, or every channel refused it for a lasting reason (above every per-transaction limit, no
 * agreement…). Caps, breakers and daily limits pass by themselves and raise nothing.
 */
export function uncollectable(report: { result: string; sent: number; rejected?: Array<{ code: string; reason: string }> }): string | null {
  if (report.sent > 0) return null;
  if (report.result === "NO_BINDING") return "NO_BINDING";
  if (report.result !== "NO_CHANNEL") return null;
  const rejected = report.rejected ?? [];
  if (rejected.length && !rejected.every((r) => LASTING_REJECTIONS.has(r.reason))) return null;
  const reasons = [...new Set(rejected.map((r) => r.reason))];
  return reasons.length ? reasons.join(",") : "NO_CHANNEL";
}
