/**
 * The simulated banks through their channels (transport + mapper + SimBank): idempotency by trade
 * number, real balance checks, outages, UNKNOWN outcomes that settle, statements, limits, payouts,
 * signing, determinism under a seed, and the journal across instances.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createSimChannels, SimBank, type SimChannelsOptions } from "../../../channels";
import type { ChannelCode, PaymentChannel, PaymentOutcome } from "../../../channels/channel";
import { createBankAChannel } from "../../../channels/bank-a";
import { bankASimServer } from "../../../channels/bank-a/sim-server";
import { bankAMapper } from "../../../channels/bank-a/mapper";
import { bankBSimServer } from "../../../channels/bank-b/sim-server";
import { bankBMapper } from "../../../channels/bank-b/mapper";
import { bankCSimServer } from "../../../channels/bank-c/sim-server";
import { bankCMapper } from "../../../channels/bank-c/mapper";
import { bankDSimServer } from "../../../channels/bank-d/sim-server";
import { bankDMapper } from "../../../channels/bank-d/mapper";

/** 2024-03-01 12:00:00 in Shanghai. */
const T0 = Date.parse("2024-03-01T04:00:00Z");
const DAY = 86_400_000;
/** An order expiry far after every clock these tests use. */
const LATER = "2099-01-01T00:00:00Z";
const CARD = "6222020000001234";
const HOLDER = { cardNo: CARD, name: "张三", idNo: "110101199001011234", mobile: "13800000000" };
const ALL: ChannelCode[] = ["BANK_A", "BANK_B", "BANK_C", "BANK_D"];
const PAYOUT_BANKS: ChannelCode[] = ["BANK_A", "BANK_B", "BANK_D"];

function setup(opts: Partial<SimChannelsOptions> = {}) {
  const clock = { t: T0 };
  const { channels, banks } = createSimChannels({
    seed: "unit",
    now: () => clock.t,
    ...opts,
    defaults: { successRate: 1, unknownRate: 0, ...opts.defaults },
  });
  return {
    clock,
    channels,
    banks,
    ch: (c: ChannelCode) => channels.get(c) as PaymentChannel,
    bank: (c: ChannelCode) => banks.get(c) as SimBank,
  };
}

async function sign(ch: PaymentChannel, holder = HOLDER): Promise<string> {
  const s = await ch.startSign(`REQ-${holder.cardNo}`, holder);
  if (s.status !== "CODE_SENT" || !s.testCode) throw new Error(`sign failed: ${JSON.stringify(s)}`);
  const d = await ch.confirmSign(s.signRequestId, s.testCode);
  if (d.status !== "SIGNED") throw new Error(`confirm failed: ${JSON.stringify(d)}`);
  return d.agreementNo;
}

