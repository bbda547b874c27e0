/**
 * Bank C: debit only (no payout service); limits, fees and zone from the bank's configuration. The same mapper over
 * any transport: in process to the bank (createBankCChannel) or over a remote line (bankCChannel).
 */
import type { Capability, PaymentChannel } from "../channel";
import type { SimBank } from "../sim/sim-bank";
import { SimBankEndpoint, type SimClientOptions } from "../sim/transport";
import { WireChannel, type BankTransport, type ChannelSpec } from "../wire-channel";
import { createBankCClient } from "./client";
import { bankCMapper, type BankCApi } from "./mapper";

export const BANK_C_CAPABILITIES: readonly Capability[] = ["SIGN", "DEBIT", "QUERY", "STATEMENT"];

export function bankCChannel(spec: ChannelSpec, transport: BankTransport<BankCApi>): PaymentChannel {
  return new WireChannel<BankCApi>({
    code: spec.code,
    capabilities: BANK_C_CAPABILITIES,
    limits: spec.limits,
    fees: spec.fees,
    mapper: bankCMapper(spec.timeZone),
    transport,
  });
}

export function createBankCChannel(bank: SimBank | SimBankEndpoint<BankCApi>, opts: SimClientOptions = {}): PaymentChannel {
  const b = bank instanceof SimBankEndpoint ? bank.bank : bank;
  return bankCChannel(b.config, createBankCClient(bank, opts));
}
