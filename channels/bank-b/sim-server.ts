/** Bank B's side of the wire for the simulated bank. */
import type { SimBank, SimCode, SimTradeResult } from "../sim/sim-bank";
import { expiry, isTradeResult, statementLines } from "../sim/server-kit";
import type { SimServer } from "../sim/transport";
import { BANK_B_CODES, bankBMapper, bankBTime, bankBTimeMs, type BankBApi, type BankBCode, type BTradeRes } from "./mapper";

export const B_FROM_SIM: Record<SimCode, BankBCode> = {
  OK: "S",
  PROCESSING: "P",
  SYSTEM_ERROR: "E:SYSTEM_ERROR",
  INSUFFICIENT_BALANCE: "F:BALANCE_NOT_ENOUGH",
  CARD_FROZEN: "F:CARD_FROZEN",
  TXN_LIMIT: "F:SINGLE_LIMIT",
  DAILY_LIMIT: "F:MERCHANT_DAILY_LIMIT",
  CARD_LIMIT: "F:CARD_DAILY_LIMIT",
  AGREEMENT_INVALID: "F:CONTRACT_NOT_EXIST",
  INVALID_CARD: "F:CARD_INVALID",
  WRONG_CODE: "F:VERIFY_CODE_ERROR",
  SIGN_EXPIRED: "F:SIGN_EXPIRED",
  MERCHANT_SHORT: "F:ACCOUNT_BALANCE_NOT_ENOUGH",
  CHANNEL_ERROR: "F:BANK_REFUSED",
  NOT_FOUND: "F:ORDER_NOT_EXIST",
  MAINTENANCE: "E:SYSTEM_BUSY",
  ORDER_EXPIRED: "F:ORDER_EXPIRED",
};

function head(c: SimCode): { result: string; errCode?: string; errMsg?: string } {
  const code = B_FROM_SIM[c];
  const [result, errCode] = code.split(":");
  return errCode ? { result, errCode, errMsg: BANK_B_CODES[code] } : { result };
}

export function bankBSimServer(bank: SimBank): SimServer<BankBApi> {
  const tz = bank.config.timeZone;
  const mapper = bankBMapper(tz);
  const trade = (r: SimTradeResult): BTradeRes => ({
    ...head(r.code),
    outTradeNo: r.tradeNo,
    amount: r.amount,
    ...(r.bankRef ? { tradeId: r.bankRef } : {}),
    ...(r.completedAt !== undefined ? { finishTime: bankBTime(r.completedAt, tz) } : {}),
  });
  return {
    sign(req) {
      const r = bank.startSign({ requestNo: req.reqNo, cardNo: req.cardNo, name: req.holderName, idNo: req.certNo, mobile: req.phone });
      return r.code === "OK" ? { result: "S", signId: r.signRequestId, verifyCode: r.smsCode } : head(r.code);
    },
    confirm(req) {
      const r = bank.confirmSign(req.signId, req.verifyCode);
      return r.code === "OK" ? { result: "S", contractId: r.agreementNo } : head(r.code);
    },
    debit: (req) => trade(bank.debit({ tradeNo: req.outTradeNo, agreementNo: req.contractId, amount: req.amount, ...expiry(req.timeExpire, (t) => bankBTimeMs(t, tz)) })),
    payout: (req) =>
      trade(
        bank.payout({
          tradeNo: req.outTradeNo,
          accountNo: req.payeeAccount,
          accountName: req.payeeName,
          amount: req.amount,
          ...expiry(req.timeExpire, (t) => bankBTimeMs(t, tz)),
        }),
      ),
    query(req) {
      const r = bank.query(req.outTradeNo);
      return isTradeResult(r) ? trade(r) : head(r.code);
    },
    statement(req) {
      const s = bank.statement(req.billDate);
      if (s.code !== "OK") return head(s.code);
      return { result: "S", content: mapper.formatStatement(statementLines(s.records), req.billDate) };
    },
  };
}
