/**
 * Mapper tables: every result code of every bank → our outcome, for payments, queries and signing;
 * the echo checks (amount, trade number); unrecognised codes; the simulated servers' code choices.
 * The expected tables are written here independently of the mappers, so a wrong case fails.
 */
import { BANK_A_CODES, bankAMapper } from "../../../channels/bank-a/mapper";
import { A_FROM_SIM } from "../../../channels/bank-a/sim-server";
import { BANK_B_CODES, bankBMapper } from "../../../channels/bank-b/mapper";
import { B_FROM_SIM } from "../../../channels/bank-b/sim-server";
import { BANK_C_CODES, bankCMapper } from "../../../channels/bank-c/mapper";
import { C_FROM_SIM } from "../../../channels/bank-c/sim-server";
import { BANK_D_CODES, bankDMapper } from "../../../channels/bank-d/mapper";
import { D_FROM_SIM } from "../../../channels/bank-d/sim-server";
import type { PaymentOutcome, QueryOutcome } from "../../../channels/channel";
import { SIM_CODES, type SimCode } from "../../../channels/sim/sim-bank";
import type { BankApi, BankMapper } from "../../../channels/wire-channel";

const TZ = "Asia/Shanghai";
const SENT = { tradeNo: "T-1", amount: "1234.50" };
/** 2024-03-01 12:00:05 in Shanghai. */
const COMPLETED_ISO = "2024-03-01T04:00:05.000Z";

type Expect =
  | "SUCCESS"
  | "PROCESSING"
  | "UNAVAILABLE"
  | "UNKNOWN"
  | "NOT_FOUND"
  | `DECLINED/${"INSUFFICIENT_BALANCE" | "CARD_FROZEN" | "LIMIT_EXCEEDED" | "INVALID_CARD" | "AGREEMENT_INVALID" | "CHANNEL_ERROR" | "EXPIRED" | "OTHER"}/${"BORROWER" | "CHANNEL"}`;

interface Echo {
  tradeNo?: string;
  amount?: string;
  ref?: string;
}

interface BankCase {
  name: string;
  codes: readonly string[];
  mapper: BankMapper<BankApi>;
  expected: Record<string, Expect>;
  fromSim: Record<SimCode, string>;
  /** A trade answer in the bank's wire shape. */
  trade(code: string, echo?: Echo): unknown;
  signOk(): unknown;
  confirmOk(): unknown;
  bare(code: string): unknown;
}

const echoDefaults = (e: Echo = {}): Required<Echo> => ({ tradeNo: e.tradeNo ?? SENT.tradeNo, amount: e.amount ?? SENT.amount, ref: e.ref ?? "REF-9" });
const fen = (a: string): string => a.replace(".", "").replace(/^0+(?=\d)/, "");

