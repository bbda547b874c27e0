/**
 * A business service's own broker, joining RepayMesh's NATS mesh. What it must share with
 * RepayMesh: the namespace (`repaymesh`; a broker in another namespace never sees its services),
 * the transporter, and — for durable events — @moleculer/channels on the same NATS JetStream.
 */
import { ServiceBroker, type BrokerOptions } from "moleculer";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Channels = require("@moleculer/channels");

export const REPAYMESH_NAMESPACE = "repaymesh";

export function lenderBroker(opts: { natsUrl: string; nodeID?: string; logLevel?: BrokerOptions["logLevel"] }): ServiceBroker {
  return new ServiceBroker({
    namespace: REPAYMESH_NAMESPACE,
    nodeID: opts.nodeID ?? `lender-${process.pid}`,
    transporter: opts.natsUrl as BrokerOptions["transporter"],
    logLevel: opts.logLevel ?? "warn",
    // RepayMesh answers most calls in milliseconds; a sync that generates a long plan takes longer.
    requestTimeout: 30_000,
    middlewares: [
      Channels.Middleware({
        adapter: {
          type: "NATS",
          options: {
            nats: { url: opts.natsUrl, connectionOptions: {}, streamConfig: {}, consumerOptions: { config: { deliver_policy: "new", ack_policy: "explicit" } } },
            maxRetries: 5,
            deadLettering: { enabled: true, queueName: "DEAD_LETTER" },
          },
        },
      }),
    ],
  });
}
