/** Bank A: debit and payout, limits and fees from the bank's configuration. */
import type { Capability, PaymentChannel } from "../channel";
import type { SimBank } from "../sim/sim-bank";
import type { SimClientOptions } from "../sim/transport";
import { WireChannel } from "../wire-channel";
import { createBankAClient } from "./client";
import { bankAMapper, type BankAApi } from "./mapper";

export const BANK_A_CAPABILITIES: readonly Capability[] = ["SIGN", "DEBIT", "PAYOUT", "QUERY", "STATEMENT"];

export function createBankAChannel(bank: SimBank, opts: SimClientOptions = {}): PaymentChannel {
  const c = bank.config;
  return new WireChannel<BankAApi>({
    code: c.code,
    capabilities: BANK_A_CAPABILITIES,
    limits: c.limits,
    fees: c.fees,
    mapper: bankAMapper(c.timeZone),
    transport: createBankAClient(bank, opts),
  });
}
