/** Bank C: debit only (no payout service); limits and fees from the bank's configuration. */
import type { Capability, PaymentChannel } from "../channel";
import type { SimBank } from "../sim/sim-bank";
import type { SimClientOptions } from "../sim/transport";
import { WireChannel } from "../wire-channel";
import { createBankCClient } from "./client";
import { bankCMapper, type BankCApi } from "./mapper";

export const BANK_C_CAPABILITIES: readonly Capability[] = ["SIGN", "DEBIT", "QUERY", "STATEMENT"];

export function createBankCChannel(bank: SimBank, opts: SimClientOptions = {}): PaymentChannel {
  const c = bank.config;
  return new WireChannel<BankCApi>({
    code: c.code,
    capabilities: BANK_C_CAPABILITIES,
    limits: c.limits,
    fees: c.fees,
    mapper: bankCMapper(c.timeZone),
    transport: createBankCClient(bank, opts),
  });
}
