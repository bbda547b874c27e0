/** The trade state machine: every one of the 25 (from, to) pairs, and the in-flight checks. */
import { assertTransition, blocksNewTrade, canTransition, isFinal, isOpen, isTradeState, TRADE_STATES, TRADE_TRANSITIONS, type TradeState } from "../../../domain/trade-state";

const ALLOWED = new Set([
  "INIT>SENDING",
  "INIT>FAILED",
  "SENDING>SUCCESS",
  "SENDING>FAILED",
  "SENDING>UNKNOWN",
  "UNKNOWN>SUCCESS",
  "UNKNOWN>FAILED",
]);

const pairs: Array<[TradeState, TradeState, boolean]> = [];
for (const from of TRADE_STATES) for (const to of TRADE_STATES) pairs.push([from, to, ALLOWED.has(`${from}>${to}`)]);

describe("trade transitions", () => {
  it("covers all 25 pairs", () => {
    expect(pairs).toHaveLength(25);
    expect(pairs.filter((p) => p[2])).toHaveLength(7);
  });

  it.each(pairs)("%s → %s allowed: %s", (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
    expect(TRADE_TRANSITIONS[from].includes(to)).toBe(allowed);
    if (allowed) {
      expect(() => assertTransition(from, to)).not.toThrow();
    } else {
      expect(() => assertTransition(from, to)).toThrow(expect.objectContaining({ code: "ILLEGAL_TRANSITION", data: { from, to } }));
    }
  });

  it("refuses unknown state names", () => {
    expect(canTransition("INIT", "PENDING" as TradeState)).toBe(false);
    expect(canTransition("toString" as TradeState, "SENDING")).toBe(false);
    expect(() => assertTransition("DONE" as TradeState, "SUCCESS")).toThrow(expect.objectContaining({ code: "ILLEGAL_TRANSITION" }));
    expect(isTradeState("SENDING")).toBe(true);
    expect(isTradeState("sending")).toBe(false);
  });

  it("is frozen", () => {
    expect(Object.isFrozen(TRADE_TRANSITIONS)).toBe(true);
    expect(Object.isFrozen(TRADE_TRANSITIONS.INIT)).toBe(true);
  });
});

describe("final and open states", () => {
  it.each<[TradeState, boolean, boolean, boolean]>([
    // state, final, open (in flight), blocks a new trade
    ["INIT", false, false, true],
    ["SENDING", false, true, true],
    ["UNKNOWN", false, true, true],
    ["SUCCESS", true, false, false],
    ["FAILED", true, false, false],
  ])("%s: final %s, open %s, blocks %s", (state, final, open, blocks) => {
    expect(isFinal(state)).toBe(final);
    expect(isOpen(state)).toBe(open);
    expect(blocksNewTrade(state)).toBe(blocks);
  });

  it("final states have no way out", () => {
    for (const s of TRADE_STATES) expect(TRADE_TRANSITIONS[s].length === 0).toBe(isFinal(s));
  });
});
