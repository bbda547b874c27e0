/**
 * The channel never throws for bank-side problems: every transport failure and every unreadable
 * answer becomes UNAVAILABLE (provably not sent) or UNKNOWN (may have moved money).
 */
import { bankAMapper, type BankAApi } from "../../../channels/bank-a/mapper";
import { ChannelUnavailableError } from "../../../channels/channel";
import { WireChannel, type BankTransport, type Operation, type TransportResult } from "../../../channels/wire-channel";

type Reply = TransportResult<unknown>;

function channelAnswering(reply: (op: Operation, req: unknown) => Reply): { channel: WireChannel<BankAApi>; sent: Array<[Operation, unknown]> } {
  const sent: Array<[Operation, unknown]> = [];
  const transport: BankTransport<BankAApi> = {
    call: async (op, req) => {
      sent.push([op, req]);
      return reply(op, req) as never;
    },
  };
  const channel = new WireChannel<BankAApi>({
    code: "BANK_A",
    capabilities: ["SIGN", "DEBIT", "PAYOUT", "QUERY", "STATEMENT"],
    limits: {},
    fees: { fixed: "0.50" },
    mapper: bankAMapper("Asia/Shanghai"),
    transport,
  });
  return { channel, sent };
}

const DEBIT = { tradeNo: "T-1", agreementNo: "AG-1", amount: "12.3", expiresAt: "2024-03-01T12:05:00.250+08:00" };
const PAYOUT = { tradeNo: "P-1", accountNo: "6222999900001111", accountName: "李四", amount: "12.30", expiresAt: "2024-03-01T04:05:00Z" };
const HOLDER = { cardNo: "6222020000001234", name: "张三", idNo: "110101199001011234", mobile: "13800000000" };

describe("transport failures", () => {
  it.each([
    ["refused before sending", { ok: false, sent: false, message: "ECONNREFUSED" }, "UNAVAILABLE", "UNAVAILABLE", "UNAVAILABLE"],
    ["timed out after sending", { ok: false, sent: true, message: "timeout" }, "UNKNOWN", "UNKNOWN", "UNAVAILABLE"],
    ["garbage body", { ok: true, body: "<html>502</html>" }, "UNKNOWN", "UNKNOWN", "UNAVAILABLE"],
    ["body without a code", { ok: true, body: { hello: 1 } }, "UNKNOWN", "UNKNOWN", "UNAVAILABLE"],
    ["success with a malformed amount", { ok: true, body: { resp_code: "0000", resp_msg: "", merchant_order_no: "T-1", bank_ref: "R", amount_fen: "12.30", finish_time: "20240301120000" } }, "UNKNOWN", "UNKNOWN", "UNAVAILABLE"],
  ] as const)("%s → debit %s, query %s, sign %s", async (_name, reply, debit, query, sign) => {
    const { channel } = channelAnswering(() => reply as Reply);
    expect((await channel.debit(DEBIT)).status).toBe(debit);
    expect((await channel.payout(PAYOUT)).status).toBe(debit);
    expect((await channel.query("T-1")).status).toBe(query);
    expect((await channel.startSign("R-1", HOLDER)).status).toBe(sign);
    expect((await channel.confirmSign("SR-1", "123456")).status).toBe(sign);
    await expect(channel.statement("2024-03-01")).rejects.toBeInstanceOf(ChannelUnavailableError);
  });

  it("a 'system error' statement answer is UNKNOWN, a 'maintenance' one UNAVAILABLE", async () => {
    const busy = channelAnswering(() => ({ ok: true, body: { resp_code: "9001", resp_msg: "维护" } })).channel;
    await expect(busy.statement("2024-03-01")).rejects.toMatchObject({ kind: "UNAVAILABLE", bankCode: "9001" });
    const broken = channelAnswering(() => ({ ok: true, body: { resp_code: "9999", resp_msg: "异常" } })).channel;
    await expect(broken.statement("2024-03-01")).rejects.toMatchObject({ kind: "UNKNOWN", bankCode: "9999" });
  });
});

describe("requests in the bank's shape", () => {
  it("sends amounts in fen, canonical, and checks the echo against the canonical amount", async () => {
    const { channel, sent } = channelAnswering((_op, req) => ({
      ok: true,
      body: { resp_code: "0000", resp_msg: "", merchant_order_no: "T-1", bank_ref: "R1", amount_fen: (req as { amount_fen: string }).amount_fen, finish_time: "20240301120000" },
    }));
    expect(await channel.debit(DEBIT)).toEqual({ status: "SUCCESS", channelRef: "R1", amount: "12.30", completedAt: "2024-03-01T04:00:00.000Z" });
    expect(sent[0]).toEqual(["debit", { merchant_order_no: "T-1", protocol_no: "AG-1", amount_fen: "1230", expire_time: "20240301120500" }]);
  });

  it("statement dates go out in the bank's format", async () => {
    const { channel, sent } = channelAnswering(() => ({ ok: true, body: { resp_code: "0000", resp_msg: "", bill_content: "x" } }));
    expect(await channel.statement("2024-03-01")).toBe("x");
    expect(sent[0]).toEqual(["statement", { bill_date: "20240301" }]);
  });

  it("computes its fee half-up to the cent", () => {
    expect(channelAnswering(() => ({ ok: false, sent: false, message: "" })).channel.fee("1.00")).toBe("0.50");
  });
});
