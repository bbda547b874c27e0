/** Debit time points: due slot with misfire grace, windows, day boundaries, DST, listing and ids. */
import { DateTime } from "luxon";
import { dueSlot, nextSlot, parseSlotId, slotIdOf, slotInstant, slotsBetween, type DebitTimePoints } from "../../../domain/slots";

const SH = "Asia/Shanghai";
const NY = "America/New_York";
/** Epoch ms of a local wall time in a zone, e.g. at("2025-03-10T12:00") in Shanghai. */
const at = (local: string, zone = SH) => DateTime.fromISO(local, { zone }).toMillis();
const utc = (iso: string) => Date.parse(iso);

const noonSix: DebitTimePoints = { times: ["12:00", "18:00"], misfireGraceMinutes: 30 };
const three: DebitTimePoints = { times: ["10:00", "14:00", "18:00"], misfireGraceMinutes: 30 };

describe("dueSlot", () => {
  it.each<[string, DebitTimePoints, string, string | null]>([
    ["12:00/18:00 at 11:59", noonSix, "2025-03-10T11:59", null],
    ["12:00/18:00 at 12:00", noonSix, "2025-03-10T12:00", "2025-03-10T12:00"],
    ["12:00/18:00 at 12:29", noonSix, "2025-03-10T12:29", "2025-03-10T12:00"],
    ["12:00/18:00 at 12:30:00 (grace boundary, included)", noonSix, "2025-03-10T12:30:00", "2025-03-10T12:00"],
    ["12:00/18:00 at 12:30:00.001 (missed)", noonSix, "2025-03-10T12:30:00.001", null],
    ["12:00/18:00 at 12:31 (missed: skipped, not run late)", noonSix, "2025-03-10T12:31", null],
    ["12:00/18:00 at 17:59", noonSix, "2025-03-10T17:59", null],
    ["12:00/18:00 at 18:05", noonSix, "2025-03-10T18:05", "2025-03-10T18:00"],
    ["12:00/18:00 at 23:59", noonSix, "2025-03-10T23:59", null],
    ["10/14/18 at 09:59", three, "2025-03-10T09:59", null],
    ["10/14/18 at 10:00", three, "2025-03-10T10:00", "2025-03-10T10:00"],
    ["10/14/18 at 10:45", three, "2025-03-10T10:45", null],
    ["10/14/18 at 14:15", three, "2025-03-10T14:15", "2025-03-10T14:00"],
    ["10/14/18 at 18:30", three, "2025-03-10T18:30", "2025-03-10T18:00"],
    ["grace 0 at the exact minute", { times: ["12:00"], misfireGraceMinutes: 0 }, "2025-03-10T12:00", "2025-03-10T12:00"],
    ["grace 0 one second late", { times: ["12:00"], misfireGraceMinutes: 0 }, "2025-03-10T12:00:01", null],
    ["unsorted times are sorted", { times: ["18:00", "12:00"], misfireGraceMinutes: 30 }, "2025-03-10T12:10", "2025-03-10T12:00"],
    ["yesterday's late slot is still due after midnight", { times: ["23:50"], misfireGraceMinutes: 30 }, "2025-03-11T00:10", "2025-03-10T23:50"],
    ["…and missed after the grace", { times: ["23:50"], misfireGraceMinutes: 30 }, "2025-03-11T00:21", null],
    ["window: inside", { times: ["12:00"], misfireGraceMinutes: 30, window: { start: "09:00", end: "12:20" } }, "2025-03-10T12:15", "2025-03-10T12:00"],
    ["window: end minute included", { times: ["12:00"], misfireGraceMinutes: 30, window: { start: "09:00", end: "12:20" } }, "2025-03-10T12:20:59", "2025-03-10T12:00"],
    ["window: now past the end, within grace", { times: ["12:00"], misfireGraceMinutes: 30, window: { start: "09:00", end: "12:20" } }, "2025-03-10T12:21", null],
    ["window: a time point outside it never runs", { times: ["08:00", "12:00"], misfireGraceMinutes: 90, window: { start: "09:00", end: "20:00" } }, "2025-03-10T09:05", null],
  ])("%s", (_name, content, local, expected) => {
    const slot = dueSlot(content, at(local), SH);
    expect(slot?.slotId ?? null).toBe(expected);
    if (slot) {
      expect(slot).toEqual({ slotId: expected, date: expected!.slice(0, 10), time: expected!.slice(11), scheduledAt: at(expected!) });
    }
  });

  it.each<[string, string, string | null]>([
    ["UTC 15:59 is 23:59 of the same business day", "2025-03-10T15:59:00Z", null],
    ["UTC 16:00 is 00:00 of the next business day", "2025-03-10T16:00:00Z", "2025-03-11T00:00"],
    ["UTC 16:20 is still within the grace", "2025-03-10T16:20:00Z", "2025-03-11T00:00"],
    ["UTC 04:00 is noon in Shanghai", "2025-03-11T04:00:00Z", "2025-03-11T12:00"],
  ])("business day in Asia/Shanghai: %s", (_name, iso, expected) => {
    const content = { times: ["00:00", "12:00"], misfireGraceMinutes: 30 };
    expect(dueSlot(content, utc(iso), SH)?.slotId ?? null).toBe(expected);
  });

  it("uses the same wall times in another zone", () => {
    expect(dueSlot(noonSix, utc("2025-03-10T16:10:00Z"), NY)?.slotId).toBe("2025-03-10T12:00"); // EDT, UTC−4
    expect(dueSlot(noonSix, utc("2025-03-07T17:10:00Z"), NY)?.slotId).toBe("2025-03-07T12:00"); // EST, UTC−5
    expect(dueSlot(noonSix, utc("2025-03-07T16:10:00Z"), NY)).toBeNull();
  });

  it.each<[string, unknown, string]>([
    ["no times", { times: [], misfireGraceMinutes: 30 }, "INVALID_RULE"],
    ["a bad time", { times: ["24:00"], misfireGraceMinutes: 30 }, "INVALID_RULE"],
    ["a negative grace", { times: ["12:00"], misfireGraceMinutes: -1 }, "INVALID_RULE"],
    ["a fractional grace", { times: ["12:00"], misfireGraceMinutes: 1.5 }, "INVALID_RULE"],
    ["a reversed window", { times: ["12:00"], misfireGraceMinutes: 30, window: { start: "18:00", end: "09:00" } }, "INVALID_RULE"],
  ])("rejects content with %s", (_name, content, code) => {
    expect(() => dueSlot(content as DebitTimePoints, at("2025-03-10T12:00"), SH)).toThrow(expect.objectContaining({ code }));
  });

  it("rejects an unknown time zone and a bad instant", () => {
    expect(() => dueSlot(noonSix, at("2025-03-10T12:00"), "Mars/Olympus")).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR", data: { field: "timeZone" } }));
    expect(() => dueSlot(noonSix, Number.NaN, SH)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
});

describe("DST (America/New_York)", () => {
  it.each<[string, string, string, string]>([
    ["a normal winter day", "2025-03-08", "12:00", "2025-03-08T17:00:00.000Z"],
    ["a normal summer day", "2025-03-10", "12:00", "2025-03-10T16:00:00.000Z"],
    ["spring forward: 02:30 does not exist, runs at 03:30 EDT", "2025-03-09", "02:30", "2025-03-09T07:30:00.000Z"],
    ["spring forward: 03:00 exists", "2025-03-09", "03:00", "2025-03-09T07:00:00.000Z"],
    ["fall back: 01:30 happens twice, runs at the first (EDT)", "2025-11-02", "01:30", "2025-11-02T05:30:00.000Z"],
    ["fall back: 02:00 is after the repeat", "2025-11-02", "02:00", "2025-11-02T07:00:00.000Z"],
  ])("%s", (_name, date, time, iso) => {
    expect(new Date(slotInstant(date, time, NY)).toISOString()).toBe(iso);
  });

  it("runs the repeated hour once: the second 01:30 is past the grace", () => {
    const content = { times: ["01:30"], misfireGraceMinutes: 30 };
    expect(dueSlot(content, utc("2025-11-02T05:45:00Z"), NY)?.slotId).toBe("2025-11-02T01:30"); // 01:45 EDT
    expect(dueSlot(content, utc("2025-11-02T06:45:00Z"), NY)).toBeNull(); // 01:45 EST
  });

  it("lists one slot per day across both changes", () => {
    const content = { times: ["01:30", "02:30"], misfireGraceMinutes: 30 };
    const spring = slotsBetween(content, utc("2025-03-08T00:00:00Z"), utc("2025-03-11T00:00:00Z"), NY);
    expect(spring.map((s) => [s.slotId, new Date(s.scheduledAt).toISOString()])).toEqual([
      ["2025-03-08T01:30", "2025-03-08T06:30:00.000Z"],
      ["2025-03-08T02:30", "2025-03-08T07:30:00.000Z"],
      ["2025-03-09T01:30", "2025-03-09T06:30:00.000Z"],
      ["2025-03-09T02:30", "2025-03-09T07:30:00.000Z"],
      ["2025-03-10T01:30", "2025-03-10T05:30:00.000Z"],
      ["2025-03-10T02:30", "2025-03-10T06:30:00.000Z"],
    ]);
    const fall = slotsBetween(content, utc("2025-11-01T12:00:00Z"), utc("2025-11-03T12:00:00Z"), NY);
    expect(fall.map((s) => [s.slotId, new Date(s.scheduledAt).toISOString()])).toEqual([
      ["2025-11-02T01:30", "2025-11-02T05:30:00.000Z"],
      ["2025-11-02T02:30", "2025-11-02T07:30:00.000Z"],
      ["2025-11-03T01:30", "2025-11-03T06:30:00.000Z"],
      ["2025-11-03T02:30", "2025-11-03T07:30:00.000Z"],
    ]);
  });

  it("next slot orders by instant when the gap reorders wall times", () => {
    const content = { times: ["02:30", "03:00"], misfireGraceMinutes: 30 };
    // 01:59 EST on the spring-forward day: 03:00 EDT (07:00Z) comes before the shifted 02:30 (07:30Z).
    expect(nextSlot(content, utc("2025-03-09T06:59:00Z"), NY)?.slotId).toBe("2025-03-09T03:00");
  });
});

describe("slotsBetween", () => {
  it.each<[string, string, string, string[]]>([
    ["two days", "2025-03-10T00:00", "2025-03-12T00:00", ["2025-03-10T12:00", "2025-03-10T18:00", "2025-03-11T12:00", "2025-03-11T18:00"]],
    ["from is excluded, to is included", "2025-03-10T12:00", "2025-03-10T18:00", ["2025-03-10T18:00"]],
    ["nothing in between", "2025-03-10T12:00", "2025-03-10T17:59", []],
    ["empty range", "2025-03-10T18:00", "2025-03-10T12:00", []],
  ])("%s", (_name, from, to, expected) => {
    expect(slotsBetween(noonSix, at(from), at(to), SH).map((s) => s.slotId)).toEqual(expected);
  });

  it("respects the window", () => {
    const content = { times: ["08:00", "12:00"], misfireGraceMinutes: 30, window: { start: "09:00", end: "20:00" } };
    expect(slotsBetween(content, at("2025-03-10T00:00"), at("2025-03-11T00:00"), SH).map((s) => s.slotId)).toEqual(["2025-03-10T12:00"]);
  });

  it("covers a long range and refuses one over 400 days", () => {
    expect(slotsBetween(noonSix, at("2025-01-01T00:00"), at("2026-01-01T00:00"), SH)).toHaveLength(730);
    expect(() => slotsBetween(noonSix, at("2025-01-01T00:00"), at("2026-03-01T00:00"), SH)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
});

describe("nextSlot", () => {
  it.each<[string, DebitTimePoints, string, string | null]>([
    ["before noon", noonSix, "2025-03-10T11:59", "2025-03-10T12:00"],
    ["at noon (strictly after)", noonSix, "2025-03-10T12:00", "2025-03-10T18:00"],
    ["after the last slot", noonSix, "2025-03-10T18:00", "2025-03-11T12:00"],
    ["month end", noonSix, "2025-02-28T20:00", "2025-03-01T12:00"],
    ["window leaves nothing", { times: ["08:00"], misfireGraceMinutes: 30, window: { start: "09:00", end: "20:00" } }, "2025-03-10T11:00", null],
  ])("%s", (_name, content, local, expected) => {
    expect(nextSlot(content, at(local), SH)?.slotId ?? null).toBe(expected);
  });
});

describe("slot ids", () => {
  it("round-trips", () => {
    expect(slotIdOf("2025-03-10", "12:00")).toBe("2025-03-10T12:00");
    expect(parseSlotId("2025-03-10T12:00")).toEqual({ date: "2025-03-10", time: "12:00" });
  });
  it.each([["2025-02-30T12:00"], ["2025-03-10T24:00"], ["2025-03-10 12:00"], ["2025-03-10T12:00:00"], [""], ["2025-3-10T12:00"]])("rejects %j", (id) => {
    expect(() => parseSlotId(id)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
});
