/**
 * A real SMS gateway behind a small HTTP adapter: POST {to, text, messageId} as JSON to the
 * configured URL with a time-out. 2xx = SENT (the body's `id` or `messageId`, when any, is the
 * provider's reference); anything else, a time-out or a network error = FAILED with the reason.
 * The number never appears in an error text.
 */
import type { SmsProvider, SmsSendRequest, SmsSendResult } from "./provider";

export interface HttpSmsOptions {
  url: string;
  timeoutMs?: number;
  headers?: Record<string, string>;
  fetchImpl?: typeof fetch;
}

export class HttpSmsProvider implements SmsProvider {
  readonly name = "http";
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: HttpSmsOptions) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.fetchImpl = opts.fetchImpl ?? fetch;
  }

  async send(req: SmsSendRequest): Promise<SmsSendResult> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.timeoutMs);
    try {
      const res = await this.fetchImpl(this.opts.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...(this.opts.headers ?? {}) },
        body: JSON.stringify({ to: req.to, text: req.text, messageId: req.messageId }),
        signal: ac.signal,
      });
      const text = await res.text().catch(() => "");
      if (!res.ok) return { status: "FAILED", error: `HTTP ${res.status}` };
      let ref: string | undefined;
      try {
        const body = text ? JSON.parse(text) : null;
        ref = body?.id ?? body?.messageId ?? undefined;
      } catch {
        /* a 2xx without JSON is still accepted */
      }
      return { status: "SENT", providerRef: ref !== undefined ? String(ref).slice(0, 64) : undefined };
    } catch (err: any) {
      return { status: "FAILED", error: ac.signal.aborted ? `TIMEOUT after ${this.timeoutMs} ms` : `NETWORK: ${String(err?.code ?? err?.name ?? "error")}` };
    } finally {
      clearTimeout(timer);
    }
  }
}
