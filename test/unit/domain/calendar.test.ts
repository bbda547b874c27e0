import {
  addDays,
  addMonths,
  compareDates,
  dayCount30360,
  daysBetween,
  daysInMonth,
  fromDayNumber,
  isLeapYear,
  isValidDate,
  parseDate,
  toDayNumber,
  yearFraction,
  type DayCount,
} from "../../../domain/calendar";

const domainError = (code: string, field?: string) =>
  expect.objectContaining(field === undefined ? { code } : { code, data: expect.objectContaining({ field }) });

/** Oracle independent of the integer algorithm: the JS Date in UTC (fine in tests, never in domain/). */
function dateOracle(s: string): number {
  const d = new Date(0);
  d.setUTCFullYear(Number(s.slice(0, 4)), Number(s.slice(5, 7)) - 1, Number(s.slice(8, 10)));
  return Math.round(d.getTime() / 86_400_000);
}

describe("isValidDate / parseDate", () => {
  test.each([
    "2024-02-29", // leap year
    "2000-02-29", // divisible by 400
    "2025-12-31",
    "2025-04-30",
    "0001-01-01",
    "9999-12-31",
  ])("%s is valid", (s) => {
    expect(isValidDate(s)).toBe(true);
    expect(parseDate(s, "startDate")).toBe(s);
  });

  test.each([
    ["2023-02-29", "not a leap year"],
    ["1900-02-29", "century, not divisible by 400"],
    ["2025-02-30", "no Feb 30"],
    ["2025-04-31", "April has 30 days"],
    ["2025-13-01", "month 13"],
    ["2025-00-10", "month 0"],
    ["2025-01-00", "day 0"],
    ["2025-01-32", "day 32"],
    ["0000-01-01", "year 0"],
    ["2025-1-01", "one-digit month"],
    ["2025/01/01", "slashes"],
    ["20250101", "no separators"],
    [" 2025-01-01", "leading space"],
    ["2025-01-01T00:00:00Z", "a timestamp"],
    ["2025-01-0a", "a letter"],
    ["２０２５-01-01", "full-width digits"],
    ["", "empty"],
  ])("%s is invalid (%s)", (s) => {
    expect(isValidDate(s)).toBe(false);
    expect(() => parseDate(s, "startDate")).toThrow(domainError("INVALID_DATE", "startDate"));
  });

  test.each([[20250101], [null], [undefined], [{}]])("non-string %p is invalid", (v) => {
    expect(isValidDate(v)).toBe(false);
    expect(() => parseDate(v)).toThrow(domainError("INVALID_DATE", "date"));
  });
});

describe("leap years and month lengths", () => {
  test.each([
    [2024, true],
    [2023, false],
    [2000, true],
    [1900, false],
    [2100, false],
    [2400, true],
  ])("isLeapYear(%i) = %p", (y, leap) => expect(isLeapYear(y)).toBe(leap));

  test.each([
    [2024, 2, 29],
    [2023, 2, 28],
    [1900, 2, 28],
    [2000, 2, 29],
    [2025, 1, 31],
    [2025, 4, 30],
    [2025, 6, 30],
    [2025, 12, 31],
  ])("daysInMonth(%i, %i) = %i", (y, m, n) => expect(daysInMonth(y, m)).toBe(n));

  test.each([[2025, 0], [2025, 13], [2025, 1.5]])("daysInMonth(%p, %p) throws", (y, m) => {
    expect(() => daysInMonth(y, m)).toThrow(domainError("INVALID_DATE"));
  });
});

