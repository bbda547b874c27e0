/**
 * Reminders (短信节点): which messages a plan's unpaid installments owe on a date at a time under a
 * REMINDER rule, template rendering, quiet-hour arithmetic and dedupe keys.
 *
 * Pure: (input, now) => result. No Moleculer, DB or HTTP.
 *
 * Day arithmetic is by calendar dates in the business time zone: an installment due 02-10 is
 * "1 day overdue" on 02-11 whatever the accrual job has recorded. A rule entry's `time` (HH:mm) is
 * when the scan for it runs; a scan at a later time of the same day (catch-up after downtime, a
 * manual run) still owes every entry whose time has passed, and the dedupe key makes a replay
 * create nothing.
 */
import { DateTime } from "luxon";
import { addDays, daysBetween } from "./calendar";

export const REMINDER_TRIGGERS = ["BEFORE_DUE", "DUE", "OVERDUE", "DEBIT_SUCCESS", "DEBIT_FAILURE"] as const;
export type ReminderTrigger = (typeof REMINDER_TRIGGERS)[number];
/** Triggers the daily scan produces; the others come from trade events. */
export const SCHEDULED_TRIGGERS: readonly ReminderTrigger[] = ["BEFORE_DUE", "DUE", "OVERDUE"];
export const EVENT_TRIGGERS: readonly ReminderTrigger[] = ["DEBIT_SUCCESS", "DEBIT_FAILURE"];

/** A scheduled entry without a `time` runs at this time (rules written before `time` was required). */
export const DEFAULT_REMINDER_TIME = "09:00";

/** The variables a template may use; any other `{word}` is refused when the rule is saved. */
export const TEMPLATE_VARIABLES = ["name", "period", "amount", "dueDate", "daysOverdue", "planId", "productCode"] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateVars = Partial<Record<TemplateVariable, string | number>>;

export interface QuietHours {
  /** HH:mm, inclusive. */
  start: string;
  /** HH:mm, exclusive; before `start` means the quiet period wraps midnight (21:00–08:00). */
  end: string;
}

export interface ReminderRuleEntry {
  trigger: ReminderTrigger;
  /** BEFORE_DUE: days before the due date. Legacy OVERDUE entries without overdueDays/everyDays: the one overdue day. */
  offsetDays?: number;
  /** OVERDUE: the days overdue to remind on (1 = the day after the due date). */
  overdueDays?: number[];
  /** OVERDUE: every N days from day 1 (1, 1+N, 1+2N…). */
  everyDays?: number;
  /** HH:mm; scheduled triggers only. */
  time?: string;
  template: string;
  channel?: string;
}

export interface ReminderRule {
  rules: ReminderRuleEntry[];
  quietHours?: QuietHours;
  /** Messages sent to one borrower per business day, at most. */
  maxPerDay?: number;
}

export interface ReminderInstallment {
  period: number;
  dueDate: string;
  outstanding: string;
  status: string;
}

export interface ReminderPlan {
  planId: string;
  productCode: string;
  installments: ReminderInstallment[];
}

