/**
 * Bank A: debit and payout; limits, fees and zone from the bank's configuration. The same mapper over
 * any transport: in process to the bank (createBankAChannel) or over a remote line (bankAChannel).
 */
import type { Capability, PaymentChannel } from "../channel";
import type { SimBank } from "../sim/sim-bank";
import { SimBankEndpoint, type SimClientOptions } from "../sim/transport";
import { WireChannel, type BankTransport, type ChannelSpec } from "../wire-channel";
import { createBankAClient } from "./client";
import { bankAMapper, type BankAApi } from "./mapper";

export const BANK_A_CAPABILITIES: readonly Capability[] = ["SIGN", "DEBIT", "PAYOUT", "QUERY", "STATEMENT"];

export function bankAChannel(spec: ChannelSpec, transport: BankTransport<BankAApi>): PaymentChannel {
  return new WireChannel<BankAApi>({
    code: spec.code,
    capabilities: BANK_A_CAPABILITIES,
    limits: spec.limits,
    fees: spec.fees,
    mapper: bankAMapper(spec.timeZone),
    transport,
  });
}

export function createBankAChannel(bank: SimBank | SimBankEndpoint<BankAApi>, opts: SimClientOptions = {}): PaymentChannel {
  const b = bank instanceof SimBankEndpoint ? bank.bank : bank;
  return bankAChannel(b.config, createBankAClient(bank, opts));
}
