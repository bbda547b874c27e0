/** Bank-zone time helpers, checked against luxon as the oracle (zones with and without DST). */
import { DateTime } from "luxon";
import { formatLocal, isoToUtc, isoWithOffset, localDate, localParts, localToIso, localWithOffset } from "../../../channels/sim/time";
import { mulberry32 } from "../../../channels/sim/random";

const ZONES = ["Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"];

describe.each(ZONES)("%s", (zone) => {
  const rnd = mulberry32(42);
  const instants = Array.from({ length: 300 }, () => Math.floor(Date.UTC(2000, 0, 1) + rnd() * 40 * 365 * 86_400_000));

  it("formats local dates and times like luxon", () => {
    for (const ms of instants) {
      const dt = DateTime.fromMillis(ms, { zone });
      expect(localDate(ms, zone)).toBe(dt.toFormat("yyyy-MM-dd"));
      expect(localParts(ms, zone)).toEqual({ date: dt.toFormat("yyyy-MM-dd"), time: dt.toFormat("HH:mm:ss") });
      expect(formatLocal(ms, zone, "yyyyMMddHHmmss")).toBe(dt.toFormat("yyyyMMddHHmmss"));
      expect(formatLocal(ms, zone, "yyyy-MM-dd'T'HH:mm:ss")).toBe(dt.toFormat("yyyy-MM-dd'T'HH:mm:ss"));
      expect(isoWithOffset(ms, zone)).toBe(dt.toFormat("yyyy-MM-dd'T'HH:mm:ssZZ"));
    }
  });

  it("reads local wall times back to the same instant (outside DST overlaps)", () => {
    for (const ms of instants.map((m) => m - (m % 1000))) {
      const dt = DateTime.fromMillis(ms, { zone });
      const back = localToIso(formatLocal(ms, zone, "yyyy-MM-dd HH:mm:ss"), zone, "yyyy-MM-dd HH:mm:ss");
      const oracle = DateTime.fromFormat(dt.toFormat("yyyy-MM-dd HH:mm:ss"), "yyyy-MM-dd HH:mm:ss", { zone }).toUTC().toISO();
      expect(back).toBe(oracle);
      expect(isoToUtc(isoWithOffset(ms, zone))).toBe(new Date(ms).toISOString());
      const { date, time } = localParts(ms, zone);
      expect(localWithOffset(date, time, zone)).toBe(DateTime.fromISO(`${date}T${time}`, { zone }).toFormat("yyyy-MM-dd'T'HH:mm:ssZZ"));
    }
  });
});

describe("parsing refusals", () => {
  it.each([
    ["20240230120000", "yyyyMMddHHmmss"],
    ["20241301120000", "yyyyMMddHHmmss"],
    ["20240301250000", "yyyyMMddHHmmss"],
    ["2024-03-01 12:00", "yyyy-MM-dd HH:mm:ss"],
    ["x", "yyyyMMddHHmmss"],
  ])("localToIso(%s) is undefined", (text, format) => {
    expect(localToIso(text, "Asia/Shanghai", format)).toBeUndefined();
  });

  it.each([["2024-03-01T12:00:05"], ["2024-03-01 12:00:05+08:00"], ["2024-02-30T12:00:05Z"]])("isoToUtc(%s) is undefined", (text) => {
    expect(isoToUtc(text)).toBeUndefined();
  });

  it("reads a wall time that occurs twice (end of DST) as the earlier instant", () => {
    expect(localToIso("2024-11-03 01:30:00", "America/New_York", "yyyy-MM-dd HH:mm:ss")).toBe("2024-11-03T05:30:00.000Z");
  });

  it("reads offsets and Z", () => {
    expect(isoToUtc("2024-03-01T12:00:05+08:00")).toBe("2024-03-01T04:00:05.000Z");
    expect(isoToUtc("2024-03-01T12:00:05-05:30")).toBe("2024-03-01T17:30:05.000Z");
    expect(isoToUtc("2024-03-01T12:00:05.123Z")).toBe("2024-03-01T12:00:05.000Z");
  });
});
