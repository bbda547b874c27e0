/**
 * Order expiry, per bank: every debit and payout carries `expiresAt` in that bank's own field and
 * format; the simulated bank refuses a request that ARRIVES after it (the bank's "order expired"
 * code → DECLINED EXPIRED, channel side), moves nothing, records no trade (a query answers
 * NOT_FOUND, the statement leaves it out) and never acts on that trade number later. A request that
 * arrived in time is unchanged, an UNKNOWN one settling after the expiry included.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createSimChannels, SimBank } from "../../../channels";
import type { ChannelCode, PaymentChannel } from "../../../channels/channel";
import { bankAMapper } from "../../../channels/bank-a/mapper";
import { bankBMapper } from "../../../channels/bank-b/mapper";
import { bankCMapper } from "../../../channels/bank-c/mapper";
import { bankDMapper } from "../../../channels/bank-d/mapper";
import { createBankAChannel } from "../../../channels/bank-a";

/** 2024-03-01 12:00:00 in Shanghai. */
const T0 = Date.parse("2024-03-01T04:00:00Z");
const CARD = "6222020000001234";
const HOLDER = { cardNo: CARD, name: "张三", idNo: "110101199001011234", mobile: "13800000000" };
const PAYEE = { accountNo: "6222999900001111", accountName: "李四" };
const ALL: ChannelCode[] = ["BANK_A", "BANK_B", "BANK_C", "BANK_D"];
const PAYOUT_BANKS: ChannelCode[] = ["BANK_A", "BANK_B", "BANK_D"];
/** Each bank's own "order expired" code. */
const EXPIRED_CODE: Record<ChannelCode, string> = { BANK_A: "1011", BANK_B: "F:ORDER_EXPIRED", BANK_C: "A5", BANK_D: "408" };

const iso = (ms: number): string => new Date(ms).toISOString();

function setup(defaults: Record<string, unknown> = {}, dataDir?: string) {
  const clock = { t: T0 };
  const { channels, banks } = createSimChannels({
    seed: "expiry",
    now: () => clock.t,
    defaults: { successRate: 1, unknownRate: 0, ...defaults },
    ...(dataDir ? { dataDir } : {}),
  });
  return { clock, ch: (c: ChannelCode) => channels.get(c) as PaymentChannel, bank: (c: ChannelCode) => banks.get(c) as SimBank };
}

async function sign(ch: PaymentChannel): Promise<string> {
  const s = await ch.startSign(`REQ-${CARD}`, HOLDER);
  if (s.status !== "CODE_SENT" || !s.testCode) throw new Error(`sign failed: ${JSON.stringify(s)}`);
  const d = await ch.confirmSign(s.signRequestId, s.testCode);
  if (d.status !== "SIGNED") throw new Error(`confirm failed: ${JSON.stringify(d)}`);
  return d.agreementNo;
}

describe("the wire carries the expiry in each bank's own field and format (whole seconds, rounded down)", () => {
  const at = "2024-03-01T04:05:00.999Z"; // 12:05:00.999 in Shanghai
  const debit = { tradeNo: "T-1", agreementNo: "AG", amount: "1.00", expiresAt: "2024-03-01T04:05:00Z" };
  const payout = { tradeNo: "P-1", ...PAYEE, amount: "1.00", expiresAt: "2024-03-01T04:05:00Z" };
  it.each([
    ["BANK_A", bankAMapper("Asia/Shanghai").debitRequest(debit), { expire_time: "20240301120500" }],
    ["BANK_B", bankBMapper("Asia/Shanghai").debitRequest(debit), { timeExpire: "2024-03-01 12:05:00" }],
    ["BANK_C", bankCMapper("Asia/Shanghai").debitRequest(debit), { EXPIRE_TIME: "2024-03-01T12:05:00" }],
    ["BANK_D", bankDMapper("Asia/Shanghai").debitRequest(debit), { expiresAt: "2024-03-01T12:05:00+08:00" }],
  ])("%s debit", (_code, wire, field) => {
    expect(wire).toMatchObject(field);
  });

  it.each([
    ["BANK_A", bankAMapper("Asia/Shanghai").payoutRequest?.(payout), { expire_time: "20240301120500" }],
    ["BANK_B", bankBMapper("Asia/Shanghai").payoutRequest?.(payout), { timeExpire: "2024-03-01 12:05:00" }],
    ["BANK_D", bankDMapper("Asia/Shanghai").payoutRequest?.(payout), { expiresAt: "2024-03-01T12:05:00+08:00" }],
  ])("%s payout", (_code, wire, field) => {
    expect(wire).toMatchObject(field);
  });

  it("the channel rounds a fractional expiry down before the mapper sees it", async () => {
    const { ch, bank, clock } = setup();
    bank("BANK_A").openAccount(CARD, "100.00", HOLDER.name);
    const agreementNo = await sign(ch("BANK_A"));
    clock.t = Date.parse("2024-03-01T04:05:00.500Z"); // before `at`, but after its whole second
    expect(await ch("BANK_A").debit({ tradeNo: "T-1", agreementNo, amount: "1.00", expiresAt: at })).toMatchObject({ status: "DECLINED", reason: "EXPIRED" });
  });
});

