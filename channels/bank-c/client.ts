/**
 * Bank C transport: sends bank C's requests to its simulated server over the simulated network
 * (latency, timeout, refused connections during outages), either in process (createBankCClient)
 * or over a remote line to the one node that keeps the banks (RemoteTransport, see sim/remote.ts).
 * A real bank C client would send the same objects over HTTPS and return the same TransportResult.
 */
import type { SimBank } from "../sim/sim-bank";
import { SimBankEndpoint, SimTransport, type SimClientOptions } from "../sim/transport";
import type { BankTransport } from "../wire-channel";
import type { BankCApi } from "./mapper";
import { bankCSimServer } from "./sim-server";

/** The bank's end of the line (what the sim-banks service answers through). */
export function bankCEndpoint(bank: SimBank): SimBankEndpoint<BankCApi> {
  return new SimBankEndpoint<BankCApi>(bank, bankCSimServer(bank));
}

export function createBankCClient(bank: SimBank | SimBankEndpoint<BankCApi>, opts: SimClientOptions = {}): BankTransport<BankCApi> {
  return new SimTransport<BankCApi>(bank instanceof SimBankEndpoint ? bank : bankCEndpoint(bank), undefined, opts);
}
