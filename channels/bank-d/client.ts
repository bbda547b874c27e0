/** Bank D transport over the simulated network (see bank-a/client.ts). */
import type { SimBank } from "../sim/sim-bank";
import { SimTransport, type SimClientOptions } from "../sim/transport";
import type { BankTransport } from "../wire-channel";
import type { BankDApi } from "./mapper";
import { bankDSimServer } from "./sim-server";

export function createBankDClient(bank: SimBank, opts: SimClientOptions = {}): BankTransport<BankDApi> {
  return new SimTransport<BankDApi>(bank, bankDSimServer(bank), opts);
}
