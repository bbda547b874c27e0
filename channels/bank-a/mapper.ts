/**
 * Bank A — pure mapping (no I/O). Wire: JSON with snake_case fields, amounts in fen (分) as digit
 * strings, times "yyyyMMddHHmmss" in the bank's zone, four-digit result codes. Debits and payouts
 * carry the order's expiry as `expire_time` (same format, whole seconds, rounded down so the bank
 * never accepts later than we allow); a late arrival is refused with 1011 (订单已过期).
 * Statement: comma-separated, header `trade_no,bank_ref,type,amount_fen,fee_fen,status,trade_time`,
 * type DK (代扣 debit) / DF (代付 payout), status S / F, trade_time "yyyy-MM-dd HH:mm:ss".
 */
import { fromFen, toFen } from "../amounts";
import type { CardHolder, DebitRequest, PayoutRequest, SignDone, SignFailure, SignStart, StatementLine } from "../channel";
import { fileLines, joinRow, splitRow, statementError, validDate, validTime } from "../csv";
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

export const BANK = "BANK_A";

export interface ASignReq { apply_no: string; card_no: string; acct_name: string; id_no: string; mobile: string }
export interface ASignRes { resp_code: string; resp_msg: string; sign_req_id?: string; sms_code?: string }
export interface AConfirmReq { sign_req_id: string; sms_code: string }
export interface AConfirmRes { resp_code: string; resp_msg: string; protocol_no?: string }
export interface ADebitReq { merchant_order_no: string; protocol_no: string; amount_fen: string; expire_time: string; remark?: string }
export interface APayoutReq { merchant_order_no: string; acct_no: string; acct_name: string; amount_fen: string; expire_time: string; remark?: string }
export interface ATradeRes {
  resp_code: string;
  resp_msg: string;
  merchant_order_no?: string;
  bank_ref?: string;
  amount_fen?: string;
  finish_time?: string;
}
export interface AQueryReq { merchant_order_no: string }
export interface AStatementReq { bill_date: string }
export interface AStatementRes { resp_code: string; resp_msg: string; bill_content?: string }

export interface BankAApi extends BankApi {
  sign: Exchange<ASignReq, ASignRes>;
  confirm: Exchange<AConfirmReq, AConfirmRes>;
  debit: Exchange<ADebitReq, ATradeRes>;
  payout: Exchange<APayoutReq, ATradeRes>;
  query: Exchange<AQueryReq, ATradeRes>;
  statement: Exchange<AStatementReq, AStatementRes>;
}

/** Bank A's documented result codes and their messages. */
export const BANK_A_CODES = {
  "0000": "交易成功",
  "0001": "交易处理中",
  "1001": "余额不足",
  "1002": "卡状态异常（冻结）",
  "1003": "超过单笔限额",
  "1004": "超过商户日累计限额",
  "1005": "超过单卡日交易次数限制",
  "1006": "协议号不存在或已解约",
  "1007": "卡号无效或户名不符",
  "1008": "短信验证码错误",
  "1009": "签约申请不存在或已过期",
  "1010": "商户代付头寸不足",
  "1011": "订单已过期，未受理",
  "2001": "通道交易失败",
  "3001": "订单不存在",
  "9001": "系统维护中，请求未受理",
  "9999": "系统异常，结果未知",
} as const;
export type BankACode = keyof typeof BANK_A_CODES;

export function isBankACode(code: string): code is BankACode {
  return Object.prototype.hasOwnProperty.call(BANK_A_CODES, code);
}

/** What each of bank A's codes means. Exhaustive: a new code is a compile error here. */
export function bankAMeaning(code: BankACode): CodeMeaning {
  switch (code) {
    case "0000":
      return SUCCESS;
    case "0001":
      return PROCESSING;
    case "1001":
      return declined("INSUFFICIENT_BALANCE", "BORROWER");
    case "1002":
      return declined("CARD_FROZEN", "BORROWER");
    case "1003":
      return declined("LIMIT_EXCEEDED", "CHANNEL");
    case "1004":
      return declined("LIMIT_EXCEEDED", "CHANNEL");
    case "1005":
      return declined("LIMIT_EXCEEDED", "BORROWER");
    case "1006":
      return declined("AGREEMENT_INVALID", "CHANNEL");
    case "1007":
      return declined("INVALID_CARD", "BORROWER");
    case "1008":
      return declined("OTHER", "BORROWER");
    case "1009":
      return declined("OTHER", "BORROWER");
    case "1010":
      return declined("INSUFFICIENT_BALANCE", "CHANNEL");
    case "1011":
      return EXPIRED;
    case "2001":
      return declined("CHANNEL_ERROR", "CHANNEL");
    case "3001":
      return NOT_FOUND;
    case "9001":
      return UNAVAILABLE;
    case "9999":
      return UNKNOWN;
    default:
      return assertNever(code, "bank A code");
  }
}

const HEADER = "trade_no,bank_ref,type,amount_fen,fee_fen,status,trade_time";
const WIRE_TIME = "yyyyMMddHHmmss";

