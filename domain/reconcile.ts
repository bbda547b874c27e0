/**
 * Reconciliation (对账): matching a channel's statement (对账单) for one business date with our
 * ledger's trades, by trade number. Pure: no Moleculer, DB or HTTP.
 *
 * Amounts are integer cents as BigInt (exact, and fast enough for a million lines); they are turned
 * into "1234.56" strings only at the edges (`centsToAmount`).
 *
 * One trade (or statement line) gets at most one category, checked in this order:
 *   AMOUNT_DIFFERS  both sides have the trade, amounts differ            (never settled)
 *   STATUS_DIFFERS  ours SUCCESS vs theirs FAILED (or the reverse), or ours still INIT/SENDING
 *   DATE_DIFFERS    same trade, amount and status, but the bank dates it on another business date
 *   MATCHED         everything agrees
 *   ONLY_OURS       a trade that reached the bank (SUCCESS or UNKNOWN) is missing from the statement
 *   ONLY_THEIRS     a statement line without a trade of ours
 * A FAILED trade of ours absent from the statement is not a discrepancy (declined or never
 * processed: no money moved) and INIT/SENDING trades absent from it are still in flight.
 *
 * Settling: an UNKNOWN trade whose line agrees on the amount takes the bank's definite answer
 * (SUCCESS or FAILED), also when the bank dates it on another day. Money never moves by itself the
 * other way: a SUCCESS trade the bank shows FAILED is only a STATUS_DIFFERS discrepancy for ops. A
 * FAILED trade the bank shows SUCCESS (same amount) is a STATUS_DIFFERS too, and is recorded as an
 * audited late success (the ledger's lateSuccess: flow, plan credited once, surplus alerted).
 */
import { DomainError } from "./errors";

export const CATEGORIES = ["MATCHED", "ONLY_OURS", "ONLY_THEIRS", "AMOUNT_DIFFERS", "STATUS_DIFFERS", "DATE_DIFFERS"] as const;
export type Category = (typeof CATEGORIES)[number];
export type DiscrepancyCategory = Exclude<Category, "MATCHED">;
export const DISCREPANCY_CATEGORIES: readonly DiscrepancyCategory[] = CATEGORIES.filter((c): c is DiscrepancyCategory => c !== "MATCHED");

export type OurState = "INIT" | "SENDING" | "UNKNOWN" | "SUCCESS" | "FAILED";

/** One statement line, compact. */
export interface TheirLine {
  tradeNo: string;
  kind: "DEBIT" | "PAYOUT";
  cents: bigint;
  feeCents: bigint;
  status: "SUCCESS" | "FAILED";
  /** Business date the bank gives the trade, YYYY-MM-DD. */
  date: string;
  channelRef: string;
  bankCode?: string;
  /** Line number in the file (1-based, header lines counted). */
  line: number;
}

/** One trade of ours, compact. */
export interface OurTrade {
  tradeNo: string;
  kind: "DEBIT" | "PAYOUT";
  state: OurState;
  cents: bigint;
  businessDate: string;
  planId?: string;
  applied?: boolean;
}

export interface Classification {
  category: Category | null;
  /** Why a trade with no category was left alone. */
  skipped?: "ABSENT_FAILED" | "IN_FLIGHT";
  /** The UNKNOWN trade is settled to this state from the statement (a FAILED one only to SUCCESS: a late success). */
  settle?: "SUCCESS" | "FAILED";
}

/** The category of one trade number, given what each side says (either side may be missing). */
export function classify(ours: OurTrade | undefined, theirs: TheirLine | undefined): Classification {
  if (!ours && !theirs) throw new DomainError("VALIDATION_ERROR", "classify needs at least one side", {});
  if (!ours) return { category: "ONLY_THEIRS" };
  if (!theirs) {
    if (ours.state === "SUCCESS" || ours.state === "UNKNOWN") return { category: "ONLY_OURS" };
    return { category: null, skipped: ours.state === "FAILED" ? "ABSENT_FAILED" : "IN_FLIGHT" };
  }
  if (ours.cents !== theirs.cents) return { category: "AMOUNT_DIFFERS" };
  const dateOk = ours.businessDate === theirs.date;
  switch (ours.state) {
    case "UNKNOWN":
      return { category: dateOk ? "MATCHED" : "DATE_DIFFERS", settle: theirs.status };
    case "INIT":
    case "SENDING":
      // The bank has a final answer while our executor still holds the trade: left to the sweep, shown to ops.
      return { category: "STATUS_DIFFERS" };
    case "FAILED":
      // The bank acted on it after all (it ignored the request's expiry, or a late answer was lost):
      // recorded as an audited late success, and still shown to ops.
      if (theirs.status === "SUCCESS") return { category: "STATUS_DIFFERS", settle: "SUCCESS" };
      return { category: dateOk ? "MATCHED" : "DATE_DIFFERS" };
    case "SUCCESS":
      if (ours.state !== theirs.status) return { category: "STATUS_DIFFERS" };
      return { category: dateOk ? "MATCHED" : "DATE_DIFFERS" };
    default: {
      const never: never = ours.state;
      throw new DomainError("VALIDATION_ERROR", `unknown trade state ${String(never)}`, {});
    }
  }
}

// ------------------------------------------------------------------------------------- amounts

/** Canonical "1234.56" (AMOUNT_PATTERN) → cents. */
export function amountToCents(amount: string): bigint {
  const m = /^(0|[1-9]\d{0,14})(?:\.(\d{1,2}))?$/.exec(amount);
  if (!m) throw new DomainError("INVALID_AMOUNT", `not a valid amount: ${JSON.stringify(amount)}`, { value: amount });
  return BigInt(m[1] + (m[2] ?? "").padEnd(2, "0"));
}

