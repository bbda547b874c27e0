/** Bank B: debit and payout, limits and fees from the bank's configuration. */
import type { Capability, PaymentChannel } from "../channel";
import type { SimBank } from "../sim/sim-bank";
import type { SimClientOptions } from "../sim/transport";
import { WireChannel } from "../wire-channel";
import { createBankBClient } from "./client";
import { bankBMapper, type BankBApi } from "./mapper";

export const BANK_B_CAPABILITIES: readonly Capability[] = ["SIGN", "DEBIT", "PAYOUT", "QUERY", "STATEMENT"];

export function createBankBChannel(bank: SimBank, opts: SimClientOptions = {}): PaymentChannel {
  const c = bank.config;
  return new WireChannel<BankBApi>({
    code: c.code,
    capabilities: BANK_B_CAPABILITIES,
    limits: c.limits,
    fees: c.fees,
    mapper: bankBMapper(c.timeZone),
    transport: createBankBClient(bank, opts),
  });
}
