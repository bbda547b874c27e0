/** Rolling success window and the per-channel circuit breaker, with injected time. */
import {
  assertBreakerTransition,
  BREAKER_TRANSITIONS,
  bucketKey,
  CircuitBreaker,
  DEFAULT_BREAKER,
  DEFAULT_SUCCESS_RATE,
  healthSettingsOf,
  rateFrom,
  rateOfRecent,
  RecentAttempts,
  shouldTrip,
  SlidingWindow,
  type AttemptRecord,
  type BreakerState,
} from "../../../domain/sliding-window";

const T0 = Date.UTC(2025, 2, 10, 4, 0, 0); // a bucket boundary for 10 s buckets
const s = (n: number) => n * 1000;

describe("bucketKey", () => {
  it.each([
    [T0, 10_000, T0],
    [T0 + 1, 10_000, T0],
    [T0 + 9_999, 10_000, T0],
    [T0 + 10_000, 10_000, T0 + 10_000],
    [T0 + 61_000, 60_000, T0 + 60_000],
    [0, 10_000, 0],
  ])("bucketKey(%d, %d) = %d", (now, bucketMs, expected) => {
    expect(bucketKey(now, bucketMs)).toBe(expected);
  });
  it.each([[0], [-1], [1.5]])("rejects bucket width %d", (w) => {
    expect(() => bucketKey(T0, w)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
  it("rejects a non-finite now", () => {
    expect(() => bucketKey(Number.NaN, 10_000)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
});

describe("rateFrom", () => {
  const buckets = [
    { start: T0 - s(70), success: 100, total: 100 }, // out of a 60 s window at T0 + 5 s
    { start: T0 - s(50), success: 3, total: 4 }, // in at T0 + 5 s; at T0 + 10 s its start = now − window: out
    { start: T0 - s(40), success: 1, total: 2 },
    { start: T0, success: 2, total: 2 },
    { start: T0 + s(10), success: 0, total: 5 }, // in the future: out
  ];
  it.each<[string, number, number, { success: number; total: number; failure: number; rate: number | undefined }]>([
    ["60 s window", T0 + s(5), s(60), { success: 6, failure: 2, total: 8, rate: 0.75 }],
    ["boundary: a bucket starting exactly now − window is out", T0 + s(10), s(60), { success: 3, failure: 6, total: 9, rate: 1 / 3 }],
    ["10 s window holds only the current bucket", T0 + s(5), s(10), { success: 2, failure: 0, total: 2, rate: 1 }],
    ["nothing in the window", T0 + s(600), s(60), { success: 0, failure: 0, total: 0, rate: undefined }],
  ])("%s", (_name, now, windowMs, expected) => {
    expect(rateFrom(buckets, now, windowMs)).toEqual(expected);
  });
});

describe("SlidingWindow", () => {
  it("counts over the last W seconds and forgets older buckets", () => {
    const w = new SlidingWindow({ windowSeconds: 60, bucketSeconds: 10 });
    w.record(true, T0);
    w.record(false, T0 + s(5));
    w.record(true, T0 + s(30));
    expect(w.stats(T0 + s(30))).toEqual({ success: 2, failure: 1, total: 3, rate: 2 / 3 });
    // At T0 + 60 s the bucket of T0 has left the window.
    expect(w.stats(T0 + s(60))).toEqual({ success: 1, failure: 0, total: 1, rate: 1 });
    expect(w.snapshot()).toEqual([{ start: T0 + s(30), success: 1, total: 1 }]);
    expect(w.stats(T0 + s(200))).toEqual({ success: 0, failure: 0, total: 0, rate: undefined });
    expect(w.snapshot()).toEqual([]);
  });
  it("agrees with rateFrom over its own snapshot (the Redis version's math)", () => {
    const w = new SlidingWindow({ windowSeconds: 300 });
    for (let i = 0; i < 500; i++) w.record(i % 3 !== 0, T0 + i * 997);
    const now = T0 + 500 * 997;
    expect(w.stats(now)).toEqual(rateFrom(w.snapshot(), now, 300_000));
    expect(w.snapshot().length).toBeLessThanOrEqual(30);
  });
  it.each([
    [{ windowSeconds: 0 }],
    [{ windowSeconds: 65, bucketSeconds: 10 }],
    [{ windowSeconds: 60, bucketSeconds: 0 }],
  ])("rejects config %j", (opts) => {
    expect(() => new SlidingWindow(opts)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
});

describe("breaker transitions", () => {
  const states: BreakerState[] = ["CLOSED", "OPEN", "HALF_OPEN"];
  const allowed = new Set(["CLOSED>OPEN", "OPEN>HALF_OPEN", "HALF_OPEN>CLOSED", "HALF_OPEN>OPEN"]);
  const pairs = states.flatMap((a) => states.map((b) => [a, b, allowed.has(`${a}>${b}`)] as [BreakerState, BreakerState, boolean]));
  it.each(pairs)("%s → %s allowed: %s", (from, to, ok) => {
    expect(BREAKER_TRANSITIONS[from].includes(to)).toBe(ok);
    if (ok) expect(() => assertBreakerTransition(from, to)).not.toThrow();
    else expect(() => assertBreakerTransition(from, to)).toThrow(expect.objectContaining({ code: "ILLEGAL_TRANSITION", data: { from, to } }));
  });
});

describe("shouldTrip", () => {
  const cfg = { minRequests: 10, failureRatio: 0.5 };
  it.each([
    [{ total: 9, failure: 9 }, false], // below minRequests
    [{ total: 10, failure: 4 }, false],
    [{ total: 10, failure: 5 }, true], // ratio reached exactly
    [{ total: 20, failure: 11 }, true],
    [{ total: 0, failure: 0 }, false],
  ])("%j → %s", (stats, trip) => {
    expect(shouldTrip(stats, cfg)).toBe(trip);
  });
  it("compares ratios exactly at awkward decimals", () => {
    expect(shouldTrip({ total: 10, failure: 3 }, { minRequests: 1, failureRatio: 0.3 })).toBe(true);
    expect(shouldTrip({ total: 3, failure: 1 }, { minRequests: 1, failureRatio: 1 / 3 })).toBe(true);
    expect(shouldTrip({ total: 100, failure: 29 }, { minRequests: 1, failureRatio: 0.3 })).toBe(false);
  });
});

describe("CircuitBreaker", () => {
  const config = { windowSeconds: 60, minRequests: 4, failureRatio: 0.5, halfOpenAfterSeconds: 30 };

  it("stays CLOSED below minRequests, however bad", () => {
    const b = new CircuitBreaker(config);
    for (let i = 0; i < 3; i++) expect(b.record("CHANNEL_FAILURE", T0 + i)).toBe("CLOSED");
  });

  it("opens at minRequests with the failure ratio reached, half-opens after the pause, closes on a success", () => {
    const b = new CircuitBreaker(config);
    b.record("SUCCESS", T0);
    b.record("SUCCESS", T0 + s(1));
    b.record("CHANNEL_FAILURE", T0 + s(2));
    expect(b.state(T0 + s(2))).toBe("CLOSED");
    expect(b.record("CHANNEL_FAILURE", T0 + s(3))).toBe("OPEN"); // 2 of 4 failed
    expect(b.allows(T0 + s(4))).toBe(false);
    // Late answers while OPEN change nothing.
    expect(b.record("SUCCESS", T0 + s(10))).toBe("OPEN");
    expect(b.state(T0 + s(32))).toBe("OPEN");
    expect(b.state(T0 + s(33))).toBe("HALF_OPEN");
    expect(b.allows(T0 + s(33))).toBe(true);
    expect(b.record("SUCCESS", T0 + s(34))).toBe("CLOSED");
    // The window started afresh: one failure does not re-open it.
    expect(b.record("CHANNEL_FAILURE", T0 + s(35))).toBe("CLOSED");
    expect(b.snapshot(T0 + s(35))).toEqual({ state: "CLOSED", openedAt: null, window: { success: 1, failure: 1, total: 2, rate: 0.5 } });
  });

  it("re-opens from HALF_OPEN on a failure and waits the full pause again", () => {
    const b = new CircuitBreaker(config);
    for (let i = 0; i < 4; i++) b.record("CHANNEL_FAILURE", T0 + i); // opens at T0 + 3 ms
    expect(b.state(T0 + s(30))).toBe("OPEN");
    expect(b.state(T0 + s(30) + 3)).toBe("HALF_OPEN");
    expect(b.record("CHANNEL_FAILURE", T0 + s(31))).toBe("OPEN");
    expect(b.snapshot(T0 + s(31)).openedAt).toBe(T0 + s(31));
    expect(b.state(T0 + s(61) - 1)).toBe("OPEN");
    expect(b.state(T0 + s(61))).toBe("HALF_OPEN");
  });

  it("forgets failures that left the window", () => {
    const b = new CircuitBreaker(config);
    for (let i = 0; i < 3; i++) b.record("CHANNEL_FAILURE", T0 + i);
    // 60 s later those three are gone: one more failure is 1 of 1, below minRequests.
    expect(b.record("CHANNEL_FAILURE", T0 + s(70))).toBe("CLOSED");
  });

  it("successes keep the ratio below the threshold", () => {
    const b = new CircuitBreaker(config);
    const events: Array<"SUCCESS" | "CHANNEL_FAILURE"> = ["SUCCESS", "CHANNEL_FAILURE", "SUCCESS", "SUCCESS", "CHANNEL_FAILURE", "SUCCESS"];
    events.forEach((e, i) => expect(b.record(e, T0 + s(i))).toBe("CLOSED"));
    expect(b.record("CHANNEL_FAILURE", T0 + s(7))).toBe("CLOSED"); // 3 of 7
    expect(b.record("CHANNEL_FAILURE", T0 + s(8))).toBe("OPEN"); // 4 of 8
  });

  it.each([
    [{ ...config, failureRatio: 0 }],
    [{ ...config, failureRatio: 1.5 }],
    [{ ...config, minRequests: 0 }],
    [{ ...config, halfOpenAfterSeconds: -1 }],
    [{ ...config, windowSeconds: 55 }],
  ])("rejects config %j", (c) => {
    expect(() => new CircuitBreaker(c)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });

  it("rejects an unknown event kind", () => {
    expect(() => new CircuitBreaker(config).record("DECLINED" as "SUCCESS", T0)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
});

describe("CircuitBreaker.reconfigure", () => {
  const config = { windowSeconds: 60, minRequests: 4, failureRatio: 0.5, halfOpenAfterSeconds: 30 };
  it("keeps the counts in a wider window and applies the new thresholds", () => {
    const b = new CircuitBreaker(config);
    for (let i = 0; i < 3; i++) b.record("CHANNEL_FAILURE", T0 + s(i));
    b.reconfigure({ ...config, windowSeconds: 600, minRequests: 3 });
    expect(b.config.minRequests).toBe(3);
    // The three failures were carried over: one more (4 of 4) trips at the new threshold.
    expect(b.record("CHANNEL_FAILURE", T0 + s(120))).toBe("OPEN");
  });
  it("keeps an OPEN state and the time it opened; a longer pause applies at once", () => {
    const b = new CircuitBreaker(config);
    for (let i = 0; i < 4; i++) b.record("CHANNEL_FAILURE", T0 + i);
    b.reconfigure({ ...config, halfOpenAfterSeconds: 3600 });
    expect(b.state(T0 + s(60))).toBe("OPEN");
    expect(b.state(T0 + s(3600) + 3)).toBe("HALF_OPEN");
  });
  it("rejects a bad config and keeps the old one", () => {
    const b = new CircuitBreaker(config);
    expect(() => b.reconfigure({ ...config, failureRatio: 2 })).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
    expect(b.config).toEqual(config);
  });
});

describe("rateOfRecent (the success rate routing ranks by)", () => {
  const H = 3_600_000;
  const rec = (at: number, success: boolean): AttemptRecord => ({ at, success });
  // Newest first, as recorded.
  const records = [rec(T0, true), rec(T0 - 1000, false), rec(T0 - 6 * H, false), rec(T0 - 6 * H - 1, false), rec(T0 - 25 * H, true)];
  it.each<[string, number, { windowAttempts: number; windowHours: number }, { success: number; total: number; rate: number | undefined }]>([
    ["last 200 in 24 h: the 12:00 slot's failures are still there at 18:00", T0, { windowAttempts: 200, windowHours: 24 }, { success: 1, total: 4, rate: 0.25 }],
    ["only the last 2 attempts", T0, { windowAttempts: 2, windowHours: 24 }, { success: 1, total: 2, rate: 0.5 }],
    ["only the last hour", T0, { windowAttempts: 200, windowHours: 1 }, { success: 1, total: 2, rate: 0.5 }],
    ["a day later nothing is left", T0 + 24 * H, { windowAttempts: 200, windowHours: 24 }, { success: 0, total: 0, rate: undefined }],
    ["records after now (a clock moved back) do not count", T0 - 2000, { windowAttempts: 200, windowHours: 24 }, { success: 0, total: 2, rate: 0 }],
    ["boundary: exactly now − H is out", T0 + 18 * H, { windowAttempts: 200, windowHours: 24 }, { success: 1, total: 2, rate: 0.5 }],
  ])("%s", (_name, now, config, expected) => {
    expect(rateOfRecent(records, now, config)).toEqual({ ...expected, failure: expected.total - expected.success });
  });
  it.each([[{ windowAttempts: 0, windowHours: 24 }], [{ windowAttempts: 10, windowHours: 0.5 }]])("rejects %j", (c) => {
    expect(() => rateOfRecent(records, T0, c)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
});

describe("RecentAttempts", () => {
  it("keeps the newest `capacity` records, newest first, and agrees with rateOfRecent", () => {
    const r = new RecentAttempts(3);
    for (let i = 0; i < 5; i++) r.record(i % 2 === 0, T0 + i);
    expect([...r.newestFirst()]).toEqual([
      { at: T0 + 4, success: true },
      { at: T0 + 3, success: false },
      { at: T0 + 2, success: true },
    ]);
    expect(r.stats(T0 + 10, { windowAttempts: 200, windowHours: 24 })).toEqual({ success: 2, failure: 1, total: 3, rate: 2 / 3 });
    expect(r.stats(T0 + 10, { windowAttempts: 1, windowHours: 24 }).rate).toBe(1);
  });
  it("resizes to the newest records", () => {
    const r = new RecentAttempts(5);
    for (let i = 0; i < 7; i++) r.record(i >= 5, T0 + i);
    r.resize(2);
    expect([...r.newestFirst()].map((x) => x.at)).toEqual([T0 + 6, T0 + 5]);
    r.record(false, T0 + 7);
    expect([...r.newestFirst()].map((x) => x.at)).toEqual([T0 + 7, T0 + 6]);
    r.resize(4);
    r.record(false, T0 + 8);
    expect([...r.newestFirst()].map((x) => x.at)).toEqual([T0 + 8, T0 + 7, T0 + 6]);
  });
});

describe("healthSettingsOf (CHANNEL_SETTINGS → breakers and success rate)", () => {
  it("defaults for a rule stored without the fields", () => {
    expect(healthSettingsOf({ channels: [{ code: "A" }] })).toEqual({ breaker: DEFAULT_BREAKER, perChannel: {}, successRate: DEFAULT_SUCCESS_RATE });
    expect(DEFAULT_SUCCESS_RATE).toEqual({ windowAttempts: 200, windowHours: 24, unknownPrior: 0.5 });
  });
  it("a channel's own breaker fields go on top of the global ones", () => {
    const h = healthSettingsOf({
      circuitBreaker: { windowSeconds: 600, minRequests: 10 },
      successRate: { windowAttempts: 50 },
      channels: [{ code: "A", circuitBreaker: { failureRatio: 0.8 } }, { code: "B" }],
    });
    expect(h.breaker).toEqual({ windowSeconds: 600, minRequests: 10, failureRatio: 0.5, halfOpenAfterSeconds: 60 });
    expect(h.perChannel).toEqual({ A: { windowSeconds: 600, minRequests: 10, failureRatio: 0.8, halfOpenAfterSeconds: 60 } });
    expect(h.successRate).toEqual({ windowAttempts: 50, windowHours: 24, unknownPrior: 0.5 });
  });
  it.each<[string, Record<string, unknown>]>([
    ["a window not a multiple of 10 s", { circuitBreaker: { windowSeconds: 15 } }],
    ["a failure ratio above 1", { channels: [{ code: "A", circuitBreaker: { failureRatio: 1.2 } }] }],
    ["a prior above 1", { successRate: { unknownPrior: 1.5 } }],
    ["a fractional window of attempts", { successRate: { windowAttempts: 2.5 } }],
  ])("rejects %s", (_name, content) => {
    expect(() => healthSettingsOf(content as Parameters<typeof healthSettingsOf>[0])).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
});
