/**
 * Durable upstream messages: @moleculer/channels on NATS JetStream when the transporter is NATS
 * (acknowledged, redelivered, dead-lettered to DEAD_LETTER), the in-process adapter otherwise.
 * Every outbox event is sent to one channel, EVENTS_CHANNEL, as an EventEnvelope; each consuming
 * service subscribes with its own group, so each gets every event once (at least once: dedupe by id).
 */
import { createRequire } from "node:module";
import type { Middleware } from "moleculer";
import type { Config } from "../../config";
import { InProcessAdapter } from "./in-process-adapter";

const require_ = createRequire(__filename);
const Channels = require_("@moleculer/channels");

export { EVENTS_CHANNEL, type EventEnvelope } from "../../contracts/events.contract";

export function channelsMiddleware(cfg: Readonly<Config>): Middleware {
  const nats = cfg.transporter && /^nats:\/\//.test(cfg.transporter);
  const adapter = nats
    ? {
        type: "NATS",
        options: {
          nats: { url: cfg.transporter, connectionOptions: {}, streamConfig: {}, consumerOptions: { config: { deliver_policy: "new", ack_policy: "explicit", max_ack_pending: 1000 } } },
          maxRetries: 5,
          maxInFlight: 20,
          deadLettering: { enabled: true, queueName: "DEAD_LETTER" },
        },
      }
    : new InProcessAdapter({ maxRetries: 5, retryBaseMs: cfg.channelRetryMs });
  const mw = Channels.Middleware({ adapter, sendMethodName: "sendToChannel", adapterPropertyName: "channelAdapter", schemaProperty: "channels", channelHandlerTrigger: "emitLocalChannelHandler" });
  // `broker.channelsReady` resolves once every consumer of this node is subscribed — after the
  // services' own `started` hooks and `$broker.started` (the outbox's first sweep waits for it).
  let ready!: () => void;
  const channelsReady = new Promise<void>((resolve) => (ready = resolve));
  const { created, started } = mw;
  mw.created = function (this: unknown, broker: any) {
    broker.channelsReady = channelsReady;
    return created.call(this, broker);
  };
  mw.started = async function (this: unknown, ...args: unknown[]) {
    await started.apply(this, args);
    ready();
  };
  return mw as Middleware;
}
