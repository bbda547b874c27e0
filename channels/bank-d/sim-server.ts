/** Bank D's side of the wire for the simulated bank. */
import type { SimBank, SimCode, SimTradeResult } from "../sim/sim-bank";
import { expiry, isTradeResult, statementLines } from "../sim/server-kit";
import { isoWithOffset } from "../sim/time";
import type { SimServer } from "../sim/transport";
import { BANK_D_CODES, bankDMapper, bankDTimeMs, type BankDApi, type BankDCode, type DTradeRes } from "./mapper";

export const D_FROM_SIM: Record<SimCode, BankDCode> = {
  OK: "200",
  PROCESSING: "202",
  SYSTEM_ERROR: "500",
  INSUFFICIENT_BALANCE: "402",
  CARD_FROZEN: "423",
  TXN_LIMIT: "413",
  DAILY_LIMIT: "430",
  CARD_LIMIT: "429",
  AGREEMENT_INVALID: "404",
  INVALID_CARD: "422",
  WRONG_CODE: "401",
  SIGN_EXPIRED: "410",
  MERCHANT_SHORT: "452",
  CHANNEL_ERROR: "502",
  NOT_FOUND: "460",
  MAINTENANCE: "503",
  ORDER_EXPIRED: "408",
};

const head = (c: SimCode): { code: BankDCode; message: string } => ({ code: D_FROM_SIM[c], message: BANK_D_CODES[D_FROM_SIM[c]] });

export function bankDSimServer(bank: SimBank): SimServer<BankDApi> {
  const tz = bank.config.timeZone;
  const mapper = bankDMapper(tz);
  const trade = (r: SimTradeResult): DTradeRes => ({
    ...head(r.code),
    orderId: r.tradeNo,
    amount: r.amount,
    ...(r.bankRef ? { bankSeq: r.bankRef } : {}),
    ...(r.completedAt !== undefined ? { completedAt: isoWithOffset(r.completedAt, tz) } : {}),
  });
  return {
    sign(req) {
      const r = bank.startSign({ requestNo: req.requestId, cardNo: req.card, name: req.holder, idNo: req.idCard, mobile: req.phone });
      return r.code === "OK" ? { ...head("OK"), signToken: r.signRequestId, otp: r.smsCode } : head(r.code);
    },
    confirm(req) {
      const r = bank.confirmSign(req.signToken, req.otp);
      return r.code === "OK" ? { ...head("OK"), mandateId: r.agreementNo } : head(r.code);
    },
    debit: (req) => trade(bank.debit({ tradeNo: req.orderId, agreementNo: req.mandateId, amount: req.amount, ...expiry(req.expiresAt, bankDTimeMs) })),
    payout: (req) =>
      trade(
        bank.payout({
          tradeNo: req.orderId,
          accountNo: req.beneficiaryAccount,
          accountName: req.beneficiaryName,
          amount: req.amount,
          ...expiry(req.expiresAt, bankDTimeMs),
        }),
      ),
    query(req) {
      const r = bank.query(req.orderId);
      return isTradeResult(r) ? trade(r) : head(r.code);
    },
    statement(req) {
      const s = bank.statement(req.date);
      if (s.code !== "OK") return head(s.code);
      return { ...head("OK"), file: mapper.formatStatement(statementLines(s.records), req.date) };
    },
  };
}