const tmpDirs: string[] = [];
function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "repaymesh-simbank-"));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe.each(ALL)("%s", (code) => {
  it("signs: a wrong code is declined, the right one gives an agreement bound to the card", async () => {
    const { ch, bank } = setup();
    const s = await ch(code).startSign("REQ-1", HOLDER);
    expect(s).toMatchObject({ status: "CODE_SENT", testCode: expect.stringMatching(/^\d{6}$/) });
    if (s.status !== "CODE_SENT") return;
    const wrong = s.testCode === "000000" ? "111111" : "000000";
    expect(await ch(code).confirmSign(s.signRequestId, wrong)).toMatchObject({ status: "DECLINED", reason: "OTHER" });
    const done = await ch(code).confirmSign(s.signRequestId, s.testCode as string);
    expect(done).toMatchObject({ status: "SIGNED" });
    if (done.status !== "SIGNED") return;
    expect(bank(code).agreement(done.agreementNo)).toEqual({ cardNo: CARD, active: true });
    // idempotent: the same request number and a repeated confirmation give the same answers
    expect(await ch(code).startSign("REQ-1", HOLDER)).toEqual(s);
    expect(await ch(code).confirmSign(s.signRequestId, s.testCode as string)).toEqual(done);
  });

  it("50 concurrent debits with one trade number move the money once and all get the same answer", async () => {
    const { ch, bank } = setup();
    bank(code).openAccount(CARD, "1000.00", HOLDER.name);
    const agreementNo = await sign(ch(code));
    const answers = await Promise.all(Array.from({ length: 50 }, () => ch(code).debit({ tradeNo: "T-SAME", agreementNo, amount: "100.00", expiresAt: LATER })));
    expect(answers[0]).toMatchObject({ status: "SUCCESS", amount: "100.00" });
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(bank(code).balanceOf(CARD)).toBe("900.00");
    expect(bank(code).trades()).toHaveLength(1);
  });

  it("answers a repeated trade number with a different amount from the first trade: UNKNOWN to us, no second debit", async () => {
    const { ch, bank } = setup();
    bank(code).openAccount(CARD, "1000.00", HOLDER.name);
    const agreementNo = await sign(ch(code));
    expect(await ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "100.00", expiresAt: LATER })).toMatchObject({ status: "SUCCESS" });
    const again = await ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "200.00", expiresAt: LATER });
    expect(again).toMatchObject({ status: "UNKNOWN", message: expect.stringMatching(/amount mismatch/) });
    expect(bank(code).balanceOf(CARD)).toBe("900.00");
  });

  it("checks the real balance: insufficient is a borrower-side decline and moves nothing", async () => {
    const { ch, bank } = setup();
    bank(code).openAccount(CARD, "100.00", HOLDER.name);
    const agreementNo = await sign(ch(code));
    expect(await ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "100.01", expiresAt: LATER })).toMatchObject({
      status: "DECLINED",
      reason: "INSUFFICIENT_BALANCE",
      side: "BORROWER",
    });
    expect(bank(code).balanceOf(CARD)).toBe("100.00");
    expect(await ch(code).debit({ tradeNo: "T-2", agreementNo, amount: "100.00", expiresAt: LATER })).toMatchObject({ status: "SUCCESS" });
    expect(bank(code).balanceOf(CARD)).toBe("0.00");
    // the declined trade keeps its answer (a retry needs a new trade number)
    bank(code).setBalance(CARD, "500.00");
    expect(await ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "100.01", expiresAt: LATER })).toMatchObject({ status: "DECLINED", reason: "INSUFFICIENT_BALANCE" });
    expect(bank(code).balanceOf(CARD)).toBe("500.00");
  });

  it("declines a frozen card (borrower side) and moves nothing", async () => {
    const { ch, bank } = setup();
    bank(code).openAccount(CARD, "100.00", HOLDER.name);
    const agreementNo = await sign(ch(code));
    bank(code).freeze(CARD);
    expect(await ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "10.00", expiresAt: LATER })).toMatchObject({ status: "DECLINED", reason: "CARD_FROZEN", side: "BORROWER" });
    expect(bank(code).balanceOf(CARD)).toBe("100.00");
  });

  it("is UNAVAILABLE during an outage: nothing moved, nothing recorded, the same trade number works afterwards", async () => {
    const { ch, bank, clock } = setup();
    bank(code).openAccount(CARD, "100.00", HOLDER.name);
    const agreementNo = await sign(ch(code));
    bank(code).setOutage({ from: T0, to: T0 + 60_000 });
    expect(await ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "10.00", expiresAt: LATER })).toMatchObject({ status: "UNAVAILABLE" });
    expect(await ch(code).startSign("REQ-X", HOLDER)).toMatchObject({ status: "UNAVAILABLE" });
    expect((await ch(code).query("T-1")).status).toBe("UNAVAILABLE");
    await expect(ch(code).statement("2024-03-01")).rejects.toMatchObject({ name: "ChannelUnavailableError", kind: "UNAVAILABLE" });
    expect(bank(code).balanceOf(CARD)).toBe("100.00");
    clock.t = T0 + 60_000;
    expect(await ch(code).query("T-1")).toEqual({ status: "NOT_FOUND" });
    expect(await ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "10.00", expiresAt: LATER })).toMatchObject({ status: "SUCCESS" });
    expect(bank(code).balanceOf(CARD)).toBe("90.00");
  });

  it("UNKNOWN: query says PROCESSING until the settle delay, then the final result; the statement shows it once settled", async () => {
    const { ch, bank, clock } = setup({ defaults: { unknownRate: 1, unknownSettleMs: 60_000 } });
    bank(code).openAccount(CARD, "100.00", HOLDER.name);
    const agreementNo = await sign(ch(code));
    expect(await ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "10.00", expiresAt: LATER })).toMatchObject({ status: "UNKNOWN" });
    expect(await ch(code).query("T-1")).toEqual({ status: "PROCESSING" });
    expect(ch(code).parseStatement(await ch(code).statement("2024-03-01"))).toEqual([]);
    expect(await ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "10.00", expiresAt: LATER })).toMatchObject({ status: "UNKNOWN" }); // repeat: first answer
    clock.t = T0 + 59_999;
    expect(await ch(code).query("T-1")).toEqual({ status: "PROCESSING" });
    clock.t = T0 + 60_000;
    const final = await ch(code).query("T-1");
    expect(final).toMatchObject({ status: "SUCCESS", amount: "10.00", completedAt: new Date(T0 + 60_000).toISOString() });
    expect(bank(code).balanceOf(CARD)).toBe("90.00");
    expect(await ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "10.00", expiresAt: LATER })).toEqual(final); // repeat: now the final answer
    const lines = ch(code).parseStatement(await ch(code).statement("2024-03-01"));
    expect(lines).toEqual([
      expect.objectContaining({ tradeNo: "T-1", kind: "DEBIT", amount: "10.00", fee: ch(code).fee("10.00"), status: "SUCCESS", date: "2024-03-01", time: "12:00:00" }),
    ]);
    expect(lines[0].channelRef).toBe((final as { channelRef: string }).channelRef);
  });

  it("UNKNOWN that settles as a failure: declined on query, no money moved, FAILED in the statement", async () => {
    const { ch, bank, clock } = setup({ defaults: { unknownRate: 1, unknownSettleMs: 1_000, successRate: 0, failureMix: { CHANNEL_ERROR: 1 } } });
    bank(code).openAccount(CARD, "100.00", HOLDER.name);
    const agreementNo = await sign(ch(code));
    expect((await ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "10.00", expiresAt: LATER })).status).toBe("UNKNOWN");
    clock.t += 1_000;
    expect(await ch(code).query("T-1")).toMatchObject({ status: "DECLINED", reason: "CHANNEL_ERROR", side: "CHANNEL" });
    expect(bank(code).balanceOf(CARD)).toBe("100.00");
    expect(ch(code).parseStatement(await ch(code).statement("2024-03-01"))).toEqual([
      expect.objectContaining({ tradeNo: "T-1", status: "FAILED", fee: "0.00" }),
    ]);
  });

  it("dates the statement in the bank's zone (Asia/Shanghai): 00:30 local belongs to the new day", async () => {
    const { ch, bank, clock } = setup();
    bank(code).openAccount(CARD, "100.00", HOLDER.name);
    const agreementNo = await sign(ch(code));
    clock.t = Date.parse("2024-03-01T16:30:00Z"); // 2024-03-02 00:30 in Shanghai
    expect((await ch(code).debit({ tradeNo: "T-LATE", agreementNo, amount: "1.00", expiresAt: LATER })).status).toBe("SUCCESS");
    expect(ch(code).parseStatement(await ch(code).statement("2024-03-01"))).toEqual([]);
    expect(ch(code).parseStatement(await ch(code).statement("2024-03-02"))).toEqual([
      expect.objectContaining({ tradeNo: "T-LATE", date: "2024-03-02", time: "00:30:00" }),
    ]);
  });

  it("declines an unknown or terminated agreement (channel side)", async () => {
    const { ch, bank } = setup();
    bank(code).openAccount(CARD, "100.00", HOLDER.name);
    expect(await ch(code).debit({ tradeNo: "T-1", agreementNo: "NO-SUCH", amount: "1.00", expiresAt: LATER })).toMatchObject({
      status: "DECLINED",
      reason: "AGREEMENT_INVALID",
      side: "CHANNEL",
    });
    const agreementNo = await sign(ch(code));
    bank(code).terminateAgreement(agreementNo);
    expect(await ch(code).debit({ tradeNo: "T-2", agreementNo, amount: "1.00", expiresAt: LATER })).toMatchObject({ status: "DECLINED", reason: "AGREEMENT_INVALID" });
    expect(bank(code).balanceOf(CARD)).toBe("100.00");
  });

  it("draws random failures from the configured mix, with the side each one belongs to", async () => {
    const cases = [
      [{ CARD_FROZEN: 1 }, "CARD_FROZEN", "BORROWER"],
      [{ INSUFFICIENT_BALANCE: 1 }, "INSUFFICIENT_BALANCE", "BORROWER"],
      [{ LIMIT_EXCEEDED: 1 }, "LIMIT_EXCEEDED", "BORROWER"],
      [{ CHANNEL_ERROR: 1 }, "CHANNEL_ERROR", "CHANNEL"],
    ] as const;
    for (const [failureMix, reason, side] of cases) {
      const { ch, bank } = setup({ defaults: { successRate: 0, failureMix } });
      bank(code).openAccount(CARD, "100.00", HOLDER.name);
      const agreementNo = await sign(ch(code));
      expect(await ch(code).debit({ tradeNo: "T-1", agreementNo, amount: "1.00", expiresAt: LATER })).toMatchObject({ status: "DECLINED", reason, side });
      expect(bank(code).balanceOf(CARD)).toBe("100.00");
    }
  });
});

