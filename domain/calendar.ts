/**
 * Civil dates (business dates) as 'YYYY-MM-DD' strings.
 *
 * Pure integer arithmetic: no Date objects, no time zones. A date is turned into a day number
 * (days since 1970-01-01, negative before) with the proleptic Gregorian "days from civil"
 * algorithm (H. Hinnant, http://howardhinnant.github.io/date_algorithms.html) and back.
 * Years 0001..9999 are accepted; anything that would leave that range throws INVALID_DATE.
 *
 * Day counts (for interest = balance × annualRate × days / basis, computed in big.js):
 * - ACT/360, ACT/365: actual calendar days over 360 / 365 (ACT/365 Fixed: 365 even in leap years).
 * - 30/360: the European 30E/360 (ISDA 2006 §4.16(g), "Eurobond basis"):
 *     days = 360·(Y2−Y1) + 30·(M2−M1) + (min(D2,30) − min(D1,30))
 *   Chosen over US/NASD 30/360 because each date's adjusted day depends on that date alone, so day
 *   counts telescope: days(a,b) + days(b,c) == days(a,c). A schedule's period days therefore add
 *   up to the day count of the whole term. Consequence: no special rule for February —
 *   Jan 30 → Feb 28 counts 28 days and Feb 28 → Mar 30 counts 32 (together 60).
 */
import { DomainError } from "./errors";

export type DayCount = "ACT/360" | "ACT/365" | "30/360";
export const DAY_COUNTS: readonly DayCount[] = Object.freeze(["ACT/360", "ACT/365", "30/360"] as DayCount[]);

/** A day count as an exact fraction of a year: interest = balance × rate × days / basis. */
export interface YearFraction {
  days: number;
  basis: number;
}

const MIN_DAY_NUMBER = -719162; // 0001-01-01
const MAX_DAY_NUMBER = 2932896; // 9999-12-31

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in month `month` (1..12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  if (!Number.isInteger(year) || !Number.isInteger(month) || month < 1 || month > 12) {
    throw new DomainError("INVALID_DATE", `No such month: ${year}-${month}`, { year, month });
  }
  return month === 2 && isLeapYear(year) ? 29 : MONTH_DAYS[month - 1];
}

/** Internal: daysInMonth without argument checks, for hot paths with known-good integers. */
export function monthLength(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : MONTH_DAYS[month - 1];
}

/**
 * Parse 'YYYY-MM-DD' into a packed integer y·10000 + m·100 + d, or -1 when the string is not a
 * real date. Hand-rolled character checks: this runs for every date handled.
 */
