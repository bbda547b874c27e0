/**
 * The simulated SMS provider: deterministic, in memory. Every message "sent" lands in an outbox
 * (tests and demos read it through `notifier.simSent`); the same messageId twice is one message.
 * `failNext(n)` makes the next n sends fail (tests of the retry path).
 */
import type { SmsProvider, SmsSendRequest, SmsSendResult } from "./provider";

export interface SimSmsRecord {
  messageId: string;
  /** Masked: the outbox keeps no full number either. */
  toMasked: string;
  text: string;
  providerRef: string;
  seq: number;
}

export class SimSmsProvider implements SmsProvider {
  readonly name = "sim";
  private readonly sent = new Map<string, SimSmsRecord>();
  private seq = 0;
  private failures = 0;

  constructor(private readonly maxKept = 10_000) {}

  failNext(n: number): void {
    this.failures = Math.max(0, n);
  }

  async send(req: SmsSendRequest): Promise<SmsSendResult> {
    if (this.failures > 0) {
      this.failures--;
      return { status: "FAILED", error: "SIM_FAILURE: simulated provider failure" };
    }
    if (!/^\+?\d{6,16}$/.test(req.to)) return { status: "FAILED", error: "INVALID_NUMBER: not a mobile number" };
    const known = this.sent.get(req.messageId);
    if (known) return { status: "SENT", providerRef: known.providerRef };
    this.seq++;
    const record: SimSmsRecord = { messageId: req.messageId, toMasked: "*".repeat(Math.max(0, req.to.length - 4)) + req.to.slice(-4), text: req.text, providerRef: `SIM-${String(this.seq).padStart(8, "0")}`, seq: this.seq };
    this.sent.set(req.messageId, record);
    if (this.sent.size > this.maxKept) this.sent.delete(this.sent.keys().next().value as string);
    return { status: "SENT", providerRef: record.providerRef };
  }

  /** What was sent, oldest first. */
  outbox(): SimSmsRecord[] {
    return [...this.sent.values()].sort((a, b) => a.seq - b.seq);
  }
}
