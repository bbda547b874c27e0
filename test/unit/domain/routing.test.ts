/** Channel routing: one table row per eligibility rule, the ordering rules, fees and next steps. */
import { breakerEventOf, channelFee, nextStep, route, type ChannelOutcome, type ChannelSetting, type RouteInput } from "../../../domain/routing";

const A: ChannelSetting = { code: "A", enabled: true, priority: 10, capabilities: ["DEBIT", "PAYOUT"], limits: { perTransaction: "5000.00", perDay: "10000.00", perCardPerDay: 3 }, cost: { fixed: "0.50", rate: "0.001" } };
const B: ChannelSetting = { code: "B", enabled: true, priority: 20, limits: { perTransaction: "50000.00" }, cost: { rate: "0.002" } };
const C: ChannelSetting = { code: "C", enabled: true, priority: 30, capabilities: ["DEBIT"], cost: { fixed: "1.00" } };

function input(over: Partial<RouteInput> = {}): RouteInput {
  return {
    kind: "DEBIT",
    amount: "1000.00",
    settings: [A, B, C],
    agreements: ["A", "B", "C"],
    successRate: { A: 0.9, B: 0.9, C: 0.9 },
    breaker: { A: "CLOSED", B: "CLOSED", C: "CLOSED" },
    usedToday: {},
    cardAttemptsToday: 0,
    cardDailyAttemptCap: 3,
    ...over,
  };
}

const codes = (i: RouteInput) => route(i).candidates.map((c) => c.code);