export function bankAMapper(timeZone = "Asia/Shanghai"): BankMapper<BankAApi> {
  const answer = (res: unknown): WireAnswer => {
    const code = str(res, "resp_code");
    const fen = optStr(res, "amount_fen");
    const finish = optStr(res, "finish_time");
    return {
      bankCode: code,
      message: optStr(res, "resp_msg") ?? "",
      meaning: isBankACode(code) ? bankAMeaning(code) : undefined,
      tradeNo: optStr(res, "merchant_order_no"),
      channelRef: optStr(res, "bank_ref"),
      amount: fen === undefined ? undefined : fromFen(fen),
      completedAt: finish === undefined ? undefined : localToIso(finish, timeZone, WIRE_TIME),
    };
  };

  return {
    signRequest: (requestNo: string, h: CardHolder): ASignReq => ({ apply_no: requestNo, card_no: h.cardNo, acct_name: h.name, id_no: h.idNo, mobile: h.mobile }),
    signResponse(res: ASignRes): SignStart | SignFailure {
      const a = answer(res);
      if (a.meaning?.kind !== "SUCCESS") return signFailure(a);
      const testCode = optStr(res, "sms_code");
      return { status: "CODE_SENT", signRequestId: str(res, "sign_req_id"), ...(testCode ? { testCode } : {}) };
    },
    confirmRequest: (signRequestId: string, code: string): AConfirmReq => ({ sign_req_id: signRequestId, sms_code: code }),
    confirmResponse(res: AConfirmRes): SignDone | SignFailure {
      const a = answer(res);
      if (a.meaning?.kind !== "SUCCESS") return signFailure(a);
      return { status: "SIGNED", agreementNo: str(res, "protocol_no") };
    },
    debitRequest: (r: DebitRequest): ADebitReq => ({
      merchant_order_no: r.tradeNo,
      protocol_no: r.agreementNo,
      amount_fen: toFen(r.amount),
      expire_time: bankATime(Date.parse(r.expiresAt), timeZone),
      ...(r.memo ? { remark: r.memo } : {}),
    }),
    debitResponse: (res, sent) => paymentOutcome(answer(res), sent),
    payoutRequest: (r: PayoutRequest): APayoutReq => ({
      merchant_order_no: r.tradeNo,
      acct_no: r.accountNo,
      acct_name: r.accountName,
      amount_fen: toFen(r.amount),
      expire_time: bankATime(Date.parse(r.expiresAt), timeZone),
      ...(r.memo ? { remark: r.memo } : {}),
    }),
    payoutResponse: (res, sent) => paymentOutcome(answer(res), sent),
    queryRequest: (tradeNo: string): AQueryReq => ({ merchant_order_no: tradeNo }),
    queryResponse: (res, tradeNo) => queryOutcome(answer(res), tradeNo),
    statementRequest: (date: string): AStatementReq => ({ bill_date: date.replace(/-/g, "") }),
    statementResponse(res: AStatementRes): StatementFile {
      return statementFile(answer(res), () => str(res, "bill_content"));
    },
    formatStatement(lines: readonly StatementLine[]): string {
      const rows = lines.map((l) =>
        joinRow([l.tradeNo, l.channelRef, l.kind === "DEBIT" ? "DK" : "DF", toFen(l.amount), toFen(l.fee), l.status === "SUCCESS" ? "S" : "F", `${l.date} ${l.time ?? "00:00:00"}`], ","),
      );
      return `${[HEADER, ...rows].join("\n")}\n`;
    },
    parseStatement(csv: string): StatementLine[] {
      const lines = fileLines(csv);
      if (lines[0] !== HEADER) throw statementError(BANK, 1, `header must be ${HEADER}`);
      return lines.slice(1).map((line, i) => {
        const n = i + 2;
        const [tradeNo, ref, type, amountFen, feeFen, status, at] = splitRow(BANK, line, n, ",", 7);
        if (type !== "DK" && type !== "DF") throw statementError(BANK, n, `type ${type}`);
        if (status !== "S" && status !== "F") throw statementError(BANK, n, `status ${status}`);
        const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(at);
        if (!m || !validDate(m[1]) || !validTime(m[2])) throw statementError(BANK, n, `trade_time ${at}`);
        if (!tradeNo || !ref) throw statementError(BANK, n, "trade_no and bank_ref are required");
        let amount: string;
        let fee: string;
        try {
          amount = fromFen(amountFen);
          fee = fromFen(feeFen);
        } catch {
          throw statementError(BANK, n, "amounts must be whole fen");
        }
        return { tradeNo, channelRef: ref, kind: type === "DK" ? "DEBIT" : "PAYOUT", amount, fee, status: status === "S" ? "SUCCESS" : "FAILED", date: m[1], time: m[2] };
      });
    },
  };
}

/** Bank A's wire time for an instant (used by its simulated server). */
export function bankATime(ms: number, timeZone: string): string {
  return formatLocal(ms, timeZone, WIRE_TIME);
}

/** Bank A's wire time → epoch ms (NaN when it does not parse). */
export function bankATimeMs(text: string, timeZone: string): number {
  const iso = localToIso(text, timeZone, WIRE_TIME);
  return iso === undefined ? NaN : Date.parse(iso);
}
