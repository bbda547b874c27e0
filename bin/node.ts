/**
 * Starting a RepayMesh node: the project's own start function, used by `npm start`, the cluster
 * containers and the tests alike.
 */
import { ServiceBroker, type BrokerOptions, type ServiceSchema } from "moleculer";
import { ConfigError, loadConfig, type Config } from "../config";
import { brokerOptions } from "../moleculer.config";
import apiService from "../services/api.service";
import clockService from "../services/clock.service";
import orderSyncService from "../services/order-sync.service";
import rulesService from "../services/rules.service";
import scheduleService from "../services/schedule.service";
import signBindService from "../services/sign-bind.service";
import ledgerService from "../services/ledger.service";
import deductionExecutorService from "../services/deduction-executor.service";
import simBanksService from "../services/sim-banks.service";
import { channelsMiddleware } from "../mixins/messaging/channels";
import { simBanksDir } from "../mixins/channels.mixin";
import { mongoStoreMiddleware } from "../mixins/mongo-store";
import { lockDataDir } from "./data-lock";
import { startHealthServer, type HealthServer } from "./health";
import feeCalculatorService from "../services/fee-calculator.service";
import assetTransferService from "../services/asset-transfer.service";
import reconcilerService from "../services/reconciler.service";
import notifierService from "../services/notifier.service";
import webhooksService from "../services/webhooks.service";
import alertsService from "../services/alerts.service";

/** Every service this release ships, by name; SERVICES=… picks a subset. */
export const SERVICE_FACTORIES: Record<string, { factory: (cfg: Config) => ServiceSchema; ownsData: boolean }> = {
  clock: { factory: clockService, ownsData: true },
  rules: { factory: rulesService, ownsData: true },
  schedule: { factory: scheduleService, ownsData: true },
  "order-sync": { factory: orderSyncService, ownsData: true },
  "sign-bind": { factory: signBindService, ownsData: true },
  ledger: { factory: ledgerService, ownsData: true },
  "deduction-executor": { factory: (cfg) => deductionExecutorService(cfg), ownsData: false },
  "fee-calculator": { factory: (cfg) => feeCalculatorService(cfg), ownsData: false },
  "asset-transfer": { factory: assetTransferService, ownsData: true },
  reconciler: { factory: reconcilerService, ownsData: true },
  notifier: { factory: (cfg) => notifierService(cfg), ownsData: true },
  webhooks: { factory: webhooksService, ownsData: true },
  alerts: { factory: alertsService, ownsData: true },
  // Owns the simulated banks' state and journals (not the store): one node per cluster, whatever the
  // store — its own start refuses a second node in the mesh, and its journal folder is locked below.
  "sim-banks": { factory: simBanksService, ownsData: false },
  api: { factory: apiService, ownsData: false },
};

export function selectedServices(cfg: Config): string[] {
  const names = cfg.services ?? Object.keys(SERVICE_FACTORIES);
  for (const n of names) {
    if (!SERVICE_FACTORIES[n]) throw new ConfigError(`SERVICES names unknown service "${n}"; known: ${Object.keys(SERVICE_FACTORIES).join(", ")}`);
  }
  return names;
}

export { lockDataDir } from "./data-lock";

export interface RepayMeshNode {
  broker: ServiceBroker;
  config: Readonly<Config>;
  /** The gateway's bound port when this node runs the api service. */
  port?: number;
  /** The readiness endpoint's bound port when HEALTH_PORT is set (bin/health.ts). */
  healthPort?: number;
  stop(): Promise<void>;
}

export interface NodeExtras {
  /** Extra broker middlewares (tests inject crashes between steps with them). */
  middlewares?: BrokerOptions["middlewares"];
  /** Extra services started with the node (tests: consumers that must be there from the start). */
  services?: ServiceSchema[];
}

export function createBroker(cfg: Readonly<Config>, extras: NodeExtras = {}): { broker: ServiceBroker; release: () => void } {
  const names = selectedServices(cfg);
  const needsFileStore = !cfg.mongoUri && names.some((n) => SERVICE_FACTORIES[n].ownsData);
  const releaseData = needsFileStore ? lockDataDir(cfg.dataDir) : () => {};
  // The simulated banks' journals have one writer: the node that runs sim-banks (others reach it over the mesh).
  const banksDir = names.includes("sim-banks") ? simBanksDir(cfg) : undefined;
  let releaseBanks = () => {};
  try {
    if (banksDir) releaseBanks = lockDataDir(banksDir, "The simulated banks' journals have one writer: run sim-banks on one node only.");
  } catch (err) {
    releaseData();
    throw err;
  }
  const release = (): void => {
    releaseBanks();
    releaseData();
  };
  try {
    const options = brokerOptions(cfg);
    options.middlewares = [...(options.middlewares ?? []), channelsMiddleware(cfg)];
    // With MONGO_URI the node owns one store connection: open before any service starts, closed after all stop.
    if (cfg.mongoUri) options.middlewares.unshift(mongoStoreMiddleware(cfg.mongoUri));
    if (extras.middlewares?.length) options.middlewares = [...(options.middlewares ?? []), ...extras.middlewares];
    const broker = new ServiceBroker(options);
    for (const n of names) broker.createService(SERVICE_FACTORIES[n].factory(cfg));
    for (const schema of extras.services ?? []) broker.createService(schema);
    return { broker, release };
  } catch (err) {
    release();
    throw err;
  }
}

/** Start a node from an environment (default: process.env). */
export async function startNode(env: NodeJS.ProcessEnv = process.env, extras: NodeExtras = {}): Promise<RepayMeshNode> {
  const cfg = loadConfig(env);
  const { broker, release } = createBroker(cfg, extras);
  let stopped = false;
  let health: HealthServer | undefined;
  try {
    // Up before the services start: it answers 503 until the node is ready.
    if (cfg.healthPort !== undefined) {
      health = await startHealthServer(broker, cfg, cfg.healthPort, () => stopped).catch((err) => {
        throw new ConfigError(`HEALTH_PORT ${cfg.healthPort}: ${err?.message ?? err}`);
      });
    }
    await broker.start();
  } catch (err) {
    await broker.stop().catch(() => {});
    await health?.close();
    release();
    throw err;
  }
  let port: number | undefined;
  const api = broker.getLocalService("api") as any;
  if (api?.server) {
    port = api.server.address()?.port;
    // Serve every local route from the first request, not after the gateway's debounce.
    api.refreshAliases();
  }
  return {
    broker,
    config: cfg,
    port,
    healthPort: health?.port,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await broker.stop();
      } finally {
        await health?.close();
        release();
      }
    },
  };
}