describe("route: eligibility", () => {
  it("keeps every channel when nothing stands in the way", () => {
    expect(route(input())).toEqual({
      candidates: [
        { code: "A", fee: "1.50", reasons: ["success rate 0.9000", "priority 10", "fee 1.50"] },
        { code: "B", fee: "2.00", reasons: ["success rate 0.9000", "priority 20", "fee 2.00"] },
        { code: "C", fee: "1.00", reasons: ["success rate 0.9000", "priority 30", "fee 1.00"] },
      ],
      rejected: [],
    });
  });

  it.each<[string, Partial<RouteInput>, string, string]>([
    ["disabled", { settings: [{ ...A, enabled: false }, B, C] }, "A", "DISABLED"],
    ["no PAYOUT capability", { kind: "PAYOUT", position: { A: "9999999.00", B: "9999999.00", C: "9999999.00" } }, "C", "NO_CAPABILITY"],
    ["excluded (tried in this slot)", { exclude: ["B"] }, "B", "EXCLUDED"],
    ["no agreement", { agreements: ["A", "C"] }, "B", "NO_AGREEMENT"],
    ["breaker OPEN", { breaker: { A: "CLOSED", B: "OPEN", C: "CLOSED" } }, "B", "BREAKER_OPEN"],
    ["over the per-transaction limit", { amount: "5000.01" }, "A", "OVER_PER_TRANSACTION_LIMIT"],
    ["over the daily limit", { usedToday: { A: { amount: "9000.01", cardAttempts: 1, attempts: 5 } } }, "A", "OVER_DAILY_LIMIT"],
    ["card attempts on the channel at perCardPerDay", { usedToday: { A: { amount: "0.00", cardAttempts: 3, attempts: 3 } } }, "A", "CARD_CHANNEL_ATTEMPT_CAP"],
    ["channel attempts at the channel cap", { channelDailyAttemptCap: 100, usedToday: { C: { amount: "0.00", cardAttempts: 0, attempts: 100 } } }, "C", "CHANNEL_DAILY_ATTEMPT_CAP"],
  ])("rejects %s", (_name, over, code, reason) => {
    const d = route(input(over));
    expect(d.rejected).toEqual([{ code, reason }]);
    expect(d.candidates.map((c) => c.code)).not.toContain(code);
    expect(d.candidates).toHaveLength(2);
  });

  it.each<[string, Partial<RouteInput>, string[]]>([
    ["HALF_OPEN is allowed through", { breaker: { A: "HALF_OPEN" } }, ["A", "B", "C"]],
    ["missing breaker entry = CLOSED", { breaker: {} }, ["A", "B", "C"]],
    ["exactly at the per-transaction limit", { amount: "5000.00" }, ["A", "B", "C"]],
    ["exactly at the daily limit", { usedToday: { A: { amount: "9000.00", cardAttempts: 2, attempts: 2 } } }, ["A", "B", "C"]],
    ["one below perCardPerDay", { usedToday: { A: { amount: "0.00", cardAttempts: 2, attempts: 2 } } }, ["A", "B", "C"]],
    ["no channel cap configured", { usedToday: { A: { amount: "0.00", cardAttempts: 0, attempts: 1_000_000 } } }, ["A", "B", "C"]],
    ["one below the card's daily cap", { cardAttemptsToday: 2 }, ["A", "B", "C"]],
  ])("accepts: %s", (_name, over, expected) => {
    expect(codes(input(over))).toEqual(expected);
  });

  it("stops every channel once the card's daily attempt cap is reached", () => {
    expect(route(input({ cardAttemptsToday: 3 }))).toEqual({
      candidates: [],
      rejected: [
        { code: "A", reason: "CARD_DAILY_ATTEMPT_CAP" },
        { code: "B", reason: "CARD_DAILY_ATTEMPT_CAP" },
        { code: "C", reason: "CARD_DAILY_ATTEMPT_CAP" },
      ],
    });
  });

  it("needs an agreement for DEBIT (none given = none held) but not for PAYOUT", () => {
    expect(route(input({ agreements: undefined })).rejected.map((r) => r.reason)).toEqual(["NO_AGREEMENT", "NO_AGREEMENT", "NO_AGREEMENT"]);
    expect(codes(input({ kind: "PAYOUT", agreements: [], position: { A: "1000.00", B: "1000.00" } }))).toEqual(["A", "B"]);
  });

  it.each<[string, Record<string, string> | undefined, string[], Array<{ code: string; reason: string }>]>([
    ["position ≥ amount", { A: "1000.00", B: "5000.00" }, ["A", "B"], [{ code: "C", reason: "NO_CAPABILITY" }]],
    ["position one cent short", { A: "999.99", B: "5000.00" }, ["B"], [{ code: "A", reason: "INSUFFICIENT_POSITION" }, { code: "C", reason: "NO_CAPABILITY" }]],
    ["no position for a channel = zero", { B: "5000.00" }, ["B"], [{ code: "A", reason: "INSUFFICIENT_POSITION" }, { code: "C", reason: "NO_CAPABILITY" }]],
    ["no positions at all", undefined, [], [{ code: "A", reason: "INSUFFICIENT_POSITION" }, { code: "B", reason: "INSUFFICIENT_POSITION" }, { code: "C", reason: "NO_CAPABILITY" }]],
  ])("PAYOUT: %s", (_name, position, expected, rejected) => {
    const d = route(input({ kind: "PAYOUT", position }));
    expect(d.candidates.map((c) => c.code)).toEqual(expected);
    expect(d.rejected).toEqual(rejected);
  });

  it("reports the first rule broken, in the documented order", () => {
    const d = route(input({ settings: [{ ...A, enabled: false }], exclude: ["A"], agreements: [], breaker: { A: "OPEN" } }));
    expect(d.rejected).toEqual([{ code: "A", reason: "DISABLED" }]);
    const e = route(input({ settings: [A], agreements: [], breaker: { A: "OPEN" } }));
    expect(e.rejected).toEqual([{ code: "A", reason: "NO_AGREEMENT" }]);
  });
});