describe("limits", () => {
  it("bank A: above the per-transaction limit is a channel-side decline (another channel may take it)", async () => {
    const { ch, bank } = setup();
    bank("BANK_A").openAccount(CARD, "100000.00", HOLDER.name);
    const agreementNo = await sign(ch("BANK_A"));
    expect(await ch("BANK_A").debit({ tradeNo: "T-1", agreementNo, amount: "50000.01", expiresAt: LATER })).toMatchObject({
      status: "DECLINED",
      reason: "LIMIT_EXCEEDED",
      side: "CHANNEL",
    });
    expect(await ch("BANK_A").debit({ tradeNo: "T-2", agreementNo, amount: "50000.00", expiresAt: LATER })).toMatchObject({ status: "SUCCESS" });
  });

  it("bank B: the card's daily count is a borrower-side decline, and resets the next day", async () => {
    const { ch, bank, clock } = setup();
    bank("BANK_B").openAccount(CARD, "1000.00", HOLDER.name);
    const agreementNo = await sign(ch("BANK_B"));
    expect((await ch("BANK_B").debit({ tradeNo: "T-1", agreementNo, amount: "1.00", expiresAt: LATER })).status).toBe("SUCCESS");
    expect((await ch("BANK_B").debit({ tradeNo: "T-2", agreementNo, amount: "1.00", expiresAt: LATER })).status).toBe("SUCCESS");
    expect(await ch("BANK_B").debit({ tradeNo: "T-3", agreementNo, amount: "1.00", expiresAt: LATER })).toMatchObject({
      status: "DECLINED",
      reason: "LIMIT_EXCEEDED",
      side: "BORROWER",
    });
    clock.t += DAY;
    expect((await ch("BANK_B").debit({ tradeNo: "T-4", agreementNo, amount: "1.00", expiresAt: LATER })).status).toBe("SUCCESS");
    expect(bank("BANK_B").balanceOf(CARD)).toBe("997.00");
  });

  it("bank D: a configured daily total is a channel-side decline", async () => {
    const { ch, bank } = setup({ overrides: { BANK_D: { limits: { perDay: "150.00" }, fees: { fixed: "0.80" } } } });
    bank("BANK_D").openAccount(CARD, "1000.00", HOLDER.name);
    const agreementNo = await sign(ch("BANK_D"));
    expect((await ch("BANK_D").debit({ tradeNo: "T-1", agreementNo, amount: "100.00", expiresAt: LATER })).status).toBe("SUCCESS");
    expect(await ch("BANK_D").debit({ tradeNo: "T-2", agreementNo, amount: "50.01", expiresAt: LATER })).toMatchObject({ status: "DECLINED", reason: "LIMIT_EXCEEDED", side: "CHANNEL" });
    expect((await ch("BANK_D").debit({ tradeNo: "T-3", agreementNo, amount: "50.00", expiresAt: LATER })).status).toBe("SUCCESS");
  });
});

