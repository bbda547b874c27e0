/**
 * Bank C — pure mapping (no I/O). Debit only (no payout service). Wire: JSON with UPPER_CASE
 * fields, amounts in yuan ("12.34"), times "yyyy-MM-ddTHH:mm:ss" in the bank's zone (no offset),
 * two-character ISO 8583-style response codes. Debits carry the order's expiry as `EXPIRE_TIME`
 * (same time format, whole seconds, rounded down); a late arrival is refused with A5.
 * Statement: tab-separated; a title line `# BANK_C DAILY STATEMENT yyyy-MM-dd`, then the header
 * `TXN_DATE TXN_TIME REQ_SN BANK_SN TXN_TYPE AMT FEE RESP` (tabs), amounts as 12-digit zero-padded fen,
 * RESP "00" for success or the failure's response code.
 */
import { fromFen, fromYuan, toFenPadded } from "../amounts";
import type { CardHolder, DebitRequest, SignDone, SignFailure, SignStart, StatementLine } from "../channel";
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

export const BANK = "BANK_C";

interface CHead { RET_CODE: string; ERR_MSG?: string }
export interface CSignReq { REQ_SN: string; ACCT_NO: string; ACCT_NAME: string; ID_NO: string; TEL: string }
export interface CSignRes extends CHead { SIGN_SN?: string; VCODE?: string }
export interface CConfirmReq { SIGN_SN: string; VCODE: string }
export interface CConfirmRes extends CHead { AGR_NO?: string }
export interface CDebitReq { REQ_SN: string; AGR_NO: string; TXN_AMT: string; EXPIRE_TIME: string; SUMMARY?: string }
export interface CTradeRes extends CHead { REQ_SN?: string; BANK_SN?: string; TXN_AMT?: string; TXN_TIME?: string }
export interface CQueryReq { QUERY_SN: string }
export interface CStatementReq { STMT_DATE: string }
export interface CStatementRes extends CHead { FILE?: string }

export interface BankCApi extends BankApi {
  sign: Exchange<CSignReq, CSignRes>;
  confirm: Exchange<CConfirmReq, CConfirmRes>;
  debit: Exchange<CDebitReq, CTradeRes>;
  payout: Exchange<never, never>;
  query: Exchange<CQueryReq, CTradeRes>;
  statement: Exchange<CStatementReq, CStatementRes>;
}

/** Bank C's documented response codes. */
export const BANK_C_CODES = {
  "00": "Approved",
  "09": "Request in progress",
  "51": "Insufficient funds",
  "62": "Restricted card",
  "61": "Exceeds amount limit",
  A1: "Exceeds merchant daily amount",
  "65": "Exceeds frequency limit",
  A2: "Agreement not found or terminated",
  "14": "Invalid card number or holder",
  A3: "Wrong verification code",
  A4: "Sign request unknown or expired",
  A5: "Order expired before processing, declined",
  "96": "System malfunction, transaction declined",
  "91": "Issuer or switch inoperative, not processed",
  "68": "Response received too late, result unknown",
  "25": "Unable to locate record",
} as const;
export type BankCCode = keyof typeof BANK_C_CODES;

export function isBankCCode(code: string): code is BankCCode {
  return Object.prototype.hasOwnProperty.call(BANK_C_CODES, code);
}

/** What each of bank C's codes means. Exhaustive: a new code is a compile error here. */
export function bankCMeaning(code: BankCCode): CodeMeaning {
  switch (code) {
    case "00":
      return SUCCESS;
    case "09":
      return PROCESSING;
    case "51":
      return declined("INSUFFICIENT_BALANCE", "BORROWER");
    case "62":
      return declined("CARD_FROZEN", "BORROWER");
    case "61":
      return declined("LIMIT_EXCEEDED", "CHANNEL");
    case "A1":
      return declined("LIMIT_EXCEEDED", "CHANNEL");
    case "65":
      return declined("LIMIT_EXCEEDED", "BORROWER");
    case "A2":
      return declined("AGREEMENT_INVALID", "CHANNEL");
    case "14":
      return declined("INVALID_CARD", "BORROWER");
    case "A3":
      return declined("OTHER", "BORROWER");
    case "A4":
      return declined("OTHER", "BORROWER");
    case "A5":
      return EXPIRED;
    case "96":
      return declined("CHANNEL_ERROR", "CHANNEL");
    case "91":
      return UNAVAILABLE;
    case "68":
      return UNKNOWN;
    case "25":
      return NOT_FOUND;
    default:
      return assertNever(code, "bank C code");
  }
}

const TITLE = /^# BANK_C DAILY STATEMENT (\d{4}-\d{2}-\d{2})$/;
const HEADER = ["TXN_DATE", "TXN_TIME", "REQ_SN", "BANK_SN", "TXN_TYPE", "AMT", "FEE", "RESP"].join("\t");
const WIRE_TIME = "yyyy-MM-dd'T'HH:mm:ss";
/** Response code written for a failed line whose own code is not known. */
const FAILED_DEFAULT = "96";