describe("route: order", () => {
  it.each<[string, Partial<RouteInput>, string[]]>([
    ["higher success rate first", { successRate: { A: 0.8, B: 0.95, C: 0.9 } }, ["B", "C", "A"]],
    ["no data never outranks a measured good channel", { successRate: { A: 0.99, B: undefined, C: 0.5 } }, ["A", "C", "B"]],
    ["no data ranks above a channel measured worse than the prior", { successRate: { A: 0.2, B: undefined, C: 0.9 } }, ["C", "B", "A"]],
    ["no data after a measured channel at exactly the prior", { successRate: { A: undefined, B: 0.5, C: 0.49 } }, ["B", "A", "C"]],
    ["a measured 0 ranks last, after no data", { successRate: { A: 0, B: undefined, C: undefined } }, ["B", "C", "A"]],
    ["channels with no data keep priority order among themselves", { successRate: { A: undefined, B: undefined, C: 0.51 } }, ["C", "A", "B"]],
    ["a higher prior puts no data above a 0.8", { unknownRatePrior: 0.9, successRate: { A: 0.8, B: undefined, C: 0.95 } }, ["C", "B", "A"]],
    ["prior 1: no data ranks with perfect channels, after them", { unknownRatePrior: 1, successRate: { A: 1, B: undefined, C: 0.99 } }, ["A", "B", "C"]],
    ["prior 0: no data ranks last", { unknownRatePrior: 0, successRate: { A: undefined, B: 0.01, C: 0 } }, ["B", "C", "A"]],
    ["equal rates: lower priority number first", { successRate: {} }, ["A", "B", "C"]],
    ["designated (order) first even with a worse rate", { designated: "C", successRate: { A: 0.99, B: 0.98, C: 0.1 } }, ["C", "A", "B"]],
    ["designated but not eligible: the others in normal order", { designated: "C", agreements: ["A", "B"] }, ["A", "B"]],
    ["designated by rule ranks after the order's designated one", { designated: "C", settings: [A, { ...B, designated: true }, C] }, ["C", "B", "A"]],
    ["designated by rule first", { settings: [A, B, { ...C, designated: true }], successRate: { A: 1, B: 1, C: 0 } }, ["C", "A", "B"]],
  ])("%s", (_name, over, expected) => {
    expect(codes(input(over))).toEqual(expected);
  });

  it("breaks priority ties by lower fee, then by code", () => {
    const X: ChannelSetting = { code: "X", enabled: true, priority: 5, cost: { fixed: "2.00" } };
    const Y: ChannelSetting = { code: "Y", enabled: true, priority: 5, cost: { fixed: "1.00" } };
    const Z: ChannelSetting = { code: "Z", enabled: true, priority: 5, cost: { fixed: "1.00" } };
    const W: ChannelSetting = { code: "W", enabled: true, priority: 5, cost: { fixed: "1.00" } };
    const i = input({ settings: [X, Z, Y, W], agreements: ["W", "X", "Y", "Z"], successRate: {} });
    expect(codes(i)).toEqual(["W", "Y", "Z", "X"]);
  });

  it("explains each candidate's place", () => {
    const d = route(input({ designated: "B", successRate: { A: 0.875, B: undefined, C: 0.5 } }));
    expect(d.candidates[0]).toEqual({ code: "B", fee: "2.00", reasons: ["designated by order", "success rate: no data (ranked as 0.5000)", "priority 20", "fee 2.00"] });
    expect(d.candidates[1].reasons[0]).toBe("success rate 0.8750");
  });

  it.each([[-0.1], [1.5], [Number.NaN]])("rejects an unknownRatePrior of %d", (prior) => {
    expect(() => route(input({ unknownRatePrior: prior }))).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });

  it("reports a designated channel that is not configured", () => {
    const d = route(input({ designated: "Q" }));
    expect(d.rejected).toEqual([{ code: "Q", reason: "NOT_CONFIGURED" }]);
    expect(d.candidates.map((c) => c.code)).toEqual(["A", "B", "C"]);
  });
});

