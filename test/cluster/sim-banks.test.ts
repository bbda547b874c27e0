/**
 * One simulated bank per bank code for the whole cluster. Two nodes over a real nats-server: the
 * first keeps the banks (sim-banks), the second (sign-bind and a gateway) reaches them over the mesh
 * through each bank's own client and mapper. A debit from the second node moves the balance at the
 * one bank once; a reconfiguration from either node is what both see; the journal is written by
 * the banks' node only; a second node keeping banks is refused; and with the banks' node gone a
 * debit is UNAVAILABLE (provably not sent), never UNKNOWN, and a query has no answer.
 */
import fs from "node:fs";
import path from "node:path";
import { Errors } from "moleculer";
import { ChannelUnavailableError, createRemoteSimChannels, type PaymentChannel, type SimBank } from "../../channels";
import { meshLine } from "../../mixins/channels.mixin";
import { startTestNode, tempDataDir, testEnv, type TestNode, WAIT_SCALE } from "../support/node";
import { startNats, type ServerHandle } from "../support/servers";

jest.setTimeout(120_000 * WAIT_SCALE);

const CARD = "6222020200112233445";
const HOLDER = { cardNo: CARD, name: "张三", idNo: "110101199001011234", mobile: "13800138000" };
const LATER = "2099-01-01T00:00:00Z";

async function until(ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the mesh line's failures", () => {
  const { failure } = meshLine({} as never);
  it.each([
    ["no node offers the banks", false, new Errors.ServiceNotFoundError({ action: "sim-banks.bankCall" })],
    ["the chosen node no longer offers them", false, new Errors.ServiceNotAvailableError({ action: "sim-banks.bankCall", nodeID: "banks-1" })],
    ["a time-out after sending", true, new Errors.RequestTimeoutError({ action: "sim-banks.bankCall", nodeID: "banks-1" })],
    ["the banks' node lost with the request pending", true, new Errors.RequestRejectedError({ action: "sim-banks.bankCall", nodeID: "banks-1" })],
    ["anything else", true, new Error("boom")],
  ])("%s → sent: %s", (_name, sent, err) => {
    expect(failure(err).sent).toBe(sent);
  });
});