describe.each(PAYOUT_BANKS)("%s payouts", (code) => {
  const payee = { accountNo: "6222999900001111", accountName: "李四" };

  it("move the merchant position to the beneficiary, once per trade number", async () => {
    const { ch, bank } = setup();
    bank(code).setMerchantBalance("10000.00");
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => ch(code).payout({ tradeNo: "P-1", ...payee, amount: "2500.50", expiresAt: LATER })));
    for (const o of outcomes) expect(o).toEqual(outcomes[0]);
    expect(outcomes[0]).toMatchObject({ status: "SUCCESS", amount: "2500.50" });
    expect(bank(code).merchantBalance()).toBe("7499.50");
    expect(bank(code).balanceOf(payee.accountNo)).toBe("2500.50");
    const lines = ch(code).parseStatement(await ch(code).statement("2024-03-01"));
    expect(lines).toEqual([expect.objectContaining({ tradeNo: "P-1", kind: "PAYOUT", amount: "2500.50", status: "SUCCESS", fee: ch(code).fee("2500.50") })]);
  });

  it("beyond the merchant position: INSUFFICIENT_BALANCE on the channel side, nothing moved", async () => {
    const { ch, bank } = setup();
    bank(code).setMerchantBalance("100.00");
    expect(await ch(code).payout({ tradeNo: "P-1", ...payee, amount: "100.01", expiresAt: LATER })).toMatchObject({
      status: "DECLINED",
      reason: "INSUFFICIENT_BALANCE",
      side: "CHANNEL",
    });
    expect(bank(code).merchantBalance()).toBe("100.00");
    expect(bank(code).hasAccount(payee.accountNo)).toBe(false);
    bank(code).topUpMerchant("0.01");
    expect((await ch(code).payout({ tradeNo: "P-2", ...payee, amount: "100.01", expiresAt: LATER })).status).toBe("SUCCESS");
    expect(bank(code).merchantBalance()).toBe("0.00");
  });

  it("to a frozen account or under the wrong name: declined, borrower side", async () => {
    const { ch, bank } = setup();
    bank(code).openAccount(payee.accountNo, "0.00", payee.accountName);
    expect(await ch(code).payout({ tradeNo: "P-1", accountNo: payee.accountNo, accountName: "王五", amount: "1.00", expiresAt: LATER })).toMatchObject({
      status: "DECLINED",
      reason: "INVALID_CARD",
      side: "BORROWER",
    });
    bank(code).freeze(payee.accountNo);
    expect(await ch(code).payout({ tradeNo: "P-2", ...payee, amount: "1.00", expiresAt: LATER })).toMatchObject({ status: "DECLINED", reason: "CARD_FROZEN" });
    expect(bank(code).balanceOf(payee.accountNo)).toBe("0.00");
  });

  it("never fail for a beneficiary's balance: a mix of only INSUFFICIENT_BALANCE becomes a channel error", async () => {
    const { ch } = setup({ defaults: { successRate: 0, failureMix: { INSUFFICIENT_BALANCE: 1 } } });
    expect(await ch(code).payout({ tradeNo: "P-1", ...payee, amount: "1.00", expiresAt: LATER })).toMatchObject({ status: "DECLINED", reason: "CHANNEL_ERROR", side: "CHANNEL" });
  });
});

