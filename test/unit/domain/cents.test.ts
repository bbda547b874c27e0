/**
 * Cents keys: an amount as whole cents for a store to filter and sort by, exact below
 * Number.MAX_SAFE_INTEGER cents; larger amounts share the top key, which no accepted filter bound
 * reaches, so a filter on the key answers exactly what the decimal comparison would.
 */
import { centsBound, centsKey, MAX_CENTS_KEY, money } from "../../../domain/money";

describe("cents keys", () => {
  it.each([
    ["0", 0],
    ["0.00", 0],
    ["0.01", 1],
    ["12.30", 1230],
    ["12.345", 1235], // rounded half-up, as amounts are
    ["1234.56", 123456],
    ["90071992547409.90", MAX_CENTS_KEY - 1],
    ["90071992547409.91", MAX_CENTS_KEY],
    ["999999999999999.99", MAX_CENTS_KEY],
  ])("%s → %d", (amount, key) => {
    expect(centsKey(amount)).toBe(key);
    expect(centsKey(money(amount))).toBe(key);
    expect(Number.isSafeInteger(centsKey(amount))).toBe(true);
  });

  it("orders like the decimals it keys (below the top key)", () => {
    const amounts = ["0.01", "0.10", "1.00", "9.99", "10.00", "10.01", "99999.99", "100000.00", "90071992547409.90"];
    for (let i = 1; i < amounts.length; i++) expect(centsKey(amounts[i - 1])).toBeLessThan(centsKey(amounts[i]));
  });

  it("takes filter bounds from the edge as decimal strings only, below the top key", () => {
    expect(centsBound("5000.00", "minAmount")).toBe(500000);
    expect(centsBound("0", "maxAmount")).toBe(0);
    expect(centsBound("90071992547409.90", "maxAmount")).toBe(MAX_CENTS_KEY - 1);
    for (const bad of ["90071992547409.91", "1e3", "12.345", "-1.00", 5000, null]) {
      expect(() => centsBound(bad, "minAmount")).toThrow(expect.objectContaining({ code: "INVALID_AMOUNT" }));
    }
  });

  it("never takes a JS number as money", () => {
    expect(() => centsKey(12.3 as unknown as string)).toThrow(expect.objectContaining({ code: "INVALID_AMOUNT" }));
  });
});
