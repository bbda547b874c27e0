/**
 * A simulated bank reached over a remote line (the Moleculer mesh: the sim-banks service on the
 * one node that keeps the banks), as a real bank is reached over HTTPS. The request is the bank's
 * own wire request, built by its mapper; the answer is its own wire answer. Only the line differs
 * from the in-process SimTransport, and its failures are reported in the same three ways:
 *
 *  - the bank's end refused the connection (outage, no such service) → `sent: false`;
 *  - the line could not take the request at all (no node offers the bank) → `sent: false`;
 *  - the line failed after the request went out (time-out, the bank's node lost) → `sent: true`.
 *
 * No Moleculer here: the line (send + how to read its failures) is given by the mixin that builds it.
 */
import type { BankApi, BankTransport, Operation, TransportResult } from "../wire-channel";
import { checkTimeout, DEFAULT_TIMEOUT_MS, type SimBankEndpoint } from "./transport";

/** One request over the line: which bank, which service, the bank's own wire request. */
export interface BankCallParams {
  code: string;
  op: Operation;
  req: unknown;
}

/** The bank's end answers: refused before processing, its wire answer, or an internal error after accepting. */
export type BankCallAnswer = { refused: string } | { ok: true; body: unknown } | { ok: false; message: string };

export const OPERATIONS: readonly Operation[] = Object.freeze(["sign", "confirm", "debit", "payout", "query", "statement"]);

export interface RemoteLine {
  /** Send one request and wait at most `timeoutMs` for its answer; rejects when the line fails. */
  send(params: BankCallParams, timeoutMs: number): Promise<BankCallAnswer>;
  /** Read a rejection of `send`: `sent: false` only when it is certain the request never left. */
  failure(err: unknown): { sent: boolean; message: string };
}

export class RemoteTransport<A extends BankApi> implements BankTransport<A> {
  private readonly timeoutMs: number;

  constructor(
    private readonly code: string,
    private readonly line: RemoteLine,
    opts: { timeoutMs?: number } = {},
  ) {
    this.timeoutMs = checkTimeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  async call<K extends Operation>(op: K, req: A[K]["req"]): Promise<TransportResult<A[K]["res"]>> {
    let answer: BankCallAnswer;
    try {
      answer = await this.line.send({ code: this.code, op, req }, this.timeoutMs);
    } catch (err) {
      const f = this.line.failure(err);
      return f.sent ? { ok: false, sent: true, message: f.message } : { ok: false, sent: false, message: f.message };
    }
    if (typeof answer === "object" && answer !== null) {
      if ("refused" in answer && typeof answer.refused === "string") return { ok: false, sent: false, message: answer.refused };
      if ("ok" in answer && answer.ok === true) return { ok: true, body: answer.body as A[K]["res"] };
      if ("ok" in answer && answer.ok === false) return { ok: false, sent: true, message: String(answer.message) };
    }
    // Something answered, but not in the line's shape: the request may have been processed.
    return { ok: false, sent: true, message: `unreadable answer from the line to ${this.code}` };
  }
}

/** The bank's end of a remote line: one request through the bank's endpoint (with its simulated latency). */
export async function answerBankCall(endpoint: SimBankEndpoint, op: Operation, req: unknown): Promise<BankCallAnswer> {
  const line = endpoint.exchange(op, req as never);
  if ("refused" in line) return { refused: line.refused };
  const r = await line.answer;
  return r.ok ? { ok: true, body: r.body } : { ok: false, message: r.message };
}
