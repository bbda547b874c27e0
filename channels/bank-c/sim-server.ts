/** Bank C's side of the wire for the simulated bank (no payout service). */
import type { SimBank, SimCode, SimTradeResult } from "../sim/sim-bank";
import { expiry, isTradeResult, statementLines } from "../sim/server-kit";
import type { SimServer } from "../sim/transport";
import { BANK_C_CODES, bankCMapper, bankCTime, bankCTimeMs, type BankCApi, type BankCCode, type CTradeRes } from "./mapper";

export const C_FROM_SIM: Record<SimCode, BankCCode> = {
  OK: "00",
  PROCESSING: "09",
  SYSTEM_ERROR: "68",
  INSUFFICIENT_BALANCE: "51",
  CARD_FROZEN: "62",
  TXN_LIMIT: "61",
  DAILY_LIMIT: "A1",
  CARD_LIMIT: "65",
  AGREEMENT_INVALID: "A2",
  INVALID_CARD: "14",
  WRONG_CODE: "A3",
  SIGN_EXPIRED: "A4",
  MERCHANT_SHORT: "96", // unreachable: bank C offers no payouts
  CHANNEL_ERROR: "96",
  NOT_FOUND: "25",
  MAINTENANCE: "91",
  ORDER_EXPIRED: "A5",
};

const head = (c: SimCode): { RET_CODE: BankCCode; ERR_MSG: string } => ({ RET_CODE: C_FROM_SIM[c], ERR_MSG: BANK_C_CODES[C_FROM_SIM[c]] });

export function bankCSimServer(bank: SimBank): SimServer<BankCApi> {
  const tz = bank.config.timeZone;
  const mapper = bankCMapper(tz);
  const trade = (r: SimTradeResult): CTradeRes => ({
    ...head(r.code),
    REQ_SN: r.tradeNo,
    TXN_AMT: r.amount,
    ...(r.bankRef ? { BANK_SN: r.bankRef } : {}),
    ...(r.completedAt !== undefined ? { TXN_TIME: bankCTime(r.completedAt, tz) } : {}),
  });
  return {
    sign(req) {
      const r = bank.startSign({ requestNo: req.REQ_SN, cardNo: req.ACCT_NO, name: req.ACCT_NAME, idNo: req.ID_NO, mobile: req.TEL });
      return r.code === "OK" ? { ...head("OK"), SIGN_SN: r.signRequestId, VCODE: r.smsCode } : head(r.code);
    },
    confirm(req) {
      const r = bank.confirmSign(req.SIGN_SN, req.VCODE);
      return r.code === "OK" ? { ...head("OK"), AGR_NO: r.agreementNo } : head(r.code);
    },
    debit: (req) => trade(bank.debit({ tradeNo: req.REQ_SN, agreementNo: req.AGR_NO, amount: req.TXN_AMT, ...expiry(req.EXPIRE_TIME, (t) => bankCTimeMs(t, tz)) })),
    query(req) {
      const r = bank.query(req.QUERY_SN);
      return isTradeResult(r) ? trade(r) : head(r.code);
    },
    statement(req) {
      const s = bank.statement(req.STMT_DATE);
      if (s.code !== "OK") return head(s.code);
      return { ...head("OK"), FILE: mapper.formatStatement(statementLines(s.records, (c) => C_FROM_SIM[c]), req.STMT_DATE) };
    },
  };
}
