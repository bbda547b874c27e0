/**
 * The "network" between our client and a simulated bank: the request is serialised, travels for
 * half the drawn latency, the bank handles it (synchronously, so its state changes are atomic),
 * the answer travels back for the other half. A per-call timeout ends the wait with
 * `sent: true` (the request may still arrive and be processed, exactly like a real timeout). When
 * the bank is in an outage the connection is refused before anything is sent: `sent: false`.
 */
import type { BankApi, BankTransport, Operation, TransportResult } from "../wire-channel";
import type { SimBank } from "./sim-bank";
import { between, rngFor } from "./random";

/** The bank's side of the wire: one handler per service it offers. */
export type SimServer<A extends BankApi> = { [K in Operation]?: (req: A[K]["req"]) => A[K]["res"] };

export interface SimClientOptions {
  /** Our per-call timeout (ms). Default 10 000. */
  timeoutMs?: number;
}

function after(ms: number, fn: () => void): void {
  if (ms > 0) setTimeout(fn, ms);
  else fn();
}

export class SimTransport<A extends BankApi> implements BankTransport<A> {
  private calls = 0;
  private readonly timeoutMs: number;

  constructor(
    private readonly bank: SimBank,
    private readonly server: SimServer<A>,
    opts: SimClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    if (!(Number.isInteger(this.timeoutMs) && this.timeoutMs > 0)) throw new RangeError("timeoutMs must be a positive integer");
  }

  call<K extends Operation>(op: K, req: A[K]["req"]): Promise<TransportResult<A[K]["res"]>> {
    const handler = this.server[op] as ((r: A[K]["req"]) => A[K]["res"]) | undefined;
    if (!handler) return Promise.resolve({ ok: false, sent: false, message: `${this.bank.code} offers no ${op} service` });
    if (this.bank.isDown()) return Promise.resolve({ ok: false, sent: false, message: `connection refused by ${this.bank.code}` });
    const payload = JSON.stringify(req);
    const { seed, code, latencyMs } = this.bank.config;
    const total = between(rngFor(seed, code, "latency", String(this.calls++))(), latencyMs.min, latencyMs.max);
    const up = Math.floor(total / 2);
    const down = total - up;
    return new Promise((resolve) => {
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (r: TransportResult<A[K]["res"]>): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        resolve(r);
      };
      if (total >= this.timeoutMs) {
        timer = setTimeout(() => finish({ ok: false, sent: true, message: `no answer within ${this.timeoutMs} ms` }), this.timeoutMs);
      }
      after(up, () => {
        let answer: string | undefined;
        let failure = "";
        try {
          answer = JSON.stringify(handler(JSON.parse(payload) as A[K]["req"]));
        } catch (err) {
          failure = `HTTP 500 from ${this.bank.code}: ${(err as Error).message}`;
        }
        after(down, () =>
          finish(answer === undefined ? { ok: false, sent: true, message: failure } : { ok: true, body: JSON.parse(answer) as A[K]["res"] }),
        );
      });
    });
  }
}