export function bankCMapper(timeZone = "Asia/Shanghai"): BankMapper<BankCApi> {
  const answer = (res: unknown): WireAnswer => {
    const code = str(res, "RET_CODE");
    const amount = optStr(res, "TXN_AMT");
    const at = optStr(res, "TXN_TIME");
    return {
      bankCode: code,
      message: optStr(res, "ERR_MSG") ?? "",
      meaning: isBankCCode(code) ? bankCMeaning(code) : undefined,
      tradeNo: optStr(res, "REQ_SN"),
      channelRef: optStr(res, "BANK_SN"),
      amount: amount === undefined ? undefined : fromYuan(amount),
      completedAt: at === undefined ? undefined : localToIso(at, timeZone, WIRE_TIME),
    };
  };

  return {
    signRequest: (requestNo: string, h: CardHolder): CSignReq => ({ REQ_SN: requestNo, ACCT_NO: h.cardNo, ACCT_NAME: h.name, ID_NO: h.idNo, TEL: h.mobile }),
    signResponse(res: CSignRes): SignStart | SignFailure {
      const a = answer(res);
      if (a.meaning?.kind !== "SUCCESS") return signFailure(a);
      const testCode = optStr(res, "VCODE");
      return { status: "CODE_SENT", signRequestId: str(res, "SIGN_SN"), ...(testCode ? { testCode } : {}) };
    },
    confirmRequest: (signRequestId: string, code: string): CConfirmReq => ({ SIGN_SN: signRequestId, VCODE: code }),
    confirmResponse(res: CConfirmRes): SignDone | SignFailure {
      const a = answer(res);
      if (a.meaning?.kind !== "SUCCESS") return signFailure(a);
      return { status: "SIGNED", agreementNo: str(res, "AGR_NO") };
    },
    debitRequest: (r: DebitRequest): CDebitReq => ({
      REQ_SN: r.tradeNo,
      AGR_NO: r.agreementNo,
      TXN_AMT: r.amount,
      EXPIRE_TIME: bankCTime(Date.parse(r.expiresAt), timeZone),
      ...(r.memo ? { SUMMARY: r.memo } : {}),
    }),
    debitResponse: (res, sent) => paymentOutcome(answer(res), sent),
    queryRequest: (tradeNo: string): CQueryReq => ({ QUERY_SN: tradeNo }),
    queryResponse: (res, tradeNo) => queryOutcome(answer(res), tradeNo),
    statementRequest: (date: string): CStatementReq => ({ STMT_DATE: date }),
    statementResponse(res: CStatementRes): StatementFile {
      return statementFile(answer(res), () => str(res, "FILE"));
    },
    formatStatement(lines: readonly StatementLine[], date: string): string {
      const rows = lines.map((l) =>
        joinRow(
          [
            l.date,
            l.time ?? "00:00:00",
            l.tradeNo,
            l.channelRef,
            l.kind,
            toFenPadded(l.amount, 12),
            toFenPadded(l.fee, 12),
            l.status === "SUCCESS" ? "00" : (l.bankCode ?? FAILED_DEFAULT),
          ],
          "\t",
        ),
      );
      return `${[`# BANK_C DAILY STATEMENT ${date}`, HEADER, ...rows].join("\n")}\n`;
    },
    parseStatement(csv: string): StatementLine[] {
      const lines = fileLines(csv);
      const title = TITLE.exec(lines[0] ?? "");
      if (!title || !validDate(title[1])) throw statementError(BANK, 1, "title must be # BANK_C DAILY STATEMENT yyyy-MM-dd");
      if (lines[1] !== HEADER) throw statementError(BANK, 2, "header must be TXN_DATE…RESP, tab-separated");
      return lines.slice(2).map((line, i) => {
        const n = i + 3;
        const [date, time, tradeNo, ref, type, amt, fee, resp] = splitRow(BANK, line, n, "\t", 8);
        if (!validDate(date) || !validTime(time)) throw statementError(BANK, n, `TXN_DATE/TXN_TIME ${date} ${time}`);
        if (type !== "DEBIT" && type !== "PAYOUT") throw statementError(BANK, n, `TXN_TYPE ${type}`);
        if (!/^\d{12}$/.test(amt) || !/^\d{12}$/.test(fee)) throw statementError(BANK, n, "AMT and FEE must be 12-digit fen");
        if (!/^[0-9A-Z]{2}$/.test(resp)) throw statementError(BANK, n, `RESP ${resp}`);
        if (!tradeNo || !ref) throw statementError(BANK, n, "REQ_SN and BANK_SN are required");
        const ok = resp === "00";
        const row: StatementLine = { tradeNo, channelRef: ref, kind: type, amount: fromFen(amt), fee: fromFen(fee), status: ok ? "SUCCESS" : "FAILED", date, time };
        return ok ? row : { ...row, bankCode: resp };
      });
    },
  };
}

/** Bank C's wire time for an instant (used by its simulated server). */
export function bankCTime(ms: number, timeZone: string): string {
  return formatLocal(ms, timeZone, WIRE_TIME);
}

/** Bank C's wire time → epoch ms (NaN when it does not parse). */
export function bankCTimeMs(text: string, timeZone: string): number {
  const iso = localToIso(text, timeZone, WIRE_TIME);
  return iso === undefined ? NaN : Date.parse(iso);
}
