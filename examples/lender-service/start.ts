/** `NATS_URL=nats://127.0.0.1:4222 npx tsx examples/lender-service/start.ts`: joins a running RepayMesh cluster and syncs one order. */
import { lenderBroker } from "./broker";
import { lenderService } from "./lender.service";

async function main() {
  const broker = lenderBroker({ natsUrl: process.env.NATS_URL ?? "nats://127.0.0.1:4222", logLevel: "info" });
  broker.createService(lenderService({ onEvent: (e) => broker.logger.info(`event ${e.type} ${e.key} (${e.id})`) }));
  await broker.start();
  await broker.waitForServices(["order-sync", "schedule"], 30_000);
  const out: any = await broker.call("lender.syncOrder", {
    source: "LENDER_DEMO",
    orderNo: `DEMO-${Date.now()}`,
    bizType: "CONSUMER",
    funderId: "F001",
    productCode: "P12",
    customer: { id: "C-DEMO", name: "Zhang San", idNo: "110101199001011234", mobile: "13800138000" },
    principal: "12000.00",
    annualRate: "0.12",
    term: 12,
    repaymentMethod: "EQUAL_INSTALLMENT",
    startDate: new Date().toISOString().slice(0, 10),
  });
  broker.logger.info(out.ok ? `order ${out.order.orderId}, plan ${out.order.planId}` : `refused: ${out.code} ${out.message}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
