/** The hot-path cent helpers must agree exactly with plain big.js. */
import { divByIntToCent, divToCent, formatCents } from "../../../domain/amortization/decimal";
import { Dec } from "../../../domain/money";

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random non-negative decimal string: up to 18 digits, up to 14 of them decimals. */
function randomDecimal(next: () => number): string {
  const len = 1 + Math.floor(next() * 18);
  let digits = "";
  for (let i = 0; i < len; i++) digits += String(Math.floor(next() * 10));
  const decimals = Math.floor(next() * 15);
  if (decimals === 0) return digits;
  const padded = digits.padStart(decimals + 1, "0");
  return `${padded.slice(0, padded.length - decimals)}.${padded.slice(padded.length - decimals)}`;
}

/** The reference: big.js division at 20 places, then half-up to the cent (exact here: see below). */
const reference = (x: string, d: number) => Dec(x).div(Dec(String(d))).round(2, Dec.roundHalfUp).toFixed(2);

describe("divToCent and divByIntToCent: round_half_up(x / d) to the cent", () => {
  // Exact ties and near-ties, by hand: 0.06/12 = 0.005 → 0.01; 0.059999/12 = 0.00499991… → 0.00;
  // 0.035/7 = 0.005 → 0.01 (the 2r + 1 = d branch); 0.0349999/7 → 0.00; 1.8/360 = 0.005;
  // 10.95/365 = 0.03; 0.0365/365 = 0.0001 → 0.00; 99999.995 × 12 / 12 stays a tie → carry to 100000.00.
  test.each<[string, number, string]>([
    ["0.06", 12, "0.01"],
    ["0.059999", 12, "0.00"],
    ["0.035", 7, "0.01"],
    ["0.0349999", 7, "0.00"],
    ["1.8", 360, "0.01"],
    ["1.7999999999999", 360, "0.00"],
    ["10.95", 365, "0.03"],
    ["0.0365", 365, "0.00"],
    ["1199999.94", 12, "100000.00"],
    ["0", 12, "0.00"],
    ["7350", 12, "612.50"],
    ["6770.46132", 12, "564.21"],
    ["100", 1, "100.00"],
    ["999999999999999.99", 1, "999999999999999.99"],
    ["1000", 3, "333.33"],
    ["2000", 3, "666.67"],
  ])("%s / %i = %s", (x, d, expected) => {
    expect(divByIntToCent(Dec(x), d).toFixed(2)).toBe(expected);
    expect(divToCent(Dec(x), Dec(String(d))).toFixed(2)).toBe(expected);
    expect(reference(x, d)).toBe(expected);
  });

  test("agree with big.js on 20,000 random dividends and the divisors plan generation uses", () => {
    // The reference's double rounding is safe: x has at most 14 decimals, so x/d is a multiple of
    // 1/(d·10^14) and is never within 10^-20 of a half cent without being exactly on it.
    const next = prng(7);
    const divisors = [1, 3, 7, 12, 360, 365, 600, 4320, 4380];
    let checked = 0;
    for (let i = 0; i < 20_000; i++) {
      const x = randomDecimal(next);
      const d = divisors[i % divisors.length];
      const want = reference(x, d);
      const fast = divByIntToCent(Dec(x), d).toFixed(2);
      const slow = divToCent(Dec(x), Dec(String(d))).toFixed(2);
      if (fast !== want || slow !== want) throw new Error(`${x} / ${d}: fast ${fast}, slow ${slow}, want ${want}`);
      checked++;
    }
    expect(checked).toBe(20_000);
  });

  test("negative dividends and unusual divisors fall back to big.js", () => {
    expect(divByIntToCent(Dec("-0.06"), 12).toFixed(2)).toBe("-0.01");
    expect(divByIntToCent(Dec("10"), 1e12).toFixed(2)).toBe("0.00");
    expect(divByIntToCent(Dec("10"), 2.5).toFixed(2)).toBe("4.00");
  });

  test("divToCent restores Dec.DP and Dec.RM, also when the division throws", () => {
    const dp = Dec.DP;
    const rm = Dec.RM;
    divToCent(Dec("1"), Dec("3"));
    expect([Dec.DP, Dec.RM]).toEqual([dp, rm]);
    expect(() => divToCent(Dec("1"), Dec("0"))).toThrow();
    expect([Dec.DP, Dec.RM]).toEqual([dp, rm]);
    expect(Dec("1").div(Dec("3")).toString()).toBe("0.33333333333333333333");
  });
});

describe("formatCents is toFixed(2)", () => {
  test.each([
    ["0", "0.00"],
    ["-0", "0.00"],
    ["0.01", "0.01"],
    ["0.1", "0.10"],
    ["0.10", "0.10"],
    ["5", "5.00"],
    ["100000", "100000.00"],
    ["1e15", "1000000000000000.00"],
    ["123.4", "123.40"],
    ["123.45", "123.45"],
    ["-8.5", "-8.50"],
    ["0.005", "0.01"], // more than two decimals: rounded half-up like toFixed
    ["2.345", "2.35"],
    ["0.0001", "0.00"],
  ])("%s → %s", (x, expected) => {
    expect(formatCents(Dec(x))).toBe(expected);
    expect(formatCents(Dec(x))).toBe(Dec(x).toFixed(2, Dec.roundHalfUp));
  });

  test("agrees with toFixed(2) on 20,000 random cent amounts and values with more decimals", () => {
    const next = prng(11);
    for (let i = 0; i < 20_000; i++) {
      const x = Dec(randomDecimal(next));
      const v = i % 2 === 0 ? x.round(2, Dec.roundHalfUp) : x;
      const signed = i % 5 === 0 ? v.neg() : v;
      if (formatCents(signed) !== signed.toFixed(2, Dec.roundHalfUp)) throw new Error(`${signed.toString()}: ${formatCents(signed)}`);
    }
  });
});
