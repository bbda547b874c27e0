/**
 * Gives a service `this.channels` (code → PaymentChannel). This release ships simulated banks A–D;
 * one set per node process and data folder, so sign-bind and the executor on a node talk to the
 * same banks, and their journals (under DATA_DIR/banks) survive our restarts as a real bank would.
 */
import path from "node:path";
import type { ServiceSchema } from "moleculer";
import type { Config } from "../config";
import type { PaymentChannel } from "../channels/channel";
import { createSimChannels } from "../channels";

type ChannelSet = { channels: Map<string, PaymentChannel>; banks: Map<string, any>; clock: { nowMs(): number } | null };
const registry = new Map<string, ChannelSet>();

/**
 * The simulated banks read the business clock of the node (so a test clock moves their days,
 * statements and settle delays too); real time until a service with a clock has started.
 */
export function channelsFor(cfg: Config): ChannelSet {
  const key = `${cfg.simBanksDir ?? cfg.dataDir}|${cfg.storePrefix}|${cfg.simSeed}`;
  let set = registry.get(key);
  if (!set) {
    const holder: ChannelSet = { channels: new Map(), banks: new Map(), clock: null };
    const sim = createSimChannels({
      seed: cfg.simSeed,
      ...(cfg.simJournal ? { dataDir: cfg.simBanksDir ?? path.join(cfg.dataDir, "banks", cfg.storePrefix || "default") } : {}),
      now: () => (holder.clock ? holder.clock.nowMs() : Date.now()),
    });
    set = Object.assign(holder, sim);
    registry.set(key, set);
  }
  return set;
}


export function ChannelsMixin(cfg: Config): Partial<ServiceSchema> {
  return {
    created(this: any) {
      const set = channelsFor(cfg);
      this.channels = set.channels;
      this.simBanks = set.banks;
    },
    started(this: any) {
      const set = channelsFor(cfg);
      if (this.clock) set.clock = this.clock;
    },
  } as Partial<ServiceSchema>;
}