describe("capabilities and configuration", () => {
  it("creates A–D with the default capabilities, limits and fees", () => {
    const { channels } = createSimChannels({ seed: "x" });
    expect([...channels.keys()]).toEqual(ALL);
    const a = channels.get("BANK_A") as PaymentChannel;
    const b = channels.get("BANK_B") as PaymentChannel;
    const c = channels.get("BANK_C") as PaymentChannel;
    const d = channels.get("BANK_D") as PaymentChannel;
    expect(a.capabilities).toContain("PAYOUT");
    expect(b.capabilities).toContain("PAYOUT");
    expect(d.capabilities).toContain("PAYOUT");
    expect(c.capabilities).not.toContain("PAYOUT");
    expect(c.capabilities).toContain("DEBIT");
    expect(a.limits).toMatchObject({ perTransaction: "50000.00" });
    expect(b.limits).toMatchObject({ perTransaction: "20000.00" });
    expect(c.limits).toMatchObject({ perTransaction: "100000.00" });
    expect([a.fee("1000.00"), b.fee("1000.00"), c.fee("1000.00"), d.fee("1000.00")]).toEqual(["0.50", "1.00", "1.00", "0.80"]);
  });

  it("bank C has no payout: calling it is a programming error, not a bank outcome", async () => {
    const { ch } = setup();
    await expect(ch("BANK_C").payout({ tradeNo: "P-1", accountNo: "6222999900001111", accountName: "李四", amount: "1.00", expiresAt: LATER })).rejects.toMatchObject({
      code: "VALIDATION_ERROR",
    });
  });

  it.each([
    [{ tradeNo: "T,1", agreementNo: "AG", amount: "1.00", expiresAt: LATER }, "VALIDATION_ERROR"],
    [{ tradeNo: "", agreementNo: "AG", amount: "1.00", expiresAt: LATER }, "VALIDATION_ERROR"],
    [{ tradeNo: "T-1", agreementNo: "AG", amount: "1.001", expiresAt: LATER }, "INVALID_AMOUNT"],
    [{ tradeNo: "T-1", agreementNo: "AG", amount: 1, expiresAt: LATER }, "INVALID_AMOUNT"],
    [{ tradeNo: "T-1", agreementNo: "AG", amount: "0", expiresAt: LATER }, "INVALID_AMOUNT"],
    [{ tradeNo: "T-1", agreementNo: "", amount: "1.00", expiresAt: LATER }, "VALIDATION_ERROR"],
    [{ tradeNo: "T-1", agreementNo: "AG", amount: "1.00" }, "VALIDATION_ERROR"],
    [{ tradeNo: "T-1", agreementNo: "AG", amount: "1.00", expiresAt: "2099-01-01 00:00:00" }, "VALIDATION_ERROR"],
    [{ tradeNo: "T-1", agreementNo: "AG", amount: "1.00", expiresAt: 4070908800000 }, "VALIDATION_ERROR"],
  ])("throws on bad arguments %j", async (req, errCode) => {
    const { ch, bank } = setup();
    await expect(ch("BANK_A").debit(req as never)).rejects.toMatchObject({ code: errCode });
    expect(bank("BANK_A").trades()).toHaveLength(0);
  });

  it("refuses a malformed statement date", async () => {
    const { ch } = setup();
    await expect(ch("BANK_A").statement("2024/03/01")).rejects.toMatchObject({ code: "VALIDATION_ERROR" });
  });

  it("refuses an unknown bank code and a bad configuration", () => {
    expect(() => createSimChannels({ seed: "x", codes: ["BANK_Z"] })).toThrow(/BANK_Z/);
    expect(() => new SimBank({ code: "BANK_A", seed: "x", successRate: 1.5 })).toThrow(/successRate/);
    expect(() => new SimBank({ code: "BANK_A", seed: "x", successRate: "abc" })).toThrow(/successRate/);
    expect(() => new SimBank({ code: "BANK_A", seed: "x", latencyMs: { min: 5, max: 1 } })).toThrow(/latencyMs/);
    expect(() => new SimBank({ code: "BANK_A", seed: "x", timeZone: "Mars/Olympus" })).toThrow(/timeZone/);
    expect(() => new SimBank({ code: "BANK_A", seed: "x", merchantBalance: "1.001" })).toThrow();
  });

  it("accepts probabilities as decimal strings", async () => {
    const { ch, bank } = setup({ defaults: { successRate: "0", failureMix: { CHANNEL_ERROR: 1 } } });
    bank("BANK_A").openAccount(CARD, "100.00", HOLDER.name);
    const agreementNo = await sign(ch("BANK_A"));
    expect((await ch("BANK_A").debit({ tradeNo: "T-1", agreementNo, amount: "1.00", expiresAt: LATER })).status).toBe("DECLINED");
  });
});