const BANKS: BankCase[] = [
  {
    name: "BANK_A",
    codes: Object.keys(BANK_A_CODES),
    mapper: bankAMapper(TZ) as unknown as BankMapper<BankApi>,
    fromSim: A_FROM_SIM,
    expected: {
      "0000": "SUCCESS",
      "0001": "PROCESSING",
      "1001": "DECLINED/INSUFFICIENT_BALANCE/BORROWER",
      "1002": "DECLINED/CARD_FROZEN/BORROWER",
      "1003": "DECLINED/LIMIT_EXCEEDED/CHANNEL",
      "1004": "DECLINED/LIMIT_EXCEEDED/CHANNEL",
      "1005": "DECLINED/LIMIT_EXCEEDED/BORROWER",
      "1006": "DECLINED/AGREEMENT_INVALID/CHANNEL",
      "1007": "DECLINED/INVALID_CARD/BORROWER",
      "1008": "DECLINED/OTHER/BORROWER",
      "1009": "DECLINED/OTHER/BORROWER",
      "1010": "DECLINED/INSUFFICIENT_BALANCE/CHANNEL",
      "1011": "DECLINED/EXPIRED/CHANNEL",
      "2001": "DECLINED/CHANNEL_ERROR/CHANNEL",
      "3001": "NOT_FOUND",
      "9001": "UNAVAILABLE",
      "9999": "UNKNOWN",
    },
    trade: (code, e) => {
      const x = echoDefaults(e);
      return { resp_code: code, resp_msg: "m", merchant_order_no: x.tradeNo, bank_ref: x.ref, amount_fen: fen(x.amount), finish_time: "20240301120005" };
    },
    signOk: () => ({ resp_code: "0000", resp_msg: "ok", sign_req_id: "SR1", sms_code: "123456" }),
    confirmOk: () => ({ resp_code: "0000", resp_msg: "ok", protocol_no: "AG1" }),
    bare: (code) => ({ resp_code: code, resp_msg: "m" }),
  },
  {
    name: "BANK_B",
    codes: Object.keys(BANK_B_CODES),
    mapper: bankBMapper(TZ) as unknown as BankMapper<BankApi>,
    fromSim: B_FROM_SIM,
    expected: {
      S: "SUCCESS",
      P: "PROCESSING",
      "F:BALANCE_NOT_ENOUGH": "DECLINED/INSUFFICIENT_BALANCE/BORROWER",
      "F:CARD_FROZEN": "DECLINED/CARD_FROZEN/BORROWER",
      "F:SINGLE_LIMIT": "DECLINED/LIMIT_EXCEEDED/CHANNEL",
      "F:MERCHANT_DAILY_LIMIT": "DECLINED/LIMIT_EXCEEDED/CHANNEL",
      "F:CARD_DAILY_LIMIT": "DECLINED/LIMIT_EXCEEDED/BORROWER",
      "F:CONTRACT_NOT_EXIST": "DECLINED/AGREEMENT_INVALID/CHANNEL",
      "F:CARD_INVALID": "DECLINED/INVALID_CARD/BORROWER",
      "F:VERIFY_CODE_ERROR": "DECLINED/OTHER/BORROWER",
      "F:SIGN_EXPIRED": "DECLINED/OTHER/BORROWER",
      "F:ACCOUNT_BALANCE_NOT_ENOUGH": "DECLINED/INSUFFICIENT_BALANCE/CHANNEL",
      "F:ORDER_EXPIRED": "DECLINED/EXPIRED/CHANNEL",
      "F:BANK_REFUSED": "DECLINED/CHANNEL_ERROR/CHANNEL",
      "F:ORDER_NOT_EXIST": "NOT_FOUND",
      "E:SYSTEM_BUSY": "UNAVAILABLE",
      "E:SYSTEM_ERROR": "UNKNOWN",
    },
    trade: (code, e) => {
      const x = echoDefaults(e);
      const [result, errCode] = code.split(":");
      return { result, ...(errCode ? { errCode, errMsg: "m" } : {}), outTradeNo: x.tradeNo, tradeId: x.ref, amount: x.amount, finishTime: "2024-03-01 12:00:05" };
    },
    signOk: () => ({ result: "S", signId: "SR1", verifyCode: "123456" }),
    confirmOk: () => ({ result: "S", contractId: "AG1" }),
    bare: (code) => {
      const [result, errCode] = code.split(":");
      return { result, ...(errCode ? { errCode, errMsg: "m" } : {}) };
    },
  },
  {
    name: "BANK_C",
    codes: Object.keys(BANK_C_CODES),
    mapper: bankCMapper(TZ) as unknown as BankMapper<BankApi>,
    fromSim: C_FROM_SIM,
    expected: {
      "00": "SUCCESS",
      "09": "PROCESSING",
      "51": "DECLINED/INSUFFICIENT_BALANCE/BORROWER",
      "62": "DECLINED/CARD_FROZEN/BORROWER",
      "61": "DECLINED/LIMIT_EXCEEDED/CHANNEL",
      A1: "DECLINED/LIMIT_EXCEEDED/CHANNEL",
      "65": "DECLINED/LIMIT_EXCEEDED/BORROWER",
      A2: "DECLINED/AGREEMENT_INVALID/CHANNEL",
      "14": "DECLINED/INVALID_CARD/BORROWER",
      A3: "DECLINED/OTHER/BORROWER",
      A4: "DECLINED/OTHER/BORROWER",
      A5: "DECLINED/EXPIRED/CHANNEL",
      "96": "DECLINED/CHANNEL_ERROR/CHANNEL",
      "91": "UNAVAILABLE",
      "68": "UNKNOWN",
      "25": "NOT_FOUND",
    },
    trade: (code, e) => {
      const x = echoDefaults(e);
      return { RET_CODE: code, ERR_MSG: "m", REQ_SN: x.tradeNo, BANK_SN: x.ref, TXN_AMT: x.amount, TXN_TIME: "2024-03-01T12:00:05" };
    },
    signOk: () => ({ RET_CODE: "00", SIGN_SN: "SR1", VCODE: "123456" }),
    confirmOk: () => ({ RET_CODE: "00", AGR_NO: "AG1" }),
    bare: (code) => ({ RET_CODE: code, ERR_MSG: "m" }),
  },
  {
    name: "BANK_D",
    codes: Object.keys(BANK_D_CODES),
    mapper: bankDMapper(TZ) as unknown as BankMapper<BankApi>,
    fromSim: D_FROM_SIM,
    expected: {
      "200": "SUCCESS",
      "202": "PROCESSING",
      "402": "DECLINED/INSUFFICIENT_BALANCE/BORROWER",
      "423": "DECLINED/CARD_FROZEN/BORROWER",
      "413": "DECLINED/LIMIT_EXCEEDED/CHANNEL",
      "430": "DECLINED/LIMIT_EXCEEDED/CHANNEL",
      "429": "DECLINED/LIMIT_EXCEEDED/BORROWER",
      "404": "DECLINED/AGREEMENT_INVALID/CHANNEL",
      "408": "DECLINED/EXPIRED/CHANNEL",
      "422": "DECLINED/INVALID_CARD/BORROWER",
      "401": "DECLINED/OTHER/BORROWER",
      "410": "DECLINED/OTHER/BORROWER",
      "452": "DECLINED/INSUFFICIENT_BALANCE/CHANNEL",
      "460": "NOT_FOUND",
      "500": "UNKNOWN",
      "502": "DECLINED/CHANNEL_ERROR/CHANNEL",
      "503": "UNAVAILABLE",
      "504": "UNKNOWN",
    },
    trade: (code, e) => {
      const x = echoDefaults(e);
      return { code, message: "m", orderId: x.tradeNo, bankSeq: x.ref, amount: x.amount, completedAt: "2024-03-01T12:00:05+08:00" };
    },
    signOk: () => ({ code: "200", message: "OK", signToken: "SR1", otp: "123456" }),
    confirmOk: () => ({ code: "200", message: "OK", mandateId: "AG1" }),
    bare: (code) => ({ code, message: "m" }),
  },
];

