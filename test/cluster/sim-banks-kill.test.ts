/**
 * The node that keeps the simulated banks, as a real process killed -9 while a debit is on its way to
 * the bank (the request has left our node; the bank has not acted yet). Over a real nats-server:
 *  - the debit in flight is UNKNOWN (sent, no answer), never FAILED or UNAVAILABLE;
 *  - once the mesh knows the node is gone, a debit is UNAVAILABLE (provably not sent) and a query has
 *    no answer (UNAVAILABLE: could not ask), never NOT_FOUND;
 *  - restarted on its journal, the bank has never heard of the lost request (query NOT_FOUND), still
 *    knows the agreement and the earlier trade, and debits again.
 */
import fs from "node:fs";
import path from "node:path";
import type { PaymentChannel } from "../../channels";
import { startTestNode, tempDataDir, testEnv, type TestNode, WAIT_SCALE } from "../support/node";
import { spawnNode, type NodeProcess } from "../support/process";
import { startNats, type ServerHandle } from "../support/servers";

jest.setTimeout(150_000 * WAIT_SCALE);

const HOLDER = { cardNo: "6222020200998877665", name: "李四", idNo: "110101199001011234", mobile: "13800138000" };
const LATER = "2099-01-01T00:00:00Z";

async function until(ok: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("the simulated banks' node killed -9 mid-request", () => {
  let nats: ServerHandle;
  let banks: NodeProcess | undefined;
  let client: TestNode;
  let remoteA: PaymentChannel;
  const banksData = tempDataDir();
  let banksEnv: NodeJS.ProcessEnv;

  const banksUp = (): boolean => client.broker.registry.getServiceList({ onlyAvailable: true }).some((s: { name: string }) => s.name === "sim-banks");

  beforeAll(async () => {
    nats = await startNats();
    banksEnv = {
      ...testEnv({ TRANSPORTER: nats.url }),
      NODE_ID: "banks-k",
      SERVICES: "clock,sim-banks",
      DATA_DIR: banksData,
      SIM_BANKS_CONFIG: JSON.stringify({ BANK_A: { successRate: 1, unknownRate: 0, limits: {} } }),
    };
    banks = spawnNode(banksEnv);
    client = await startTestNode({ TRANSPORTER: nats.url, NODE_ID: "client-k", SERVICES: "sign-bind" });
    await until(banksUp, 45_000, `the banks' node up\n${banks.output()}`);
    remoteA = (client.broker.getLocalService("sign-bind") as any).channels.get("BANK_A");
  });

  afterAll(async () => {
    await client?.stop();
    await banks?.kill();
    await nats?.stop();
  });

  it("UNKNOWN in flight, UNAVAILABLE once the node is known gone, NOT_FOUND from the restarted bank", async () => {
    const started = await remoteA.startSign("REQ-KILL-1", HOLDER);
    if (started.status !== "CODE_SENT" || !started.testCode) throw new Error(JSON.stringify(started));
    const signed = await remoteA.confirmSign(started.signRequestId, started.testCode);
    if (signed.status !== "SIGNED") throw new Error(JSON.stringify(signed));
    const { agreementNo } = signed;
    expect(await remoteA.debit({ tradeNo: "T-KILL-0", agreementNo, amount: "10.00", expiresAt: LATER })).toMatchObject({ status: "SUCCESS" });

    // The next request takes 2 s to reach the bank; the bank's node dies before it gets there.
    await client.broker.call("sim-banks.configure", { code: "BANK_A", latencyMs: { min: 4_000, max: 4_000 } });
    const inFlight = remoteA.debit({ tradeNo: "T-KILL-1", agreementNo, amount: "20.00", expiresAt: LATER });
    await new Promise((r) => setTimeout(r, 500));
    await banks?.kill("SIGKILL");
    expect(await inFlight).toMatchObject({ status: "UNKNOWN", bankCode: "TRANSPORT" });

    // Until the mesh notices (heartbeats), a request may still go out: no answer. After: provably not sent.
    await until(() => !banksUp(), 40_000, "the mesh noticing the banks' node is gone");
    expect(await remoteA.debit({ tradeNo: "T-KILL-2", agreementNo, amount: "30.00", expiresAt: LATER })).toMatchObject({ status: "UNAVAILABLE", bankCode: "TRANSPORT" });
    expect(await remoteA.query("T-KILL-1")).toMatchObject({ status: "UNAVAILABLE", bankCode: "TRANSPORT" });

    // The bank comes back on its journal: it never received T-KILL-1 (and it never will act on it
    // after its expiry), it still knows the agreement and T-KILL-0.
    banks = spawnNode(banksEnv);
    await until(banksUp, 45_000, `the banks' node back\n${banks.output()}`);
    expect(await remoteA.query("T-KILL-1")).toEqual({ status: "NOT_FOUND" });
    expect(await remoteA.query("T-KILL-0")).toMatchObject({ status: "SUCCESS", amount: "10.00" });
    expect(await remoteA.debit({ tradeNo: "T-KILL-3", agreementNo, amount: "40.00", expiresAt: LATER })).toMatchObject({ status: "SUCCESS" });
    const journal = fs.readFileSync(path.join(banksData, "banks", banksEnv.STORE_PREFIX || "default", "sim-bank_a.jsonl"), "utf8");
    expect(journal).toContain("T-KILL-0");
    expect(journal).toContain("T-KILL-3");
    expect(journal).not.toContain("T-KILL-1");
  });
});
