/**
 * The simulated banks A–D that ship with RepayMesh, wired as PaymentChannels.
 *
 *   const { channels, banks } = createSimChannels({ seed: "demo", dataDir: "./data/banks",
 *     defaults: { successRate: 1, unknownRate: 0 } });
 *
 * `channels` is what the rest of the system uses (the PaymentChannel interface only); `banks` is
 * the banks' own side, for tests, demos and ops: open accounts, set balances, freeze cards, start
 * an outage, change success rates at run time (`bank.configure({...})`); `endpoints` is each bank's
 * end of the line, which the sim-banks service answers other nodes through.
 *
 * A node that does not keep the banks reaches them with `createRemoteSimChannels({ line })`: the same
 * clients and mappers, the bank's own wire requests carried over a remote line (the mesh).
 *
 * Configuration precedence: profile of the bank (limits, fees) < `defaults` < `overrides[code]`.
 * Objects (limits, fees, failureMix, latencyMs) are replaced whole, not merged.
 */
import * as path from "node:path";
import type { ChannelCode, PaymentChannel } from "./channel";
import { bankAChannel, createBankAChannel } from "./bank-a";
import { bankBChannel, createBankBChannel } from "./bank-b";
import { bankCChannel, createBankCChannel } from "./bank-c";
import { bankDChannel, createBankDChannel } from "./bank-d";
import { bankAEndpoint } from "./bank-a/client";
import { bankBEndpoint } from "./bank-b/client";
import { bankCEndpoint } from "./bank-c/client";
import { bankDEndpoint } from "./bank-d/client";
import { SimBank, SIM_BANK_DEFAULTS, type SimBankConfig } from "./sim/sim-bank";
import type { SimBankEndpoint, SimClientOptions } from "./sim/transport";
import { RemoteTransport, type RemoteLine } from "./sim/remote";
import type { BankApi, ChannelSpec } from "./wire-channel";
import type { BankAApi } from "./bank-a/mapper";
import type { BankBApi } from "./bank-b/mapper";
import type { BankCApi } from "./bank-c/mapper";
import type { BankDApi } from "./bank-d/mapper";

export * from "./channel";
export { SimBank, SIM_BANK_DEFAULTS, SIM_CODES } from "./sim/sim-bank";
export type { SimBankConfig, SimBankInit, SimBankPatch, SimCode, SimTradeRecord, SimTradeResult, FailureKind, OutageWindow } from "./sim/sim-bank";
export { SimBankEndpoint } from "./sim/transport";
export { answerBankCall, OPERATIONS, RemoteTransport, type BankCallAnswer, type BankCallParams, type RemoteLine } from "./sim/remote";

type SimBankProfile = {
  /** The bank's end of the line, and the in-process channel straight to it. */
  local: (bank: SimBank, opts: SimClientOptions) => { endpoint: SimBankEndpoint; channel: PaymentChannel };
  /** The same channel (client + mapper) over a remote line. */
  remote: (spec: ChannelSpec, line: RemoteLine, opts: SimClientOptions) => PaymentChannel;
  config: Partial<SimBankConfig>;
};

/** One endpoint type for the registry: each bank's API is its own business, behind its endpoint. */
const anyEndpoint = <A extends BankApi>(e: SimBankEndpoint<A>): SimBankEndpoint => e as unknown as SimBankEndpoint;

/** The four simulated banks, with limits and fees like the default CHANNEL_SETTINGS rule. */
export const SIM_BANK_PROFILES: Readonly<Record<"BANK_A" | "BANK_B" | "BANK_C" | "BANK_D", SimBankProfile>> = Object.freeze({
  BANK_A: {
    local: (bank: SimBank, opts: SimClientOptions) => {
      const endpoint = bankAEndpoint(bank);
      return { endpoint: anyEndpoint(endpoint), channel: createBankAChannel(endpoint, opts) };
    },
    remote: (spec: ChannelSpec, line: RemoteLine, opts: SimClientOptions) => bankAChannel(spec, new RemoteTransport<BankAApi>(spec.code, line, opts)),
    config: { limits: { perTransaction: "50000.00", perDay: "5000000.00", perCardPerDay: 2 }, fees: { fixed: "0.50" } },
  },
  BANK_B: {
    local: (bank: SimBank, opts: SimClientOptions) => {
      const endpoint = bankBEndpoint(bank);
      return { endpoint: anyEndpoint(endpoint), channel: createBankBChannel(endpoint, opts) };
    },
    remote: (spec: ChannelSpec, line: RemoteLine, opts: SimClientOptions) => bankBChannel(spec, new RemoteTransport<BankBApi>(spec.code, line, opts)),
    config: { limits: { perTransaction: "20000.00", perDay: "2000000.00", perCardPerDay: 2 }, fees: { rate: "0.001" } },
  },
  BANK_C: {
    local: (bank: SimBank, opts: SimClientOptions) => {
      const endpoint = bankCEndpoint(bank);
      return { endpoint: anyEndpoint(endpoint), channel: createBankCChannel(endpoint, opts) };
    },
    remote: (spec: ChannelSpec, line: RemoteLine, opts: SimClientOptions) => bankCChannel(spec, new RemoteTransport<BankCApi>(spec.code, line, opts)),
    config: { limits: { perTransaction: "100000.00" }, fees: { fixed: "1.00" } },
  },
  BANK_D: {
    local: (bank: SimBank, opts: SimClientOptions) => {
      const endpoint = bankDEndpoint(bank);
      return { endpoint: anyEndpoint(endpoint), channel: createBankDChannel(endpoint, opts) };
    },
    remote: (spec: ChannelSpec, line: RemoteLine, opts: SimClientOptions) => bankDChannel(spec, new RemoteTransport<BankDApi>(spec.code, line, opts)),
    config: { limits: {}, fees: { fixed: "0.80" } },
  },
});

