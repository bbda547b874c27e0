/** Matching a statement with our trades: the category table, settling UNKNOWN trades, duplicates. */
import { amountToCents, centsToAmount, classify, discrepancyId, reconcile, StatementIndex, summaryOf, type OurTrade, type TheirLine } from "../../../domain/reconcile";

const D = "2026-02-15";
const ours = (tradeNo: string, state: OurTrade["state"], amount = "100.00", over: Partial<OurTrade> = {}): OurTrade => ({ tradeNo, kind: "DEBIT", state, cents: amountToCents(amount), businessDate: D, planId: "PL-" + tradeNo, ...over });
let lineNo = 1;
const theirs = (tradeNo: string, status: TheirLine["status"], amount = "100.00", over: Partial<TheirLine> = {}): TheirLine => ({ tradeNo, kind: "DEBIT", cents: amountToCents(amount), feeCents: 50n, status, date: D, channelRef: "R-" + tradeNo, line: ++lineNo, ...over });

describe("classify", () => {
  it.each<[string, OurTrade | undefined, TheirLine | undefined, ReturnType<typeof classify>]>([
    ["both SUCCESS", ours("T", "SUCCESS"), theirs("T", "SUCCESS"), { category: "MATCHED" }],
    ["both FAILED", ours("T", "FAILED"), theirs("T", "FAILED"), { category: "MATCHED" }],
    ["ours only, SUCCESS", ours("T", "SUCCESS"), undefined, { category: "ONLY_OURS" }],
    ["ours only, UNKNOWN (not settled at the bank yet)", ours("T", "UNKNOWN"), undefined, { category: "ONLY_OURS" }],
    ["ours only, FAILED (no money moved)", ours("T", "FAILED"), undefined, { category: null, skipped: "ABSENT_FAILED" }],
    ["ours only, SENDING", ours("T", "SENDING"), undefined, { category: null, skipped: "IN_FLIGHT" }],
    ["theirs only", undefined, theirs("T", "SUCCESS"), { category: "ONLY_THEIRS" }],
    ["amounts differ", ours("T", "SUCCESS", "100.00"), theirs("T", "SUCCESS", "100.01"), { category: "AMOUNT_DIFFERS" }],
    ["amounts differ on an UNKNOWN: not settled", ours("T", "UNKNOWN", "100.00"), theirs("T", "SUCCESS", "99.00"), { category: "AMOUNT_DIFFERS" }],
    ["ours SUCCESS, bank FAILED: only a discrepancy", ours("T", "SUCCESS"), theirs("T", "FAILED"), { category: "STATUS_DIFFERS" }],
    ["ours FAILED, bank SUCCESS → a late success", ours("T", "FAILED"), theirs("T", "SUCCESS"), { category: "STATUS_DIFFERS", settle: "SUCCESS" }],
    ["ours SENDING, bank final", ours("T", "SENDING"), theirs("T", "SUCCESS"), { category: "STATUS_DIFFERS" }],
    ["bank dates it another day", ours("T", "SUCCESS"), theirs("T", "SUCCESS", "100.00", { date: "2026-02-16" }), { category: "DATE_DIFFERS" }],
    ["UNKNOWN, bank SUCCESS → settled SUCCESS", ours("T", "UNKNOWN"), theirs("T", "SUCCESS"), { category: "MATCHED", settle: "SUCCESS" }],
    ["UNKNOWN, bank FAILED → settled FAILED", ours("T", "UNKNOWN"), theirs("T", "FAILED"), { category: "MATCHED", settle: "FAILED" }],
    ["UNKNOWN, other day → settled, DATE_DIFFERS", ours("T", "UNKNOWN"), theirs("T", "SUCCESS", "100.00", { date: "2026-02-14" }), { category: "DATE_DIFFERS", settle: "SUCCESS" }],
  ])("%s", (_name, o, t, expected) => {
    expect(classify(o, t)).toEqual(expected);
  });

  it("needs one side", () => {
    expect(() => classify(undefined, undefined)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
});

describe("reconcile", () => {
  it("classifies a statement with one of each kind and settles the UNKNOWN trades both ways", () => {
    const idx = new StatementIndex();
    for (const l of [
      theirs("A-MATCH", "SUCCESS", "10.00"),
      theirs("B-AMOUNT", "SUCCESS", "20.01"),
      theirs("C-STATUS", "FAILED", "30.00"),
      theirs("D-DATE", "SUCCESS", "40.00", { date: "2026-02-14" }),
      theirs("E-THEIRS", "SUCCESS", "50.00"),
      theirs("F-UNK-OK", "SUCCESS", "60.00"),
      theirs("G-UNK-NO", "FAILED", "70.00"),
    ])
      idx.add(l);
    const book = [
      ours("A-MATCH", "SUCCESS", "10.00"),
      ours("B-AMOUNT", "SUCCESS", "20.00"),
      ours("C-STATUS", "SUCCESS", "30.00"),
      ours("D-DATE", "SUCCESS", "40.00"),
      ours("H-OURS", "SUCCESS", "80.00"),
      ours("F-UNK-OK", "UNKNOWN", "60.00"),
      ours("G-UNK-NO", "UNKNOWN", "70.00"),
      ours("I-FAILED", "FAILED", "90.00"),
    ];
    const r = reconcile(idx, book);
    expect(r.findings.map((f) => [f.tradeNo, f.category]).sort()).toEqual([
      ["B-AMOUNT", "AMOUNT_DIFFERS"],
      ["C-STATUS", "STATUS_DIFFERS"],
      ["D-DATE", "DATE_DIFFERS"],
      ["E-THEIRS", "ONLY_THEIRS"],
      ["H-OURS", "ONLY_OURS"],
    ]);
    expect(r.settlements.map((s) => [s.tradeNo, s.to])).toEqual([
      ["F-UNK-OK", "SUCCESS"],
      ["G-UNK-NO", "FAILED"],
    ]);
    const sum = summaryOf(r.totals);
    expect(sum.MATCHED).toEqual({ count: 3, amount: "140.00", theirAmount: "140.00" });
    expect(sum.AMOUNT_DIFFERS).toEqual({ count: 1, amount: "20.00", theirAmount: "20.01" });
    expect(sum.ONLY_OURS).toEqual({ count: 1, amount: "80.00", theirAmount: "0.00" });
    expect(sum.ONLY_THEIRS).toEqual({ count: 1, amount: "0.00", theirAmount: "50.00" });
    expect(r.totals.skipped.ABSENT_FAILED).toBe(1);
    expect(r.totals.settle).toEqual({ SUCCESS: 1, FAILED: 1 });
  });

  it("refuses a trade number twice in the statement, naming both lines", () => {
    const idx = new StatementIndex();
    idx.add(theirs("X", "SUCCESS", "1.00", { line: 2 }));
    expect(() => idx.add(theirs("X", "FAILED", "1.00", { line: 7 }))).toThrow(expect.objectContaining({ code: "STATEMENT_INVALID", data: expect.objectContaining({ line: 7, firstLine: 2, reason: "DUPLICATE_TRADE_NO" }) }));
  });
});

describe("amounts and ids", () => {
  it.each([
    ["0.01", 1n],
    ["12.3", 1230n],
    ["5", 500n],
    ["999999999999999.99", 99999999999999999n],
  ])("%s ↔ cents", (a, c) => {
    expect(amountToCents(a)).toBe(c);
    expect(amountToCents(centsToAmount(c))).toBe(c);
  });

  it.each(["12.345", "1e3", "-5", "", "01.00", "1,000.00"])("refuses %j", (a) => {
    expect(() => amountToCents(a)).toThrow(expect.objectContaining({ code: "INVALID_AMOUNT" }));
  });

  it("formats differences with their sign and builds stable ids", () => {
    expect(centsToAmount(-5n)).toBe("-0.05");
    expect(discrepancyId("BANK_A", D, "DB-1", "ONLY_OURS")).toBe("BANK_A:2026-02-15:DB-1:ONLY_OURS");
  });
});
