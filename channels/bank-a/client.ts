/**
 * Bank A transport: sends bank A's requests to its simulated server over the simulated network
 * (latency, timeout, refused connections during outages), either in process (createBankAClient)
 * or over a remote line to the one node that keeps the banks (RemoteTransport, see sim/remote.ts).
 * A real bank A client would send the same objects over HTTPS and return the same TransportResult.
 */
import type { SimBank } from "../sim/sim-bank";
import { SimBankEndpoint, SimTransport, type SimClientOptions } from "../sim/transport";
import type { BankTransport } from "../wire-channel";
import type { BankAApi } from "./mapper";
import { bankASimServer } from "./sim-server";

/** The bank's end of the line (what the sim-banks service answers through). */
export function bankAEndpoint(bank: SimBank): SimBankEndpoint<BankAApi> {
  return new SimBankEndpoint<BankAApi>(bank, bankASimServer(bank));
}

export function createBankAClient(bank: SimBank | SimBankEndpoint<BankAApi>, opts: SimClientOptions = {}): BankTransport<BankAApi> {
  return new SimTransport<BankAApi>(bank instanceof SimBankEndpoint ? bank : bankAEndpoint(bank), undefined, opts);
}