describe("signing edge cases", () => {
  it("expires the code after its time to live and after too many wrong tries", async () => {
    const { ch, clock } = setup({ defaults: { signCodeTtlMs: 60_000, signMaxAttempts: 2 } });
    const s1 = await ch("BANK_D").startSign("REQ-1", HOLDER);
    if (s1.status !== "CODE_SENT") throw new Error("no code");
    clock.t += 60_001;
    expect(await ch("BANK_D").confirmSign(s1.signRequestId, s1.testCode as string)).toMatchObject({ status: "DECLINED", bankCode: "410" });

    const s2 = await ch("BANK_D").startSign("REQ-2", HOLDER);
    if (s2.status !== "CODE_SENT") throw new Error("no code");
    const wrong = s2.testCode === "000000" ? "111111" : "000000";
    expect(await ch("BANK_D").confirmSign(s2.signRequestId, wrong)).toMatchObject({ bankCode: "401" });
    expect(await ch("BANK_D").confirmSign(s2.signRequestId, wrong)).toMatchObject({ bankCode: "401" });
    expect(await ch("BANK_D").confirmSign(s2.signRequestId, s2.testCode as string)).toMatchObject({ status: "DECLINED", bankCode: "410" });
    expect(await ch("BANK_D").confirmSign("NO-SUCH", "123456")).toMatchObject({ status: "DECLINED", reason: "OTHER" });
  });

  it("declines malformed, unknown (when accounts are not opened on the fly) and misnamed cards, and frozen ones", async () => {
    const { ch, bank } = setup({ overrides: { BANK_A: { autoOpenBalance: null, limits: {}, fees: {} } } });
    expect(await ch("BANK_B").startSign("R1", { ...HOLDER, cardNo: "1234" })).toMatchObject({ status: "DECLINED", reason: "INVALID_CARD" });
    expect(await ch("BANK_A").startSign("R2", HOLDER)).toMatchObject({ status: "DECLINED", reason: "INVALID_CARD", bankCode: "1007" });
    bank("BANK_A").openAccount(CARD, "10.00", "张三");
    expect(await ch("BANK_A").startSign("R3", { ...HOLDER, name: "李四" })).toMatchObject({ status: "DECLINED", reason: "INVALID_CARD" });
    bank("BANK_A").freeze(CARD);
    expect(await ch("BANK_A").startSign("R4", HOLDER)).toMatchObject({ status: "DECLINED", reason: "CARD_FROZEN" });
    bank("BANK_A").unfreeze(CARD);
    expect(await ch("BANK_A").startSign("R5", HOLDER)).toMatchObject({ status: "CODE_SENT" });
  });

  it("opens an account with the default balance when an unknown card signs", async () => {
    const { ch, bank } = setup();
    await sign(ch("BANK_C"));
    expect(bank("BANK_C").balanceOf(CARD)).toBe("1000000.00");
  });
});

