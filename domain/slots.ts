/**
 * Debit time points (代扣节点): when a debit slot is due, in the business time zone.
 *
 * A DEBIT_TIME_POINTS rule holds wall-clock times ("HH:mm") of the business day. A slot is one time
 * point on one business date; its id `${date}T${HH:mm}` (e.g. "2025-03-10T12:00") is part of each
 * trade's unique key, so running a slot twice can never send twice.
 *
 * Misfire policy: a slot runs when `now` is at or after its instant and at most
 * `misfireGraceMinutes` later; a slot missed by more than the grace is skipped, never run late
 * (the next slot picks the installment up). With a `window`, a slot runs only while the local
 * time of `now` is within [start, end] (minute precision, both ends included) and its time point
 * is inside the window too.
 *
 * Time zones and DST (luxon): a time point that does not exist on a date (spring forward,
 * 02:30 in New York) is scheduled at the instant luxon maps it to, i.e. shifted forward by the
 * gap (03:30 EDT); a time point that occurs twice (fall back, 01:30) is scheduled once, at its
 * first occurrence. The slot id always carries the wall time of the rule, so it stays unique.
 */
import { DateTime } from "luxon";
import { addDays, isValidDate } from "./calendar";
import { DomainError } from "./errors";

export interface DebitTimePoints {
  /** "HH:mm" wall times of the business day. */
  times: string[];
  misfireGraceMinutes: number;
  window?: { start: string; end: string };
}

