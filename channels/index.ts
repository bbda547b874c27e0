/**
 * The simulated banks A–D that ship with RepayMesh, wired as PaymentChannels.
 *
 *   const { channels, banks } = createSimChannels({ seed: "demo", dataDir: "./data/banks",
 *     defaults: { successRate: 1, unknownRate: 0 } });
 *
 * `channels` is what the rest of the system uses (the PaymentChannel interface only); `banks` is
 * the banks' own side, for tests, demos and ops: open accounts, set balances, freeze cards, start
 * an outage, change success rates at run time (`bank.configure({...})`).
 *
 * Configuration precedence: profile of the bank (limits, fees) < `defaults` < `overrides[code]`.
 * Objects (limits, fees, failureMix, latencyMs) are replaced whole, not merged.
 */
import * as path from "node:path";
import type { ChannelCode, PaymentChannel } from "./channel";
import { createBankAChannel } from "./bank-a";
import { createBankBChannel } from "./bank-b";
import { createBankCChannel } from "./bank-c";
import { createBankDChannel } from "./bank-d";
import { SimBank, type SimBankConfig } from "./sim/sim-bank";
import type { SimClientOptions } from "./sim/transport";

export * from "./channel";
export { SimBank, SIM_BANK_DEFAULTS, SIM_CODES } from "./sim/sim-bank";
export type { SimBankConfig, SimBankInit, SimBankPatch, SimCode, SimTradeRecord, SimTradeResult, FailureKind, OutageWindow } from "./sim/sim-bank";

type SimBankProfile = {
  create: (bank: SimBank, opts: SimClientOptions) => PaymentChannel;
  config: Partial<SimBankConfig>;
};

/** The four simulated banks, with limits and fees like the default CHANNEL_SETTINGS rule. */
export const SIM_BANK_PROFILES: Readonly<Record<"BANK_A" | "BANK_B" | "BANK_C" | "BANK_D", SimBankProfile>> = Object.freeze({
  BANK_A: {
    create: createBankAChannel,
    config: { limits: { perTransaction: "50000.00", perDay: "5000000.00", perCardPerDay: 2 }, fees: { fixed: "0.50" } },
  },
  BANK_B: {
    create: createBankBChannel,
    config: { limits: { perTransaction: "20000.00", perDay: "2000000.00", perCardPerDay: 2 }, fees: { rate: "0.001" } },
  },
  BANK_C: {
    create: createBankCChannel,
    config: { limits: { perTransaction: "100000.00" }, fees: { fixed: "1.00" } },
  },
  BANK_D: {
    create: createBankDChannel,
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

export function createSimChannels(opts: SimChannelsOptions): { channels: Map<ChannelCode, PaymentChannel>; banks: Map<ChannelCode, SimBank> } {
  const channels = new Map<ChannelCode, PaymentChannel>();
  const banks = new Map<ChannelCode, SimBank>();
  const codes = opts.codes ?? SIM_BANK_CODES;
  for (const code of codes) {
    const profile = (SIM_BANK_PROFILES as Record<string, SimBankProfile | undefined>)[code];
    if (!profile) throw new RangeError(`no simulated bank ${code}; known: ${SIM_BANK_CODES.join(", ")}`);
    const config = { ...profile.config, ...opts.defaults, ...opts.overrides?.[code] };
    const bank = new SimBank({
      ...config,
      code,
      seed: opts.seed,
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.dataDir ? { journalFile: path.join(opts.dataDir, `sim-${code.toLowerCase()}.jsonl`) } : {}),
    });
    banks.set(code, bank);
    channels.set(code, profile.create(bank, opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}));
  }
  return { channels, banks };
}
