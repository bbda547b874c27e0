/**
 * The MongoDB-wire store's own limits, on a FerretDB 1.24 (SQLite) started here: the server's
 * batched write limit (insertMany), its single-document rates, and what the store's fenced
 * compare-and-set (mixins/mongo-store.ts: claim, check, write, clear) costs over a plain update by
 * `_id`. Documents are trade-sized (about 1 KB of fields).
 *   npx tsx bench/store.bench.ts [N]
 */
import { MongoConnection, MongoStore } from "../mixins/mongo-store";
import { startFerret } from "../test/support/servers";

export interface StoreBenchRow {
  case: string;
  n: number;
  concurrency: number;
  perSec: number;
}

function tradeDoc(i: number): Record<string, unknown> {
  return {
    _id: `T${String(i).padStart(8, "0")}`,
    tradeNo: `D-PL${i}-202602151200-1`,
    kind: "DEBIT",
    state: "INIT",
    amount: "8884.88",
    fee: "0.50",
    channel: "BANK_A",
    attempt: 1,
    planId: `PL${i}`,
    partition: i % 64,
    periods: [1],
    slotId: "2026-02-15T12:00",
    businessDate: "2026-02-15",
    createdAt: "2026-02-15T04:00:05.000Z",
    updatedAt: "2026-02-15T04:00:05.000Z",
    history: [{ from: null, to: "INIT", at: "2026-02-15T04:00:05.000Z" }],
    n: 0,
  };
}

async function timed(n: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await op(i);
    }),
  );
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

export async function benchStore(n = 2000): Promise<StoreBenchRow[]> {
  const ferret = await startFerret();
  const conn = new MongoConnection(ferret.url);
  try {
    await conn.open();
    const rows: StoreBenchRow[] = [];
    const raw = conn.collection("bench_raw");
    const batch = 1000;
    const bulkN = Math.max(batch, Math.ceil(n / batch) * batch);
    rows.push({ case: `server: insertMany, batches of ${batch} (the batched write limit)`, n: bulkN, concurrency: 1, perSec: await timed(bulkN / batch, 1, (b) => raw.insertMany(Array.from({ length: batch }, (_, j) => tradeDoc(b * batch + j)))) * batch });
    const single = conn.collection("bench_single");
    rows.push({ case: "server: insertOne", n, concurrency: 1, perSec: await timed(n, 1, (i) => single.insertOne(tradeDoc(i))) });
    rows.push({ case: "server: updateOne by _id ($set, $inc)", n, concurrency: 1, perSec: await timed(n, 1, (i) => single.updateOne({ _id: tradeDoc(i)._id }, { $set: { state: "SENDING" }, $inc: { n: 1 } })) });
    rows.push({ case: "server: updateOne by _id, 8 at once", n, concurrency: 8, perSec: await timed(n, 8, (i) => single.updateOne({ _id: tradeDoc(i)._id }, { $set: { state: "SUCCESS" }, $inc: { n: 1 } })) });
    rows.push({ case: "server: findOne by _id", n, concurrency: 1, perSec: await timed(n, 1, (i) => single.findOne({ _id: tradeDoc(i)._id })) });
    const store = await MongoStore.open<any>(conn, "bench_store");
    rows.push({ case: "store: insert", n, concurrency: 1, perSec: await timed(n, 1, (i) => store.insert(tradeDoc(i))) });
    rows.push({
      case: "store: compare-and-set by _id + state (fenced)",
      n,
      concurrency: 1,
      perSec: await timed(n, 1, (i) => store.updateOne({ _id: tradeDoc(i)._id, state: "INIT" }, { $set: { state: "SENDING" }, $push: { history: { from: "INIT", to: "SENDING", at: "x" } } })),
    });
    rows.push({
      case: "store: compare-and-set by _id + state, 8 at once",
      n,
      concurrency: 8,
      perSec: await timed(n, 8, (i) => store.updateOne({ _id: tradeDoc(i)._id, state: "SENDING" }, { $set: { state: "SUCCESS" }, $push: { history: { from: "SENDING", to: "SUCCESS", at: "x" } } })),
    });
    rows.push({ case: "store: findById", n, concurrency: 1, perSec: await timed(n, 1, (i) => store.findById(tradeDoc(i)._id as string)) });
    return rows;
  } finally {
    await conn.close();
    await ferret.stop();
  }
}

if (require.main === module) {
  benchStore(Number(process.argv[2] ?? 2000)).then(
    (rows) => console.table(rows.map((r) => ({ ...r, perSec: Math.round(r.perSec) }))),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
