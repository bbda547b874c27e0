/**
 * End-to-end order intake in the embedded mode: order-sync.sync (validate, dedupe, insert order,
 * generate and insert a 12-period plan, mark ACTIVE) through the broker and through REST.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startNode } from "../bin/node";

export interface OrderBenchResult {
  name: string;
  n: number;
  concurrency: number;
  opsPerSec: number;
}

function order(i: number, run: string) {
  return {
    source: "BENCH",
    orderNo: `${run}-${i}`,
    bizType: "CONSUMER",
    funderId: `F${i % 7}`,
    productCode: "P12",
    customer: { id: `C${i}`, name: "Bench", idNo: "110101199001011234", mobile: "13800138000" },
    principal: `${10000 + (i % 5000)}.00`,
    annualRate: "0.1299",
    term: 12,
    repaymentMethod: "EQUAL_INSTALLMENT",
    startDate: "2026-01-15",
  };
}

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

export async function benchOrders(n = 3000, concurrency = 32): Promise<OrderBenchResult[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "repaymesh-bench-"));
  const key = "bench-admin-key-0123456789";
  const node = await startNode({ DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "error", REPAYMESH_API_KEYS: `bench:${key}:admin` });
  const results: OrderBenchResult[] = [];
  try {
    await pool(200, concurrency, (i) => node.broker.call("order-sync.sync", order(i, "warm")));
    let t = process.hrtime.bigint();
    await pool(n, concurrency, (i) => node.broker.call("order-sync.sync", order(i, "mesh")));
    results.push({ name: "order sync via broker (12-period plan, file store)", n, concurrency, opsPerSec: n / (Number(process.hrtime.bigint() - t) / 1e9) });

    t = process.hrtime.bigint();
    await pool(n, concurrency, (i) => node.broker.call("order-sync.sync", order(i, "mesh")));
    results.push({ name: "order replay via broker (idempotent answer)", n, concurrency, opsPerSec: n / (Number(process.hrtime.bigint() - t) / 1e9) });

    const url = `http://127.0.0.1:${node.port}/api/v1/orders`;
    t = process.hrtime.bigint();
    await pool(n, concurrency, async (i) => {
      const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", "X-Api-Key": key }, body: JSON.stringify(order(i, "rest")) });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    });
    results.push({ name: "order sync via REST", n, concurrency, opsPerSec: n / (Number(process.hrtime.bigint() - t) / 1e9) });
  } finally {
    await node.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return results;
}

if (require.main === module) {
  benchOrders().then((rows) => console.table(rows.map((r) => ({ ...r, opsPerSec: Math.round(r.opsPerSec) }))));
}