function unpack(s: unknown): number {
  if (typeof s !== "string" || s.length !== 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return -1;
  let y = 0;
  for (let i = 0; i < 4; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    y = y * 10 + c;
  }
  const m1 = s.charCodeAt(5) - 48, m2 = s.charCodeAt(6) - 48, d1 = s.charCodeAt(8) - 48, d2 = s.charCodeAt(9) - 48;
  if (m1 < 0 || m1 > 9 || m2 < 0 || m2 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return -1;
  const m = m1 * 10 + m2;
  const d = d1 * 10 + d2;
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > monthLength(y, m)) return -1;
  return y * 10000 + m * 100 + d;
}

function unpackOrThrow(s: unknown, field: string): number {
  const p = unpack(s);
  if (p < 0) {
    throw new DomainError("INVALID_DATE", `${field} must be a real date YYYY-MM-DD`, { field, value: typeof s === "string" ? s : String(s) });
  }
  return p;
}

/** True for a real calendar date written 'YYYY-MM-DD' (so 2025-02-30 and 2025-13-01 are false). */
export function isValidDate(s: unknown): s is string {
  return unpack(s) >= 0;
}

/** The date itself when valid, else DomainError INVALID_DATE with data.field. */
export function parseDate(s: unknown, field = "date"): string {
  unpackOrThrow(s, field);
  return s as string;
}

export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

export function toCivil(s: string, field = "date"): CivilDate {
  const p = unpackOrThrow(s, field);
  return { year: Math.floor(p / 10000), month: Math.floor(p / 100) % 100, day: p % 100 };
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : "" + n;
}

/** Format integers as 'YYYY-MM-DD' (no checks: callers pass a valid date). */
export function formatDate(year: number, month: number, day: number): string {
  const y = year >= 1000 ? "" + year : year >= 100 ? "0" + year : year >= 10 ? "00" + year : "000" + year;
  return y + "-" + pad2(month) + "-" + pad2(day);
}

/** Day number of a civil date given as integers (no checks). */
export function civilToDayNumber(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Days since 1970-01-01 (negative before). */
export function toDayNumber(s: string): number {
  const p = unpackOrThrow(s, "date");
  return civilToDayNumber(Math.floor(p / 10000), Math.floor(p / 100) % 100, p % 100);
}

/** The civil date of a day number (no range check). */
export function dayNumberToCivil(n: number): CivilDate {
  const z = n + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** Inverse of toDayNumber. */
export function fromDayNumber(n: number): string {
  if (!Number.isInteger(n) || n < MIN_DAY_NUMBER || n > MAX_DAY_NUMBER) {
    throw new DomainError("INVALID_DATE", "Date out of range 0001-01-01..9999-12-31", { dayNumber: n });
  }
  const c = dayNumberToCivil(n);
  return formatDate(c.year, c.month, c.day);
}

function checkInteger(n: number, field: string): void {
  if (!Number.isInteger(n)) throw new DomainError("VALIDATION_ERROR", `${field} must be an integer`, { field });
}

export function addDays(s: string, n: number): string {
  checkInteger(n, "days");
  return fromDayNumber(toDayNumber(s) + n);
}

/**
 * `s` moved by `n` months (n may be negative). The day is `day` when given, else the day of `s`;
 * either way clamped to the end of the target month: 2024-01-31 + 1 month = 2024-02-29.
 */
export function addMonths(s: string, n: number, day?: number): string {
  checkInteger(n, "months");
  const p = unpackOrThrow(s, "date");
  const d = day === undefined ? p % 100 : day;
  if (!Number.isInteger(d) || d < 1 || d > 31) {
    throw new DomainError("INVALID_DATE", "day must be an integer 1..31", { field: "day" });
  }
  const t = Math.floor(p / 10000) * 12 + (Math.floor(p / 100) % 100) - 1 + n;
  const year = Math.floor(t / 12);
  const month = t - year * 12 + 1;
  if (year < 1 || year > 9999) {
    throw new DomainError("INVALID_DATE", "Date out of range 0001-01-01..9999-12-31", { field: "date" });
  }
  return formatDate(year, month, Math.min(d, monthLength(year, month)));
}

/** b − a in calendar days (negative when b is before a). */
export function daysBetween(a: string, b: string): number {
  return toDayNumber(b) - toDayNumber(a);
}

/** −1, 0 or 1. Both dates are validated (ISO strings of real dates compare like the dates). */
export function compareDates(a: string, b: string): -1 | 0 | 1 {
  const x = unpackOrThrow(a, "date");
  const y = unpackOrThrow(b, "date");
  return x < y ? -1 : x > y ? 1 : 0;
}

/** 30E/360 day count between integer dates (no checks). */
export function days30E(y1: number, m1: number, d1: number, y2: number, m2: number, d2: number): number {
  return 360 * (y2 - y1) + 30 * (m2 - m1) + (Math.min(d2, 30) - Math.min(d1, 30));
}

/** 30E/360 (Eurobond basis) days from a to b; negative when b is before a. */
export function dayCount30360(a: string, b: string): number {
  const x = unpackOrThrow(a, "date");
  const y = unpackOrThrow(b, "date");
  return days30E(Math.floor(x / 10000), Math.floor(x / 100) % 100, x % 100, Math.floor(y / 10000), Math.floor(y / 100) % 100, y % 100);
}

export function isDayCount(x: unknown): x is DayCount {
  return x === "ACT/360" || x === "ACT/365" || x === "30/360";
}

export function dayCountBasis(dayCount: DayCount): number {
  return dayCount === "ACT/365" ? 365 : 360;
}

/**
 * The year fraction from a to b as integers: { days, basis }. Interest is then
 * balance × rate × days / basis in big.js, never a float.
 */
export function yearFraction(a: string, b: string, dayCount: DayCount): YearFraction {
  switch (dayCount) {
    case "ACT/360":
      return { days: daysBetween(a, b), basis: 360 };
    case "ACT/365":
      return { days: daysBetween(a, b), basis: 365 };
    case "30/360":
      return { days: dayCount30360(a, b), basis: 360 };
    default:
      throw new DomainError("VALIDATION_ERROR", `Unknown day count: ${String(dayCount)}`, { field: "dayCount" });
  }
}