describe.each(ALL)("%s debits", (code) => {
  it("a late arrival is refused with the bank's expired code: nothing moves, no trade, query NOT_FOUND, never acted on later", async () => {
    const { ch, bank, clock } = setup();
    bank(code).openAccount(CARD, "100.00", HOLDER.name);
    const agreementNo = await sign(ch(code));
    clock.t = T0 + 60_001;
    const late = await ch(code).debit({ tradeNo: "T-LATE", agreementNo, amount: "10.00", expiresAt: iso(T0 + 60_000) });
    expect(late).toEqual({ status: "DECLINED", reason: "EXPIRED", side: "CHANNEL", bankCode: EXPIRED_CODE[code], message: expect.any(String) });
    expect(bank(code).balanceOf(CARD)).toBe("100.00");
    expect(bank(code).trades()).toHaveLength(0);
    expect(bank(code).wasRefusedAsExpired("T-LATE")).toBe(true);
    expect(await ch(code).query("T-LATE")).toEqual({ status: "NOT_FOUND" });

    // The same trade number again, even with a fresh expiry: still refused, still nothing.
    expect(await ch(code).debit({ tradeNo: "T-LATE", agreementNo, amount: "10.00", expiresAt: iso(T0 + 3_600_000) })).toMatchObject({
      status: "DECLINED",
      reason: "EXPIRED",
    });
    clock.t = T0 + 86_400_000;
    expect(await ch(code).query("T-LATE")).toEqual({ status: "NOT_FOUND" });
    expect(bank(code).balanceOf(CARD)).toBe("100.00");
    expect(ch(code).parseStatement(await ch(code).statement("2024-03-01"))).toEqual([]);
  });

  it("an in-time arrival is unchanged: processed, and a repeat after the expiry answers from the record", async () => {
    const { ch, bank, clock } = setup();
    bank(code).openAccount(CARD, "100.00", HOLDER.name);
    const agreementNo = await sign(ch(code));
    const req = { tradeNo: "T-1", agreementNo, amount: "10.00", expiresAt: iso(T0 + 60_000) };
    clock.t = T0 + 60_000; // exactly at the expiry still counts as in time
    const first = await ch(code).debit(req);
    expect(first).toMatchObject({ status: "SUCCESS", amount: "10.00" });
    expect(bank(code).balanceOf(CARD)).toBe("90.00");
    clock.t = T0 + 120_000;
    expect(await ch(code).debit(req)).toEqual(first);
    expect(await ch(code).query("T-1")).toEqual(first);
    expect(bank(code).balanceOf(CARD)).toBe("90.00");
  });

  it("an in-time arrival that is UNKNOWN settles as before, after the expiry has passed", async () => {
    const { ch, bank, clock } = setup({ unknownRate: 1, unknownSettleMs: 120_000 });
    bank(code).openAccount(CARD, "100.00", HOLDER.name);
    const agreementNo = await sign(ch(code));
    expect(await ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "10.00", expiresAt: iso(T0 + 60_000) })).toMatchObject({ status: "UNKNOWN" });
    clock.t = T0 + 90_000;
    expect(await ch(code).query("T-1")).toEqual({ status: "PROCESSING" });
    clock.t = T0 + 120_000;
    expect(await ch(code).query("T-1")).toMatchObject({ status: "SUCCESS", amount: "10.00" });
    expect(bank(code).balanceOf(CARD)).toBe("90.00");
  });
});

