/**
 * Bank D — pure mapping (no I/O). Wire: JSON, camelCase, amounts in yuan ("12.34"), completion
 * time ISO-8601 with offset, three-digit HTTP-style result codes. Debits and payouts carry the order's
 * expiry as `expiresAt`, ISO-8601 with the bank's offset (whole seconds, rounded down); a late
 * arrival is refused with 408.
 * Statement: pipe-separated, header `ORDER_ID|BANK_SEQ|TYPE|AMOUNT|FEE|STATUS|DATETIME`, TYPE
 * COLLECT (debit) / DISBURSE (payout), STATUS SUCCESS / FAILURE, amounts in yuan, DATETIME ISO
 * with the bank's offset, and a trailer `TOTAL|<rows>|<sum of SUCCESS amounts>|<sum of fees>`
 * that the parser checks.
 */
import { canonical } from "../amounts";
import type { CardHolder, DebitRequest, PayoutRequest, SignDone, SignFailure, SignStart, StatementLine } from "../channel";
import { fileLines, joinRow, splitRow, statementError, validDate, validTime } from "../csv";
import { Dec, fmt } from "../../domain/money";
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
import { isoToUtc, isoWithOffset, localWithOffset } from "../sim/time";
import type { BankApi, BankMapper, Exchange, StatementFile } from "../wire-channel";

export const BANK = "BANK_D";

interface DHead { code: string; message?: string }
export interface DSignReq { requestId: string; card: string; holder: string; idCard: string; phone: string }
export interface DSignRes extends DHead { signToken?: string; otp?: string }
export interface DConfirmReq { signToken: string; otp: string }
export interface DConfirmRes extends DHead { mandateId?: string }
export interface DDebitReq { orderId: string; mandateId: string; amount: string; expiresAt: string; note?: string }
export interface DPayoutReq { orderId: string; beneficiaryAccount: string; beneficiaryName: string; amount: string; expiresAt: string; note?: string }
export interface DTradeRes extends DHead { orderId?: string; bankSeq?: string; amount?: string; completedAt?: string }
export interface DQueryReq { orderId: string }
export interface DStatementReq { date: string }
export interface DStatementRes extends DHead { file?: string }

export interface BankDApi extends BankApi {
  sign: Exchange<DSignReq, DSignRes>;
  confirm: Exchange<DConfirmReq, DConfirmRes>;
  debit: Exchange<DDebitReq, DTradeRes>;
  payout: Exchange<DPayoutReq, DTradeRes>;
  query: Exchange<DQueryReq, DTradeRes>;
  statement: Exchange<DStatementReq, DStatementRes>;
}

/** Bank D's documented result codes. */
export const BANK_D_CODES = {
  "200": "OK",
  "202": "Accepted, processing",
  "402": "Insufficient funds",
  "423": "Card locked",
  "413": "Amount above per-transaction limit",
  "430": "Merchant daily limit reached",
  "429": "Card daily frequency limit reached",
  "404": "Mandate not found or revoked",
  "408": "Order expired before processing, not executed",
  "422": "Invalid card or holder",
  "401": "Wrong one-time password",
  "410": "Sign request gone or expired",
  "452": "Merchant disbursement balance too low",
  "460": "Order not found",
  "500": "Internal error, result unknown",
  "502": "Declined by upstream network",
  "503": "Service under maintenance, not processed",
  "504": "Upstream timeout, result unknown",
} as const;
export type BankDCode = keyof typeof BANK_D_CODES;

export function isBankDCode(code: string): code is BankDCode {
  return Object.prototype.hasOwnProperty.call(BANK_D_CODES, code);
}