describe("day numbers", () => {
  // Expected values from Python: (date(y, m, d) - date(1970, 1, 1)).days
  test.each([
    ["1970-01-01", 0],
    ["1969-12-31", -1],
    ["1900-03-01", -25508],
    ["2000-03-01", 11017],
    ["2024-02-29", 19782],
    ["0001-01-01", -719162],
    ["9999-12-31", 2932896],
  ])("%s is day %i", (s, n) => {
    expect(toDayNumber(s)).toBe(n);
    expect(fromDayNumber(n)).toBe(s);
  });

  test("every day from 1899 to 2101 agrees with the Date oracle and round-trips", () => {
    let n = toDayNumber("1899-01-01");
    const end = toDayNumber("2101-12-31");
    let checked = 0;
    for (; n <= end; n++) {
      const s = fromDayNumber(n);
      if (!isValidDate(s) || toDayNumber(s) !== n || dateOracle(s) !== n) throw new Error(`day ${n} -> ${s}`);
      checked++;
    }
    expect(checked).toBe(74_144); // Python: (date(2101,12,31) - date(1899,1,1)).days + 1
  });

  test.each([[-719163], [2932897], [1.5], [Number.NaN]])("fromDayNumber(%p) is out of range", (n) => {
    expect(() => fromDayNumber(n)).toThrow(domainError("INVALID_DATE"));
  });

  test("toDayNumber rejects an impossible date", () => {
    expect(() => toDayNumber("2025-02-30")).toThrow(domainError("INVALID_DATE"));
  });
});

describe("addDays / daysBetween / compareDates", () => {
  test.each([
    ["2024-02-28", 1, "2024-02-29"],
    ["2023-02-28", 1, "2023-03-01"],
    ["2024-12-31", 1, "2025-01-01"],
    ["2025-01-01", -1, "2024-12-31"],
    ["2024-01-01", 366, "2025-01-01"],
    ["2025-11-20", 90, "2026-02-18"],
    ["2025-03-15", 0, "2025-03-15"],
  ])("%s + %i days = %s", (s, n, expected) => {
    expect(addDays(s, n)).toBe(expected);
    expect(daysBetween(s, expected)).toBe(n);
  });

  test.each([
    ["2024-01-01", "2025-01-01", 366],
    ["2025-01-01", "2026-01-01", 365],
    ["2024-02-28", "2024-03-01", 2],
    ["2023-02-28", "2023-03-01", 1],
    ["2025-03-01", "2025-02-01", -28],
  ])("daysBetween(%s, %s) = %i", (a, b, n) => expect(daysBetween(a, b)).toBe(n));

  test("addDays rejects a fractional count and a date beyond 9999", () => {
    expect(() => addDays("2025-01-01", 0.5)).toThrow(domainError("VALIDATION_ERROR", "days"));
    expect(() => addDays("9999-12-31", 1)).toThrow(domainError("INVALID_DATE"));
  });

  test.each([
    ["2025-01-01", "2025-01-02", -1],
    ["2025-01-02", "2025-01-01", 1],
    ["2025-06-30", "2025-06-30", 0],
    ["2024-12-31", "2025-01-01", -1],
  ])("compareDates(%s, %s) = %i", (a, b, c) => expect(compareDates(a, b)).toBe(c));

  test("compareDates validates both dates", () => {
    expect(() => compareDates("2025-01-01", "2025-02-30")).toThrow(domainError("INVALID_DATE"));
  });
});

describe("addMonths: month-end clamping", () => {
  test.each([
    ["2025-01-31", 1, undefined, "2025-02-28"],
    ["2024-01-31", 1, undefined, "2024-02-29"],
    ["2024-02-29", 12, undefined, "2025-02-28"],
    ["2024-02-29", 48, undefined, "2028-02-29"],
    ["2024-03-31", -1, undefined, "2024-02-29"],
    ["2025-01-31", 3, undefined, "2025-04-30"],
    ["2025-12-15", 1, undefined, "2026-01-15"],
    ["2025-01-15", -13, undefined, "2023-12-15"],
    ["2025-01-15", 600, undefined, "2075-01-15"],
    // an explicit day, clamped too
    ["2025-01-15", 1, 31, "2025-02-28"],
    ["2025-01-15", 0, 31, "2025-01-31"],
    ["2025-02-28", 1, 30, "2025-03-30"],
    ["2025-01-31", 2, 5, "2025-03-05"],
  ])("%s + %i months (day %p) = %s", (s, n, day, expected) => {
    expect(addMonths(s, n, day)).toBe(expected);
  });

  test("a month-end schedule does not drift: Jan 31 + k months stays on the month end", () => {
    const got = Array.from({ length: 12 }, (_, k) => addMonths("2024-01-31", k + 1));
    expect(got).toEqual([
      "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30", "2024-07-31",
      "2024-08-31", "2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31", "2025-01-31",
    ]);
  });

  test.each([
    ["2025-01-15", 1, 0, "INVALID_DATE"],
    ["2025-01-15", 1, 32, "INVALID_DATE"],
    ["2025-01-15", 1.5, undefined, "VALIDATION_ERROR"],
    ["2025-02-30", 1, undefined, "INVALID_DATE"],
    ["9999-12-15", 1, undefined, "INVALID_DATE"],
  ])("addMonths(%s, %p, %p) throws %s", (s, n, day, code) => {
    expect(() => addMonths(s, n, day)).toThrow(domainError(code));
  });
});