/** cents → "1234.56" (negative values keep their sign: differences). */
export function centsToAmount(cents: bigint): string {
  const neg = cents < 0n;
  const digits = (neg ? -cents : cents).toString().padStart(3, "0");
  return `${neg ? "-" : ""}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

// ------------------------------------------------------------------------------------- the statement

/** The statement as a map by trade number; a trade number twice is an error naming both lines. */
export class StatementIndex {
  readonly lines = new Map<string, TheirLine>();

  add(line: TheirLine): void {
    const first = this.lines.get(line.tradeNo);
    if (first) {
      throw new DomainError("STATEMENT_INVALID", `line ${line.line}: trade number ${line.tradeNo} appears twice (first on line ${first.line})`, {
        line: line.line,
        reason: "DUPLICATE_TRADE_NO",
        tradeNo: line.tradeNo,
        firstLine: first.line,
      });
    }
    this.lines.set(line.tradeNo, line);
  }

  get size(): number {
    return this.lines.size;
  }
}

// ------------------------------------------------------------------------------------- matching

export interface Finding {
  tradeNo: string;
  category: DiscrepancyCategory;
  ours?: OurTrade;
  theirs?: TheirLine;
}

export interface Settlement {
  tradeNo: string;
  to: "SUCCESS" | "FAILED";
  ours: OurTrade;
  theirs: TheirLine;
}

export interface CategoryTotals {
  count: number;
  /** Sum of our amounts (cents) of the trades in the category. */
  ours: bigint;
  /** Sum of the bank's amounts (cents). */
  theirs: bigint;
}

export interface MatchTotals {
  categories: Record<Category, CategoryTotals>;
  skipped: { ABSENT_FAILED: number; IN_FLIGHT: number };
  settle: { SUCCESS: number; FAILED: number };
  tradesRead: number;
}

function emptyTotals(): MatchTotals {
  const categories = {} as Record<Category, CategoryTotals>;
  for (const c of CATEGORIES) categories[c] = { count: 0, ours: 0n, theirs: 0n };
  return { categories, skipped: { ABSENT_FAILED: 0, IN_FLIGHT: 0 }, settle: { SUCCESS: 0, FAILED: 0 }, tradesRead: 0 };
}

/**
 * The matching engine. Feed it our trades (any order, each trade once; the service pages them by
 * trade number), then `finish()` to get the statement lines nobody claimed. `lookup` results (trades
 * of ours on another business date, found by trade number) go through `addOurs` too.
 * Findings and settlements are handed to the callbacks as they are found, so a caller can write
 * them in batches without keeping a million of them.
 */
export class Matcher {
  readonly totals = emptyTotals();
  private readonly pending: Map<string, TheirLine>;

  constructor(
    statement: StatementIndex,
    private readonly onFinding: (f: Finding) => void = () => undefined,
    private readonly onSettlement: (s: Settlement) => void = () => undefined,
  ) {
    // Lines not yet claimed by a trade of ours. The index is consumed: matching runs once.
    this.pending = statement.lines;
  }

  addOurs(trade: OurTrade): Classification {
    this.totals.tradesRead++;
    const theirs = this.pending.get(trade.tradeNo);
    if (theirs) this.pending.delete(trade.tradeNo);
    const c = classify(trade, theirs);
    this.count(c, trade, theirs);
    return c;
  }

  /** Trade numbers of the statement lines no trade of ours (on the statement's date) claimed yet. */
  unclaimed(): string[] {
    return [...this.pending.keys()];
  }

  /** Every line still unclaimed is ONLY_THEIRS. */
  finish(): MatchTotals {
    for (const theirs of this.pending.values()) this.count(classify(undefined, theirs), undefined, theirs);
    this.pending.clear();
    return this.totals;
  }

  private count(c: Classification, ours: OurTrade | undefined, theirs: TheirLine | undefined): void {
    if (c.category === null) {
      if (c.skipped) this.totals.skipped[c.skipped]++;
      return;
    }
    const t = this.totals.categories[c.category];
    t.count++;
    if (ours) t.ours += ours.cents;
    if (theirs) t.theirs += theirs.cents;
    if (c.category !== "MATCHED") this.onFinding({ tradeNo: (ours ?? theirs)!.tradeNo, category: c.category, ...(ours ? { ours } : {}), ...(theirs ? { theirs } : {}) });
    if (c.settle && ours && theirs) {
      this.totals.settle[c.settle]++;
      this.onSettlement({ tradeNo: ours.tradeNo, to: c.settle, ours, theirs });
    }
  }
}

/** The per-run summary as it is stored and shown: counts and decimal-string amounts per category. */
export function summaryOf(t: MatchTotals): Record<Category, { count: number; amount: string; theirAmount: string }> {
  const out = {} as Record<Category, { count: number; amount: string; theirAmount: string }>;
  for (const c of CATEGORIES) {
    const x = t.categories[c];
    out[c] = { count: x.count, amount: centsToAmount(x.ours), theirAmount: centsToAmount(x.theirs) };
  }
  return out;
}

/** Whole-statement reconciliation in one call (tests, the benchmark with an in-memory ledger). */
export function reconcile(statement: StatementIndex, ours: Iterable<OurTrade>): { totals: MatchTotals; findings: Finding[]; settlements: Settlement[] } {
  const findings: Finding[] = [];
  const settlements: Settlement[] = [];
  const m = new Matcher(statement, (f) => findings.push(f), (s) => settlements.push(s));
  for (const t of ours) m.addOurs(t);
  return { totals: m.finish(), findings, settlements };
}

/** Stable id of a discrepancy: a rerun of the same (channel, date) finds the same id. */
export function discrepancyId(channel: string, date: string, tradeNo: string, category: DiscrepancyCategory): string {
  return `${channel}:${date}:${tradeNo}:${category}`;
}
