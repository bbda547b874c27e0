/**
 * The SMS provider contract: one interface, a closed set of outcomes. A provider never throws for a
 * refused or failed message: it answers FAILED with an error text (the notifier retries and records).
 * `messageId` is the notifier's dedupe key: a provider that supports it drops a repeated send.
 */
export interface SmsSendRequest {
  messageId: string;
  /** The full mobile number: passed through, never logged or stored. */
  to: string;
  text: string;
}

export type SmsSendStatus = "SENT" | "FAILED";

export interface SmsSendResult {
  status: SmsSendStatus;
  providerRef?: string;
  error?: string;
}

export interface SmsProvider {
  readonly name: string;
  send(req: SmsSendRequest): Promise<SmsSendResult>;
}