describe("route: input checks", () => {
  it.each<[string, Partial<RouteInput>, string]>([
    ["zero amount", { amount: "0.00" }, "INVALID_AMOUNT"],
    ["three decimals", { amount: "1.001" }, "INVALID_AMOUNT"],
    ["a JS number", { amount: 100 as unknown as string }, "INVALID_AMOUNT"],
    ["duplicate channel codes", { settings: [A, A] }, "VALIDATION_ERROR"],
    ["a success rate above 1", { successRate: { A: 1.2 } }, "VALIDATION_ERROR"],
    ["a NaN success rate", { successRate: { A: Number.NaN } }, "VALIDATION_ERROR"],
    ["a negative attempt count", { cardAttemptsToday: -1 }, "VALIDATION_ERROR"],
    ["an unknown kind", { kind: "REFUND" as "DEBIT" }, "VALIDATION_ERROR"],
    ["a bad used amount", { usedToday: { A: { amount: "12.345", cardAttempts: 0, attempts: 0 } } }, "INVALID_AMOUNT"],
    ["a bad per-day limit", { settings: [{ ...A, limits: { perDay: "1e6" } }] }, "INVALID_AMOUNT"],
    ["a fractional attempt count", { usedToday: { A: { amount: "0.00", cardAttempts: 1.5, attempts: 0 } } }, "VALIDATION_ERROR"],
  ])("rejects %s", (_name, over, code) => {
    expect(() => route(input(over))).toThrow(expect.objectContaining({ code }));
  });
});

describe("channelFee", () => {
  it.each<[string, { fixed?: string; rate?: string } | undefined, string]>([
    ["1000.00", undefined, "0.00"],
    ["1000.00", {}, "0.00"],
    ["1000.00", { fixed: "0.50" }, "0.50"],
    ["1000.00", { rate: "0.002" }, "2.00"],
    ["1000.00", { fixed: "0.50", rate: "0.001" }, "1.50"],
    ["333.33", { rate: "0.0015" }, "0.50"], // 0.499995 → 0.50 half-up
    ["333.00", { rate: "0.0015" }, "0.50"], // 0.4995 → 0.50
    ["100.00", { rate: "0.00004" }, "0.00"], // 0.004 → 0.00
    ["100.00", { rate: "0.00005" }, "0.01"], // 0.005 → 0.01
    ["0.01", { fixed: "2.00", rate: "0.5" }, "2.01"], // 2.005 → 2.01
  ])("fee of %s with %j is %s", (amount, cost, fee) => {
    expect(channelFee(amount, cost)).toBe(fee);
  });
  it.each<[string, { fixed?: string; rate?: string }, string]>([
    ["abc", {}, "INVALID_AMOUNT"],
    ["1.00", { fixed: "-1.00" }, "INVALID_AMOUNT"],
    ["1.00", { rate: "1.5" }, "INVALID_RATE"],
  ])("rejects %s with %j", (amount, cost, code) => {
    expect(() => channelFee(amount, cost)).toThrow(expect.objectContaining({ code }));
  });
});

describe("nextStep and breaker events", () => {
  it.each<[ChannelOutcome, string, string | null]>([
    [{ status: "SUCCESS" }, "DONE", "SUCCESS"],
    [{ status: "DECLINED", side: "CHANNEL" }, "TRY_NEXT_CHANNEL", "CHANNEL_FAILURE"],
    [{ status: "DECLINED", side: "BORROWER" }, "STOP_UNTIL_NEXT_SLOT", null],
    [{ status: "DECLINED" }, "STOP_UNTIL_NEXT_SLOT", null],
    [{ status: "UNAVAILABLE" }, "TRY_NEXT_CHANNEL", "CHANNEL_FAILURE"],
    [{ status: "UNAVAILABLE", side: "CHANNEL" }, "TRY_NEXT_CHANNEL", "CHANNEL_FAILURE"],
    [{ status: "UNKNOWN" }, "WAIT_FOR_QUERY", "CHANNEL_FAILURE"],
    [{ status: "UNKNOWN", side: "CHANNEL" }, "WAIT_FOR_QUERY", "CHANNEL_FAILURE"],
  ])("%j → %s, breaker %s", (outcome, step, event) => {
    expect(nextStep(outcome)).toBe(step);
    expect(breakerEventOf(outcome)).toBe(event);
  });
  it("rejects an unknown status", () => {
    expect(() => nextStep({ status: "TIMEOUT" as "UNKNOWN" })).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
    expect(() => breakerEventOf({ status: "TIMEOUT" as "UNKNOWN" })).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
});
