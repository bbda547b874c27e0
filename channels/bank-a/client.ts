/**
 * Bank A transport: sends bank A's requests to its simulated server over the simulated network
 * (latency, timeout, refused connections during outages). A real bank A client would send the same
 * objects over HTTPS and return the same TransportResult.
 */
import type { SimBank } from "../sim/sim-bank";
import { SimTransport, type SimClientOptions } from "../sim/transport";
import type { BankTransport } from "../wire-channel";
import type { BankAApi } from "./mapper";
import { bankASimServer } from "./sim-server";

export function createBankAClient(bank: SimBank, opts: SimClientOptions = {}): BankTransport<BankAApi> {
  return new SimTransport<BankAApi>(bank, bankASimServer(bank), opts);
}