describe("determinism under a seed", () => {
  const behaviour = { successRate: 0.5, unknownRate: 0.2, unknownSettleMs: 1000, limits: {} };

  async function run(seed: string, order: "forward" | "reverse"): Promise<Record<string, PaymentOutcome>> {
    const { ch, bank } = setup({ seed, defaults: behaviour });
    const out: Record<string, PaymentOutcome> = {};
    for (const code of ALL) {
      bank(code).openAccount(CARD, "1000000.00", HOLDER.name);
      const agreementNo = await sign(ch(code));
      const nos = Array.from({ length: 40 }, (_, i) => `T-${i}`);
      if (order === "reverse") nos.reverse();
      for (const tradeNo of nos) out[`${code}/${tradeNo}`] = await ch(code).debit({ tradeNo, agreementNo, amount: "10.00", expiresAt: LATER });
    }
    return out;
  }

  it("gives the same outcomes for the same seed, whatever the order of trades", async () => {
    const a = await run("seed-1", "forward");
    expect(await run("seed-1", "forward")).toEqual(a);
    expect(await run("seed-1", "reverse")).toEqual(a);
    const statuses = new Set(Object.values(a).map((o) => o.status));
    expect(statuses).toEqual(new Set(["SUCCESS", "DECLINED", "UNKNOWN"]));
  });

  it("gives different outcomes for a different seed", async () => {
    const a = await run("seed-1", "forward");
    const b = await run("seed-2", "forward");
    const key = (o: Record<string, PaymentOutcome>) => Object.entries(o).map(([k, v]) => `${k}:${v.status}`);
    expect(key(b)).not.toEqual(key(a));
  });

  it("gives the same sign codes for the same seed and different ones for another", async () => {
    const code = async (seed: string) => {
      const s = await setup({ seed }).ch("BANK_A").startSign("REQ-1", HOLDER);
      return s.status === "CODE_SENT" ? s.testCode : undefined;
    };
    expect(await code("s1")).toBe(await code("s1"));
    const many = await Promise.all(["s1", "s2", "s3", "s4"].map(code));
    expect(new Set(many).size).toBeGreaterThan(1);
  });
});

describe("journal", () => {
  it("a second instance on the same file sees the same accounts, agreements and trades, and never debits a trade twice", async () => {
    const dir = tmpDir();
    const journalFile = path.join(dir, "bank.jsonl");
    const clock = { t: T0 };
    const first = new SimBank({ code: "BANK_A", seed: "j", journalFile, now: () => clock.t, successRate: 1, unknownRate: 0 });
    first.openAccount(CARD, "500.00", HOLDER.name);
    const s = first.startSign({ requestNo: "R1", cardNo: CARD, name: HOLDER.name });
    if (s.code !== "OK") throw new Error("no code");
    const signed = first.confirmSign(s.signRequestId, s.smsCode);
    if (signed.code !== "OK") throw new Error("not signed");
    const r1 = first.debit({ tradeNo: "T-1", agreementNo: signed.agreementNo, amount: "100.00" });
    first.setMerchantBalance("777.00");

    const second = new SimBank({ code: "BANK_A", seed: "j", journalFile, now: () => clock.t, successRate: 1, unknownRate: 0 });
    expect(second.balanceOf(CARD)).toBe("400.00");
    expect(second.merchantBalance()).toBe("777.00");
    expect(second.agreement(signed.agreementNo)).toEqual({ cardNo: CARD, active: true });
    expect(second.query("T-1")).toEqual(second.debit({ tradeNo: "T-1", agreementNo: signed.agreementNo, amount: "100.00" }));
    expect(second.debit({ tradeNo: "T-1", agreementNo: signed.agreementNo, amount: "100.00" })).toEqual({ ...r1 });
    expect(second.balanceOf(CARD)).toBe("400.00");

    // both stay open: each sees what the other wrote
    second.debit({ tradeNo: "T-2", agreementNo: signed.agreementNo, amount: "50.00" });
    expect(first.balanceOf(CARD)).toBe("350.00");
    expect(first.debit({ tradeNo: "T-2", agreementNo: signed.agreementNo, amount: "50.00" }).code).toBe("OK");
    expect(first.balanceOf(CARD)).toBe("350.00");
    first.freeze(CARD);
    expect(second.isFrozen(CARD)).toBe(true);
    expect(second.trades().map((t) => t.tradeNo)).toEqual(["T-1", "T-2"]);
  });

  it("drops a line torn by a crash in the middle of an append", () => {
    const dir = tmpDir();
    const journalFile = path.join(dir, "bank.jsonl");
    const first = new SimBank({ code: "BANK_B", seed: "j", journalFile });
    first.openAccount(CARD, "10.00");
    fs.appendFileSync(journalFile, '{"e":"bal","card":"62220200');
    const second = new SimBank({ code: "BANK_B", seed: "j", journalFile });
    expect(second.balanceOf(CARD)).toBe("10.00");
    second.setBalance(CARD, "20.00");
    expect(new SimBank({ code: "BANK_B", seed: "j", journalFile }).balanceOf(CARD)).toBe("20.00");
  });

  it("createSimChannels with a data folder: the banks survive our restart, settled unknowns included", async () => {
    const dataDir = tmpDir();
    const clock = { t: T0 };
    const opts = { seed: "restart", dataDir, now: () => clock.t, defaults: { successRate: 1, unknownRate: 1, unknownSettleMs: 5_000 } };
    const before = createSimChannels(opts);
    const ch1 = before.channels.get("BANK_C") as PaymentChannel;
    before.banks.get("BANK_C")?.openAccount(CARD, "300.00", HOLDER.name);
    const agreementNo = await sign(ch1);
    expect((await ch1.debit({ tradeNo: "T-1", agreementNo, amount: "100.00", expiresAt: LATER })).status).toBe("UNKNOWN");
    expect(fs.readdirSync(dataDir).sort()).toEqual(["sim-bank_a.jsonl", "sim-bank_b.jsonl", "sim-bank_c.jsonl", "sim-bank_d.jsonl"]);

    clock.t += 5_000;
    const after = createSimChannels(opts);
    const ch2 = after.channels.get("BANK_C") as PaymentChannel;
    expect(await ch2.query("T-1")).toMatchObject({ status: "SUCCESS", amount: "100.00" });
    expect(after.banks.get("BANK_C")?.balanceOf(CARD)).toBe("200.00");
    expect(ch2.parseStatement(await ch2.statement("2024-03-01"))).toEqual([expect.objectContaining({ tradeNo: "T-1", status: "SUCCESS" })]);
  });
});