export interface Slot {
  /** `${date}T${time}` */
  slotId: string;
  /** Business date YYYY-MM-DD. */
  date: string;
  /** "HH:mm" */
  time: string;
  /** Epoch ms of the scheduled instant. */
  scheduledAt: number;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const SLOT_ID = /^(\d{4}-\d{2}-\d{2})T(([01]\d|2[0-3]):[0-5]\d)$/;
const MAX_RANGE_DAYS = 400;

function ruleError(message: string, field: string): never {
  throw new DomainError("INVALID_RULE", message, { field });
}

/** Checked copy of the content: times valid, unique and sorted; grace a non-negative integer. */
function checkContent(content: DebitTimePoints): DebitTimePoints {
  if (!content || !Array.isArray(content.times) || content.times.length === 0) ruleError("times must be a non-empty array", "times");
  for (const t of content.times) if (typeof t !== "string" || !HHMM.test(t)) ruleError(`time point ${String(t)} is not HH:mm`, "times");
  const times = [...new Set(content.times)].sort();
  const grace = content.misfireGraceMinutes;
  if (!Number.isInteger(grace) || grace < 0 || grace > 1440) ruleError("misfireGraceMinutes must be an integer 0..1440", "misfireGraceMinutes");
  const w = content.window;
  if (w !== undefined) {
    if (!HHMM.test(w.start) || !HHMM.test(w.end) || w.start >= w.end) ruleError("window must be {start, end} HH:mm with start before end", "window");
  }
  return { times, misfireGraceMinutes: grace, window: w };
}

function checkZone(timeZone: string): void {
  if (typeof timeZone !== "string" || !DateTime.fromMillis(0, { zone: timeZone }).isValid) {
    throw new DomainError("VALIDATION_ERROR", `Unknown time zone ${String(timeZone)}`, { field: "timeZone" });
  }
}

function checkInstant(ms: number, field: string): void {
  if (typeof ms !== "number" || !Number.isFinite(ms)) throw new DomainError("VALIDATION_ERROR", `${field} must be epoch milliseconds`, { field });
}

function inWindow(content: DebitTimePoints, hhmm: string): boolean {
  return !content.window || (hhmm >= content.window.start && hhmm <= content.window.end);
}

export function slotIdOf(date: string, time: string): string {
  return `${date}T${time}`;
}

/** Split a slot id into its business date and time; VALIDATION_ERROR if it is not one. */
export function parseSlotId(id: string): { date: string; time: string } {
  const m = typeof id === "string" ? SLOT_ID.exec(id) : null;
  if (!m || !isValidDate(m[1])) throw new DomainError("VALIDATION_ERROR", "slot id must be YYYY-MM-DDTHH:mm", { field: "slotId", value: String(id) });
  return { date: m[1], time: m[2] };
}

/** The instant (epoch ms) of wall time `time` on business date `date` in `timeZone` (DST rules above). */
export function slotInstant(date: string, time: string, timeZone: string): number {
  const { date: d, time: t } = parseSlotId(slotIdOf(date, time));
  checkZone(timeZone);
  const [year, month, day] = d.split("-").map(Number);
  const [hour, minute] = t.split(":").map(Number);
  const dt = DateTime.fromObject({ year, month, day, hour, minute }, { zone: timeZone });
  // Ambiguous wall time (fall back): take the first occurrence.
  const options = dt.getPossibleOffsets();
  return Math.min(dt.toMillis(), ...options.map((o) => o.toMillis()));
}

function slotOf(date: string, time: string, timeZone: string): Slot {
  return { slotId: slotIdOf(date, time), date, time, scheduledAt: slotInstant(date, time, timeZone) };
}

function businessDate(ms: number, timeZone: string): string {
  return DateTime.fromMillis(ms, { zone: timeZone }).toISODate() as string;
}

function localTime(ms: number, timeZone: string): string {
  return DateTime.fromMillis(ms, { zone: timeZone }).toFormat("HH:mm");
}

/** Slots of one business date inside the window, by instant (a DST gap can reorder wall times), then time. */
function slotsOn(content: DebitTimePoints, date: string, timeZone: string): Slot[] {
  return content.times
    .filter((t) => inWindow(content, t))
    .map((t) => slotOf(date, t, timeZone))
    .sort((a, b) => a.scheduledAt - b.scheduledAt || (a.time < b.time ? -1 : 1));
}

/**
 * The slot to run at `nowMs`, or null: the latest scheduled slot at or before now, if now is within
 * its misfire grace and inside the window. Yesterday's late slots count too (23:50 with a grace of
 * 30 is still due at 00:10).
 */
export function dueSlot(content: DebitTimePoints, nowMs: number, timeZone: string): Slot | null {
  const c = checkContent(content);
  checkZone(timeZone);
  checkInstant(nowMs, "nowMs");
  if (!inWindow(c, localTime(nowMs, timeZone))) return null;
  const today = businessDate(nowMs, timeZone);
  let latest: Slot | null = null;
  for (const date of [addDays(today, -1), today]) {
    for (const s of slotsOn(c, date, timeZone)) {
      if (s.scheduledAt <= nowMs && (!latest || s.scheduledAt >= latest.scheduledAt)) latest = s;
    }
  }
  if (!latest || nowMs - latest.scheduledAt > c.misfireGraceMinutes * 60_000) return null;
  return latest;
}

/** Every slot with fromMs < scheduledAt ≤ toMs, in order (for catching up and for tests). At most 400 days. */
export function slotsBetween(content: DebitTimePoints, fromMs: number, toMs: number, timeZone: string): Slot[] {
  const c = checkContent(content);
  checkZone(timeZone);
  checkInstant(fromMs, "fromMs");
  checkInstant(toMs, "toMs");
  if (toMs <= fromMs) return [];
  if (toMs - fromMs > MAX_RANGE_DAYS * 86_400_000) {
    throw new DomainError("VALIDATION_ERROR", `A slot range may span at most ${MAX_RANGE_DAYS} days`, { field: "toMs" });
  }
  const out: Slot[] = [];
  const last = businessDate(toMs, timeZone);
  for (let date = businessDate(fromMs, timeZone); date <= last; date = addDays(date, 1)) {
    for (const s of slotsOn(c, date, timeZone)) if (s.scheduledAt > fromMs && s.scheduledAt <= toMs) out.push(s);
  }
  return out.sort((a, b) => a.scheduledAt - b.scheduledAt || (a.slotId < b.slotId ? -1 : 1));
}

/** The first slot scheduled strictly after `nowMs`, or null when the window leaves no time point. */
export function nextSlot(content: DebitTimePoints, nowMs: number, timeZone: string): Slot | null {
  const c = checkContent(content);
  checkZone(timeZone);
  checkInstant(nowMs, "nowMs");
  const today = businessDate(nowMs, timeZone);
  for (let i = 0; i <= 2; i++) {
    const next = slotsOn(c, addDays(today, i), timeZone).find((s) => s.scheduledAt > nowMs);
    if (next) return next;
  }
  return null;
}
