/** Fen/yuan conversions at the wire edge: exact, string-only, strict about input. */
import { canonical, fromFen, fromYuan, groupThousands, sameAmount, toFen, toFenPadded } from "../../../channels/amounts";
import { computeFee } from "../../../channels/channel";

describe("fen ↔ decimal amounts", () => {
  it.each([
    ["0.01", "1"],
    ["0.10", "10"],
    ["0.1", "10"],
    ["1", "100"],
    ["12.3", "1230"],
    ["100.05", "10005"],
    ["12345678.90", "1234567890"],
    ["999999999999999.99", "99999999999999999"], // beyond 2^53: a float would round it
    ["0", "0"],
  ])("toFen(%s) = %s", (amount, fen) => {
    expect(toFen(amount)).toBe(fen);
  });

  it.each([
    ["1", "0.01"],
    ["10", "0.10"],
    ["0", "0.00"],
    ["100", "1.00"],
    ["1234567890", "12345678.90"],
    ["000000001234", "12.34"],
    ["99999999999999999", "999999999999999.99"],
  ])("fromFen(%s) = %s", (fen, amount) => {
    expect(fromFen(fen)).toBe(amount);
  });

  it.each([["1.001"], ["-1"], ["1e3"], [" 1"], [""], ["01.00"], ["1."]])("toFen refuses %j", (v) => {
    expect(() => toFen(v)).toThrow(expect.objectContaining({ code: "INVALID_AMOUNT" }));
  });

  it.each([["1.5"], ["-1"], [""], ["12a"], ["1e3"]])("fromFen refuses %j", (v) => {
    expect(() => fromFen(v)).toThrow(expect.objectContaining({ code: "INVALID_AMOUNT" }));
  });

  it("refuses JS numbers", () => {
    expect(() => toFen(1 as unknown as string)).toThrow();
    expect(() => fromFen(1 as unknown as string)).toThrow();
  });

  it("pads to a fixed width and refuses what does not fit", () => {
    expect(toFenPadded("12.34", 12)).toBe("000000001234");
    expect(toFenPadded("0.01", 12)).toBe("000000000001");
    expect(() => toFenPadded("99999999999.99", 12)).toThrow();
  });
});

describe("yuan amounts", () => {
  it.each([
    ["12", "12.00"],
    ["12.3", "12.30"],
    ["0.01", "0.01"],
    ["12,345,678.90", "12345678.90"],
    ["1,000", "1000.00"],
    ["999", "999.00"],
  ])("fromYuan(%s) = %s", (text, amount) => {
    expect(fromYuan(text)).toBe(amount);
  });

  it.each([["1,00"], ["12,3456.00"], [",100"], ["1.234"], ["abc"], ["-1.00"]])("fromYuan refuses %j", (v) => {
    expect(() => fromYuan(v)).toThrow(expect.objectContaining({ code: "INVALID_AMOUNT" }));
  });

  it.each([
    ["0.01", "0.01"],
    ["999.5", "999.50"],
    ["1000", "1,000.00"],
    ["12345678.9", "12,345,678.90"],
    ["100000", "100,000.00"],
  ])("groupThousands(%s) = %s", (amount, text) => {
    expect(groupThousands(amount)).toBe(text);
    expect(fromYuan(text)).toBe(canonical(amount));
  });

  it("compares amounts as decimals, never throwing on bad input", () => {
    expect(sameAmount("12.3", "12.30")).toBe(true);
    expect(sameAmount("12.31", "12.30")).toBe(false);
    expect(sameAmount("x", "12.30")).toBe(false);
  });
});

describe("fees", () => {
  it.each([
    [{ fixed: "0.50" }, "100.00", "0.50"],
    [{ rate: "0.001" }, "1234.56", "1.23"],
    [{ rate: "0.001" }, "1235.00", "1.24"], // 1.235 half-up
    [{ rate: "0.001" }, "0.01", "0.00"],
    [{ fixed: "1.00", rate: "0.0025" }, "200.00", "1.50"],
    [{}, "500.00", "0.00"],
  ])("fee %j of %s = %s", (fees, amount, fee) => {
    expect(computeFee(fees, amount)).toBe(fee);
  });
});
