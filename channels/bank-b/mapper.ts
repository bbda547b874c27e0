/**
 * Bank B — pure mapping (no I/O). Wire: JSON, camelCase, amounts in yuan ("12.34"), times
 * "yyyy-MM-dd HH:mm:ss" in the bank's zone, a result letter (S success, P processing, F failed,
 * E error) plus an errCode for F and E. Debits and payouts carry the order's expiry as `timeExpire`
 * (same time format, whole seconds, rounded down); a late arrival is refused with F:ORDER_EXPIRED.
 * Statement: UTF-8 with BOM, semicolon-separated, Chinese header
 * `商户订单号;银行流水号;交易类型;交易金额(元);手续费(元);交易状态;交易日期;交易时间`, amounts in yuan with
 * thousands separators ("12,345,678.90"), type 代扣 / 代付, status 成功 / 失败, date yyyyMMdd, time HHmmss.
 */
import { fromYuan, groupThousands } from "../amounts";
import type { CardHolder, DebitRequest, PayoutRequest, SignDone, SignFailure, SignStart, StatementLine } from "../channel";
import { compactDate, compactTime, fileLines, joinRow, splitRow, statementError } from "../csv";
import {
  assertNever,
  declined,
  EXPIRED,
  NOT_FOUND,
  optStr,
  paymentOutcome,
  PROCESSING,
  queryOutcome,
  signFailure,
  statementFile,
  str,
  SUCCESS,
  UNAVAILABLE,
  UNKNOWN,
  type CodeMeaning,
  type WireAnswer,
} from "../outcome";
import { formatLocal, localToIso } from "../sim/time";
import type { BankApi, BankMapper, Exchange, StatementFile } from "../wire-channel";

export const BANK = "BANK_B";

export type BResult = "S" | "P" | "F" | "E";
interface BHead { result: string; errCode?: string; errMsg?: string }
export interface BSignReq { reqNo: string; cardNo: string; holderName: string; certNo: string; phone: string }
export interface BSignRes extends BHead { signId?: string; verifyCode?: string }
export interface BConfirmReq { signId: string; verifyCode: string }
export interface BConfirmRes extends BHead { contractId?: string }
export interface BDebitReq { outTradeNo: string; contractId: string; amount: string; timeExpire: string; remark?: string }
export interface BPayoutReq { outTradeNo: string; payeeAccount: string; payeeName: string; amount: string; timeExpire: string; remark?: string }
export interface BTradeRes extends BHead { outTradeNo?: string; tradeId?: string; amount?: string; finishTime?: string }
export interface BQueryReq { outTradeNo: string }
export interface BStatementReq { billDate: string }
export interface BStatementRes extends BHead { content?: string }

export interface BankBApi extends BankApi {
  sign: Exchange<BSignReq, BSignRes>;
  confirm: Exchange<BConfirmReq, BConfirmRes>;
  debit: Exchange<BDebitReq, BTradeRes>;
  payout: Exchange<BPayoutReq, BTradeRes>;
  query: Exchange<BQueryReq, BTradeRes>;
  statement: Exchange<BStatementReq, BStatementRes>;
}

/** Bank B's documented results: "S", "P", or "F:<errCode>" / "E:<errCode>". */
export const BANK_B_CODES = {
  S: "成功",
  P: "处理中",
  "F:BALANCE_NOT_ENOUGH": "账户余额不足",
  "F:CARD_FROZEN": "银行卡已冻结",
  "F:SINGLE_LIMIT": "单笔金额超限",
  "F:MERCHANT_DAILY_LIMIT": "商户当日累计金额超限",
  "F:CARD_DAILY_LIMIT": "该卡当日交易次数超限",
  "F:CONTRACT_NOT_EXIST": "签约协议不存在",
  "F:CARD_INVALID": "银行卡信息有误",
  "F:VERIFY_CODE_ERROR": "验证码错误",
  "F:SIGN_EXPIRED": "签约申请已失效",
  "F:ACCOUNT_BALANCE_NOT_ENOUGH": "商户账户余额不足",
  "F:BANK_REFUSED": "银行拒绝交易",
  "F:ORDER_NOT_EXIST": "订单不存在",
  "F:ORDER_EXPIRED": "订单已超过有效期，未受理",
  "E:SYSTEM_BUSY": "系统繁忙，请求未受理",
  "E:SYSTEM_ERROR": "系统错误，交易结果未知",
} as const;
export type BankBCode = keyof typeof BANK_B_CODES;

