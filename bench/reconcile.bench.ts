/**
 * Reconciliation of an N-line statement (default 1,000,000) against N trades: the streaming parser
 * (bank A's layout, written by bank A's own mapper, fed as bytes in 1 MiB chunks like an upload) and
 * the matching engine. Our trades come from an in-memory array sorted by trade number, paged 2,000
 * at a time as `ledger.reconTrades` pages them — NOT from the embedded NeDB ledger, which cannot
 * hold a million trades at speed (it keeps every document in memory and rewrites its file); on
 * MongoDB the page query is an index range scan on _id. Writing discrepancies and settling trades is
 * not measured (a handful per day in practice, each a ledger call).
 *
 *   npx tsx bench/reconcile.bench.ts [lines]
 */
import { bankAMapper } from "../channels/bank-a/mapper";
import type { StatementLine } from "../channels/channel";
import { StatementParser } from "../channels/statement-stream";
import { amountToCents, Matcher, type OurTrade } from "../domain/reconcile";

export interface ReconcileBenchResult {
  lines: number;
  fileMiB: number;
  parseSeconds: number;
  matchSeconds: number;
  totalSeconds: number;
  linesPerSec: number;
  heapMiB: number;
  counts: Record<string, number>;
}

const DATE = "2026-02-15";

export async function benchReconcile(n = 1_000_000): Promise<ReconcileBenchResult> {
  // Setup (not timed): N trades and the bank's file with a few of each discrepancy.
  const trades: OurTrade[] = new Array(n);
  const lines: StatementLine[] = [];
  for (let i = 0; i < n; i++) {
    const tradeNo = `DB-PL${String(i).padStart(8, "0")}-S0900-1`;
    const amount = `${1 + (i % 50_000)}.${String(i % 100).padStart(2, "0")}`;
    const state = i % 1000 === 7 ? "UNKNOWN" : "SUCCESS";
    trades[i] = { tradeNo, kind: "DEBIT", state, cents: amountToCents(amount), businessDate: DATE, planId: `PL${i}` };
    if (i % 10_000 === 1) continue; // ONLY_OURS
    const l: StatementLine = { tradeNo, channelRef: `A${i}`, kind: "DEBIT", amount, fee: "0.50", status: "SUCCESS", date: DATE, time: "09:00:01" };
    if (i % 10_000 === 2) l.amount = "0.01"; // AMOUNT_DIFFERS
    if (i % 10_000 === 3) l.status = "FAILED"; // STATUS_DIFFERS
    if (i % 10_000 === 4) l.date = "2026-02-14"; // DATE_DIFFERS
    lines.push(l);
  }
  for (let i = 0; lines.length < n; i++) lines.push({ tradeNo: `DB-THEIRS-${i}`, channelRef: `X${i}`, kind: "DEBIT", amount: "9.99", fee: "0.50", status: "SUCCESS", date: DATE, time: "09:00:02" }); // ONLY_THEIRS
  const file = Buffer.from(bankAMapper().formatStatement(lines, DATE), "utf8");
  lines.length = 0;
  if (global.gc) global.gc();

  const t0 = process.hrtime.bigint();
  const parser = new StatementParser({ channel: "BANK_A", date: DATE });
  const CHUNK = 1 << 20;
  for (let i = 0; i < file.length; i += CHUNK) {
    parser.push(file.subarray(i, i + CHUNK));
    if ((i / CHUNK) % 16 === 0) await new Promise((r) => setImmediate(r)); // a stream yields between chunks
  }
  const index = parser.end();
  const t1 = process.hrtime.bigint();
  const counts: Record<string, number> = {};
  const m = new Matcher(index, (f) => (counts[f.category] = (counts[f.category] ?? 0) + 1), (s) => (counts[`SETTLE_${s.to}`] = (counts[`SETTLE_${s.to}`] ?? 0) + 1));
  const PAGE = 2000;
  for (let i = 0; i < trades.length; i += PAGE) {
    const page = trades.slice(i, i + PAGE);
    for (const t of page) m.addOurs(t);
  }
  const totals = m.finish();
  const t2 = process.hrtime.bigint();
  counts.MATCHED = totals.categories.MATCHED.count;
  const parseSeconds = Number(t1 - t0) / 1e9;
  const matchSeconds = Number(t2 - t1) / 1e9;
  return {
    lines: n,
    fileMiB: Math.round((file.length / 2 ** 20) * 10) / 10,
    parseSeconds: Math.round(parseSeconds * 100) / 100,
    matchSeconds: Math.round(matchSeconds * 100) / 100,
    totalSeconds: Math.round((parseSeconds + matchSeconds) * 100) / 100,
    linesPerSec: Math.round(n / (parseSeconds + matchSeconds)),
    heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    counts,
  };
}

if (require.main === module) {
  const n = Number(process.argv[2] ?? 1_000_000);
  benchReconcile(n)
    .then((r) => {
      console.log(`Reconciliation of a ${r.lines.toLocaleString("en")}-line statement (${r.fileMiB} MiB, bank A layout) against ${r.lines.toLocaleString("en")} trades:`);
      console.table([{ parseSeconds: r.parseSeconds, matchSeconds: r.matchSeconds, totalSeconds: r.totalSeconds, linesPerSec: r.linesPerSec, heapMiB: r.heapMiB }]);
      console.log("categories:", r.counts);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