/** What each of bank D's codes means. Exhaustive: a new code is a compile error here. */
export function bankDMeaning(code: BankDCode): CodeMeaning {
  switch (code) {
    case "200":
      return SUCCESS;
    case "202":
      return PROCESSING;
    case "402":
      return declined("INSUFFICIENT_BALANCE", "BORROWER");
    case "423":
      return declined("CARD_FROZEN", "BORROWER");
    case "413":
      return declined("LIMIT_EXCEEDED", "CHANNEL");
    case "430":
      return declined("LIMIT_EXCEEDED", "CHANNEL");
    case "429":
      return declined("LIMIT_EXCEEDED", "BORROWER");
    case "404":
      return declined("AGREEMENT_INVALID", "CHANNEL");
    case "408":
      return EXPIRED;
    case "422":
      return declined("INVALID_CARD", "BORROWER");
    case "401":
      return declined("OTHER", "BORROWER");
    case "410":
      return declined("OTHER", "BORROWER");
    case "452":
      return declined("INSUFFICIENT_BALANCE", "CHANNEL");
    case "460":
      return NOT_FOUND;
    case "500":
      return UNKNOWN;
    case "502":
      return declined("CHANNEL_ERROR", "CHANNEL");
    case "503":
      return UNAVAILABLE;
    case "504":
      return UNKNOWN;
    default:
      return assertNever(code, "bank D code");
  }
}

const HEADER = "ORDER_ID|BANK_SEQ|TYPE|AMOUNT|FEE|STATUS|DATETIME";
const DATETIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})([+-]\d{2}:\d{2}|Z)$/;

