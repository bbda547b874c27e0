/**
 * Hot-path helpers for cent amounts, all exact, all on the shared `Dec` constructor (no floating
 * point anywhere). Plan generation spends most of its time in big.js division and formatting;
 * these cut both. test/unit/domain/amortization.decimal.test.ts checks them against plain big.js.
 */
import { Dec, type Decimal } from "../money";

// Module-local binding: under CommonJS interop (tsx, jest) each use of an imported name is a
// property getter, which shows in profiles of these hot paths.
const D = Dec;
const HALF_UP = Dec.roundHalfUp;
const ZERO_D = Dec("0");

/**
 * round_half_up(x / y) to the cent, exactly.
 *
 * big.js `div` rounds at Dec.DP places with Dec.RM after computing one more digit and noting
 * whether a remainder is left, so a 2-place half-up division is already the exact cent: there is
 * no double rounding (as there would be with div at 20 places followed by round(2)). Dividing to
 * 2 places instead of 20 also computes far fewer digits. Dec.DP / RM are switched for this one
 * synchronous call and restored, as big.js itself does inside `mod` and `sqrt`.
 */
export function divToCent(x: Decimal, y: Decimal): Decimal {
  const dp = D.DP;
  const rm = D.RM;
  D.DP = 2;
  D.RM = HALF_UP;
  try {
    return x.div(y);
  } finally {
    D.DP = dp;
    D.RM = rm;
  }
}

/**
 * round_half_up(x / d) to the cent for x ≥ 0 and a positive integer divisor d (12, a day-count
 * basis, a term): the same result as divToCent, about three times faster, because it is a short
 * division over big.js's documented digit array (`c`, exponent `e`) with an integer remainder
 * below d — exact integer arithmetic on single digits, no floating point. The cents come back
 * through the Dec string constructor. Negative x or a large d go to divToCent.
 */
export function divByIntToCent(x: Decimal, d: number): Decimal {
  if (x.s < 0 || !Number.isSafeInteger(d) || d < 1 || d > 1e9) return divToCent(x, D(String(d)));
  const c = x.c;
  if (c[0] === 0) return ZERO_D;
  // x·100 = c[0]c[1]…  with e + 3 digits before the point (e is x's exponent).
  const intLen = x.e + 3;
  const len = c.length;
  const q: number[] = [];
  let r = 0;
  for (let i = 0; i < intLen; i++) {
    r = r * 10 + (i < len ? c[i] : 0);
    const digit = Math.floor(r / d);
    if (digit !== 0 || q.length !== 0) q.push(digit);
    r -= digit * d;
  }
  // The digits after x·100's point form f in [0, 1); round up iff (r + f)/d ≥ 1/2 ⇔ 2r + 2f ≥ d.
  // Since 2f < 2 this is 2r ≥ d, or 2r + 1 = d with f ≥ 1/2 (f's first digit ≥ 5).
  const firstFraction = intLen >= 0 && intLen < len ? c[intLen] : 0;
  if (2 * r >= d || (2 * r + 1 === d && firstFraction >= 5)) {
    let i = q.length - 1;
    for (; i >= 0 && q[i] === 9; i--) q[i] = 0;
    if (i < 0) q.unshift(1);
    else q[i]++;
  }
  const n = q.length;
  if (n === 0) return ZERO_D;
  if (n === 1) return D("0.0" + q[0]);
  if (n === 2) return D("0." + q[0] + q[1]);
  let s = "";
  for (let i = 0; i < n - 2; i++) s += q[i];
  return D(s + "." + q[n - 2] + q[n - 1]);
}

/**
 * `x.toFixed(2)` for a value that already has at most two decimals (the amounts of a schedule),
 * read straight from big.js's documented coefficient/exponent/sign fields (`c`, `e`, `s`).
 * Anything with more decimals goes through `toFixed(2)` itself, so the result is always the same.
 */
export function formatCents(x: Decimal): string {
  const c = x.c;
  const e = x.e;
  if (c.length - 1 - e > 2) return x.toFixed(2, HALF_UP);
  if (c[0] === 0) return "0.00";
  let s = x.s < 0 ? "-" : "";
  if (e < 0) return e === -1 ? s + "0." + c[0] + (c.length > 1 ? c[1] : 0) : s + "0.0" + c[0];
  for (let i = 0; i <= e; i++) s += i < c.length ? c[i] : 0;
  return s + "." + (e + 1 < c.length ? c[e + 1] : 0) + (e + 2 < c.length ? c[e + 2] : 0);
}