describe("transport", () => {
  it("a timeout after sending is UNKNOWN, and the money may still move: the query then tells", async () => {
    const { ch, bank } = setup({ defaults: { latencyMs: { min: 40, max: 40 } }, timeoutMs: 10, now: Date.now });
    const a = bank("BANK_A");
    a.openAccount(CARD, "100.00", HOLDER.name);
    const s = a.startSign({ requestNo: "R1", cardNo: CARD, name: HOLDER.name });
    const signed = s.code === "OK" ? a.confirmSign(s.signRequestId, s.smsCode) : s;
    if (signed.code !== "OK") throw new Error("not signed");
    const agreementNo = signed.agreementNo;
    expect(await ch("BANK_A").debit({ tradeNo: "T-1", agreementNo, amount: "10.00", expiresAt: LATER })).toMatchObject({ status: "UNKNOWN", bankCode: "TRANSPORT" });
    expect(await ch("BANK_A").startSign("R2", HOLDER)).toMatchObject({ status: "UNAVAILABLE" });
    await new Promise((r) => setTimeout(r, 60));
    expect(a.balanceOf(CARD)).toBe("90.00");
    const patient = createBankAChannel(a, { timeoutMs: 1_000 });
    expect(await patient.query("T-1")).toMatchObject({ status: "SUCCESS", amount: "10.00" });
  });

  it("with latency under the timeout the answer arrives after the latency", async () => {
    const { ch, bank } = setup({ defaults: { latencyMs: { min: 30, max: 30 } }, timeoutMs: 1000, now: Date.now });
    bank("BANK_D").openAccount(CARD, "100.00", HOLDER.name);
    const agreementNo = await sign(ch("BANK_D"));
    const started = Date.now();
    expect((await ch("BANK_D").debit({ tradeNo: "T-1", agreementNo, amount: "10.00", expiresAt: LATER })).status).toBe("SUCCESS");
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it.each([
    ["BANK_A", (b: SimBank) => bankASimServer(b), (tz: string) => bankAMapper(tz)],
    ["BANK_B", (b: SimBank) => bankBSimServer(b), (tz: string) => bankBMapper(tz)],
    ["BANK_C", (b: SimBank) => bankCSimServer(b), (tz: string) => bankCMapper(tz)],
    ["BANK_D", (b: SimBank) => bankDSimServer(b), (tz: string) => bankDMapper(tz)],
  ] as const)("%s: an outage that begins after the connection is a 'not processed' code → UNAVAILABLE", (code, server, mapper) => {
    const bank = new SimBank({ code, seed: "o", outage: true });
    const m = mapper("Asia/Shanghai");
    const wire = m.debitRequest({ tradeNo: "T-1", agreementNo: "AG", amount: "1.00", expiresAt: LATER });
    const res = (server(bank).debit as (r: unknown) => unknown)(wire);
    expect((m.debitResponse as (r: unknown, s: unknown) => PaymentOutcome)(res, { tradeNo: "T-1", amount: "1.00" })).toMatchObject({ status: "UNAVAILABLE" });
    expect(bank.trades()).toHaveLength(0);
  });
});

