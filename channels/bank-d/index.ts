/** Bank D: debit and payout, limits and fees from the bank's configuration. */
import type { Capability, PaymentChannel } from "../channel";
import type { SimBank } from "../sim/sim-bank";
import type { SimClientOptions } from "../sim/transport";
import { WireChannel } from "../wire-channel";
import { createBankDClient } from "./client";
import { bankDMapper, type BankDApi } from "./mapper";

export const BANK_D_CAPABILITIES: readonly Capability[] = ["SIGN", "DEBIT", "PAYOUT", "QUERY", "STATEMENT"];

export function createBankDChannel(bank: SimBank, opts: SimClientOptions = {}): PaymentChannel {
  const c = bank.config;
  return new WireChannel<BankDApi>({
    code: c.code,
    capabilities: BANK_D_CAPABILITIES,
    limits: c.limits,
    fees: c.fees,
    mapper: bankDMapper(c.timeZone),
    transport: createBankDClient(bank, opts),
  });
}
