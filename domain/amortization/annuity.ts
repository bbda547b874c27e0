/**
 * Level payments (annuities) in big.js without big.js `pow`.
 *
 * With a = annualRate and r = a/12, write x = 12 + a (so 1 + r = x/12), X = x^n and T = 12^n.
 * Then (1+r)^n = X/T and the annuity factor is
 *     K = X / (X − T) = (1+r)^n / ((1+r)^n − 1)
 * and, with residual Res (balloon), the level payments are
 *     arrears:  R = (P − Res·v^n)·r/(1 − v^n)                = (P·K − Res·(K−1))·a/12
 *     advance:  R = (P − Res·v^(n−1))·r/((1 − v^n)(1 + r))    = (P·K − Res·(K−1)·x/12)·a/x
 * (v = 1/(1+r)). Keeping a/12 out of the powers avoids truncating r to Dec.DP decimals.
 *
 * X and T come from repeated squaring rounded to 40 significant digits at each step: big.js `pow`
 * is exact and produces thousands of digits for n = 360. 40 digits leave more than 25 correct
 * digits in X − T even for tiny rates (X − T ≈ n·r·T), far beyond the cent of a 15-digit amount.
 * K depends on (a, n) only and is cached in a small bounded map: products share rates and terms.
 */
import { Dec, ZERO, type Decimal } from "../money";
import { divByIntToCent, divToCent } from "./decimal";

const PRECISION = 40;
const CACHE_LIMIT = 1024;
const TWELVE = Dec("12");
const ONE = Dec("1");

const factorCache = new Map<string, Decimal>();

/** base^n (n >= 1) by repeated squaring, rounded to PRECISION significant digits at each step. */
export function powRounded(base: Decimal, n: number): Decimal {
  let result: Decimal | null = null;
  let b = base;
  let e = n;
  for (;;) {
    if (e & 1) result = result === null ? b : result.times(b).prec(PRECISION);
    e >>>= 1;
    if (e === 0) break;
    b = b.times(b).prec(PRECISION);
  }
  return result ?? ONE;
}

/** K = (1+r)^n / ((1+r)^n − 1) for r = annualRate/12 > 0. `rateKey` is annualRate.toString(). */
export function annuityFactor(annualRate: Decimal, rateKey: string, n: number): Decimal {
  const key = rateKey + "|" + n;
  const cached = factorCache.get(key);
  if (cached !== undefined) return cached;
  const X = powRounded(TWELVE.plus(annualRate), n);
  const T = powRounded(TWELVE, n);
  const K = X.div(X.minus(T));
  if (factorCache.size >= CACHE_LIMIT) {
    // Drop the oldest entry (Map keeps insertion order).
    const oldest = factorCache.keys().next().value;
    if (oldest !== undefined) factorCache.delete(oldest);
  }
  factorCache.set(key, K);
  return K;
}

/** Empties the factor cache (benchmarks measure the cold path with it). */
export function clearAnnuityCache(): void {
  factorCache.clear();
}

/**
 * The level payment over n monthly periods, rounded half-up to the cent.
 * r = 0: (P − residual)/n. `advance`: the first payment is due at the start (先付).
 */
export function levelPayment(principal: Decimal, annualRate: Decimal, rateKey: string, n: number, residual: Decimal, advance: boolean): Decimal {
  if (annualRate.eq(ZERO)) return divByIntToCent(principal.minus(residual), n);
  const K = annuityFactor(annualRate, rateKey, n);
  const hasResidual = !residual.eq(ZERO);
  if (!advance) {
    const pv = hasResidual ? principal.times(K).minus(residual.times(K.minus(ONE))) : principal.times(K);
    return divByIntToCent(pv.times(annualRate), 12);
  }
  const x = TWELVE.plus(annualRate);
  const pv = hasResidual ? principal.times(K).minus(residual.times(K.minus(ONE)).times(x).div(TWELVE)) : principal.times(K);
  return divToCent(pv.times(annualRate), x);
}
