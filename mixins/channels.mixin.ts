/**
 * Gives a service `this.channels` (code → PaymentChannel). This release ships simulated banks A–D,
 * and there is ONE of each for the whole cluster: the node that runs the `sim-banks` service keeps
 * them (their state and their journals under DATA_DIR/banks or SIM_BANKS_DIR), and every other node
 * reaches them over the mesh (`sim-banks.bankCall`, carrying each bank's own wire request through
 * that bank's client and mapper, as a real bank is reached over HTTPS).
 *
 *  - A node that runs sim-banks (embedded mode: every service in one process) talks to the banks in
 *    process: one set per process and data folder, shared by every service of the node (`this.simBanks`
 *    is that set, for tests and demos).
 *  - Any other node: channels over the mesh; `this.simBanks` is empty. The line's failures map to the
 *    channel's kinds: no node offers the banks (ServiceNotFound / ServiceNotAvailable: provably not
 *    sent) → UNAVAILABLE; a time-out or the bank's node lost after sending → UNKNOWN (for a query:
 *    no answer either way).
 */
import path from "node:path";
import { Errors, type ServiceBroker, type ServiceSchema } from "moleculer";
import type { Config } from "../config";
import type { PaymentChannel } from "../channels/channel";
import {
  createRemoteSimChannels,
  createSimChannels,
  type BankCallAnswer,
  type BankCallParams,
  type RemoteLine,
  type SimBank,
  type SimBankEndpoint,
} from "../channels";

type ChannelSet = {
  channels: Map<string, PaymentChannel>;
  banks: Map<string, SimBank>;
  endpoints: Map<string, SimBankEndpoint>;
  clock: { nowMs(): number } | null;
};
const registry = new Map<string, ChannelSet>();
const remote = new WeakMap<ServiceBroker, Map<string, PaymentChannel>>();

/** The mesh action that carries a bank's wire request to the node that keeps the banks. */
export const BANK_CALL_ACTION = "sim-banks.bankCall";
/** Answers larger than this come back as a stream of their JSON text (chunked by the transporter). */
export const LARGE_ANSWER_BYTES = 128 * 1024;

/** Does this node keep the simulated banks (it runs the sim-banks service)? */
export function keepsSimBanks(cfg: Config): boolean {
  return !cfg.services || cfg.services.includes("sim-banks");
}

/** Where the banks' journals go on the node that keeps them (undefined: memory only). */
export function simBanksDir(cfg: Config): string | undefined {
  if (!cfg.simJournal) return undefined;
  return cfg.simBanksDir ?? path.join(cfg.dataDir, "banks", cfg.storePrefix || "default");
}

/**
 * The banks of the node that keeps them. They read the business clock of the node (so a test clock
 * moves their days, statements and settle delays too); real time until a service with a clock has started.
 */
export function channelsFor(cfg: Config): ChannelSet {
  const dir = simBanksDir(cfg);
  const key = `${dir ?? "memory:" + cfg.dataDir}|${cfg.storePrefix}|${cfg.simSeed}`;
  let set = registry.get(key);
  if (!set) {
    const holder = { clock: null as ChannelSet["clock"] };
    const sim = createSimChannels({
      seed: cfg.simSeed,
      ...(dir ? { dataDir: dir } : {}),
      now: () => (holder.clock ? holder.clock.nowMs() : Date.now()),
    });
    set = Object.assign(holder, sim);
    registry.set(key, set);
  }
  return set;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isReadable(v: unknown): v is NodeJS.ReadableStream {
  return typeof v === "object" && v !== null && typeof (v as { pipe?: unknown }).pipe === "function" && typeof (v as { on?: unknown }).on === "function";
}

/** A large answer streamed back: its JSON text, read whole within the time left. */
function readAnswer(stream: NodeJS.ReadableStream, timeoutMs: number): Promise<BankCallAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      reject(new Errors.RequestTimeoutError({ action: BANK_CALL_ACTION, nodeID: "" }));
    }, timeoutMs);
    stream.on("data", (c: Buffer | string) => chunks.push(typeof c === "string" ? Buffer.from(c) : c));
    stream.on("error", (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.on("end", () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as BankCallAnswer);
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** The line to the banks over the mesh. */
export function meshLine(broker: ServiceBroker): RemoteLine {
  return {
    // Not tracked on our side: after a time-out Moleculer drops the pending request, so a tracked
    // context would never end and hold up this node's graceful stop (the caller's own action is tracked).
    async send(params, timeoutMs) {
      const res = await broker.call<unknown, BankCallParams>(BANK_CALL_ACTION, params, { timeout: timeoutMs, tracking: false });
      return isReadable(res) ? readAnswer(res, timeoutMs) : (res as BankCallAnswer);
    },
    failure(err) {
      // Raised before anything is sent: no node offers the banks (or the one we picked no longer does).
      if (err instanceof Errors.ServiceNotFoundError || err instanceof Errors.ServiceNotAvailableError) {
        return { sent: false, message: `the simulated banks are not reachable: ${messageOf(err)}` };
      }
      if (err instanceof Errors.RequestTimeoutError) return { sent: true, message: `no answer from the simulated banks in time: ${messageOf(err)}` };
      // The banks' node went away with our request pending, or anything else: it may have been processed.
      return { sent: true, message: `the line to the simulated banks failed after sending: ${messageOf(err)}` };
    },
  };
}

/** The channels of a node that does not keep the banks: one set per broker. */
export function meshChannelsFor(broker: ServiceBroker, opts: { timeoutMs?: number } = {}): Map<string, PaymentChannel> {
  let set = remote.get(broker);
  if (!set) {
    set = createRemoteSimChannels({ line: meshLine(broker), ...opts });
    remote.set(broker, set);
  }
  return set;
}

export function ChannelsMixin(cfg: Config): Partial<ServiceSchema> {
  return {
    created(this: any) {
      if (keepsSimBanks(cfg)) {
        const set = channelsFor(cfg);
        this.channels = set.channels;
        this.simBanks = set.banks;
        this.simEndpoints = set.endpoints;
      } else {
        this.channels = meshChannelsFor(this.broker);
        this.simBanks = new Map();
        this.simEndpoints = new Map();
      }
    },
    started(this: any) {
      if (keepsSimBanks(cfg) && this.clock) channelsFor(cfg).clock = this.clock;
    },
  } as Partial<ServiceSchema>;
}