export function bankDMapper(timeZone = "Asia/Shanghai"): BankMapper<BankDApi> {
  const answer = (res: unknown): WireAnswer => {
    const code = str(res, "code");
    const amount = optStr(res, "amount");
    const at = optStr(res, "completedAt");
    return {
      bankCode: code,
      message: optStr(res, "message") ?? "",
      meaning: isBankDCode(code) ? bankDMeaning(code) : undefined,
      tradeNo: optStr(res, "orderId"),
      channelRef: optStr(res, "bankSeq"),
      amount: amount === undefined ? undefined : canonical(amount),
      completedAt: at === undefined ? undefined : isoToUtc(at),
    };
  };

  return {
    signRequest: (requestId: string, h: CardHolder): DSignReq => ({ requestId, card: h.cardNo, holder: h.name, idCard: h.idNo, phone: h.mobile }),
    signResponse(res: DSignRes): SignStart | SignFailure {
      const a = answer(res);
      if (a.meaning?.kind !== "SUCCESS") return signFailure(a);
      const testCode = optStr(res, "otp");
      return { status: "CODE_SENT", signRequestId: str(res, "signToken"), ...(testCode ? { testCode } : {}) };
    },
    confirmRequest: (signToken: string, otp: string): DConfirmReq => ({ signToken, otp }),
    confirmResponse(res: DConfirmRes): SignDone | SignFailure {
      const a = answer(res);
      if (a.meaning?.kind !== "SUCCESS") return signFailure(a);
      return { status: "SIGNED", agreementNo: str(res, "mandateId") };
    },
    debitRequest: (r: DebitRequest): DDebitReq => ({
      orderId: r.tradeNo,
      mandateId: r.agreementNo,
      amount: r.amount,
      expiresAt: isoWithOffset(Date.parse(r.expiresAt), timeZone),
      ...(r.memo ? { note: r.memo } : {}),
    }),
    debitResponse: (res, sent) => paymentOutcome(answer(res), sent),
    payoutRequest: (r: PayoutRequest): DPayoutReq => ({
      orderId: r.tradeNo,
      beneficiaryAccount: r.accountNo,
      beneficiaryName: r.accountName,
      amount: r.amount,
      expiresAt: isoWithOffset(Date.parse(r.expiresAt), timeZone),
      ...(r.memo ? { note: r.memo } : {}),
    }),
    payoutResponse: (res, sent) => paymentOutcome(answer(res), sent),
    queryRequest: (orderId: string): DQueryReq => ({ orderId }),
    queryResponse: (res, tradeNo) => queryOutcome(answer(res), tradeNo),
    statementRequest: (date: string): DStatementReq => ({ date }),
    statementResponse(res: DStatementRes): StatementFile {
      return statementFile(answer(res), () => str(res, "file"));
    },
    formatStatement(lines: readonly StatementLine[]): string {
      let success = Dec("0");
      let fees = Dec("0");
      const rows = lines.map((l) => {
        if (l.status === "SUCCESS") success = success.plus(Dec(l.amount));
        fees = fees.plus(Dec(l.fee));
        return joinRow(
          [
            l.tradeNo,
            l.channelRef,
            l.kind === "DEBIT" ? "COLLECT" : "DISBURSE",
            canonical(l.amount),
            canonical(l.fee),
            l.status === "SUCCESS" ? "SUCCESS" : "FAILURE",
            localWithOffset(l.date, l.time ?? "00:00:00", timeZone),
          ],
          "|",
        );
      });
      return `${[HEADER, ...rows, `TOTAL|${lines.length}|${fmt(success)}|${fmt(fees)}`].join("\n")}\n`;
    },
    parseStatement(csv: string): StatementLine[] {
      const lines = fileLines(csv);
      if (lines[0] !== HEADER) throw statementError(BANK, 1, `header must be ${HEADER}`);
      if (lines.length < 2 || !lines[lines.length - 1].startsWith("TOTAL|")) throw statementError(BANK, lines.length, "missing TOTAL trailer");
      const body = lines.slice(1, -1);
      let success = Dec("0");
      let fees = Dec("0");
      const out = body.map((line, i): StatementLine => {
        const n = i + 2;
        const [tradeNo, ref, type, amountText, feeText, status, at] = splitRow(BANK, line, n, "|", 7);
        if (type !== "COLLECT" && type !== "DISBURSE") throw statementError(BANK, n, `TYPE ${type}`);
        if (status !== "SUCCESS" && status !== "FAILURE") throw statementError(BANK, n, `STATUS ${status}`);
        const m = DATETIME.exec(at);
        if (!m || !validDate(m[1]) || !validTime(m[2])) throw statementError(BANK, n, `DATETIME ${at}`);
        if (!tradeNo || !ref) throw statementError(BANK, n, "ORDER_ID and BANK_SEQ are required");
        let amount: string;
        let fee: string;
        try {
          amount = canonical(amountText);
          fee = canonical(feeText);
        } catch {
          throw statementError(BANK, n, "AMOUNT and FEE must be yuan with at most two decimals");
        }
        if (status === "SUCCESS") success = success.plus(Dec(amount));
        fees = fees.plus(Dec(fee));
        return { tradeNo, channelRef: ref, kind: type === "COLLECT" ? "DEBIT" : "PAYOUT", amount, fee, status: status === "SUCCESS" ? "SUCCESS" : "FAILED", date: m[1], time: m[2] };
      });
      const n = lines.length;
      const [, count, total, feeTotal] = splitRow(BANK, lines[n - 1], n, "|", 4);
      if (count !== String(body.length)) throw statementError(BANK, n, `trailer counts ${count} rows, file has ${body.length}`);
      let totalOk = false;
      let feeOk = false;
      try {
        totalOk = Dec(canonical(total)).eq(success);
        feeOk = Dec(canonical(feeTotal)).eq(fees);
      } catch {
        throw statementError(BANK, n, "trailer amounts must be yuan");
      }
      if (!totalOk || !feeOk) throw statementError(BANK, n, `trailer totals ${total}/${feeTotal} differ from rows ${fmt(success)}/${fmt(fees)}`);
      return out;
    },
  };
}

/** Bank D's wire instant (ISO-8601 with offset) → epoch ms (NaN when it does not parse). */
export function bankDTimeMs(text: string): number {
  const iso = isoToUtc(text);
  return iso === undefined ? NaN : Date.parse(iso);
}