export const SIM_BANK_CODES: readonly ChannelCode[] = Object.freeze(Object.keys(SIM_BANK_PROFILES));

export interface SimChannelsOptions {
  seed: string;
  /** Journals (`sim-bank_a.jsonl`, …) go here so the banks survive our restarts; default memory only. */
  dataDir?: string;
  /** Applied to every bank (e.g. `{ successRate: 1, unknownRate: 0 }`). */
  defaults?: Partial<SimBankConfig>;
  overrides?: Partial<Record<ChannelCode, Partial<SimBankConfig>>>;
  now?: () => number;
  /** Our client's per-call timeout in ms (default 10 000). */
  timeoutMs?: number;
  /** Which banks to create (default all four). */
  codes?: readonly ChannelCode[];
}

function profileOf(code: ChannelCode): SimBankProfile {
  const p = (SIM_BANK_PROFILES as Record<string, SimBankProfile | undefined>)[code];
  if (!p) throw new RangeError(`no simulated bank ${code}; known: ${SIM_BANK_CODES.join(", ")}`);
  return p;
}

function configOf(code: ChannelCode, opts: Pick<SimChannelsOptions, "defaults" | "overrides">): Partial<SimBankConfig> {
  return { ...profileOf(code).config, ...opts.defaults, ...opts.overrides?.[code] };
}

export function createSimChannels(opts: SimChannelsOptions): {
  channels: Map<ChannelCode, PaymentChannel>;
  banks: Map<ChannelCode, SimBank>;
  endpoints: Map<ChannelCode, SimBankEndpoint>;
} {
  const channels = new Map<ChannelCode, PaymentChannel>();
  const banks = new Map<ChannelCode, SimBank>();
  const endpoints = new Map<ChannelCode, SimBankEndpoint>();
  for (const code of opts.codes ?? SIM_BANK_CODES) {
    const bank = new SimBank({
      ...configOf(code, opts),
      code,
      seed: opts.seed,
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.dataDir ? { journalFile: path.join(opts.dataDir, `sim-${code.toLowerCase()}.jsonl`) } : {}),
    });
    const { endpoint, channel } = profileOf(code).local(bank, opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {});
    banks.set(code, bank);
    endpoints.set(code, endpoint);
    channels.set(code, channel);
  }
  return { channels, banks, endpoints };
}

export interface RemoteSimChannelsOptions {
  /** The line to the node that keeps the banks. */
  line: RemoteLine;
  /** As for createSimChannels: only what the client side reads (limits, fees, zone). */
  defaults?: Partial<SimBankConfig>;
  overrides?: Partial<Record<ChannelCode, Partial<SimBankConfig>>>;
  timeoutMs?: number;
  codes?: readonly ChannelCode[];
}

/** The simulated banks' channels for a node that does not keep the banks: the same clients and mappers over a remote line. */
export function createRemoteSimChannels(opts: RemoteSimChannelsOptions): Map<ChannelCode, PaymentChannel> {
  const channels = new Map<ChannelCode, PaymentChannel>();
  for (const code of opts.codes ?? SIM_BANK_CODES) {
    const c = { ...SIM_BANK_DEFAULTS, ...configOf(code, opts) };
    const spec: ChannelSpec = { code, limits: c.limits, fees: c.fees, timeZone: c.timeZone };
    channels.set(code, profileOf(code).remote(spec, opts.line, opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}));
  }
  return channels;
}
