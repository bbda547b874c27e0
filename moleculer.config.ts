/**
 * Broker options, from the typed configuration (config/index.ts). The same code runs embedded
 * (no transporter) and in a cluster (TRANSPORTER=nats://…); nothing in business code checks which.
 */
import type { BrokerOptions } from "moleculer";
import type { Config } from "./config";
import { DomainErrorsMiddleware } from "./mixins/domain-errors.middleware";

export function brokerOptions(cfg: Config): BrokerOptions {
  return {
    namespace: "repaymesh",
    nodeID: cfg.nodeID,
    transporter: (cfg.transporter ?? null) as BrokerOptions["transporter"],
    logger: {
      type: "Console",
      options: { level: cfg.logLevel, formatter: cfg.logFormat, colors: cfg.logFormat !== "json", moduleColors: false },
    },
    requestTimeout: 30_000,
    dependencyInterval: 100,
    dependencyTimeout: 60_000,
    // Retries stay off: a retried call that moves money is the business code's decision, never the broker's.
    retryPolicy: { enabled: false },
    registry: { strategy: "RoundRobin", preferLocal: true },
    circuitBreaker: { enabled: false },
    // Off for actions; the embedded channel adapter turns it on per consumer (one message at a time,
    // in order) and its queue must not be bounded: a full queue would refuse events (the outbox
    // would publish them again, but only on its next sweep).
    bulkhead: { enabled: false, concurrency: 10, maxQueueSize: 0 },
    validator: true,
    errorHandler: undefined,
    heartbeatInterval: 5,
    heartbeatTimeout: 15,
    tracking: { enabled: true, shutdownTimeout: 10_000 },
    metrics: cfg.metrics
      ? { enabled: true, reporter: [{ type: "Prometheus", options: { port: cfg.metricsPort, path: "/metrics" } }] }
      : { enabled: false },
    tracing: { enabled: false },
    middlewares: [DomainErrorsMiddleware],
  };
}

export default brokerOptions;
