/**
 * Bank D transport: sends bank D's requests to its simulated server over the simulated network
 * (latency, timeout, refused connections during outages), either in process (createBankDClient)
 * or over a remote line to the one node that keeps the banks (RemoteTransport, see sim/remote.ts).
 * A real bank D client would send the same objects over HTTPS and return the same TransportResult.
 */
import type { SimBank } from "../sim/sim-bank";
import { SimBankEndpoint, SimTransport, type SimClientOptions } from "../sim/transport";
import type { BankTransport } from "../wire-channel";
import type { BankDApi } from "./mapper";
import { bankDSimServer } from "./sim-server";

/** The bank's end of the line (what the sim-banks service answers through). */
export function bankDEndpoint(bank: SimBank): SimBankEndpoint<BankDApi> {
  return new SimBankEndpoint<BankDApi>(bank, bankDSimServer(bank));
}

export function createBankDClient(bank: SimBank | SimBankEndpoint<BankDApi>, opts: SimClientOptions = {}): BankTransport<BankDApi> {
  return new SimTransport<BankDApi>(bank instanceof SimBankEndpoint ? bank : bankDEndpoint(bank), undefined, opts);
}