function expectedPayment(e: Expect, code: string): Partial<PaymentOutcome> {
  if (e === "SUCCESS") return { status: "SUCCESS", channelRef: "REF-9", amount: "1234.50", completedAt: COMPLETED_ISO };
  if (e === "PROCESSING" || e === "NOT_FOUND" || e === "UNKNOWN") return { status: "UNKNOWN", bankCode: code };
  if (e === "UNAVAILABLE") return { status: "UNAVAILABLE", bankCode: code };
  const [, reason, side] = e.split("/");
  return { status: "DECLINED", reason, side, bankCode: code, channelRef: "REF-9" } as Partial<PaymentOutcome>;
}

function expectedQuery(e: Expect, code: string): Partial<QueryOutcome> {
  if (e === "PROCESSING") return { status: "PROCESSING" };
  if (e === "NOT_FOUND") return { status: "NOT_FOUND" };
  return expectedPayment(e, code);
}

function expectedSign(e: Expect, code: string): Record<string, unknown> {
  if (e.startsWith("DECLINED/")) return { status: "DECLINED", reason: e.split("/")[1], bankCode: code };
  if (e === "NOT_FOUND") return { status: "DECLINED", reason: "OTHER", bankCode: code };
  return { status: "UNAVAILABLE", bankCode: code };
}

