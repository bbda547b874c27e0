/** Bank B transport over the simulated network (see bank-a/client.ts). */
import type { SimBank } from "../sim/sim-bank";
import { SimTransport, type SimClientOptions } from "../sim/transport";
import type { BankTransport } from "../wire-channel";
import type { BankBApi } from "./mapper";
import { bankBSimServer } from "./sim-server";

export function createBankBClient(bank: SimBank, opts: SimClientOptions = {}): BankTransport<BankBApi> {
  return new SimTransport<BankBApi>(bank, bankBSimServer(bank), opts);
}