export function isBankBCode(code: string): code is BankBCode {
  return Object.prototype.hasOwnProperty.call(BANK_B_CODES, code);
}

/** The code key of a bank B answer. */
export function bankBCodeOf(result: string, errCode: string | undefined): string {
  return result === "F" || result === "E" ? `${result}:${errCode ?? ""}` : result;
}

/** What each of bank B's results means. Exhaustive: a new code is a compile error here. */
export function bankBMeaning(code: BankBCode): CodeMeaning {
  switch (code) {
    case "S":
      return SUCCESS;
    case "P":
      return PROCESSING;
    case "F:BALANCE_NOT_ENOUGH":
      return declined("INSUFFICIENT_BALANCE", "BORROWER");
    case "F:CARD_FROZEN":
      return declined("CARD_FROZEN", "BORROWER");
    case "F:SINGLE_LIMIT":
      return declined("LIMIT_EXCEEDED", "CHANNEL");
    case "F:MERCHANT_DAILY_LIMIT":
      return declined("LIMIT_EXCEEDED", "CHANNEL");
    case "F:CARD_DAILY_LIMIT":
      return declined("LIMIT_EXCEEDED", "BORROWER");
    case "F:CONTRACT_NOT_EXIST":
      return declined("AGREEMENT_INVALID", "CHANNEL");
    case "F:CARD_INVALID":
      return declined("INVALID_CARD", "BORROWER");
    case "F:VERIFY_CODE_ERROR":
      return declined("OTHER", "BORROWER");
    case "F:SIGN_EXPIRED":
      return declined("OTHER", "BORROWER");
    case "F:ACCOUNT_BALANCE_NOT_ENOUGH":
      return declined("INSUFFICIENT_BALANCE", "CHANNEL");
    case "F:BANK_REFUSED":
      return declined("CHANNEL_ERROR", "CHANNEL");
    case "F:ORDER_NOT_EXIST":
      return NOT_FOUND;
    case "F:ORDER_EXPIRED":
      return EXPIRED;
    case "E:SYSTEM_BUSY":
      return UNAVAILABLE;
    case "E:SYSTEM_ERROR":
      return UNKNOWN;
    default:
      return assertNever(code, "bank B code");
  }
}

const HEADER = "商户订单号;银行流水号;交易类型;交易金额(元);手续费(元);交易状态;交易日期;交易时间";
const WIRE_TIME = "yyyy-MM-dd HH:mm:ss";

