/**
 * Bank B: debit and payout; limits, fees and zone from the bank's configuration. The same mapper over
 * any transport: in process to the bank (createBankBChannel) or over a remote line (bankBChannel).
 */
import type { Capability, PaymentChannel } from "../channel";
import type { SimBank } from "../sim/sim-bank";
import { SimBankEndpoint, type SimClientOptions } from "../sim/transport";
import { WireChannel, type BankTransport, type ChannelSpec } from "../wire-channel";
import { createBankBClient } from "./client";
import { bankBMapper, type BankBApi } from "./mapper";

export const BANK_B_CAPABILITIES: readonly Capability[] = ["SIGN", "DEBIT", "PAYOUT", "QUERY", "STATEMENT"];

export function bankBChannel(spec: ChannelSpec, transport: BankTransport<BankBApi>): PaymentChannel {
  return new WireChannel<BankBApi>({
    code: spec.code,
    capabilities: BANK_B_CAPABILITIES,
    limits: spec.limits,
    fees: spec.fees,
    mapper: bankBMapper(spec.timeZone),
    transport,
  });
}

export function createBankBChannel(bank: SimBank | SimBankEndpoint<BankBApi>, opts: SimClientOptions = {}): PaymentChannel {
  const b = bank instanceof SimBankEndpoint ? bank.bank : bank;
  return bankBChannel(b.config, createBankBClient(bank, opts));
}
