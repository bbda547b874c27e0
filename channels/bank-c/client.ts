/** Bank C transport over the simulated network (see bank-a/client.ts). */
import type { SimBank } from "../sim/sim-bank";
import { SimTransport, type SimClientOptions } from "../sim/transport";
import type { BankTransport } from "../wire-channel";
import type { BankCApi } from "./mapper";
import { bankCSimServer } from "./sim-server";

export function createBankCClient(bank: SimBank, opts: SimClientOptions = {}): BankTransport<BankCApi> {
  return new SimTransport<BankCApi>(bank, bankCSimServer(bank), opts);
}
