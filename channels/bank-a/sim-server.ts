/**
 * Bank A's side of the wire for the simulated bank: decodes bank A's requests, runs them on the
 * SimBank core and answers in bank A's codes and units.
 */
import { fromFen, toFen } from "../amounts";
import type { SimBank, SimCode, SimTradeResult } from "../sim/sim-bank";
import { expiry, isTradeResult, statementLines } from "../sim/server-kit";
import type { SimServer } from "../sim/transport";
import { BANK_A_CODES, bankAMapper, bankATime, bankATimeMs, type BankAApi, type BankACode, type ATradeRes } from "./mapper";

export const A_FROM_SIM: Record<SimCode, BankACode> = {
  OK: "0000",
  PROCESSING: "0001",
  SYSTEM_ERROR: "9999",
  INSUFFICIENT_BALANCE: "1001",
  CARD_FROZEN: "1002",
  TXN_LIMIT: "1003",
  DAILY_LIMIT: "1004",
  CARD_LIMIT: "1005",
  AGREEMENT_INVALID: "1006",
  INVALID_CARD: "1007",
  WRONG_CODE: "1008",
  SIGN_EXPIRED: "1009",
  MERCHANT_SHORT: "1010",
  CHANNEL_ERROR: "2001",
  NOT_FOUND: "3001",
  MAINTENANCE: "9001",
  ORDER_EXPIRED: "1011",
};

const head = (c: SimCode): { resp_code: BankACode; resp_msg: string } => ({ resp_code: A_FROM_SIM[c], resp_msg: BANK_A_CODES[A_FROM_SIM[c]] });

export function bankASimServer(bank: SimBank): SimServer<BankAApi> {
  const tz = bank.config.timeZone;
  const mapper = bankAMapper(tz);
  const trade = (r: SimTradeResult): ATradeRes => ({
    ...head(r.code),
    merchant_order_no: r.tradeNo,
    amount_fen: toFen(r.amount),
    ...(r.bankRef ? { bank_ref: r.bankRef } : {}),
    ...(r.completedAt !== undefined ? { finish_time: bankATime(r.completedAt, tz) } : {}),
  });
  return {
    sign(req) {
      const r = bank.startSign({ requestNo: req.apply_no, cardNo: req.card_no, name: req.acct_name, idNo: req.id_no, mobile: req.mobile });
      return r.code === "OK" ? { ...head("OK"), resp_msg: "短信验证码已发送", sign_req_id: r.signRequestId, sms_code: r.smsCode } : head(r.code);
    },
    confirm(req) {
      const r = bank.confirmSign(req.sign_req_id, req.sms_code);
      return r.code === "OK" ? { ...head("OK"), resp_msg: "签约成功", protocol_no: r.agreementNo } : head(r.code);
    },
    debit: (req) =>
      trade(bank.debit({ tradeNo: req.merchant_order_no, agreementNo: req.protocol_no, amount: fromFen(req.amount_fen), ...expiry(req.expire_time, (t) => bankATimeMs(t, tz)) })),
    payout: (req) =>
      trade(
        bank.payout({
          tradeNo: req.merchant_order_no,
          accountNo: req.acct_no,
          accountName: req.acct_name,
          amount: fromFen(req.amount_fen),
          ...expiry(req.expire_time, (t) => bankATimeMs(t, tz)),
        }),
      ),
    query(req) {
      const r = bank.query(req.merchant_order_no);
      return isTradeResult(r) ? trade(r) : head(r.code);
    },
    statement(req) {
      const date = `${req.bill_date.slice(0, 4)}-${req.bill_date.slice(4, 6)}-${req.bill_date.slice(6, 8)}`;
      const s = bank.statement(date);
      if (s.code !== "OK") return head(s.code);
      return { ...head("OK"), bill_content: mapper.formatStatement(statementLines(s.records), date) };
    },
  };
}