describe("simulated banks shared by the nodes of a cluster", () => {
  let nats: ServerHandle;
  let banks: TestNode;
  let client: TestNode;
  let bankA: SimBank;
  let remoteA: PaymentChannel;
  let agreementNo: string;

  beforeAll(async () => {
    nats = await startNats();
    banks = await startTestNode({ TRANSPORTER: nats.url, NODE_ID: "banks-1", SERVICES: "clock,sim-banks,api" });
    client = await startTestNode({ TRANSPORTER: nats.url, NODE_ID: "client-1", SERVICES: "sign-bind,api" });
    await client.broker.waitForServices(["sim-banks", "clock"], 20_000);
    await banks.broker.waitForServices(["sign-bind"], 20_000);
    bankA = (banks.broker.getLocalService("sim-banks") as any).simBanks.get("BANK_A");
    remoteA = (client.broker.getLocalService("sign-bind") as any).channels.get("BANK_A");
    bankA.configure({ limits: {} }); // several debits of one card today
    // Routes of the other node's services are built a little after they register.
    for (const node of [banks, client]) {
      (node.broker.getLocalService("api") as any).refreshAliases();
      await until(async () => (await node.http("GET", "/api/v1/sim-banks")).status === 200);
    }
  });

  afterAll(async () => {
    await client?.stop();
    await banks?.stop();
    await nats?.stop();
  });

  it("the second node keeps no banks: its channels go over the mesh", () => {
    expect((client.broker.getLocalService("sign-bind") as any).simBanks.size).toBe(0);
    expect((banks.broker.getLocalService("sim-banks") as any).simBanks.size).toBe(4);
  });

  it("a debit from the other node moves the balance at the one bank once", async () => {
    expect((await client.http("PUT", "/api/v1/sim-banks/BANK_A", { successRate: 1, unknownRate: 0 })).status).toBe(200);
    expect((await client.http("PUT", "/api/v1/sim-banks/BANK_A/accounts", { cardNo: CARD, balance: "1000.00" })).status).toBe(200);
    expect(bankA.balanceOf(CARD)).toBe("1000.00");

    const started = await remoteA.startSign("REQ-MESH-1", HOLDER);
    if (started.status !== "CODE_SENT" || !started.testCode) throw new Error(JSON.stringify(started));
    const done = await remoteA.confirmSign(started.signRequestId, started.testCode);
    if (done.status !== "SIGNED") throw new Error(JSON.stringify(done));
    agreementNo = done.agreementNo;
    expect(bankA.agreement(agreementNo)).toEqual({ cardNo: CARD, active: true });

    const answers = await Promise.all(Array.from({ length: 20 }, () => remoteA.debit({ tradeNo: "T-MESH-1", agreementNo, amount: "100.00", expiresAt: LATER })));
    expect(answers[0]).toMatchObject({ status: "SUCCESS", amount: "100.00" });
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(bankA.balanceOf(CARD)).toBe("900.00");
    expect(bankA.trades().filter((t) => t.tradeNo === "T-MESH-1")).toHaveLength(1);
    expect(await remoteA.query("T-MESH-1")).toEqual(answers[0]);

    // The banks' node answers the same trade in process: the same single bank.
    const localA = (banks.broker.getLocalService("sim-banks") as any).channels.get("BANK_A") as PaymentChannel;
    expect(await localA.debit({ tradeNo: "T-MESH-1", agreementNo, amount: "100.00", expiresAt: LATER })).toEqual(answers[0]);
    expect(bankA.balanceOf(CARD)).toBe("900.00");
  });

  it("a late arrival over the mesh is refused by the bank: nothing moved, query NOT_FOUND", async () => {
    const outcome = await remoteA.debit({ tradeNo: "T-MESH-LATE", agreementNo, amount: "10.00", expiresAt: new Date(bankA.now() - 1_000).toISOString() });
    expect(outcome).toMatchObject({ status: "DECLINED", reason: "EXPIRED", side: "CHANNEL", bankCode: "1011" });
    expect(await remoteA.query("T-MESH-LATE")).toEqual({ status: "NOT_FOUND" });
    expect(bankA.balanceOf(CARD)).toBe("900.00");
  });

  it("only the banks' node writes the journal", () => {
    const journals = path.join(banks.dataDir, "banks", banks.env.STORE_PREFIX || "default");
    expect(fs.readdirSync(journals).filter((f) => f.endsWith(".jsonl")).sort()).toEqual(["sim-bank_a.jsonl", "sim-bank_b.jsonl", "sim-bank_c.jsonl", "sim-bank_d.jsonl"]);
    expect(fs.readFileSync(path.join(journals, "sim-bank_a.jsonl"), "utf8")).toContain("T-MESH-1");
    expect(fs.existsSync(path.join(client.dataDir, "banks"))).toBe(false);
  });

  it("reconfiguring from either node takes effect for both", async () => {
    const localA = (banks.broker.getLocalService("sim-banks") as any).channels.get("BANK_A") as PaymentChannel;
    // From the client node's gateway: an outage at the one bank.
    expect((await client.http("PUT", "/api/v1/sim-banks/BANK_A", { outage: true })).body).toMatchObject({ code: "BANK_A", outage: true });
    expect(bankA.isDown()).toBe(true);
    for (const ch of [remoteA, localA]) {
      expect(await ch.debit({ tradeNo: "T-DOWN-1", agreementNo, amount: "1.00", expiresAt: LATER })).toMatchObject({ status: "UNAVAILABLE" });
    }
    expect((await banks.http("GET", "/api/v1/sim-banks")).body.find((b: { code: string }) => b.code === "BANK_A")).toMatchObject({ outage: true });

    // From the banks' node (an action call this time): back up, for both.
    await banks.broker.call("sim-banks.configure", { code: "BANK_A", outage: false });
    expect((await client.http("GET", "/api/v1/sim-banks")).body.find((b: { code: string }) => b.code === "BANK_A")).toMatchObject({ outage: false });
    expect(await remoteA.debit({ tradeNo: "T-DOWN-1", agreementNo, amount: "1.00", expiresAt: LATER })).toMatchObject({ status: "SUCCESS" });
    expect(await localA.query("T-DOWN-1")).toMatchObject({ status: "SUCCESS" });
    expect(bankA.balanceOf(CARD)).toBe("899.00");
  });

  it("a time-out over the mesh is UNKNOWN, and the bank still acts: the query then tells", async () => {
    await client.broker.call("sim-banks.configure", { code: "BANK_A", latencyMs: { min: 600, max: 600 } });
    try {
      const impatient = createRemoteSimChannels({ line: meshLine(client.broker), timeoutMs: 200, codes: ["BANK_A"] }).get("BANK_A") as PaymentChannel;
      expect(await impatient.debit({ tradeNo: "T-SLOW-1", agreementNo, amount: "2.00", expiresAt: LATER })).toMatchObject({ status: "UNKNOWN", bankCode: "TRANSPORT" });
      expect(await impatient.query("T-SLOW-1")).toMatchObject({ status: "UNKNOWN", bankCode: "TRANSPORT" }); // no answer, says nothing of the trade
      await until(() => bankA.balanceOf(CARD) === "897.00", 5_000);
    } finally {
      await client.broker.call("sim-banks.configure", { code: "BANK_A", latencyMs: { min: 0, max: 0 } });
    }
    expect(await remoteA.query("T-SLOW-1")).toMatchObject({ status: "SUCCESS", amount: "2.00" });
  });

  it("a statement larger than the transporter's largest message comes over the mesh whole", async () => {
    for (let i = 0; i < 30_000; i++) bankA.debit({ tradeNo: `T-BIG-${String(i).padStart(5, "0")}`, agreementNo, amount: "0.01" });
    const date = (bankA.trade("T-MESH-1") as { date: string }).date;
    const localA = (banks.broker.getLocalService("sim-banks") as any).channels.get("BANK_A") as PaymentChannel;
    const local = await localA.statement(date);
    expect(Buffer.byteLength(local)).toBeGreaterThan(1024 * 1024); // nats-server's default max payload
    const remote = await remoteA.statement(date);
    expect(remote).toBe(local);
    expect(remoteA.parseStatement(remote).filter((l) => l.tradeNo.startsWith("T-BIG-"))).toHaveLength(30_000);
    bankA.setBalance(CARD, "897.00");
  });

  it("refuses a second node keeping banks", async () => {
    await expect(startTestNode({ TRANSPORTER: nats.url, NODE_ID: "banks-2", SERVICES: "sim-banks", DATA_DIR: tempDataDir() })).rejects.toThrow(
      /sim-banks already runs on node banks-1/,
    );
    // The one bank is untouched.
    expect(bankA.balanceOf(CARD)).toBe("897.00");
  });

  it("refuses a second process on the banks' journal folder", async () => {
    const shared = testEnv({ SIM_BANKS_DIR: path.join(banks.dataDir, "banks", banks.env.STORE_PREFIX || "default") });
    const lock = path.join(banks.dataDir, "banks", banks.env.STORE_PREFIX || "default", ".lock");
    fs.writeFileSync(lock, String(process.ppid)); // a live process that is not us holds it
    try {
      await expect(startTestNode({}, { ...shared, SERVICES: "clock,sim-banks" })).rejects.toThrow(/one writer/);
    } finally {
      fs.writeFileSync(lock, String(process.pid));
    }
  });

  it("with the banks' node down: a debit is UNAVAILABLE (never sent), a query has no answer", async () => {
    await banks.stop();
    await until(() => !client.broker.registry.getServiceList({ onlyAvailable: true }).some((s: { name: string }) => s.name === "sim-banks"));
    const debit = await remoteA.debit({ tradeNo: "T-GONE-1", agreementNo, amount: "1.00", expiresAt: LATER });
    expect(debit).toMatchObject({ status: "UNAVAILABLE", bankCode: "TRANSPORT" });
    const payout = await remoteA.payout({ tradeNo: "P-GONE-1", accountNo: "6222999900001111", accountName: "李四", amount: "1.00", expiresAt: LATER });
    expect(payout).toMatchObject({ status: "UNAVAILABLE" });
    // From a query, UNAVAILABLE describes the question (could not ask), not the trade.
    expect(await remoteA.query("T-MESH-1")).toMatchObject({ status: "UNAVAILABLE", bankCode: "TRANSPORT" });
    await expect(remoteA.statement("2026-01-01")).rejects.toBeInstanceOf(ChannelUnavailableError);
    expect(await remoteA.startSign("REQ-GONE", HOLDER)).toMatchObject({ status: "UNAVAILABLE" });
  });
});
