/**
 * Money: a decimal string outside code, big.js inside. A JS number holding money is a bug,
 * so the constructor used here runs in big.js strict mode: `Money(1.5)` throws.
 */
import BigModule from "big.js";
import { DomainError } from "./errors";

/** A private big.js constructor: strict (no JS numbers), 20 decimal places for division. */
export const Dec = BigModule();
Dec.strict = true;
Dec.DP = 20;
Dec.RM = Dec.roundHalfUp;

export type Decimal = InstanceType<typeof Dec>;

/** Amount string on the wire and in storage: up to 15 integer digits, at most 2 decimals. */
export const AMOUNT_PATTERN = /^(0|[1-9]\d{0,14})(\.\d{1,2})?$/;
/** A rate such as "0.12" (12 %): a non-negative decimal string below 1, up to 10 decimals. */
export const RATE_PATTERN = /^0(\.\d{1,10})?$/;

export const ZERO: Decimal = Dec("0");

export function money(value: string | Decimal): Decimal {
  if (typeof value !== "string" && !(value instanceof Dec)) {
    throw new DomainError("INVALID_AMOUNT", "Money must be a decimal string", { value: String(value) });
  }
  return value instanceof Dec ? value : Dec(value);
}

/** Parse an amount from the edge: a decimal string with at most two decimals. */
export function parseAmount(value: unknown, field = "amount", opts: { allowZero?: boolean } = {}): Decimal {
  if (typeof value !== "string" || !AMOUNT_PATTERN.test(value)) {
    throw new DomainError("INVALID_AMOUNT", `${field} must be a decimal string with at most 2 decimals`, { field });
  }
  const d = Dec(value);
  if (!opts.allowZero && d.eq(ZERO)) {
    throw new DomainError("INVALID_AMOUNT", `${field} must be greater than zero`, { field });
  }
  return d;
}

export function parseRate(value: unknown, field = "annualRate"): Decimal {
  if (typeof value !== "string" || !RATE_PATTERN.test(value)) {
    throw new DomainError("INVALID_RATE", `${field} must be a decimal string in [0, 1)`, { field });
  }
  return Dec(value);
}

/** Round half-up to the cent. */
export function roundCent(d: Decimal): Decimal {
  return d.round(2, Dec.roundHalfUp);
}

/** Format for storage / the wire: always two decimals. */
export function fmt(d: Decimal): string {
  return d.toFixed(2, Dec.roundHalfUp);
}

export function sum(values: Iterable<string | Decimal>): Decimal {
  let total = ZERO;
  for (const v of values) total = total.plus(money(v));
  return total;
}

/** The largest cents key: Number.MAX_SAFE_INTEGER, so every smaller key is an exact integer. */
export const MAX_CENTS_KEY = Number.MAX_SAFE_INTEGER;
const MAX_CENTS = Dec(String(MAX_CENTS_KEY));

/**
 * An amount as whole cents (rounded half-up), only to filter, sort and page by in a store, where a
 * decimal string does not compare as a number. It is not money to compute with: nothing adds,
 * subtracts or compares amounts through it in code (that is done on the decimal string, with
 * big.js). Exact below MAX_CENTS_KEY cents (90,071,992,547,409.91); a larger amount's key is
 * MAX_CENTS_KEY, above every bound `centsBound` accepts, so filters on it stay exact.
 */
export function centsKey(amount: string | Decimal): number {
  const cents = roundCent(money(amount)).times("100");
  if (cents.abs().gte(MAX_CENTS)) return cents.lt(ZERO) ? -MAX_CENTS_KEY : MAX_CENTS_KEY;
  return Number(cents.toFixed(0));
}

/** A filter bound from the edge (a decimal amount string) as a cents key; an amount too large to filter by is INVALID_AMOUNT. */
export function centsBound(value: unknown, field: string): number {
  const key = centsKey(parseAmount(value, field, { allowZero: true }));
  if (key >= MAX_CENTS_KEY) throw new DomainError("INVALID_AMOUNT", `${field} is too large to filter by`, { field });
  return key;
}

export function max(a: Decimal, b: Decimal): Decimal {
  return a.gte(b) ? a : b;
}

export function min(a: Decimal, b: Decimal): Decimal {
  return a.lte(b) ? a : b;
}