describe.each(PAYOUT_BANKS)("%s payouts", (code) => {
  it("a late arrival is refused: the position and the beneficiary unchanged, query NOT_FOUND", async () => {
    const { ch, bank, clock } = setup();
    bank(code).setMerchantBalance("1000.00");
    clock.t = T0 + 1_000;
    expect(await ch(code).payout({ tradeNo: "P-LATE", ...PAYEE, amount: "100.00", expiresAt: iso(T0) })).toMatchObject({
      status: "DECLINED",
      reason: "EXPIRED",
      side: "CHANNEL",
      bankCode: EXPIRED_CODE[code],
    });
    expect(bank(code).merchantBalance()).toBe("1000.00");
    expect(bank(code).hasAccount(PAYEE.accountNo)).toBe(false);
    expect(await ch(code).query("P-LATE")).toEqual({ status: "NOT_FOUND" });
    expect(await ch(code).payout({ tradeNo: "P-LATE", ...PAYEE, amount: "100.00", expiresAt: iso(T0 + 3_600_000) })).toMatchObject({ reason: "EXPIRED" });
    expect(bank(code).merchantBalance()).toBe("1000.00");
  });

  it("an in-time arrival pays as before", async () => {
    const { ch, bank } = setup();
    bank(code).setMerchantBalance("1000.00");
    expect(await ch(code).payout({ tradeNo: "P-1", ...PAYEE, amount: "100.00", expiresAt: iso(T0 + 1_000) })).toMatchObject({ status: "SUCCESS" });
    expect(bank(code).merchantBalance()).toBe("900.00");
  });
});

describe("arrival, not sending, is what counts", () => {
  it("a request sent before its expiry that arrives after it (network latency) is refused", async () => {
    const bank = new SimBank({ code: "BANK_A", seed: "net", successRate: 1, unknownRate: 0, latencyMs: { min: 60, max: 60 } });
    bank.openAccount(CARD, "100.00", HOLDER.name);
    const s = bank.startSign({ requestNo: "R1", cardNo: CARD, name: HOLDER.name });
    const signed = s.code === "OK" ? bank.confirmSign(s.signRequestId, s.smsCode) : s;
    if (signed.code !== "OK") throw new Error("not signed");
    const ch = createBankAChannel(bank, { timeoutMs: 1_000 });
    const sentAt = Date.now();
    const outcome = await ch.debit({ tradeNo: "T-NET", agreementNo: signed.agreementNo, amount: "10.00", expiresAt: iso(sentAt + 10) });
    expect(outcome).toMatchObject({ status: "DECLINED", reason: "EXPIRED", bankCode: "1011" });
    expect(bank.balanceOf(CARD)).toBe("100.00");
  });
});

describe("the refusal is part of the bank's journal", () => {
  it("survives the bank's restart: the number stays refused", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "repaymesh-expiry-"));
    try {
      const before = setup({}, dir);
      before.bank("BANK_D").openAccount(CARD, "100.00", HOLDER.name);
      const agreementNo = await sign(before.ch("BANK_D"));
      before.clock.t = T0 + 5_000;
      expect(await before.ch("BANK_D").debit({ tradeNo: "T-1", agreementNo, amount: "1.00", expiresAt: iso(T0) })).toMatchObject({ reason: "EXPIRED" });

      const after = setup({}, dir);
      expect(after.bank("BANK_D").wasRefusedAsExpired("T-1")).toBe(true);
      expect(await after.ch("BANK_D").debit({ tradeNo: "T-1", agreementNo, amount: "1.00", expiresAt: iso(T0 + 3_600_000) })).toMatchObject({ reason: "EXPIRED" });
      expect(await after.ch("BANK_D").query("T-1")).toEqual({ status: "NOT_FOUND" });
      expect(after.bank("BANK_D").balanceOf(CARD)).toBe("100.00");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an unreadable expiry on the wire is treated as passed (refused, nothing moved), never as none", () => {
    const bank = new SimBank({ code: "BANK_B", seed: "x", successRate: 1, unknownRate: 0 });
    bank.setMerchantBalance("10.00");
    expect(bank.payout({ tradeNo: "P-1", ...PAYEE, amount: "1.00", expiresAt: NaN }).code).toBe("ORDER_EXPIRED");
    expect(bank.merchantBalance()).toBe("10.00");
    // absent: the bank has no expiry to honour (our clients always send one)
    expect(bank.payout({ tradeNo: "P-2", ...PAYEE, amount: "1.00" }).code).toBe("OK");
  });
});
