/** `npm run bench`: every benchmark, one table each, with the machine they ran on. */
import os from "node:os";
import { benchPlans } from "./plan.bench";
import { benchOrders } from "./orders.bench";

async function main() {
  console.log(`RepayMesh benchmarks — ${new Date().toISOString()}`);
  console.log(`machine: ${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}\n`);
  console.log("Plan generation (pure domain, one core):");
  const plans = await benchPlans();
  console.table(plans.map((r) => ({ name: r.name, plansPerSec: Math.round(r.opsPerSec), plansMeasured: r.n })));
  console.log("\nOrder intake, embedded node (file store):");
  const orders = await benchOrders();
  console.table(orders.map((r) => ({ name: r.name, n: r.n, concurrency: r.concurrency, perSec: Math.round(r.opsPerSec) })));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