describe("30/360 (30E/360, Eurobond basis)", () => {
  // Hand-computed from ISDA 2006 §4.16(g): 360·ΔY + 30·ΔM + min(D2,30) − min(D1,30).
  // The US/NASD variant would give different results on the rows marked *.
  test.each([
    ["2007-01-15", "2007-01-30", 15],
    ["2007-01-15", "2007-02-15", 30],
    ["2007-01-15", "2007-07-15", 180],
    ["2007-09-30", "2008-03-31", 180],
    ["2007-09-30", "2007-10-31", 30],
    ["2007-01-15", "2007-01-31", 15], // * US: 16
    ["2007-01-31", "2007-02-28", 28],
    ["2007-02-28", "2007-03-31", 32], // * US (Feb EOM rule): 30
    ["2006-08-31", "2007-02-28", 178],
    ["2007-02-26", "2008-02-29", 363],
    ["2008-02-29", "2009-02-28", 359], // * US: 360
    ["2008-02-29", "2008-03-30", 31], // * US: 30
    ["2007-02-28", "2007-03-05", 7], // * US: 5
    ["2025-01-01", "2026-01-01", 360],
    ["2025-03-31", "2025-03-30", 0],
    ["2025-03-01", "2025-02-01", -30],
  ])("dayCount30360(%s, %s) = %i", (a, b, n) => expect(dayCount30360(a, b)).toBe(n));

  test("day counts telescope: days(a,b) + days(b,c) = days(a,c) on month-end schedules", () => {
    let total = 0;
    let prev = "2024-01-31";
    for (let k = 1; k <= 24; k++) {
      const next = addMonths("2024-01-31", k);
      total += dayCount30360(prev, next);
      prev = next;
    }
    expect(total).toBe(dayCount30360("2024-01-31", prev));
    expect(total).toBe(720);
  });

  test("rejects invalid dates", () => {
    expect(() => dayCount30360("2025-02-29", "2025-03-01")).toThrow(domainError("INVALID_DATE"));
  });
});

describe("yearFraction: integers, not floats", () => {
  test.each<[string, string, DayCount, { days: number; basis: number }]>([
    ["2024-01-01", "2024-12-31", "ACT/360", { days: 365, basis: 360 }],
    ["2024-01-01", "2024-12-31", "ACT/365", { days: 365, basis: 365 }],
    ["2024-01-01", "2024-12-31", "30/360", { days: 359, basis: 360 }],
    ["2024-02-01", "2024-03-01", "ACT/365", { days: 29, basis: 365 }],
    ["2025-02-01", "2025-03-01", "ACT/360", { days: 28, basis: 360 }],
    ["2025-02-01", "2025-03-01", "30/360", { days: 30, basis: 360 }],
    ["2025-01-31", "2025-02-28", "30/360", { days: 28, basis: 360 }],
  ])("yearFraction(%s, %s, %s)", (a, b, dc, expected) => {
    const f = yearFraction(a, b, dc);
    expect(f).toEqual(expected);
    expect(Number.isInteger(f.days) && Number.isInteger(f.basis)).toBe(true);
  });

  test("an unknown day count is refused", () => {
    expect(() => yearFraction("2025-01-01", "2025-02-01", "ACT/ACT" as DayCount)).toThrow(domainError("VALIDATION_ERROR", "dayCount"));
  });
});
