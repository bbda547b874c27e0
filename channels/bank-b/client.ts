/**
 * Bank B transport: sends bank B's requests to its simulated server over the simulated network
 * (latency, timeout, refused connections during outages), either in process (createBankBClient)
 * or over a remote line to the one node that keeps the banks (RemoteTransport, see sim/remote.ts).
 * A real bank B client would send the same objects over HTTPS and return the same TransportResult.
 */
import type { SimBank } from "../sim/sim-bank";
import { SimBankEndpoint, SimTransport, type SimClientOptions } from "../sim/transport";
import type { BankTransport } from "../wire-channel";
import type { BankBApi } from "./mapper";
import { bankBSimServer } from "./sim-server";

/** The bank's end of the line (what the sim-banks service answers through). */
export function bankBEndpoint(bank: SimBank): SimBankEndpoint<BankBApi> {
  return new SimBankEndpoint<BankBApi>(bank, bankBSimServer(bank));
}

export function createBankBClient(bank: SimBank | SimBankEndpoint<BankBApi>, opts: SimClientOptions = {}): BankTransport<BankBApi> {
  return new SimTransport<BankBApi>(bank instanceof SimBankEndpoint ? bank : bankBEndpoint(bank), undefined, opts);
}
