/**
 * Amount conversions at the wire edge. Pure string arithmetic: never a JS number in between.
 *  - fen (分): an integer count of cents, "1" = 0.01 yuan (bank A, bank C's statement).
 *  - yuan (元): a decimal string, optionally with thousands separators (bank B's statement).
 * Our side is always the canonical "1234.56" (two decimals).
 */
import { AMOUNT_PATTERN, Dec, fmt } from "../domain/money";
import { DomainError } from "../domain/errors";

function bad(what: string, value: unknown): never {
  throw new DomainError("INVALID_AMOUNT", `not a valid ${what}: ${JSON.stringify(value)}`, { value: String(value) });
}

/** "12.3" → "1230", "0.01" → "1". */
export function toFen(amount: string): string {
  if (typeof amount !== "string" || !AMOUNT_PATTERN.test(amount)) bad("amount", amount);
  const [int, frac = ""] = amount.split(".");
  const fen = `${int}${frac.padEnd(2, "0")}`.replace(/^0+(?=\d)/, "");
  return fen;
}

/** "1" → "0.01", "1234567890" → "12345678.90", "000000001234" → "12.34". */
export function fromFen(fen: string): string {
  if (typeof fen !== "string" || !/^\d{1,20}$/.test(fen)) bad("fen amount", fen);
  const digits = fen.replace(/^0+/, "").padStart(3, "0");
  return `${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** Zero-padded fixed-width fen, e.g. width 12: "12.34" → "000000001234". */
export function toFenPadded(amount: string, width: number): string {
  const fen = toFen(amount);
  if (fen.length > width) bad(`amount of at most ${width} fen digits`, amount);
  return fen.padStart(width, "0");
}

/** A yuan amount from a bank ("12.3", "12,345,678.90", "5") → canonical "12345678.90". */
export function fromYuan(text: string): string {
  if (typeof text !== "string") bad("yuan amount", text);
  const grouped = /^\d{1,3}(,\d{3})+(\.\d{1,2})?$/.test(text);
  const plain = /^\d+(\.\d{1,2})?$/.test(text);
  if (!grouped && !plain) bad("yuan amount", text);
  return fmt(Dec(text.replace(/,/g, "")));
}

/** "12345678.9" → "12,345,678.90". */
export function groupThousands(amount: string): string {
  if (typeof amount !== "string" || !AMOUNT_PATTERN.test(amount)) bad("amount", amount);
  const [int, frac] = fmt(Dec(amount)).split(".");
  return `${int.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${frac}`;
}

/** Canonical two-decimal form of an amount string. */
export function canonical(amount: string): string {
  if (typeof amount !== "string" || !AMOUNT_PATTERN.test(amount)) bad("amount", amount);
  return fmt(Dec(amount));
}

/** Equal as decimals ("12.3" == "12.30"); false (not a throw) when either is malformed. */
export function sameAmount(a: string, b: string): boolean {
  if (typeof a !== "string" || typeof b !== "string" || !AMOUNT_PATTERN.test(a) || !AMOUNT_PATTERN.test(b)) return false;
  return Dec(a).eq(Dec(b));
}
