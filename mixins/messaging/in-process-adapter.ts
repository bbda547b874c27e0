/**
 * The embedded mode's @moleculer/channels adapter: in-process (over the broker's local events, like
 * the library's Fake adapter) but acknowledged, retried and dead-lettered like the JetStream one — a
 * handler that throws is called again after a doubling back-off until it has been called
 * `maxRetries` times in all (the library's JetStream meaning: deliveries, not re-deliveries); then
 * the message goes to the dead-letter list (kept in memory, logged, `channels.dead_letter`).
 * Durability is not its job: the outbox keeps every event until it was handed over.
 */
import { createRequire } from "node:module";

const require_ = createRequire(__filename);
// The library ships CommonJS without usable typings for its adapters.
const FakeAdapter = require_("@moleculer/channels/src/adapters/fake");

export interface DeadLetter {
  channel: string;
  group: string;
  payload: unknown;
  error: string;
  attempts: number;
  at: string;
}

export class InProcessAdapter extends FakeAdapter {
  deadLetters: DeadLetter[] = [];
  retryBaseMs: number;

  constructor(opts: { maxRetries?: number; retryBaseMs?: number } = {}) {
    super({ maxRetries: opts.maxRetries ?? 5, deadLettering: { enabled: true, queueName: "DEAD_LETTER" } });
    this.retryBaseMs = opts.retryBaseMs ?? 100;
  }

  /** Subscribed means delivered to: wait until the handler service is registered (it starts asynchronously on a running broker). */
  async subscribe(chan: any, svc: any): Promise<void> {
    await super.subscribe(chan, svc);
    if (this.broker.started) await this.broker.waitForServices([`${this.opts.servicePrefix}:${svc.fullName}:${chan.name}:${chan.group}`], 10_000);
  }

  async processMessage(chan: any, ctx: any): Promise<void> {
    const { payload } = ctx.params;
    const id = ctx.id;
    this.addChannelActiveMessages(chan.id, [id]);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await chan.handler(payload, ctx.params);
          return;
        } catch (err: any) {
          const deliveries = Math.max(chan.maxRetries ?? 1, 1);
          if (attempt >= deliveries || this.stopping) {
            const dead: DeadLetter = { channel: chan.name, group: chan.group, payload, error: String(err?.message ?? err), attempts: attempt, at: new Date().toISOString() };
            this.deadLetters.push(dead);
            if (this.deadLetters.length > 1000) this.deadLetters.shift();
            this.logger.error(`Message on '${chan.name}' (group ${chan.group}) dead-lettered after ${attempt} attempts: ${dead.error}`);
            this.broker.emit("channels.dead_letter", dead);
            return;
          }
          await new Promise((r) => setTimeout(r, this.retryBaseMs * 2 ** (attempt - 1)));
        }
      }
    } finally {
      this.removeChannelActiveMessages(chan.id, [id]);
    }
  }

  async disconnect(): Promise<void> {
    this.stopping = true;
    await super.disconnect();
  }
}
