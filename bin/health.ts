/**
 * A node's readiness — one notion, answered at HEALTH_PORT's `GET /ready` and, on a node that runs
 * the gateway, at `GET /api/v1/ready`: 200 once the broker has started, every service SERVICES names
 * is registered locally, its transporter is connected (cluster mode), its store connection answers a
 * ping (MONGO_URI) and — with the gateway — every REST route of the available services is served
 * (aliases built) and in the OpenAPI document; 503 with what is missing otherwise (starting,
 * stopping, the NATS connection lost, the MongoDB server unreachable, routes not built yet).
 * Container health checks, the local cluster and the tests' waiting helpers use it.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ServiceBroker } from "moleculer";
import type { Config } from "../config";
import { brokerMongo } from "../mixins/mongo-store";
import type { GatewayGaps } from "../services/api.readiness";

export interface Readiness {
  ready: boolean;
  nodeID: string;
  broker: "starting" | "started" | "stopping";
  transporter: "none" | "connected" | "disconnected";
  store: "file" | "open" | "unreachable";
  /** The services this node runs. */
  services: string[];
  /** What keeps it from being ready (empty lists when ready). */
  missing: {
    /** Services SERVICES names that are not registered (started) locally. */
    services: string[];
    /** With the gateway: REST routes of available services not served yet (METHOD /path). */
    routes: string[];
    /** With the gateway: REST routes missing from the OpenAPI document. */
    openapi: string[];
  };
}

const PING_TIMEOUT_MS = 2000;

async function storeAnswers(broker: ServiceBroker): Promise<boolean> {
  const conn = brokerMongo(broker);
  if (conn.state !== "open") return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      conn
        .db()
        .command({ ping: 1 })
        .then((r) => r?.ok === 1),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS))),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Is the transporter's server there now? Moleculer's flag stays up while the NATS client reconnects,
 * so ask the client for a round trip (rtt: PING/PONG with the server, refused at once while disconnected).
 */
async function transporterAnswers(transit: { connected: boolean; tx?: unknown }): Promise<boolean> {
  if (!transit.connected) return false;
  const client = (transit.tx as { client?: { rtt?: () => Promise<number> } } | undefined)?.client;
  if (typeof client?.rtt !== "function") return true;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      client.rtt().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS))),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export async function readiness(broker: ServiceBroker, cfg: Readonly<Config>, stopping = false): Promise<Readiness> {
  const b = broker as ServiceBroker & { started?: boolean; stopping?: boolean; transit?: { connected: boolean } };
  const state: Readiness["broker"] = stopping || b.stopping ? "stopping" : b.started ? "started" : "starting";
  const transporter: Readiness["transporter"] = !b.transit ? "none" : (await transporterAnswers(b.transit)) ? "connected" : "disconnected";
  const store: Readiness["store"] = !cfg.mongoUri ? "file" : state === "started" && (await storeAnswers(broker)) ? "open" : "unreachable";
  // SERVICES, or (unset) every service this broker was given.
  const expected = cfg.services ?? broker.services.map((s) => s.name).filter((n) => !n.startsWith("$"));
  const registered = new Set(
    (broker.registry.getServiceList({ onlyLocal: true, onlyAvailable: true, skipInternal: true }) as Array<{ name: string }>).map((s) => s.name),
  );
  const missing: Readiness["missing"] = { services: expected.filter((n) => !registered.has(n)).sort(), routes: [], openapi: [] };
  const api = broker.getLocalService("api") as { gatewayGaps?: () => GatewayGaps } | undefined;
  if (typeof api?.gatewayGaps === "function") Object.assign(missing, api.gatewayGaps());
  const complete = !missing.services.length && !missing.routes.length && !missing.openapi.length;
  return {
    ready: state === "started" && transporter !== "disconnected" && store !== "unreachable" && complete,
    nodeID: broker.nodeID,
    broker: state,
    transporter,
    store,
    services: broker.services.map((s) => s.name).filter((n) => !n.startsWith("$")).sort(),
    missing,
  };
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** Listen on `port` (0: any free port) of `host`; `isStopping` turns the answer to 503 as soon as the node begins to stop. */
export async function startHealthServer(broker: ServiceBroker, cfg: Readonly<Config>, port: number, isStopping: () => boolean): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? "").split("?")[0];
    if ((req.method !== "GET" && req.method !== "HEAD") || url !== "/ready") {
      res.writeHead(404, { "Content-Type": "application/json; charset=utf-8" });
      res.end(JSON.stringify({ code: "NOT_FOUND", message: "GET /ready" }));
      return;
    }
    readiness(broker, cfg, isStopping()).then(
      (r) => {
        res.writeHead(r.ready ? 200 : 503, { "Content-Type": "application/json; charset=utf-8" });
        res.end(req.method === "HEAD" ? undefined : JSON.stringify(r));
      },
      () => {
        res.writeHead(503);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, cfg.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