export function bankBMapper(timeZone = "Asia/Shanghai"): BankMapper<BankBApi> {
  const answer = (res: unknown): WireAnswer => {
    const code = bankBCodeOf(str(res, "result"), optStr(res, "errCode"));
    const amount = optStr(res, "amount");
    const finish = optStr(res, "finishTime");
    return {
      bankCode: code,
      message: optStr(res, "errMsg") ?? (isBankBCode(code) ? BANK_B_CODES[code] : ""),
      meaning: isBankBCode(code) ? bankBMeaning(code) : undefined,
      tradeNo: optStr(res, "outTradeNo"),
      channelRef: optStr(res, "tradeId"),
      amount: amount === undefined ? undefined : fromYuan(amount),
      completedAt: finish === undefined ? undefined : localToIso(finish, timeZone, WIRE_TIME),
    };
  };

  return {
    signRequest: (reqNo: string, h: CardHolder): BSignReq => ({ reqNo, cardNo: h.cardNo, holderName: h.name, certNo: h.idNo, phone: h.mobile }),
    signResponse(res: BSignRes): SignStart | SignFailure {
      const a = answer(res);
      if (a.meaning?.kind !== "SUCCESS") return signFailure(a);
      const testCode = optStr(res, "verifyCode");
      return { status: "CODE_SENT", signRequestId: str(res, "signId"), ...(testCode ? { testCode } : {}) };
    },
    confirmRequest: (signId: string, verifyCode: string): BConfirmReq => ({ signId, verifyCode }),
    confirmResponse(res: BConfirmRes): SignDone | SignFailure {
      const a = answer(res);
      if (a.meaning?.kind !== "SUCCESS") return signFailure(a);
      return { status: "SIGNED", agreementNo: str(res, "contractId") };
    },
    debitRequest: (r: DebitRequest): BDebitReq => ({
      outTradeNo: r.tradeNo,
      contractId: r.agreementNo,
      amount: r.amount,
      timeExpire: bankBTime(Date.parse(r.expiresAt), timeZone),
      ...(r.memo ? { remark: r.memo } : {}),
    }),
    debitResponse: (res, sent) => paymentOutcome(answer(res), sent),
    payoutRequest: (r: PayoutRequest): BPayoutReq => ({
      outTradeNo: r.tradeNo,
      payeeAccount: r.accountNo,
      payeeName: r.accountName,
      amount: r.amount,
      timeExpire: bankBTime(Date.parse(r.expiresAt), timeZone),
      ...(r.memo ? { remark: r.memo } : {}),
    }),
    payoutResponse: (res, sent) => paymentOutcome(answer(res), sent),
    queryRequest: (outTradeNo: string): BQueryReq => ({ outTradeNo }),
    queryResponse: (res, tradeNo) => queryOutcome(answer(res), tradeNo),
    statementRequest: (billDate: string): BStatementReq => ({ billDate }),
    statementResponse(res: BStatementRes): StatementFile {
      return statementFile(answer(res), () => str(res, "content"));
    },
    formatStatement(lines: readonly StatementLine[]): string {
      const rows = lines.map((l) =>
        joinRow(
          [
            l.tradeNo,
            l.channelRef,
            l.kind === "DEBIT" ? "代扣" : "代付",
            groupThousands(l.amount),
            groupThousands(l.fee),
            l.status === "SUCCESS" ? "成功" : "失败",
            l.date.replace(/-/g, ""),
            (l.time ?? "00:00:00").replace(/:/g, ""),
          ],
          ";",
        ),
      );
      return `\uFEFF${[HEADER, ...rows].join("\r\n")}\r\n`;
    },
    parseStatement(csv: string): StatementLine[] {
      const lines = fileLines(csv);
      if (lines[0] !== HEADER) throw statementError(BANK, 1, `header must be ${HEADER}`);
      return lines.slice(1).map((line, i) => {
        const n = i + 2;
        const [tradeNo, ref, type, amountText, feeText, status, dateText, timeText] = splitRow(BANK, line, n, ";", 8);
        if (type !== "代扣" && type !== "代付") throw statementError(BANK, n, `交易类型 ${type}`);
        if (status !== "成功" && status !== "失败") throw statementError(BANK, n, `交易状态 ${status}`);
        const date = compactDate(dateText);
        const time = compactTime(timeText);
        if (!date || !time) throw statementError(BANK, n, `交易日期/时间 ${dateText} ${timeText}`);
        if (!tradeNo || !ref) throw statementError(BANK, n, "商户订单号 and 银行流水号 are required");
        let amount: string;
        let fee: string;
        try {
          amount = fromYuan(amountText);
          fee = fromYuan(feeText);
        } catch {
          throw statementError(BANK, n, "amounts must be yuan with at most two decimals");
        }
        return { tradeNo, channelRef: ref, kind: type === "代扣" ? "DEBIT" : "PAYOUT", amount, fee, status: status === "成功" ? "SUCCESS" : "FAILED", date, time };
      });
    },
  };
}

/** Bank B's wire time for an instant (used by its simulated server). */
export function bankBTime(ms: number, timeZone: string): string {
  return formatLocal(ms, timeZone, WIRE_TIME);
}

/** Bank B's wire time → epoch ms (NaN when it does not parse). */
export function bankBTimeMs(text: string, timeZone: string): number {
  const iso = localToIso(text, timeZone, WIRE_TIME);
  return iso === undefined ? NaN : Date.parse(iso);
}
