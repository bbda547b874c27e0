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

const registry = new Map<string, { channels: Map<string, PaymentChannel>; banks: Map<string, any> }>();

export function channelsFor(cfg: Config) {
  const key = `${cfg.simBanksDir ?? cfg.dataDir}|${cfg.storePrefix}|${cfg.simSeed}`;
  let set = registry.get(key);
  if (!set) {
    set = createSimChannels({ seed: cfg.simSeed, dataDir: cfg.simBanksDir ?? path.join(cfg.dataDir, "banks", cfg.storePrefix || "default") });
    registry.set(key, set);
  }
  return set;
}

/** Forget the process's simulated banks for a data folder (tests that start over). */
export function dropChannels(cfg: Config) {
  registry.delete(`${cfg.simBanksDir ?? cfg.dataDir}|${cfg.storePrefix}|${cfg.simSeed}`);
}

export function ChannelsMixin(cfg: Config): Partial<ServiceSchema> {
  return {
    created(this: any) {
      const set = channelsFor(cfg);
      this.channels = set.channels;
      this.simBanks = set.banks;
    },
  } as Partial<ServiceSchema>;
}
