/** sign-bind: card bindings and per-channel agreements (签约绑卡). */
import type { ValidationSchema } from "fastest-validator";
import { idRule, optionalIdRule, pageRules, type PageParams } from "./common";

const channelCode = { type: "string", pattern: "^[A-Z0-9_]{1,16}$" } as const;

export interface CreateBindingParams {
  customerId: string;
  cardNo: string;
  name: string;
  idNo: string;
  mobile: string;
  channels: string[];
}
export const createBindingParams = {
  $$strict: true,
  customerId: idRule,
  cardNo: { type: "string", pattern: "^\\d{12,19}$", messages: { stringPattern: "'cardNo' must be 12-19 digits" } },
  name: { type: "string", min: 1, max: 64, trim: true },
  idNo: { type: "string", pattern: "^[A-Za-z0-9]{6,32}$", messages: { stringPattern: "'idNo' must be 6-32 letters or digits" } },
  mobile: { type: "string", pattern: "^\\+?\\d{6,15}$", messages: { stringPattern: "'mobile' must be 6-15 digits" } },
  channels: { type: "array", min: 1, max: 8, unique: true, items: channelCode },
} satisfies ValidationSchema<CreateBindingParams>;

export interface ConfirmBindingParams {
  bindingId: string;
  codes: Record<string, string>;
}
export const confirmBindingParams = {
  $$strict: true,
  bindingId: idRule,
  codes: { type: "record", key: channelCode, value: { type: "string", pattern: "^\\d{4,8}$" } },
} satisfies ValidationSchema<ConfirmBindingParams>;

export interface BindingIdParams {
  bindingId: string;
}
export const bindingIdParams = { $$strict: true, bindingId: idRule } satisfies ValidationSchema<BindingIdParams>;

export interface ListBindingsParams extends PageParams {
  customerId?: string;
  status?: BindingStatus;
}
export const listBindingsParams = {
  $$strict: true,
  ...pageRules,
  customerId: optionalIdRule,
  status: { type: "enum", values: ["PENDING", "ACTIVE", "UNBOUND", "FAILED"], optional: true },
} satisfies ValidationSchema<ListBindingsParams>;

export type BindingStatus = "PENDING" | "ACTIVE" | "UNBOUND" | "FAILED";
export type AgreementStatus = "PENDING" | "ACTIVE" | "FAILED" | "TERMINATED";

export interface Agreement {
  channel: string;
  status: AgreementStatus;
  signRequestId?: string;
  agreementNo?: string;
  /** Wrong codes so far (the limit is SIGN_CONFIRM_MAX_ATTEMPTS). */
  attempts?: number;
  /** HMAC of the code that signed: a replay with it returns the first answer. Never leaves the service. */
  codeHash?: string;
  failure?: { reason: string; bankCode?: string; message?: string };
  updatedAt: string;
}

export interface Binding {
  _id: string;
  customerId: string;
  holderName: string;
  cardMasked: string;
  cardFingerprint: string;
  /** AES-256-GCM ciphertexts; never leave the service. */
  cardEnc: string;
  idNoEnc: string;
  mobileEnc: string;
  idNoMasked: string;
  mobileMasked: string;
  /** customerId + card fingerprint while PENDING or ACTIVE (unique): one live binding per card. */
  liveKey?: string;
  status: BindingStatus;
  agreements: Agreement[];
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** Event `binding.signed`. */
export interface BindingSignedEvent {
  bindingId: string;
  customerId: string;
  channels: string[];
}
