/**
 * The simulated banks over a remote line (no Moleculer here: a line that hands the request to the
 * bank's endpoint as the sim-banks service does): the same clients and mappers give the same
 * outcomes as in process, and the line's own failures map to the channel's kinds.
 */
import { answerBankCall, createRemoteSimChannels, createSimChannels, RemoteTransport, type BankCallAnswer, type RemoteLine } from "../../../channels";
import type { ChannelCode, PaymentChannel } from "../../../channels/channel";
import type { BankAApi } from "../../../channels/bank-a/mapper";

const T0 = Date.parse("2024-03-01T04:00:00Z");
const CARD = "6222020000001234";
const HOLDER = { cardNo: CARD, name: "张三", idNo: "110101199001011234", mobile: "13800000000" };
const LATER = "2099-01-01T00:00:00Z";
const ALL: ChannelCode[] = ["BANK_A", "BANK_B", "BANK_C", "BANK_D"];

function cluster() {
  const clock = { t: T0 };
  const sim = createSimChannels({ seed: "remote", now: () => clock.t, defaults: { successRate: 1, unknownRate: 0 } });
  const sent: string[] = [];
  const line: RemoteLine = {
    send: (p) => {
      sent.push(JSON.stringify(p));
      const endpoint = sim.endpoints.get(p.code);
      return endpoint ? answerBankCall(endpoint, p.op, p.req) : Promise.resolve({ refused: `no bank ${p.code}` });
    },
    failure: (err) => ({ sent: true, message: String(err) }),
  };
  const remote = createRemoteSimChannels({ line });
  return { clock, sim, remote, sent, ch: (c: ChannelCode) => remote.get(c) as PaymentChannel };
}

async function sign(ch: PaymentChannel): Promise<string> {
  const s = await ch.startSign("REQ-1", HOLDER);
  if (s.status !== "CODE_SENT" || !s.testCode) throw new Error(JSON.stringify(s));
  const d = await ch.confirmSign(s.signRequestId, s.testCode);
  if (d.status !== "SIGNED") throw new Error(JSON.stringify(d));
  return d.agreementNo;
}

describe.each(ALL)("%s over a remote line", (code) => {
  it("the same limits and fees as in process; sign, debit once, query, statement at the one bank", async () => {
    const { sim, ch, clock } = cluster();
    const local = sim.channels.get(code) as PaymentChannel;
    expect(ch(code).limits).toEqual(local.limits);
    expect(ch(code).fees).toEqual(local.fees);
    expect(ch(code).capabilities).toEqual(local.capabilities);
    const bank = sim.banks.get(code)!;
    bank.openAccount(CARD, "100.00", HOLDER.name);
    const agreementNo = await sign(ch(code));
    const answers = await Promise.all(Array.from({ length: 5 }, () => ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "10.00", expiresAt: LATER })));
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(answers[0]).toMatchObject({ status: "SUCCESS", amount: "10.00" });
    expect(await local.debit({ tradeNo: "T-1", agreementNo, amount: "10.00", expiresAt: LATER })).toEqual(answers[0]);
    expect(bank.balanceOf(CARD)).toBe("90.00");
    expect(await ch(code).query("T-1")).toEqual(await local.query("T-1"));
    expect(await ch(code).statement("2024-03-01")).toBe(await local.statement("2024-03-01"));
    clock.t += 61_000;
    expect(await ch(code).debit({ tradeNo: "T-2", agreementNo, amount: "10.00", expiresAt: new Date(T0 + 60_000).toISOString() })).toMatchObject({ status: "DECLINED", reason: "EXPIRED" });
    expect(await ch(code).query("T-2")).toEqual({ status: "NOT_FOUND" });
  });

  it("an outage at the bank is a refused connection: UNAVAILABLE, nothing recorded", async () => {
    const { sim, ch } = cluster();
    sim.banks.get(code)!.setOutage(true);
    expect(await ch(code).debit({ tradeNo: "T-1", agreementNo: "AG", amount: "1.00", expiresAt: LATER })).toMatchObject({ status: "UNAVAILABLE", bankCode: "TRANSPORT" });
    expect(sim.banks.get(code)!.trades()).toHaveLength(0);
  });
});

describe("the line's answers and failures", () => {
  const DEBIT = { tradeNo: "T-1", agreementNo: "AG", amount: "1.00", expiresAt: LATER };
  const over = (send: RemoteLine["send"], sentOnFailure = true) =>
    createRemoteSimChannels({ line: { send, failure: (err) => ({ sent: sentOnFailure, message: String(err) }) }, codes: ["BANK_A"] }).get("BANK_A") as PaymentChannel;

  it.each([
    ["refused", { refused: "connection refused" }, "UNAVAILABLE", "UNAVAILABLE"],
    ["an internal error after accepting", { ok: false, message: "HTTP 500" }, "UNKNOWN", "UNKNOWN"],
    ["an answer not in the line's shape", { hello: 1 }, "UNKNOWN", "UNKNOWN"],
  ] as const)("%s → debit %s, query %s", async (_name, answer, debit, query) => {
    const ch = over(() => Promise.resolve(answer as unknown as BankCallAnswer));
    expect((await ch.debit(DEBIT)).status).toBe(debit);
    expect((await ch.query("T-1")).status).toBe(query);
  });

  it("a line failure is read by the line: not sent → UNAVAILABLE, maybe sent → UNKNOWN", async () => {
    const fail = () => Promise.reject(new Error("down"));
    expect(await over(fail, false).debit(DEBIT)).toMatchObject({ status: "UNAVAILABLE", bankCode: "TRANSPORT" });
    expect(await over(fail, true).debit(DEBIT)).toMatchObject({ status: "UNKNOWN", bankCode: "TRANSPORT" });
    expect(await over(fail, true).query("T-1")).toMatchObject({ status: "UNKNOWN" });
    expect(await over(fail, false).query("T-1")).toMatchObject({ status: "UNAVAILABLE" });
  });

  it("sends the bank's own wire request, with the timeout it was given", async () => {
    const seen: Array<[unknown, number]> = [];
    const t = new RemoteTransport<BankAApi>("BANK_A", { send: (p, ms) => (seen.push([p, ms]), Promise.resolve({ refused: "x" })), failure: () => ({ sent: true, message: "" }) }, { timeoutMs: 1234 });
    await t.call("query", { merchant_order_no: "T-9" });
    expect(seen).toEqual([[{ code: "BANK_A", op: "query", req: { merchant_order_no: "T-9" } }, 1234]]);
    expect(() => new RemoteTransport("BANK_A", { send: () => Promise.resolve({ refused: "" }), failure: () => ({ sent: true, message: "" }) }, { timeoutMs: 0 })).toThrow(RangeError);
  });
});
