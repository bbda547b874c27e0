/** `npm run bench`: every benchmark, one table each, with the machine they ran on. */
import os from "node:os";
import { benchPlans } from "./plan.bench";
import { benchOrders } from "./orders.bench";
import { benchDebits } from "./debits.bench";
import { benchReconcile } from "./reconcile.bench";
import { benchStore } from "./store.bench";

async function main() {
  console.log(`RepayMesh benchmarks — ${new Date().toISOString()}`);
  console.log(`machine: ${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}\n`);
  console.log("Plan generation (pure domain, one core):");
  const planRows = await benchPlans();
  console.table(planRows.map((r) => ({ name: r.name, plansPerSec: Math.round(r.opsPerSec), plansMeasured: r.n })));
  console.log("\nOrder intake, embedded node (file store):");
  const orders = await benchOrders();
  console.table(orders.map((r) => ({ name: r.name, n: r.n, concurrency: r.concurrency, perSec: Math.round(r.opsPerSec) })));
  const plans = Number(process.env.BENCH_DEBIT_PLANS ?? 2000);
  console.log(`\nDebits end to end, embedded node, zero-latency simulated bank (${plans} due plans, one manual run):`);
  const d = await benchDebits(plans);
  console.table([{ plans: d.plans, debitsPerSec: Math.round(d.debitsPerSec), rawStoreLimitPerSec: Math.round(d.rawLimitPerSec), ratio: d.ratio.toFixed(2), setupSeconds: d.setupSeconds }]);
  const millionMinutes = 1_000_000 / d.debitsPerSec / 60;
  console.log(`1,000,000 due installments at this rate: ${millionMinutes.toFixed(0)} minutes on one embedded node (linear extrapolation; the file store is the bound).`);
  for (const n of (process.env.BENCH_STORE_SIZES ?? "500").split(",").map(Number)) {
    console.log(`\nThe MongoDB-wire store on FerretDB 1.24 (SQLite), ${n} documents a collection (trade-sized), ops/s:`);
    const st = await benchStore(n);
    console.table(st.map((r) => ({ case: r.case, n: r.n, concurrency: r.concurrency, perSec: Math.round(r.perSec) })));
  }
  const reconLines = Number(process.env.BENCH_RECON_LINES ?? 1_000_000);
  console.log(`\nReconciliation: ${reconLines} statement lines (bank A layout) against ${reconLines} trades, parse + match (in-memory trades):`);
  const rc = await benchReconcile(reconLines);
  console.table([{ lines: rc.lines, fileMiB: rc.fileMiB, parseSeconds: rc.parseSeconds, matchSeconds: rc.matchSeconds, totalSeconds: rc.totalSeconds, linesPerSec: rc.linesPerSec }]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
