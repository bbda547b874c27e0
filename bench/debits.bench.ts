/**
 * Debits per second end to end in the embedded mode against zero-latency simulated banks, and in
 * the same run the store's raw write limit with the same writes per debit.
 *
 * One debit = ledger.open (insert) + INIT→SENDING (update) + SENDING→SUCCESS (update) + flow
 * (insert) + schedule.applyRepayment (plan update) + markApplied (update): 6 writes, plus reads.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startNode } from "../bin/node";
import DbService from "moleculer-db";
import { keepAppendHandleOpen } from "../mixins/store.mixin";

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await fn(next++);
  }));
}

/** The file store's raw limit: 2 inserts + 4 conditional updates per "debit", same document shapes. */
export async function rawStoreLimit(n: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "repaymesh-raw-"));
  const open = async (name: string) => {
    const a = new (DbService as any).MemoryAdapter({ filename: path.join(dir, name) });
    a.init({}, {});
    await a.connect();
    keepAppendHandleOpen(a.db); // the same file store the services use
    return a.db;
  };
  const trades = await open("trades.db");
  const flows = await open("flows.db");
  const plans = await open("plans.db");
  const inst = Array.from({ length: 12 }, (_, i) => ({ period: i + 1, dueDate: "2026-02-15", principal: "790.00", interest: "100.00", fee: "0.00", penalty: "0.00", total: "890.00", paidTotal: "0.00", status: "PENDING" }));
  for (let i = 0; i < n; i++) await plans.insertAsync({ _id: `P${i}`, version: 1, installments: inst });
  const t0 = process.hrtime.bigint();
  await pool(n, 4, async (i) => {
    await trades.insertAsync({ _id: `T${i}`, state: "INIT", openKey: `P${i}`, amount: "890.00", history: [] });
    await trades.updateAsync({ _id: `T${i}`, state: "INIT" }, { $set: { state: "SENDING" } }, {});
    await trades.updateAsync({ _id: `T${i}`, state: "SENDING" }, { $set: { state: "SUCCESS" }, $unset: { openKey: true } }, {});
    await flows.insertAsync({ _id: `F${i}`, tradeNo: `T${i}`, amount: "890.00" });
    await plans.updateAsync({ _id: `P${i}`, version: 1 }, { $set: { version: 2, installments: inst } }, {});
    await trades.updateAsync({ _id: `T${i}`, state: "SUCCESS" }, { $set: { applied: true } }, {});
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.rmSync(dir, { recursive: true, force: true });
  return n / secs;
}

export async function benchDebits(plans = 2000): Promise<{ plans: number; debitsPerSec: number; rawLimitPerSec: number; ratio: number; setupSeconds: number }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "repaymesh-bench-debit-"));
  const key = "bench-admin-key-0123456789";
  const node = await startNode({ DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "error", TEST_CLOCK: "1", SIM_BANKS_JOURNAL: "off", REPAYMESH_API_KEYS: `bench:${key}:admin`, PARTITIONS: "64" });
  const call = (a: string, p: any) => node.broker.call(a, p, { meta: { user: { name: "bench", role: "admin" } } }) as Promise<any>;
  const banks: Map<string, any> = (node.broker.getLocalService("sign-bind") as any).simBanks;
  for (const b of banks.values()) b.configure({ successRate: 1, unknownRate: 0 });
  try {
    const t0 = Date.now();
    await call("clock.move", { to: "2026-02-15T11:00:00+08:00", frozen: true });
    await pool(plans, 16, async (i) => {
      const cardNo = String(6222020200000000000n + BigInt(i));
      banks.get("BANK_A").openAccount(cardNo, "1000000.00");
      const b = await call("sign-bind.create", { customerId: `C${i}`, cardNo, name: "N", idNo: "110101199001011234", mobile: "13800138000", channels: ["BANK_A"] });
      await call("sign-bind.confirm", { bindingId: b.bindingId, codes: b.testCodes });
      await call("order-sync.sync", {
        source: "BENCH", orderNo: `D-${i}`, bizType: "CONSUMER", funderId: "F1", productCode: "P1",
        customer: { id: `C${i}`, name: "N", idNo: "110101199001011234", mobile: "13800138000" },
        principal: "10000.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2026-01-15", bindingId: b.bindingId,
      });
    });
    const setupSeconds = (Date.now() - t0) / 1000;
    const t1 = process.hrtime.bigint();
    const run = await call("deduction-executor.createRun", { slotTime: "12:00" });
    let r: any;
    for (;;) {
      r = await call("ledger.getRun", { runId: run.runId });
      if (r.status !== "RUNNING") break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const secs = Number(process.hrtime.bigint() - t1) / 1e9;
    if (r.totals.succeeded !== plans) throw new Error(`expected ${plans} debits, got ${JSON.stringify(r.totals)}`);
    const debitsPerSec = plans / secs;
    const rawLimitPerSec = await rawStoreLimit(plans);
    return { plans, debitsPerSec, rawLimitPerSec, ratio: debitsPerSec / rawLimitPerSec, setupSeconds };
  } finally {
    await node.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const n = Number(process.argv[2] ?? 2000);
  benchDebits(n).then((r) => console.table([{ ...r, debitsPerSec: Math.round(r.debitsPerSec), rawLimitPerSec: Math.round(r.rawLimitPerSec), ratio: r.ratio.toFixed(2) }]));
}
