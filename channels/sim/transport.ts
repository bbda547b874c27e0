/**
 * The "network" between our client and a simulated bank, in two halves:
 *
 *  - SimBankEndpoint is the bank's end of the line: a request is refused at once when the bank is
 *    down (connection refused: provably nothing sent) or offers no such service; otherwise it is
 *    serialised, travels for half the drawn latency, the bank handles it (synchronously, so its
 *    state changes are atomic) and the answer travels back for the other half. One endpoint per
 *    bank: the sim-banks service answers every node's requests through it (over the mesh), and the
 *    in-process client of the node that runs the banks uses the same one.
 *  - SimTransport is our in-process client: it calls the endpoint directly, with a per-call timeout
 *    that ends the wait with `sent: true` (the request may still arrive and be processed, exactly like
 *    a real timeout).
 *
 * Latency is drawn from the bank's seed and a per-endpoint call counter, so a run is repeatable.
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

export const DEFAULT_TIMEOUT_MS = 10_000;

/** What the bank's end of the line does with one request. */
export type LineAnswer<Res> =
  /** Refused before anything reached the bank (connection refused, no such service). */
  | { refused: string }
  /** Accepted on the line: `answer` settles after `latencyMs` (the whole round trip). */
  | { latencyMs: number; answer: Promise<{ ok: true; body: Res } | { ok: false; sent: true; message: string }> };

function after(ms: number, fn: () => void): void {
  if (ms > 0) setTimeout(fn, ms);
  else fn();
}

export function checkTimeout(timeoutMs: number): number {
  if (!(Number.isInteger(timeoutMs) && timeoutMs > 0)) throw new RangeError("timeoutMs must be a positive integer");
  return timeoutMs;
}

export class SimBankEndpoint<A extends BankApi = BankApi> {
  private calls = 0;

  constructor(
    readonly bank: SimBank,
    private readonly server: SimServer<A>,
  ) {}

  get code(): string {
    return this.bank.code;
  }

  exchange<K extends Operation>(op: K, req: A[K]["req"]): LineAnswer<A[K]["res"]> {
    const handler = this.server[op] as ((r: A[K]["req"]) => A[K]["res"]) | undefined;
    if (!handler) return { refused: `${this.bank.code} offers no ${op} service` };
    if (this.bank.isDown()) return { refused: `connection refused by ${this.bank.code}` };
    const payload = JSON.stringify(req);
    const { seed, code, latencyMs } = this.bank.config;
    const total = between(rngFor(seed, code, "latency", String(this.calls++))(), latencyMs.min, latencyMs.max);
    const up = Math.floor(total / 2);
    const down = total - up;
    const answer = new Promise<{ ok: true; body: A[K]["res"] } | { ok: false; sent: true; message: string }>((resolve) => {
      after(up, () => {
        let text: string | undefined;
        let failure = "";
        try {
          text = JSON.stringify(handler(JSON.parse(payload) as A[K]["req"]));
        } catch (err) {
          failure = `HTTP 500 from ${this.bank.code}: ${(err as Error).message}`;
        }
        after(down, () => resolve(text === undefined ? { ok: false, sent: true, message: failure } : { ok: true, body: JSON.parse(text) as A[K]["res"] }));
      });
    });
    return { latencyMs: total, answer };
  }
}

/** The in-process client: straight to the bank's endpoint, with our timeout. */
export class SimTransport<A extends BankApi> implements BankTransport<A> {
  private readonly timeoutMs: number;
  private readonly endpoint: SimBankEndpoint<A>;

  constructor(bankOrEndpoint: SimBank | SimBankEndpoint<A>, server: SimServer<A> | undefined, opts: SimClientOptions = {}) {
    this.timeoutMs = checkTimeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    if (bankOrEndpoint instanceof SimBankEndpoint) this.endpoint = bankOrEndpoint;
    else if (server) this.endpoint = new SimBankEndpoint<A>(bankOrEndpoint, server);
    else throw new RangeError("a SimBank needs its server");
  }

  call<K extends Operation>(op: K, req: A[K]["req"]): Promise<TransportResult<A[K]["res"]>> {
    const line = this.endpoint.exchange(op, req);
    if ("refused" in line) return Promise.resolve({ ok: false, sent: false, message: line.refused });
    if (line.latencyMs < this.timeoutMs) return line.answer;
    // We stop waiting; the request still arrives and the bank still acts on it.
    void line.answer.catch(() => undefined);
    return new Promise((resolve) => setTimeout(() => resolve({ ok: false, sent: true, message: `no answer within ${this.timeoutMs} ms` }), this.timeoutMs));
  }
}
