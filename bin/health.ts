/**
 * A node's readiness endpoint (HEALTH_PORT): `GET /ready` answers 200 once the broker has started
 * every service of the node, its transporter is connected (cluster mode) and its store connection
 * answers a ping (MONGO_URI); 503 with the failing check otherwise (starting, stopping, the NATS
 * connection lost, the MongoDB server unreachable). For nodes without the gateway (core, worker,
 * executor), whose only other door is the mesh: container health checks and the local cluster use it.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { ServiceBroker } from "moleculer";
import type { Config } from "../config";
import { brokerMongo } from "../mixins/mongo-store";

export interface Readiness {
  ready: boolean;
  nodeID: string;
  broker: "starting" | "started" | "stopping";
  transporter: "none" | "connected" | "disconnected";
  store: "file" | "open" | "unreachable";
  /** The services this node runs. */
  services: string[];
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
  return {
    ready: state === "started" && transporter !== "disconnected" && store !== "unreachable",
    nodeID: broker.nodeID,
    broker: state,
    transporter,
    store,
    services: broker.services.map((s) => s.name).filter((n) => !n.startsWith("$")).sort(),
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