describe.each(BANKS)("$name mapper", (bank) => {
  it("has a row in this test for every code it knows, and no more", () => {
    expect(Object.keys(bank.expected).sort()).toEqual([...bank.codes].sort());
  });

  it.each(Object.entries(bank.expected))("payment answer %s → %s", (code, e) => {
    const outcome = bank.mapper.debitResponse(bank.trade(code), SENT);
    expect(outcome).toMatchObject(expectedPayment(e, code));
    if (bank.mapper.payoutResponse) expect(bank.mapper.payoutResponse(bank.trade(code), SENT)).toEqual(outcome);
  });

  it.each(Object.entries(bank.expected))("query answer %s → %s", (code, e) => {
    expect(bank.mapper.queryResponse(bank.trade(code), SENT.tradeNo)).toMatchObject(expectedQuery(e, code));
  });

  it.each(Object.entries(bank.expected).filter(([, e]) => e !== "SUCCESS"))("sign failure %s → %s", (code, e) => {
    expect(bank.mapper.signResponse(bank.bare(code))).toMatchObject(expectedSign(e, code));
    expect(bank.mapper.confirmResponse(bank.bare(code))).toMatchObject(expectedSign(e, code));
  });

  it("maps a sign success to CODE_SENT with the test code, and a confirm success to SIGNED", () => {
    expect(bank.mapper.signResponse(bank.signOk())).toEqual({ status: "CODE_SENT", signRequestId: "SR1", testCode: "123456" });
    expect(bank.mapper.confirmResponse(bank.confirmOk())).toEqual({ status: "SIGNED", agreementNo: "AG1" });
  });

  it("treats an amount echo that differs from the request as UNKNOWN, not SUCCESS", () => {
    const success = bank.codes.find((c) => bank.expected[c] === "SUCCESS") as string;
    const o = bank.mapper.debitResponse(bank.trade(success, { amount: "1234.05" }), SENT);
    expect(o.status).toBe("UNKNOWN");
    expect((o as { message: string }).message).toMatch(/amount mismatch/);
    // equal as decimals is not a mismatch ("1234.5" vs "1234.50")
    expect(bank.mapper.debitResponse(bank.trade(success, { amount: "1234.50" }), { tradeNo: SENT.tradeNo, amount: "1234.50" }).status).toBe("SUCCESS");
  });

  it("treats a success for another trade number as UNKNOWN", () => {
    const success = bank.codes.find((c) => bank.expected[c] === "SUCCESS") as string;
    expect(bank.mapper.debitResponse(bank.trade(success, { tradeNo: "T-2" }), SENT).status).toBe("UNKNOWN");
    expect(bank.mapper.queryResponse(bank.trade(success, { tradeNo: "T-2" }), SENT.tradeNo).status).toBe("UNKNOWN");
  });

  it("treats a success without a bank reference as UNKNOWN", () => {
    const success = bank.codes.find((c) => bank.expected[c] === "SUCCESS") as string;
    const res = bank.trade(success) as Record<string, unknown>;
    const refKey = Object.keys(res).find((k) => res[k] === "REF-9") as string;
    delete res[refKey];
    expect(bank.mapper.debitResponse(res, SENT).status).toBe("UNKNOWN");
  });

  it("never silently maps a code it does not know: UNKNOWN for payments and queries, UNAVAILABLE for signing", () => {
    const unknown = bank.name === "BANK_B" ? "F:NEW_REASON" : "7777";
    expect(bank.mapper.debitResponse(bank.trade(unknown), SENT)).toMatchObject({ status: "UNKNOWN", bankCode: unknown });
    expect(bank.mapper.queryResponse(bank.trade(unknown), SENT.tradeNo)).toMatchObject({ status: "UNKNOWN" });
    expect(bank.mapper.signResponse(bank.bare(unknown))).toMatchObject({ status: "UNAVAILABLE" });
  });

  it("throws (→ the channel reports UNKNOWN) on a response without its code field", () => {
    expect(() => bank.mapper.debitResponse({}, SENT)).toThrow();
    expect(() => bank.mapper.debitResponse("garbage", SENT)).toThrow();
  });

  const NEUTRAL: Record<SimCode, Expect> = {
    OK: "SUCCESS",
    PROCESSING: "PROCESSING",
    SYSTEM_ERROR: "UNKNOWN",
    INSUFFICIENT_BALANCE: "DECLINED/INSUFFICIENT_BALANCE/BORROWER",
    CARD_FROZEN: "DECLINED/CARD_FROZEN/BORROWER",
    TXN_LIMIT: "DECLINED/LIMIT_EXCEEDED/CHANNEL",
    DAILY_LIMIT: "DECLINED/LIMIT_EXCEEDED/CHANNEL",
    CARD_LIMIT: "DECLINED/LIMIT_EXCEEDED/BORROWER",
    AGREEMENT_INVALID: "DECLINED/AGREEMENT_INVALID/CHANNEL",
    INVALID_CARD: "DECLINED/INVALID_CARD/BORROWER",
    WRONG_CODE: "DECLINED/OTHER/BORROWER",
    SIGN_EXPIRED: "DECLINED/OTHER/BORROWER",
    MERCHANT_SHORT: "DECLINED/INSUFFICIENT_BALANCE/CHANNEL",
    CHANNEL_ERROR: "DECLINED/CHANNEL_ERROR/CHANNEL",
    MAINTENANCE: "UNAVAILABLE",
    NOT_FOUND: "NOT_FOUND",
    ORDER_EXPIRED: "DECLINED/EXPIRED/CHANNEL",
  };
  it.each([...SIM_CODES])("the simulated server answers neutral %s with a code that means the same", (sim) => {
    if (bank.name === "BANK_C" && sim === "MERCHANT_SHORT") return; // bank C has no payouts: unreachable
    expect(bank.expected[bank.fromSim[sim]]).toBe(NEUTRAL[sim]);
  });
});