export interface DueReminder {
  key: string;
  planId: string;
  period: number;
  trigger: ReminderTrigger;
  ruleIndex: number;
  date: string;
  time: string;
  dueDate: string;
  daysOverdue: number;
  amount: string;
  template: string;
  channel: string;
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

/** The dedupe key of a scheduled reminder: one per (installment, rule entry, date). */
export function reminderKey(planId: string, period: number, trigger: ReminderTrigger, ruleIndex: number, date: string): string {
  return `${planId}:${period}:${trigger}:${ruleIndex}:${date}`;
}

/** The dedupe key of a message about a trade: one per (trade, trigger, rule entry). */
export function tradeMessageKey(tradeNo: string, trigger: ReminderTrigger, ruleIndex: number): string {
  return `${tradeNo}:${trigger}:${ruleIndex}`;
}

/** The time a scheduled entry runs at. */
export function entryTime(e: ReminderRuleEntry): string {
  return e.time ?? DEFAULT_REMINDER_TIME;
}

/** The overdue days an OVERDUE entry reminds on, as a predicate on days overdue (≥ 1). */
export function overdueDayMatches(e: ReminderRuleEntry, daysOverdue: number): boolean {
  if (daysOverdue < 1) return false;
  if (e.overdueDays?.length) return e.overdueDays.includes(daysOverdue);
  if (e.everyDays) return (daysOverdue - 1) % e.everyDays === 0;
  return daysOverdue === Math.max(1, e.offsetDays ?? 1);
}

/** Whether entry `e` owes a reminder for an installment due `dueDate` on `date`; the days overdue when it does. */
export function entryFires(e: ReminderRuleEntry, dueDate: string, date: string): { daysOverdue: number } | null {
  const late = daysBetween(dueDate, date); // > 0: overdue
  switch (e.trigger) {
    case "BEFORE_DUE":
      return late === -(e.offsetDays ?? 0) ? { daysOverdue: 0 } : null;
    case "DUE":
      return late === 0 ? { daysOverdue: 0 } : null;
    case "OVERDUE":
      return overdueDayMatches(e, late) ? { daysOverdue: late } : null;
    case "DEBIT_SUCCESS":
    case "DEBIT_FAILURE":
      return null;
  }
}

/** The furthest ahead a rule looks (its largest BEFORE_DUE offset): the scan's horizon. */
export function horizonDays(rule: ReminderRule): number {
  return Math.max(0, ...rule.rules.filter((e) => e.trigger === "BEFORE_DUE").map((e) => e.offsetDays ?? 0));
}

/** The distinct scan times of a rule's scheduled entries, sorted. */
export function scanTimes(rule: ReminderRule): string[] {
  return [...new Set(rule.rules.filter((e) => SCHEDULED_TRIGGERS.includes(e.trigger)).map(entryTime))].sort();
}

/**
 * The reminders a plan's unpaid installments owe on `date` for every scheduled entry whose time is at
 * or before `time` (HH:mm): a scan at 10:00 owes the 09:00 and the 10:00 entries. Paid installments
 * owe nothing. Sorted by time, then period, then rule index.
 */
export function dueReminders(plan: ReminderPlan, rule: ReminderRule, date: string, time: string): DueReminder[] {
  const out: DueReminder[] = [];
  rule.rules.forEach((e, ruleIndex) => {
    if (!SCHEDULED_TRIGGERS.includes(e.trigger) || entryTime(e) > time) return;
    for (const inst of plan.installments) {
      if (inst.status === "PAID") continue;
      const fires = entryFires(e, inst.dueDate, date);
      if (!fires) continue;
      out.push({
        key: reminderKey(plan.planId, inst.period, e.trigger, ruleIndex, date),
        planId: plan.planId,
        period: inst.period,
        trigger: e.trigger,
        ruleIndex,
        date,
        time: entryTime(e),
        dueDate: inst.dueDate,
        daysOverdue: fires.daysOverdue,
        amount: inst.outstanding,
        template: e.template,
        channel: e.channel ?? "SMS",
      });
    }
  });
  return out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.period - b.period || a.ruleIndex - b.ruleIndex));
}

/** The `{word}` placeholders of a template, in order of appearance (duplicates kept once). */
export function templatePlaceholders(template: string): string[] {
  return [...new Set([...template.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]))];
}

/** Placeholders that are not template variables (the rule is refused when there are any). */
export function unknownPlaceholders(template: string): string[] {
  return templatePlaceholders(template).filter((p) => !(TEMPLATE_VARIABLES as readonly string[]).includes(p));
}

/** Fill a template; a variable without a value, or an unknown one, is left as written. */
export function renderTemplate(template: string, vars: TemplateVars): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
    const v = (vars as Record<string, string | number | undefined>)[name];
    return v === undefined || v === null ? whole : String(v);
  });
}

/** Whether a local wall time HH:mm falls in the quiet hours (start inclusive, end exclusive). */
export function inQuietHours(hhmm: string, q: QuietHours | undefined): boolean {
  if (!q || q.start === q.end) return false;
  return q.start < q.end ? hhmm >= q.start && hhmm < q.end : hhmm >= q.start || hhmm < q.end;
}

/**
 * The first instant at or after `nowMs` outside the quiet hours: `nowMs` itself when it is not
 * quiet, else the next `end` wall time in `timeZone` (today's, or tomorrow's when today's has passed).
 */
export function nextAllowedSend(nowMs: number, q: QuietHours | undefined, timeZone: string): number {
  const now = DateTime.fromMillis(nowMs, { zone: timeZone });
  if (!q || !inQuietHours(now.toFormat("HH:mm"), q)) return nowMs;
  if (!HHMM.test(q.end)) throw new RangeError(`quiet hours end ${q.end} is not HH:mm`);
  const [h, m] = q.end.split(":").map(Number);
  let end = now.set({ hour: h, minute: m, second: 0, millisecond: 0 });
  if (end.toMillis() <= nowMs) end = end.plus({ days: 1 });
  return end.toMillis();
}

/** The business date and wall time of an instant. */
export function localDateTime(ms: number, timeZone: string): { date: string; time: string } {
  const dt = DateTime.fromMillis(ms, { zone: timeZone });
  return { date: dt.toISODate() as string, time: dt.toFormat("HH:mm") };
}

/** The last day a scan must look at for a rule: today plus the horizon. */
export function scanUntil(date: string, rule: ReminderRule): string {
  return addDays(date, horizonDays(rule));
}

/** Mask a mobile number for storage and display: the last four digits only. */
export function maskMobile(mobile: string | null | undefined): string | null {
  if (!mobile) return null;
  const digits = mobile.replace(/\D/g, "");
  return digits.length >= 4 ? "*".repeat(Math.max(3, digits.length - 4)) + digits.slice(-4) : "****";
}
