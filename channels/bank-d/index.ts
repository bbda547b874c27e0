/**
 * Bank D: debit and payout; limits, fees and zone from the bank's configuration. The same mapper over
 * any transport: in process to the bank (createBankDChannel) or over a remote line (bankDChannel).
 */
import type { Capability, PaymentChannel } from "../channel";
import type { SimBank } from "../sim/sim-bank";
import { SimBankEndpoint, type SimClientOptions } from "../sim/transport";
import { WireChannel, type BankTransport, type ChannelSpec } from "../wire-channel";
import { createBankDClient } from "./client";
import { bankDMapper, type BankDApi } from "./mapper";

export const BANK_D_CAPABILITIES: readonly Capability[] = ["SIGN", "DEBIT", "PAYOUT", "QUERY", "STATEMENT"];

export function bankDChannel(spec: ChannelSpec, transport: BankTransport<BankDApi>): PaymentChannel {
  return new WireChannel<BankDApi>({
    code: spec.code,
    capabilities: BANK_D_CAPABILITIES,
    limits: spec.limits,
    fees: spec.fees,
    mapper: bankDMapper(spec.timeZone),
    transport,
  });
}

export function createBankDChannel(bank: SimBank | SimBankEndpoint<BankDApi>, opts: SimClientOptions = {}): PaymentChannel {
  const b = bank instanceof SimBankEndpoint ? bank.bank : bank;
  return bankDChannel(b.config, createBankDClient(bank, opts));
}
